// test_store.cpp — the SQLite results store: schema/migrations, provenance, round trips, transactions,
// refusal of newer/corrupt/foreign files, cascades, queries and JSON/CSV export.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/build_info.h"
#include "core/error.h"
#include "store/export.h"
#include "store/store.h"
#include "store/store_fixture.h"

using namespace v4lab;
using v4lab::test::TempDir;

namespace {

int64_t count_rows(store::Store& s, const std::string& table) {
  sqlite3_stmt* st = nullptr;
  const std::string sql = "SELECT count(*) FROM " + table;  // table names are test constants
  REQUIRE(sqlite3_prepare_v2(s.handle(), sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

std::string pragma_text(store::Store& s, const std::string& pragma) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(s.handle(), ("PRAGMA " + pragma).c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  std::string v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return v;
}

void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// Same value, where NaN equals NaN (unknown stays unknown).
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

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

}  // namespace

TEST_CASE("store: a new database gets the latest schema, WAL and foreign keys", "[store]") {
  TempDir dir;
  store::Store s(dir.file("sub/dir/v4lab.db"));  // parent folders are created
  CHECK(s.schema_version() == store::Store::latest_schema_version());
  CHECK(store::Store::latest_schema_version() == store::migrations().back().version);
  CHECK(count_rows(s, "schema_migrations") == static_cast<int64_t>(store::migrations().size()));
  CHECK(pragma_text(s, "journal_mode") == "wal");
  CHECK(pragma_text(s, "foreign_keys") == "1");
  CHECK(count_rows(s, "runs") == 0);
  const auto sql = s.schema_sql();
  CHECK(std::any_of(sql.begin(), sql.end(), [](const std::string& q) { return q.find("CREATE TABLE runs") == 0; }));

  // Reopening is a no-op migration.
  store::Store again(dir.file("sub/dir/v4lab.db"));
  CHECK(again.schema_version() == store::Store::latest_schema_version());
  CHECK(count_rows(again, "schema_migrations") == static_cast<int64_t>(store::migrations().size()));
}

TEST_CASE("store: write_run round-trips every field and stamps provenance", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  store::RunRecord rec = v4lab::test::synthetic_run();
  rec.info.seed = 0xFFFFFFFFFFFFFFF0ull;  // above INT64_MAX: stored as its bit pattern
  rec.measurements[1].verified = std::nullopt;
  rec.measurements[1].p10_s = store::kUnknown;
  rec.measurements[1].verify_json.clear();
  rec.measurements[1].counters_json = R"({"cycles":12345})";
  rec.measurements[2].verified = false;
  rec.measurements[2].thread_count = 0;
  rec.predictions[0].backend = "cpu";
  rec.predictions[0].host_s = 1e-6;
  rec.predictions[0].comm_s = 2e-6;
  rec.predictions[0].overhead_s = 3e-6;
  rec.predictions[0].label = "local";

  const std::string before = utc_timestamp_now();
  const int64_t id = s.write_run(rec);
  REQUIRE(id > 0);

  const store::RunRow r = s.get_run(id);
  CHECK(r.id == id);
  CHECK(r.info.kind == rec.info.kind);
  CHECK(r.info.name == rec.info.name);
  CHECK(r.info.scenario_path == rec.info.scenario_path);
  CHECK(r.info.backends == rec.info.backends);
  CHECK(r.info.config_json == rec.info.config_json);
  CHECK(r.info.notes == rec.info.notes);
  CHECK(r.info.seed == rec.info.seed);
  CHECK(r.status == "ok");
  CHECK(r.started_at >= before);  // ISO 8601 UTC compares as text
  CHECK(r.finished_at >= r.started_at);
  CHECK(r.started_at.size() == 20);
  CHECK(r.started_at.back() == 'Z');
  CHECK(r.git_commit == build_info().git_commit);
  CHECK(r.git_dirty == build_info().git_dirty);
  CHECK(r.build_type == build_info().build_type);
  CHECK(r.compiler == build_info().compiler);
  CHECK(r.cxx_flags == build_info().cxx_flags);
  CHECK(r.host == host_name());
  CHECK(r.v4lab_version == build_info().version);

  const auto ms = s.measurements(id);
  REQUIRE(ms.size() == rec.measurements.size());
  for (size_t i = 0; i < ms.size(); ++i) {
    const auto& a = ms[i];
    const auto& b = rec.measurements[i];
    CHECK(a.id > 0);
    CHECK(a.run_id == id);
    CHECK(a.op == b.op);
    CHECK(a.backend == b.backend);
    CHECK(a.params_json == b.params_json);
    CHECK(same(a.median_s, b.median_s));
    CHECK(same(a.p10_s, b.p10_s));
    CHECK(same(a.p90_s, b.p90_s));
    CHECK(same(a.min_s, b.min_s));
    CHECK(a.reps == b.reps);
    CHECK(same(a.flops, b.flops));
    CHECK(same(a.bytes, b.bytes));
    CHECK(same(a.gflops_per_s, b.gflops_per_s));
    CHECK(same(a.gbytes_per_s, b.gbytes_per_s));
    CHECK(a.verified == b.verified);
    CHECK(a.verify_json == b.verify_json);
    CHECK(a.counters_json == b.counters_json);
    CHECK(a.thread_count == b.thread_count);
  }
  const auto ps = s.predictions(id);
  REQUIRE(ps.size() == rec.predictions.size());
  for (size_t i = 0; i < ps.size(); ++i) {
    const auto& a = ps[i];
    const auto& b = rec.predictions[i];
    CHECK(a.run_id == id);
    CHECK(a.op == b.op);
    CHECK(a.backend == b.backend);
    CHECK(a.hardware == b.hardware);
    CHECK(a.params_json == b.params_json);
    CHECK(same(a.compute_s, b.compute_s));
    CHECK(same(a.memory_s, b.memory_s));
    CHECK(same(a.host_s, b.host_s));
    CHECK(same(a.comm_s, b.comm_s));
    CHECK(same(a.overhead_s, b.overhead_s));
    CHECK(same(a.total_s, b.total_s));
    CHECK(a.bound == b.bound);
    CHECK(same(a.flops, b.flops));
    CHECK(same(a.bytes, b.bytes));
    CHECK(a.model == b.model);
    CHECK(a.label == b.label);
  }
  const auto sp = s.study_points(id);
  REQUIRE(sp.size() == 1);
  CHECK(sp[0].run_id == id);
  CHECK(sp[0].study == "topk");
  CHECK(sp[0].point_json == rec.study_points[0].point_json);
  CHECK(sp[0].metrics_json == rec.study_points[0].metrics_json);
  CHECK(sp[0].label == "modelled");
}

TEST_CASE("store: a failing write leaves nothing behind", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));

  SECTION("measurement violating NOT NULL (median_s unknown) after rows were inserted") {
    store::RunRecord rec = v4lab::test::synthetic_run();
    rec.measurements.push_back(v4lab::test::make_measurement("mhc_post", "cpu", "{}", store::kUnknown));
    Error e = catch_error([&] { s.write_run(rec); });
    CHECK(e.exit_code() == 1);
    CHECK_THAT(e.what(), Catch::Contains("median_s"));
    CHECK_THAT(e.what(), Catch::Contains("mhc_post"));
  }
  SECTION("invalid JSON in a prediction (CHECK constraint)") {
    store::RunRecord rec = v4lab::test::synthetic_run();
    rec.predictions.back().params_json = "{not json";
    CHECK_THROWS_AS(s.write_run(rec), Error);
  }
  SECTION("exception thrown by the caller inside a Transaction") {
    CHECK_THROWS_WITH(([&] {
                        store::Transaction tx(s);
                        const int64_t id = s.begin_run(v4lab::test::synthetic_run().info);
                        s.add_measurement(id, v4lab::test::make_measurement("mhc_pre", "cpu", "{}", 1e-3));
                        s.add_prediction(id, v4lab::test::make_prediction("mhc_pre", "H100", "{}", 1e-6, "memory"));
                        throw std::runtime_error("forced failure mid-transaction");
                      }()),
                      "forced failure mid-transaction");
  }
  CHECK(count_rows(s, "runs") == 0);
  CHECK(count_rows(s, "measurements") == 0);
  CHECK(count_rows(s, "predictions") == 0);
  CHECK(count_rows(s, "study_points") == 0);
  // The connection is usable afterwards.
  CHECK(s.write_run(v4lab::test::synthetic_run()) > 0);
  CHECK(count_rows(s, "runs") == 1);
}

TEST_CASE("store: incremental begin_run / add_* / end_run", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  const int64_t id = s.begin_run(v4lab::test::synthetic_run().info);
  CHECK(s.get_run(id).status == "running");
  CHECK(s.get_run(id).finished_at.empty());
  const int64_t mid = s.add_measurement(id, v4lab::test::make_measurement("mhc_pre", "cpu", "{}", 1e-3));
  CHECK(mid > 0);
  CHECK(s.add_prediction(id, v4lab::test::make_prediction("mhc_pre", "local", "{}", 1e-3, "memory")) > 0);
  store::StudyPoint sp;
  sp.study = "ucurve";
  CHECK(s.add_study_point(id, sp) > 0);
  {
    // A failed add (unknown run: foreign key) rolls back only itself.
    CHECK_THROWS_AS(s.add_measurement(id + 100, v4lab::test::make_measurement("x", "cpu", "{}", 1e-3)), Error);
  }
  s.end_run(id, "ok");
  const store::RunRow r = s.get_run(id);
  CHECK(r.status == "ok");
  CHECK_FALSE(r.finished_at.empty());
  CHECK(s.measurements(id).size() == 1);
  CHECK(s.measurements(id)[0].id == mid);
  CHECK_THROWS_AS(s.end_run(id, "bogus-status"), Error);  // CHECK constraint on status
  CHECK(s.get_run(id).status == "ok");
  CHECK(catch_error([&] { s.end_run(9999); }).exit_code() == 2);
}

TEST_CASE("store: a database with a newer schema is refused", "[store]") {
  TempDir dir;
  const std::string path = dir.file("future.db");
  { store::Store s(path); }
  const int future = store::Store::latest_schema_version() + 7;
  raw_exec(path, "PRAGMA user_version = " + std::to_string(future));
  for (auto mode : {store::OpenMode::ReadWrite, store::OpenMode::ReadOnly}) {
    Error e = catch_error([&] { store::Store s(path, mode); });
    CHECK(e.kind() == ErrorKind::Config);  // bad input (docs/errors.md): exit code 2
    CHECK_THAT(e.what(), Catch::Contains(path));
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(future)));
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(store::Store::latest_schema_version())));
  }
}

