// sweep_store.cpp — sweep runs and their points (see sweep_store.h; schema v2 in detail/schema.cpp).
#include "store/sweep_store.h"

#include <sqlite3.h>

#include "core/error.h"
#include "store/detail/sqlite.h"

namespace v4lab::store {

using detail::Statement;

namespace {

constexpr const char* kSweepColumns =
    "s.run_id, s.sweep_hash, s.sweep_name, s.sweep_kind, s.n_points, s.shard_index, s.shard_count, r.status, "
    "r.started_at, r.finished_at, "
    "(SELECT count(*) FROM sweep_points p WHERE p.run_id = s.run_id), "
    "(SELECT count(*) FROM sweep_points p WHERE p.run_id = s.run_id AND p.status = 'error') "
    "FROM sweeps s JOIN runs r ON r.id = s.run_id ";

SweepRunInfo read_sweep(const Statement& st) {
  SweepRunInfo s;
  s.run_id = st.column_int(0);
  s.hash = st.column_text(1);
  s.name = st.column_text(2);
  s.kind = st.column_text(3);
  s.n_points = st.column_int(4);
  s.shard_index = static_cast<int>(st.column_int(5));
  s.shard_count = static_cast<int>(st.column_int(6));
  s.status = st.column_text(7);
  s.started_at = st.column_text(8);
  s.finished_at = st.column_text(9);
  s.n_done = st.column_int(10);
  s.n_errors = st.column_int(11);
  return s;
}

void require_writable(Store& db, const char* what) {
  if (db.read_only()) throw runtime_error(std::string("cannot ") + what + ": database opened read-only", db.path());
}

}  // namespace

int64_t SweepRunInfo::points_in_shard() const {
  if (n_points <= shard_index) return 0;
  return (n_points - 1 - shard_index) / shard_count + 1;
}

int64_t begin_sweep_run(Store& db, const RunInfo& info, const SweepRunInfo& sw) {
  require_writable(db, "begin a sweep run");
  Transaction tx(db);
  const int64_t id = db.begin_run(info);  // a savepoint inside tx
  Statement st(db.handle(),
               "INSERT INTO sweeps (run_id, sweep_hash, sweep_name, sweep_kind, n_points, shard_index, shard_count) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
               db.path());
  st.bind(1, id)
      .bind(2, sw.hash)
      .bind(3, sw.name)
      .bind(4, sw.kind)
      .bind(5, sw.n_points)
      .bind(6, static_cast<int64_t>(sw.shard_index))
      .bind(7, static_cast<int64_t>(sw.shard_count));
  st.run();
  tx.commit();
  return id;
}

std::optional<SweepRunInfo> find_resumable_sweep(Store& db, const std::string& hash, int shard_index, int shard_count) {
  Statement st(db.handle(),
               std::string("SELECT ") + kSweepColumns +
                   "WHERE s.sweep_hash = ?1 AND s.shard_index = ?2 AND s.shard_count = ?3 "
                   "AND r.status IN ('running', 'interrupted') ORDER BY s.run_id DESC LIMIT 1",
               db.path());
  st.bind(1, hash).bind(2, static_cast<int64_t>(shard_index)).bind(3, static_cast<int64_t>(shard_count));
  if (!st.step()) return std::nullopt;
  return read_sweep(st);
}

SweepRunInfo get_sweep_run(Store& db, int64_t run_id) {
  Statement st(db.handle(), std::string("SELECT ") + kSweepColumns + "WHERE s.run_id = ?1", db.path());
  st.bind(1, run_id);
  if (st.step()) return read_sweep(st);
  const RunRow r = db.get_run(run_id);  // throws "no run N"
  throw config_error("run " + std::to_string(run_id) + " in " + db.path() + " is not a sweep run (kind " + r.info.kind +
                     ")");
}

std::vector<SweepRunInfo> list_sweep_runs(Store& db) {
  Statement st(db.handle(), std::string("SELECT ") + kSweepColumns + "ORDER BY s.run_id DESC", db.path());
  std::vector<SweepRunInfo> out;
  while (st.step()) out.push_back(read_sweep(st));
  return out;
}

std::vector<int64_t> stored_point_indices(Store& db, int64_t run_id) {
  Statement st(db.handle(), "SELECT point_index FROM sweep_points WHERE run_id = ?1 ORDER BY point_index", db.path());
  st.bind(1, run_id);
  std::vector<int64_t> out;
  while (st.step()) out.push_back(st.column_int(0));
  return out;
}

std::vector<SweepPointRow> sweep_points(Store& db, int64_t run_id) {
  Statement st(db.handle(),
               "SELECT point_index, coords_json, metrics_json, status, label FROM sweep_points WHERE run_id = ?1 "
               "ORDER BY point_index",
               db.path());
  st.bind(1, run_id);
  std::vector<SweepPointRow> out;
  while (st.step())
    out.push_back({st.column_int(0), st.column_text(1), st.column_text(2), st.column_text(3), st.column_text(4)});
  return out;
}

int64_t distinct_points_of_hash(Store& db, const std::string& hash) {
  Statement st(db.handle(), "SELECT count(DISTINCT point_index) FROM sweep_points WHERE sweep_hash = ?1", db.path());
  st.bind(1, hash);
  return st.step() ? st.column_int(0) : 0;
}

struct SweepPointWriter::Impl {
  Store& db;
  int64_t run_id;
  std::string hash;
  Statement st;
};

SweepPointWriter::SweepPointWriter(Store& db, int64_t run_id, std::string hash) {
  require_writable(db, "write sweep points");
  impl_ = new Impl{db, run_id, std::move(hash),
                   Statement(db.handle(),
                             "INSERT INTO sweep_points (run_id, sweep_hash, point_index, coords_json, metrics_json, "
                             "status, label) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                             "ON CONFLICT (run_id, point_index) DO NOTHING",
                             db.path())};
}

SweepPointWriter::~SweepPointWriter() { delete impl_; }

bool SweepPointWriter::insert(const SweepPointRow& row) {
  Statement& st = impl_->st;
  st.bind(1, impl_->run_id)
      .bind(2, impl_->hash)
      .bind(3, row.point_index)
      .bind(4, row.coords_json)
      .bind(5, row.metrics_json)
      .bind(6, row.status)
      .bind(7, row.label);
  st.run();
  return sqlite3_changes(impl_->db.handle()) > 0;
}

}  // namespace v4lab::store
