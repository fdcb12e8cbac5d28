// test_store_check.cpp — `db check` (store/check.h) on healthy, damaged, foreign, old and newer files;
// an old (v1) database built from SQL text is migrated with every row kept; open errors are exit code 2.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "store/check.h"
#include "store/store.h"
#include "store/store_fixture.h"
#include "store/sweep_store.h"

using namespace v4lab;
using v4lab::test::TempDir;

namespace {

void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : "") << " in: " << sql.substr(0, 200));
  sqlite3_free(err);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

long long raw_int(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const long long v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::string v1_fixture_sql() {
  std::ifstream f(V4LAB_SOURCE_DIR "/tests/store/fixtures/v1_schema.sql");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const store::CheckItem& item(const store::CheckReport& r, const std::string& name) {
  for (const auto& c : r.checks)
    if (c.name == name) return c;
  FAIL("no check named " << name);
  return r.checks.front();
}

std::string all_problems(const store::CheckReport& r) {
  std::string s;
  for (const auto& c : r.checks)
    for (const auto& p : c.problems) s += c.name + ": " + p + "\n";
  return s;
}

template <class F>
Error catch_error(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  FAIL("expected a v4lab::Error");
  return runtime_error("unreachable");
}

// A healthy database: one run with rows and one complete sweep run of 4 points.
std::string healthy_db(const TempDir& dir) {
  const std::string path = dir.file("ok.db");
  store::Store s(path);
  s.write_run(v4lab::test::synthetic_run());
  store::RunInfo ri;
  ri.kind = "sweep";
  store::SweepRunInfo si;
  si.hash = "0123456789abcdef";
  si.name = "t";
  si.kind = "predict";
  si.n_points = 4;
  const int64_t id = store::begin_sweep_run(s, ri, si);
  {
    store::Transaction tx(s);
    store::SweepPointWriter w(s, id, si.hash);
    for (int i = 0; i < 4; ++i) {
      store::SweepPointRow row;
      row.point_index = i;
      row.coords_json = "{\"batch\":" + std::to_string(i + 1) + "}";
      REQUIRE(w.insert(row));
    }
    tx.commit();
  }
  s.end_run(id, "ok");
  return path;
}

}  // namespace

TEST_CASE("db check: a healthy database passes every check and is not modified", "[store][check]") {
  TempDir dir;
  const std::string path = healthy_db(dir);
  const auto before = std::filesystem::last_write_time(path);
  const store::CheckReport r = store::check_database(path);
  INFO(all_problems(r));
  CHECK(r.ok());
  CHECK(r.schema_version == store::Store::latest_schema_version());
  for (const char* name : {"sqlite_file", "integrity", "schema_version", "tables", "orphan_rows", "sweep_points", "runs"})
    CHECK(item(r, name).ok());
  CHECK(r.row_counts.at("runs") == 2);
  CHECK(r.row_counts.at("sweep_points") == 4);
  CHECK(r.warnings.empty());
  CHECK(std::filesystem::last_write_time(path) == before);
  const auto j = store::check_report_json(r);
  CHECK(j["ok"] == true);
  CHECK(j["checks"].size() == r.checks.size());
}

TEST_CASE("db check: orphan rows, duplicate and lost sweep points, unfinished runs are found", "[store][check]") {
  TempDir dir;
  const std::string path = healthy_db(dir);
  SECTION("orphans: rows whose run was deleted with foreign keys off") {
    raw_exec(path, "PRAGMA foreign_keys = OFF; DELETE FROM runs WHERE kind = 'run';");
    const auto r = store::check_database(path);
    CHECK_FALSE(r.ok());
    const auto& c = item(r, "orphan_rows");
    REQUIRE_FALSE(c.ok());
    CHECK_THAT(all_problems(r), Catch::Contains("rows of 'measurements' point to a missing 'runs' row"));
    CHECK(item(r, "integrity").ok());
  }
  SECTION("a sweep_points table without its UNIQUE constraint, holding a duplicate") {
    raw_exec(path,
             "PRAGMA foreign_keys = OFF; BEGIN;"
             "CREATE TABLE sp2 AS SELECT * FROM sweep_points; DROP TABLE sweep_points;"
             "CREATE TABLE sweep_points (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES sweeps(run_id) ON "
             "DELETE CASCADE, sweep_hash TEXT NOT NULL, point_index INTEGER NOT NULL, coords_json TEXT NOT NULL, "
             "metrics_json TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL);"
             "INSERT INTO sweep_points SELECT * FROM sp2; DROP TABLE sp2;"
             "CREATE INDEX sweep_points_hash ON sweep_points(sweep_hash, point_index);"
             "INSERT INTO sweep_points (run_id, sweep_hash, point_index, coords_json, metrics_json, status, label) "
             "SELECT run_id, sweep_hash, point_index, coords_json, metrics_json, status, label FROM sweep_points "
             "WHERE point_index = 2; COMMIT;");
    const auto r = store::check_database(path);
    CHECK_FALSE(item(r, "tables").ok());
    CHECK_FALSE(item(r, "sweep_points").ok());
    CHECK_THAT(all_problems(r), Catch::Contains("point 2 is stored 2 times"));
    CHECK_THAT(all_problems(r), Catch::Contains("table 'sweep_points' has 0 UNIQUE"));
  }
  SECTION("an 'ok' sweep missing a point, points outside the sweep") {
    raw_exec(path, "DELETE FROM sweep_points WHERE point_index = 1; UPDATE sweep_points SET point_index = 9 WHERE point_index = 3;");
    const auto r = store::check_database(path);
    CHECK_THAT(all_problems(r), Catch::Contains("is 'ok' but stores 2 of its 4 points"));
    CHECK_THAT(all_problems(r), Catch::Contains("1 points outside the sweep or its shard (first index 9)"));
  }
  SECTION("a finished run without finished_at; a 'running' run is only a warning") {
    raw_exec(path, "UPDATE runs SET finished_at = NULL WHERE kind = 'run';");
    auto r = store::check_database(path);
    CHECK_THAT(all_problems(r), Catch::Contains("is 'ok' but has no finished_at"));
    raw_exec(path, "UPDATE runs SET status = 'running' WHERE kind = 'run';");
    r = store::check_database(path);
    INFO(all_problems(r));
    CHECK(r.ok());
    REQUIRE(r.warnings.size() == 1);
    CHECK_THAT(r.warnings[0], Catch::Contains("still 'running'"));
  }
  SECTION("a missing column and a missing table") {
    raw_exec(path, "ALTER TABLE predictions DROP COLUMN flops; DROP TABLE run_metrics;");
    const auto r = store::check_database(path);
    CHECK_THAT(all_problems(r), Catch::Contains("table 'predictions' has no column 'flops'"));
    CHECK_THAT(all_problems(r), Catch::Contains("table 'run_metrics' is missing"));
  }
}

TEST_CASE("db check: damaged, foreign, empty and newer files", "[store][check]") {
  TempDir dir;
  SECTION("garbage bytes: not ok, named") {
    const std::string path = dir.file("garbage.db");
    {
      std::ofstream f(path, std::ios::binary);
      for (int i = 0; i < 8192; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xFF));
    }
    const auto r = store::check_database(path);
    CHECK_FALSE(r.ok());
    CHECK_THAT(all_problems(r), Catch::Contains("not a SQLite database"));
  }
  SECTION("a healthy file with a damaged page") {
    const std::string path = healthy_db(dir);
    {  // Keep page 1 (header + schema), smash the b-tree page header of every other 4 KiB page.
      const auto size = std::filesystem::file_size(path);
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      for (std::uintmax_t page = 4096; page < size; page += 4096) {
        f.seekp(static_cast<std::streamoff>(page));
        for (int i = 0; i < 12; ++i) f.put(static_cast<char>(0xA5));
      }
    }
    const auto r = store::check_database(path);
    INFO(all_problems(r));
    CHECK_FALSE(r.ok());
    // Depending on which pages SQLite reads first, the damage shows in the first read or in integrity_check.
    const bool named = all_problems(r).find("malformed") != std::string::npos ||
                       all_problems(r).find("corrupt") != std::string::npos ||
                       all_problems(r).find("not a SQLite database or damaged") != std::string::npos;
    CHECK(named);
  }
  SECTION("a SQLite file that is not a v4lab database") {
    const std::string path = dir.file("other.db");
    raw_exec(path, "CREATE TABLE t (x INTEGER)");
    const auto r = store::check_database(path);
    CHECK_FALSE(r.ok());
    CHECK_THAT(all_problems(r), Catch::Contains("not a v4lab results database"));
  }
  SECTION("an empty file") {
    const std::string path = dir.file("empty.db");
    std::ofstream(path).close();
    const auto r = store::check_database(path);
    CHECK_FALSE(r.ok());
    CHECK_THAT(all_problems(r), Catch::Contains("v4lab db migrate"));
    CHECK(std::filesystem::file_size(path) == 0);  // nothing written
  }
  SECTION("newer schema: refused with exit code 2") {
    const std::string path = healthy_db(dir);
    raw_exec(path, "PRAGMA user_version = 99");
    Error e = catch_error([&] { store::check_database(path); });
    CHECK(e.exit_code() == 2);
    CHECK_THAT(e.what(), Catch::Contains("schema version 99, newer than this v4lab binary supports"));
  }
  SECTION("missing file and a directory: exit code 2") {
    CHECK(catch_error([&] { store::check_database(dir.file("nope.db")); }).exit_code() == 2);
    CHECK(catch_error([&] { store::check_database(dir.path().string()); }).exit_code() == 2);
    CHECK_FALSE(std::filesystem::exists(dir.file("nope.db")));
  }
}