TEST_CASE("store: corrupt, foreign and missing files give clear errors", "[store]") {
  TempDir dir;
  SECTION("garbage bytes") {
    const std::string path = dir.file("garbage.db");
    {
      std::ofstream f(path, std::ios::binary);
      for (int i = 0; i < 4096; ++i) f.put(static_cast<char>((i * 37 + 11) & 0xFF));
    }
    for (auto mode : {store::OpenMode::ReadWrite, store::OpenMode::ReadOnly}) {
      Error e = catch_error([&] { store::Store s(path, mode); });
      CHECK(e.exit_code() == 2);
      CHECK_THAT(e.what(), Catch::Contains(path));
      CHECK_THAT(e.what(), Catch::Contains("not a SQLite database or is corrupt"));
    }
  }
  SECTION("a short text file") {
    const std::string path = dir.file("notes.txt");
    std::ofstream(path) << "hello\n";
    CHECK_THROWS_WITH(store::Store(path), Catch::Contains(path));
  }
  SECTION("a SQLite file that is not a v4lab database is not modified") {
    const std::string path = dir.file("other.db");
    raw_exec(path, "CREATE TABLE t (x INTEGER)");
    Error e = catch_error([&] { store::Store s(path); });
    CHECK_THAT(e.what(), Catch::Contains("not a v4lab results database"));
  }
  SECTION("read-only open of a missing file") {
    const std::string path = dir.file("missing.db");
    Error e = catch_error([&] { store::Store s(path, store::OpenMode::ReadOnly); });
    CHECK(e.exit_code() == 2);
    CHECK(std::string(e.what()) == "database '" + path + "' does not exist");
    CHECK_FALSE(std::filesystem::exists(path));
  }
}

