// store.cpp — opening (WAL, foreign keys, busy timeout), schema migration, transactions and run writes.
// Reads are in store_query.cpp, JSON/CSV export in export.cpp, the schema itself in detail/schema.cpp.
#include "store/store.h"

#include <sqlite3.h>

#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <thread>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/build_info.h"
#include "core/error.h"
#include "store/detail/sqlite.h"

namespace v4lab::store {

using detail::exec;
using detail::Statement;

namespace {

// Wait for another writer (sweep shards, a second sweep or predict into the same file) instead of failing
// at once. Writers hold the lock for one short transaction (a batch of points, one run), so 30 s is only
// reached when a process hangs while holding it.
constexpr int kBusyTimeoutMs = 30000;

constexpr const char* kWritableHint = "choose a --db path in a folder you can write, or fix its permissions";

// Read-write opens need the file and its folder writable: WAL keeps <db>-wal and <db>-shm beside the file.
// access() answers for the real user (root passes everything except a read-only file system).
void require_writable_location(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const bool exists = fs::exists(path, ec);
  if (exists && ::access(path.c_str(), R_OK | W_OK) != 0)
    throw config_error("database '" + path + "' is not writable (" + std::strerror(errno) + "); " + kWritableHint);
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    throw config_error(std::string(exists ? "database '" + path + "' cannot be written" : "cannot create database '" + path + "'") +
                       ": its folder '" + dir.string() + "' is not writable (" + std::strerror(errno) + "; WAL mode keeps " +
                       "its -wal and -shm files there); " + kWritableHint);
}

constexpr const char* kInsertRun =
    "INSERT INTO runs (kind, name, scenario_path, status, started_at, finished_at, git_commit, git_dirty, "
    "build_type, compiler, cxx_flags, host, backends, seed, config_json, v4lab_version, notes) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

constexpr const char* kInsertMeasurement =
    "INSERT INTO measurements (run_id, op, backend, params_json, median_s, p10_s, p90_s, min_s, reps, flops, "
    "bytes, gflops_per_s, gbytes_per_s, verified, verify_json, counters_json, thread_count) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)";

constexpr const char* kInsertPrediction =
    "INSERT INTO predictions (run_id, op, backend, hardware, params_json, compute_s, memory_s, host_s, comm_s, "
    "overhead_s, total_s, bound, flops, bytes, model, label) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

constexpr const char* kInsertStudyPoint =
    "INSERT INTO study_points (run_id, study, point_json, metrics_json, label) VALUES (?1, ?2, ?3, ?4, ?5)";

int64_t insert_run(sqlite3* db, const std::string& where, const RunInfo& info, const std::string& status,
                   const std::string& finished_at) {
  const BuildInfo& b = build_info();
  Statement st(db, kInsertRun, where);
  st.bind(1, info.kind)
      .bind(2, info.name)
      .bind_text_or_null(3, info.scenario_path)
      .bind(4, status)
      .bind(5, info.started_at.empty() ? utc_timestamp_now() : info.started_at)
      .bind_text_or_null(6, finished_at)
      .bind(7, b.git_commit)
      .bind(8, static_cast<int64_t>(b.git_dirty ? 1 : 0))
      .bind(9, b.build_type)
      .bind(10, b.compiler)
      .bind(11, b.cxx_flags)
      .bind(12, host_name())
      .bind_text_or_null(13, info.backends)
      .bind(14, std::bit_cast<int64_t>(info.seed))  // SQLite integers are signed 64-bit
      .bind(15, info.config_json)
      .bind(16, b.version)
      .bind_text_or_null(17, info.notes);
  st.run();
  return sqlite3_last_insert_rowid(db);
}

void bind_measurement(Statement& st, int64_t run_id, const Measurement& m) {
  st.bind(1, run_id)
      .bind(2, m.op)
      .bind(3, m.backend)
      .bind(4, m.params_json)
      .bind(5, m.median_s)
      .bind(6, m.p10_s)
      .bind(7, m.p90_s)
      .bind(8, m.min_s)
      .bind(9, m.reps)
      .bind(10, m.flops)
      .bind(11, m.bytes)
      .bind(12, m.gflops_per_s)
      .bind(13, m.gbytes_per_s)
      .bind(14, m.verified)
      .bind_text_or_null(15, m.verify_json)
      .bind_text_or_null(16, m.counters_json);
  if (m.thread_count > 0) {
    st.bind(17, static_cast<int64_t>(m.thread_count));
  } else {
    st.bind_null(17);
  }
}

void bind_prediction(Statement& st, int64_t run_id, const Prediction& p) {
  st.bind(1, run_id)
      .bind(2, p.op)
      .bind_text_or_null(3, p.backend)
      .bind(4, p.hardware)
      .bind(5, p.params_json)
      .bind(6, p.compute_s)
      .bind(7, p.memory_s)
      .bind(8, p.host_s)
      .bind(9, p.comm_s)
      .bind(10, p.overhead_s)
      .bind(11, p.total_s)
      .bind_text_or_null(12, p.bound)
      .bind(13, p.flops)
      .bind(14, p.bytes)
      .bind_text_or_null(15, p.model)
      .bind(16, p.label.empty() ? std::string("prediction") : p.label);
}

void bind_study_point(Statement& st, int64_t run_id, const StudyPoint& s) {
  st.bind(1, run_id).bind(2, s.study).bind(3, s.point_json).bind(4, s.metrics_json).bind_text_or_null(5, s.label);
}

// Runs `body` and re-throws any v4lab::Error with `what` in front, so a failed row says which one it was.
template <class F>
void with_context(const std::string& what, const std::string& where, F&& body) {
  try {
    body();
  } catch (const Error& e) {
    throw runtime_error(what + ": " + e.message(), where);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
// Opening and migration

Store::Store(std::string path, OpenMode mode) : path_(std::move(path)), read_only_(mode == OpenMode::ReadOnly) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path_.empty()) throw config_error("empty database path");
  if (read_only_ && !fs::exists(path_, ec)) throw config_error("database '" + path_ + "' does not exist");
  if (fs::is_directory(path_, ec)) throw config_error("database '" + path_ + "' is a directory, not a file");
  if (!read_only_) {
    fs::path parent = fs::path(path_).parent_path();
    if (!parent.empty() && !fs::exists(parent, ec)) {
      fs::create_directories(parent, ec);
      if (ec)
        throw config_error("cannot create the folder '" + parent.string() + "' of database '" + path_ +
                           "': " + ec.message() + " (choose a writable --db path)");
    }
    require_writable_location(path_);
  }
  int flags = read_only_ ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path_.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    // CANTOPEN/PERM/READONLY: the path cannot be opened or created (missing folder, no permission,
    // read-only file system): the user's --db is wrong, not v4lab (exit code 2).
    const int primary = rc & 0xFF;
    if (primary == SQLITE_CANTOPEN || primary == SQLITE_PERM || primary == SQLITE_READONLY)
      throw config_error("cannot " + std::string(read_only_ ? "open" : "open or create") + " database '" + path_ +
                         "' (" + msg + "); " + (read_only_ ? "check that it is readable" : kWritableHint));
    throw runtime_error("cannot open database '" + path_ + "': " + msg);
  }
  try {
    configure_and_migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Store::~Store() {
  // All statements are finalized by their owners; close_v2 also tolerates stragglers.
  if (db_) sqlite3_close_v2(db_);
}

int Store::latest_schema_version() { return migrations().back().version; }

int Store::schema_version() {
  Statement st(db_, "PRAGMA user_version", path_);
  st.step();
  return static_cast<int>(st.column_int(0));
}

void Store::require_writable(const char* what) const {
  if (read_only_) throw runtime_error(std::string("cannot ") + what + ": database opened read-only", path_);
}

void Store::configure_and_migrate() {
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  // The first real read of the file: a non-SQLite or damaged header fails here (SQLITE_NOTADB/CORRUPT).
  // That is bad input (the user pointed --db at the wrong file): exit code 2.
  int64_t n_objects = 0;
  {
    sqlite3_stmt* st = nullptr;
    int rc = sqlite3_prepare_v2(db_, "SELECT count(*) FROM sqlite_master", -1, &st, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) n_objects = sqlite3_column_int64(st, 0);
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    const int primary = rc & 0xFF;
    if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT)
      throw config_error("database '" + path_ + "' is not a SQLite database or is corrupt (" + msg +
                         "); check it with `v4lab db check --db " + path_ + "`");
    if (primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN)  // WAL readers need <db>-shm beside the file
      throw config_error("cannot read database '" + path_ + "' (" + msg + "): it is in WAL mode and SQLite cannot create '" +
                         path_ + "-shm' beside it; make its folder writable or copy the file to a writable folder");
    if (rc != SQLITE_ROW) throw runtime_error("cannot read database '" + path_ + "': " + msg + " (SQLite code " +
                                              std::to_string(rc) + ")");
  }
  if (!read_only_ && sqlite3_db_readonly(db_, "main") == 1)
    throw config_error("database '" + path_ + "' is read-only (file permissions or a read-only file system); " +
                       kWritableHint);
  // Refusals first, so a file we will not use is not touched (no WAL switch, no -wal/-shm files).
  const int latest = latest_schema_version();
  const int found = schema_version();
  if (found > latest) {
    throw config_error("database '" + path_ + "' has schema version " + std::to_string(found) +
                        ", newer than this v4lab binary supports (" + std::to_string(latest) +
                        "); use a newer v4lab build to read it");
  }
  if (found == 0 && n_objects > 0) {
    throw config_error("database '" + path_ + "' is a SQLite file but not a v4lab results database (" +
                        std::to_string(n_objects) + " foreign schema objects, user_version 0); refusing to modify it");
  }
  if (!read_only_) {
    // WAL: readers (GUI, reports) never block the writer, and a process killed mid-transaction leaves
    // only an uncommitted WAL tail that the next opener discards, so a committed run is never torn.
    // Switching a fresh file to WAL needs an exclusive lock; a second process opening the same new file at
    // the same moment can get SQLITE_BUSY without the busy handler being asked, so retry here.
    for (int waited_ms = 0;; waited_ms += 5) {
      char* err = nullptr;
      const int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, &err);
      const std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      if (rc == SQLITE_OK) break;
      if ((rc & 0xFF) != SQLITE_BUSY && (rc & 0xFF) != SQLITE_LOCKED) throw runtime_error("PRAGMA journal_mode=WAL: " + msg, path_);
      if (waited_ms >= kBusyTimeoutMs)
        throw runtime_error("database is locked by another process for more than " + std::to_string(kBusyTimeoutMs / 1000) +
                                " s (switching to WAL mode)", path_);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  exec(db_, "PRAGMA foreign_keys=ON", path_);

  if (found == latest) return;
  if (read_only_) {
    throw config_error("database '" + path_ + "' has schema version " + std::to_string(found) + ", older than this " +
                       "v4lab's " + std::to_string(latest) + "; migrate with `v4lab db migrate --db " + path_ + "`");
  }
  for (const Migration& m : migrations()) {
    Transaction tx(*this);
    // Re-read inside the write lock: another process may have migrated while we waited.
    if (m.version <= schema_version()) continue;
    with_context("applying schema migration " + std::to_string(m.version), path_, [&] {
      exec(db_, m.sql, path_);
      Statement rec(db_, "INSERT INTO schema_migrations (version, applied_at, description) VALUES (?1, ?2, ?3)", path_);
      rec.bind(1, static_cast<int64_t>(m.version)).bind(2, utc_timestamp_now()).bind(3, m.description);
      rec.run();
      // PRAGMA takes no bound parameters; the value is our own migration number, not user input.
      exec(db_, ("PRAGMA user_version = " + std::to_string(m.version)).c_str(), path_);
    });
    tx.commit();
  }
}

// ---------------------------------------------------------------------------------------------------
// Transactions

Transaction::Transaction(Store& store) : store_(store) {
  static std::atomic<uint64_t> counter{0};
  if (sqlite3_get_autocommit(store_.handle())) {
    // IMMEDIATE takes the write lock now, so a concurrent writer waits (busy_timeout) instead of
    // failing later with SQLITE_BUSY on lock upgrade.
    exec(store_.handle(), "BEGIN IMMEDIATE", store_.path());
  } else {
    savepoint_ = "v4lab_sp_" + std::to_string(++counter);
    exec(store_.handle(), ("SAVEPOINT " + savepoint_).c_str(), store_.path());
  }
}

void Transaction::commit() {
  if (done_) return;
  exec(store_.handle(), savepoint_.empty() ? "COMMIT" : ("RELEASE " + savepoint_).c_str(), store_.path());
  done_ = true;
}

Transaction::~Transaction() {
  if (done_) return;
  try {
    if (savepoint_.empty()) {
      exec(store_.handle(), "ROLLBACK", store_.path());
    } else {
      exec(store_.handle(), ("ROLLBACK TO " + savepoint_ + "; RELEASE " + savepoint_).c_str(), store_.path());
    }
  } catch (...) {
    // SQLite may already have rolled back (e.g. SQLITE_FULL); nothing more to undo.
  }
}

// ---------------------------------------------------------------------------------------------------
// Writes

int64_t Store::write_run(const RunRecord& record) {
  require_writable("write a run");
  Transaction tx(*this);
  int64_t run_id = 0;
  with_context("writing run '" + record.info.name + "'", path_,
               [&] { run_id = insert_run(db_, path_, record.info, "ok", utc_timestamp_now()); });
  {
    Statement st(db_, kInsertMeasurement, path_);
    for (size_t i = 0; i < record.measurements.size(); ++i) {
      const Measurement& m = record.measurements[i];
      with_context("writing measurement " + std::to_string(i) + " (" + m.op + ", " + m.backend + ")", path_, [&] {
        bind_measurement(st, run_id, m);
        st.run();
      });
    }
  }
  {
    Statement st(db_, kInsertPrediction, path_);
    for (size_t i = 0; i < record.predictions.size(); ++i) {
      const Prediction& p = record.predictions[i];
      with_context("writing prediction " + std::to_string(i) + " (" + p.op + ", " + p.hardware + ")", path_, [&] {
        bind_prediction(st, run_id, p);
        st.run();
      });
    }
  }
  {
    Statement st(db_, kInsertStudyPoint, path_);
    for (size_t i = 0; i < record.study_points.size(); ++i) {
      with_context("writing study point " + std::to_string(i) + " (" + record.study_points[i].study + ")", path_, [&] {
        bind_study_point(st, run_id, record.study_points[i]);
        st.run();
      });
    }
  }
  tx.commit();
  return run_id;
}

int64_t Store::begin_run(const RunInfo& info) {
  require_writable("begin a run");
  Transaction tx(*this);
  int64_t run_id = 0;
  with_context("beginning run '" + info.name + "'", path_,
               [&] { run_id = insert_run(db_, path_, info, "running", ""); });
  tx.commit();
  return run_id;
}

int64_t Store::add_measurement(int64_t run_id, const Measurement& m) {
  require_writable("add a measurement");
  Transaction tx(*this);
  with_context("adding measurement (" + m.op + ", " + m.backend + ") to run " + std::to_string(run_id), path_, [&] {
    Statement st(db_, kInsertMeasurement, path_);
    bind_measurement(st, run_id, m);
    st.run();
  });
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

int64_t Store::add_prediction(int64_t run_id, const Prediction& p) {
  require_writable("add a prediction");
  Transaction tx(*this);
  with_context("adding prediction (" + p.op + ", " + p.hardware + ") to run " + std::to_string(run_id), path_, [&] {
    Statement st(db_, kInsertPrediction, path_);
    bind_prediction(st, run_id, p);
    st.run();
  });
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

int64_t Store::add_study_point(int64_t run_id, const StudyPoint& s) {
  require_writable("add a study point");
  Transaction tx(*this);
  with_context("adding study point (" + s.study + ") to run " + std::to_string(run_id), path_, [&] {
    Statement st(db_, kInsertStudyPoint, path_);
    bind_study_point(st, run_id, s);
    st.run();
  });
  int64_t id = sqlite3_last_insert_rowid(db_);
  tx.commit();
  return id;
}

void Store::end_run(int64_t run_id, const std::string& status) {
  require_writable("end a run");
  Transaction tx(*this);
  with_context("ending run " + std::to_string(run_id), path_, [&] {
    Statement st(db_, "UPDATE runs SET status = ?1, finished_at = ?2 WHERE id = ?3", path_);
    st.bind(1, status).bind(2, utc_timestamp_now()).bind(3, run_id);
    st.run();
  });
  if (sqlite3_changes(db_) == 0) throw config_error("no run " + std::to_string(run_id) + " in " + path_);
  tx.commit();
}

void Store::delete_run(int64_t run_id) {
  require_writable("delete a run");
  Transaction tx(*this);
  Statement st(db_, "DELETE FROM runs WHERE id = ?1", path_);
  st.bind(1, run_id);
  st.run();
  if (sqlite3_changes(db_) == 0) throw config_error("no run " + std::to_string(run_id) + " in " + path_);
  tx.commit();
}

}  // namespace v4lab::store