TEST_CASE("store: a v1 database (from SQL text) is migrated to the latest schema with every row kept", "[store][check]") {
  TempDir dir;
  const std::string path = dir.file("v1.db");
  raw_exec(path, v1_fixture_sql());
  REQUIRE(raw_int(path, "PRAGMA user_version") == 1);

  // Before: check says "migrate", read-only opens refuse with the same hint, exit code 2.
  auto r = store::check_database(path);
  CHECK_FALSE(r.ok());
  CHECK(r.schema_version == 1);
  CHECK(item(r, "tables").ok());  // the v1 tables are exactly v1's
  CHECK_THAT(all_problems(r), Catch::Contains("older than this v4lab's " + std::to_string(store::Store::latest_schema_version()) +
                                              ": migrate with `v4lab db migrate --db " + path + "`"));
  Error e = catch_error([&] { store::Store s(path, store::OpenMode::ReadOnly); });
  CHECK(e.exit_code() == 2);
  CHECK_THAT(e.what(), Catch::Contains("v4lab db migrate"));
  CHECK(raw_int(path, "PRAGMA user_version") == 1);  // the read-only attempt changed nothing

  {
    store::Store s(path);  // read-write open migrates
    CHECK(s.schema_version() == store::Store::latest_schema_version());
    const auto runs = s.list_runs(0);
    REQUIRE(runs.size() == 2);
    const store::RunRow a = s.get_run(1);
    CHECK(a.info.name == "quickstart");
    CHECK(a.host == "oldhost");
    CHECK(a.info.seed == 7);
    CHECK(a.git_commit == "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678");
    CHECK(s.get_run(2).info.notes == "old note");
    const auto ms = s.measurements(1);
    REQUIRE(ms.size() == 2);
    CHECK(ms[1].median_s == Approx(0.0011));
    CHECK(ms[1].verified == std::optional<bool>(true));
    CHECK(s.predictions(1).size() == 1);
    CHECK(s.predictions(2).size() == 1);
    CHECK(s.study_points(1).size() == 1);
    CHECK(s.latest_probe("oldhost").has_value());
    // New writes work on the migrated file.
    s.write_run(v4lab::test::synthetic_run());
  }
  CHECK(raw_int(path, "SELECT count(*) FROM runs WHERE uid IS NULL") == 0);  // v2 backfilled run uids
  CHECK(raw_int(path, "SELECT count(DISTINCT uid) FROM runs") == 3);
  CHECK(raw_int(path, "SELECT count(*) FROM schema_migrations") == store::Store::latest_schema_version());
  r = store::check_database(path);
  INFO(all_problems(r));
  CHECK(r.ok());
}