TEST_CASE("store: read-only mode reads and refuses writes", "[store]") {
  TempDir dir;
  const std::string path = dir.file("v4lab.db");
  int64_t id = 0;
  {
    store::Store s(path);
    id = s.write_run(v4lab::test::synthetic_run());
  }
  store::Store ro(path, store::OpenMode::ReadOnly);
  CHECK(ro.read_only());
  CHECK(ro.get_run(id).info.name == "quickstart");
  CHECK(ro.measurements(id).size() == 3);
  CHECK_THROWS_WITH(ro.write_run(v4lab::test::synthetic_run()), Catch::Contains("read-only"));
}

TEST_CASE("store: deleting a run cascades to its rows", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  const int64_t keep = s.write_run(v4lab::test::synthetic_run("keep"));
  const int64_t drop = s.write_run(v4lab::test::synthetic_run("drop"));
  CHECK(count_rows(s, "measurements") == 6);
  s.delete_run(drop);
  CHECK(count_rows(s, "runs") == 1);
  CHECK(count_rows(s, "measurements") == 3);
  CHECK(count_rows(s, "predictions") == 6);
  CHECK(count_rows(s, "study_points") == 1);
  CHECK(s.measurements(drop).empty());
  CHECK(s.measurements(keep).size() == 3);
  CHECK(catch_error([&] { s.delete_run(drop); }).exit_code() == 2);
}

