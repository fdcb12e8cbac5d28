// test_cli_compare.cpp — `v4lab compare` through the real CLI path: measurements pair by (op, backend,
// params), predictions by (op, hardware, params), study points by (study, point); delta = B − A and
// ratio = B / A; unpaired rows are listed; RUN:POINT compares two points of one study; labels travel
// with every row; bad references exit 2.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "store/store.h"

namespace {

using nlohmann::json;

v4lab::store::RunRecord record(double scale, bool extra) {
  v4lab::store::RunRecord r;
  r.info.kind = "bench";
  r.info.name = "compare-test";
  v4lab::store::Measurement m;
  m.op = "rmsnorm";
  m.backend = "cpu";
  m.params_json = R"({"n_tokens": 4, "d_model": 1024})";
  m.median_s = 1e-3 * scale;
  m.reps = 5;
  r.measurements.push_back(m);
  if (extra) {
    m.op = "rope";
    r.measurements.push_back(m);
  }
  v4lab::store::Prediction p;
  p.op = "rmsnorm";
  p.hardware = "h800_sxm";
  p.params_json = R"({"d_model": 1024.0, "n_tokens": 4})";  // same params, other key order and number form
  p.total_s = 2e-6 * scale;
  r.predictions.push_back(p);
  v4lab::store::StudyPoint s;
  s.study = "toy";
  s.point_json = R"({"x": 1})";
  s.metrics_json = json({{"y", 3.0 * scale}, {"nested", {{"z", 1.0}}}, {"list", {1, 2}}}).dump();
  s.label = "calibrated model, not a training run";
  r.study_points.push_back(s);
  return r;
}

const json* find_row(const json& rows, const std::string& kind, const std::string& metric) {
  for (const auto& r : rows)
    if (r["kind"] == kind && r["metric"] == metric) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("cli compare: two runs pair rows by key and give delta and ratio", "[cli][compare]") {
  const std::string db = fresh_dir("compare_runs") + "/t.db";
  int64_t a = 0, b = 0;
  {
    v4lab::store::Store s(db);
    a = s.write_run(record(1.0, false));
    b = s.write_run(record(2.0, true));
  }
  auto r = cli({"--db", db, "--json", "compare", std::to_string(a), std::to_string(b)});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  const json* med = find_row(j["rows"], "measurement", "median_s");
  REQUIRE(med);
  CHECK((*med)["a"].get<double>() == Approx(1e-3));
  CHECK((*med)["b"].get<double>() == Approx(2e-3));
  CHECK((*med)["delta"].get<double>() == Approx(1e-3));
  CHECK((*med)["ratio"].get<double>() == Approx(2.0));
  const json* pred = find_row(j["rows"], "prediction", "total_s");
  REQUIRE(pred);
  CHECK((*pred)["ratio"].get<double>() == Approx(2.0));
  CHECK((*pred)["label_a"] == "prediction");
  const json* y = find_row(j["rows"], "study_point", "y");
  REQUIRE(y);
  CHECK((*y)["delta"].get<double>() == Approx(3.0));
  CHECK((*y)["label_a"] == "calibrated model, not a training run");
  const json* z = find_row(j["rows"], "study_point", "nested.z");
  REQUIRE(z);
  CHECK((*z)["ratio"].get<double>() == Approx(1.0));
  CHECK_FALSE(find_row(j["rows"], "study_point", "list"));  // arrays are not compared
  CHECK(j["only_a"].empty());
  REQUIRE(j["only_b"].size() == 1);
  CHECK(j["only_b"][0]["key"].get<std::string>().find("rope") == 0);
  // text mode prints a table (exit 0) and names the unpaired row
  auto t = cli({"--db", db, "compare", std::to_string(a), "latest"});
  CHECK(t.code == 0);
  CHECK(t.out.find("only in B: measurement rope") != std::string::npos);
}

TEST_CASE("cli compare: RUN:POINT compares two points of a ucurve study", "[cli][compare][ucurve]") {
  const std::string db = fresh_dir("compare_points") + "/t.db";
  auto s = cli({"--db", db, "--json", "--quiet", "study", "ucurve", "--rho-grid", "0.8,1", "--no-cost"});
  INFO(s.err);
  REQUIRE(s.code == 0);
  const std::string id = std::to_string(json::parse(s.out)["run_id"].get<long long>());
  auto r = cli({"--db", db, "--json", "compare", id + ":budget=6e20,rho=0.8", id + ":rho=1"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  const json* loss = find_row(j["rows"], "point", "loss");
  REQUIRE(loss);
  CHECK((*loss)["delta"].get<double>() == Approx((*loss)["b"].get<double>() - (*loss)["a"].get<double>()));
  CHECK((*loss)["delta"].get<double>() == Approx(1.7248 - 1.7109).margin(5e-4));  // at exact rho 0.796 vs 1
  CHECK((*loss)["label_a"].get<std::string>().find("calibrated model, not a training run") != std::string::npos);
  const json* e = find_row(j["rows"], "point", "experts");
  REQUIRE(e);
  CHECK((*e)["a"] == 80.0);
  CHECK((*e)["b"] == 99.0);
  // index syntax: point 1 is rho 0.8
  auto i = cli({"--db", db, "--json", "compare", id + ":1", id + ":2"});
  REQUIRE(i.code == 0);
  CHECK(find_row(json::parse(i.out)["rows"], "point", "loss"));
}

TEST_CASE("cli compare: bad references exit 2", "[cli][compare]") {
  const std::string db = fresh_dir("compare_bad") + "/t.db";
  {
    v4lab::store::Store s(db);
    s.write_run(record(1.0, false));
  }
  CHECK(cli({"--db", db, "compare", "1", "1:1"}).code == 2);      // run vs point
  CHECK(cli({"--db", db, "compare", "1:9", "1:1"}).code == 2);    // no point 9
  CHECK(cli({"--db", db, "compare", "1:x=2", "1:1"}).code == 2);  // matches nothing
  CHECK(cli({"--db", db, "compare", "1", "7"}).code == 2);        // no run 7
  CHECK(cli({"--db", db, "compare", "abc", "1"}).code == 2);
  auto r = cli({"--db", db, "compare", "1:9", "1:1"});
  CHECK(r.err.find("[1, 1]") != std::string::npos);
}