TEST_CASE("store: open errors are bad input (exit 2) naming the file", "[store][check]") {
  TempDir dir;
  SECTION("garbage bytes") {
    const std::string path = dir.file("garbage.db");
    std::ofstream(path) << "this is not a SQLite database, just some text that someone passed as --db\n";
    for (auto mode : {store::OpenMode::ReadWrite, store::OpenMode::ReadOnly}) {
      Error e = catch_error([&] { store::Store s(path, mode); });
      CHECK(e.exit_code() == 2);
      CHECK_THAT(e.what(), Catch::Contains("database '" + path + "' is not a SQLite database or is corrupt"));
    }
    CHECK_FALSE(std::filesystem::exists(path + "-wal"));
  }
  SECTION("a folder that cannot exist (a path part is a file)") {
    const std::string file = dir.file("plain.txt");
    std::ofstream(file) << "x\n";
    Error e = catch_error([&] { store::Store s(file + "/sub/v4lab.db"); });
    CHECK(e.exit_code() == 2);
    CHECK_THAT(e.what(), Catch::Contains(file + "/sub"));
  }
  SECTION("a folder where files cannot be created (/proc)") {
    Error e = catch_error([&] { store::Store s("/proc/v4lab_storage_test.db"); });
    CHECK(e.exit_code() == 2);
    CHECK_THAT(e.what(), Catch::Contains("/proc/v4lab_storage_test.db"));
  }
}