TEST_CASE("store: list_runs, get_run, resolve_run_ref", "[store]") {
  TempDir dir;
  const std::string path = dir.file("v4lab.db");
  store::Store s(path);
  CHECK(s.list_runs(10).empty());
  CHECK_FALSE(s.latest_run_id());
  CHECK_THROWS_AS(store::resolve_run_ref(s, "latest"), Error);
  const int64_t a = s.write_run(v4lab::test::synthetic_run("a"));
  store::RunRecord small;
  small.info.kind = "kernel";
  small.info.name = "b";
  const int64_t b = s.write_run(small);
  const int64_t c = s.write_run(v4lab::test::synthetic_run("c"));

  const auto two = s.list_runs(2);
  REQUIRE(two.size() == 2);
  CHECK(two[0].id == c);
  CHECK(two[1].id == b);
  CHECK(two[1].kind == "kernel");
  CHECK(two[1].n_measurements == 0);
  CHECK(two[0].n_measurements == 3);
  CHECK(two[0].n_predictions == 6);
  CHECK(two[0].n_study_points == 1);
  CHECK(two[0].status == "ok");
  CHECK(two[0].host == host_name());
  CHECK(two[0].git_commit == build_info().git_commit.substr(0, 12));
  CHECK(s.list_runs(0).size() == 3);
  CHECK(s.list_runs(0).back().id == a);

  CHECK(s.get_run(a).info.name == "a");
  Error e = catch_error([&] { s.get_run(4242); });
  CHECK(e.exit_code() == 2);
  CHECK(std::string(e.what()) == "no run 4242 in " + path);

  CHECK(store::resolve_run_ref(s, "latest") == c);
  CHECK(store::resolve_run_ref(s, std::to_string(a)) == a);
  CHECK(catch_error([&] { store::resolve_run_ref(s, "12abc"); }).exit_code() == 2);
  CHECK_THROWS_AS(store::resolve_run_ref(s, "-3"), Error);
}

TEST_CASE("store: hardware probes, newest per host", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  CHECK_FALSE(s.latest_probe("hostA"));
  s.save_probe("hostA", "stream+fma", {{"dram_bytes_per_s", 1.0e10}});
  s.save_probe("hostB", "stream+fma", {{"dram_bytes_per_s", 5.0e10}});
  s.save_probe("hostA", "stream+fma", {{"dram_bytes_per_s", 2.0e10}, {"cores", 2}});
  auto p = s.latest_probe("hostA");
  REQUIRE(p);
  CHECK((*p)["dram_bytes_per_s"].get<double>() == 2.0e10);
  CHECK((*p)["cores"].get<int>() == 2);
  CHECK((*s.latest_probe("hostB"))["dram_bytes_per_s"].get<double>() == 5.0e10);
}

TEST_CASE("store: measured-vs-predicted join", "[store]") {
  const store::RunRecord rec = v4lab::test::synthetic_run();
  const store::Comparison c = store::compare_run(rec.measurements, rec.predictions);
  REQUIRE(c.hardware == std::vector<std::string>{"local", "H100", "B200"});
  REQUIRE(c.rows.size() == 4);  // 3 measured + 1 predicted-only
  // mhc_pre ref and cpu both match the backend-less local prediction despite key order and 4096.0.
  for (int i : {0, 1}) {
    REQUIRE(c.rows[i].predicted[0]);
    CHECK(c.rows[i].predicted[0]->total_s == 0.8e-3);
    REQUIRE(c.rows[i].predicted[1]);
    CHECK(c.rows[i].predicted[1]->hardware == "H100");
    CHECK_FALSE(c.rows[i].predicted[2]);
  }
  CHECK_FALSE(c.rows[3].measured);
  CHECK(c.rows[3].op == "attn_csa_indexer");
  CHECK(c.rows[3].predicted[2]->hardware == "B200");

  // A prediction for a specific backend attaches to that backend only.
  auto preds = rec.predictions;
  preds[0].backend = "cpu";
  const store::Comparison c2 = store::compare_run(rec.measurements, preds);
  CHECK_FALSE(c2.rows[0].predicted[0]);
  CHECK(c2.rows[1].predicted[0]);
  CHECK(store::canonical_params(R"({"b":2.0,"a":[1.0,1.5]})") == R"({"a":[1,1.5],"b":2})");
}

TEST_CASE("store: JSON and CSV export", "[store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  store::RunRecord rec = v4lab::test::synthetic_run("name, with \"quotes\"");
  rec.measurements[0].params_json = R"({"d_model":4096,"hc":4,"n_tokens":128,"note":"a,b"})";
  const int64_t id = s.write_run(rec);

  const nlohmann::json j = nlohmann::json::parse(store::run_to_json(s, id).dump());
  CHECK(j["schema_version"] == store::Store::latest_schema_version());
  CHECK(j["run"]["id"] == id);
  CHECK(j["run"]["name"] == rec.info.name);
  CHECK(j["run"]["seed"] == 42);
  CHECK(j["run"]["git_commit"] == build_info().git_commit);
  CHECK(j["config"]["workload"]["n_tokens"] == 128);
  CHECK(j["measurements"].size() == 3);
  CHECK(j["measurements"][0]["params"]["note"] == "a,b");
  CHECK(j["measurements"][0]["verified"] == true);
  CHECK(j["predictions"].size() == 6);
  CHECK(j["predictions"][0]["host_s"].is_null());
  CHECK(j["predictions"][0]["backend"].is_null());
  CHECK(j["study_points"][0]["metrics"]["recall"] == 0.97);
  CHECK_THROWS_AS(store::run_to_json(s, id + 1), Error);

  std::ostringstream os;
  store::export_run_csv(s, id, os);
  const std::string csv = os.str();
  // Header + 3 measured rows + 1 predicted-only row, CRLF line ends.
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 5);
  CHECK(std::count(csv.begin(), csv.end(), '\r') == 5);
  std::istringstream lines(csv);
  std::string header, first;
  std::getline(lines, header);
  std::getline(lines, first);
  CHECK(header.rfind("run_id,row_kind,op,backend,params,median_s", 0) == 0);
  CHECK_THAT(header, Catch::Contains("pred_local_total_s,pred_local_bound,measured_over_pred_local"));
  CHECK_THAT(header, Catch::Contains("pred_B200_total_s"));
  // The params field contains commas and quotes: quoted, inner quotes doubled.
  CHECK_THAT(first, Catch::Contains(R"("{""d_model"":4096,""hc"":4,""n_tokens"":128,""note"":""a,b""}")"));
  CHECK_THAT(first, Catch::StartsWith(std::to_string(id) + ",measured,mhc_pre,ref,"));
  CHECK_THAT(csv, Catch::Contains(",prediction,attn_csa_indexer,"));
  CHECK(store::csv_field("plain") == "plain");
  CHECK(store::csv_field("a\"b") == "\"a\"\"b\"");
  CHECK(store::csv_field("line\nbreak") == "\"line\nbreak\"");
}
