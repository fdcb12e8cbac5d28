// test_cli_validate.cpp — `v4lab validate` on the shipped reference points (all gated points within
// their tolerance), a point outside its tolerance failing the command, bad files exiting 2, and
// `v4lab calibrate --fit` fitting a bench run and feeding `local` predictions.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "cli/common.h"
#include "cli_test_util.h"
#include "core/presets.h"
#include "sim/op_cost.h"
#include "store/store.h"

namespace fs = std::filesystem;

TEST_CASE("validate: shipped reference points pass and are stored", "[cli]") {
  const std::string dir = fresh_dir("validate");
  CliResult r = cli({"--json", "--db", dir + "/v.db", "validate"});
  INFO(r.err << r.out.substr(0, 2000));
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["failed"] == 0);
  REQUIRE(j["passed"].get<int>() >= 10);
  int independent = 0;
  for (auto& p : j["points"]) {
    REQUIRE(p["predicted"].get<double>() > 0);
    if (p["gate"].get<bool>()) REQUIRE(std::abs(p["error"].get<double>()) <= p["tolerance"].get<double>());
    independent += !p["used_in_calibration"].get<bool>();
  }
  REQUIRE(independent >= 5);  // most points are not the anchors the efficiencies came from
  REQUIRE(sql_int(dir + "/v.db", "SELECT COUNT(*) FROM study_points WHERE study = 'validate'") == int(j["points"].size()));
}

static std::string copy_data(const std::string& dir) {
  const std::string data = dir + "/data";
  fs::copy(v4lab::default_data_dir(), data, fs::copy_options::recursive);
  fs::remove_all(data + "/validation");
  fs::create_directories(data + "/validation");
  return data;
}

TEST_CASE("validate: a point outside its tolerance fails (exit 1), a bad file exits 2", "[cli]") {
  const std::string dir = fresh_dir("validate_fail");
  const std::string data = copy_data(dir);
  {
    std::ofstream f(data + "/validation/x.toml");
    f << "[[point]]\nid = \"too_fast\"\nhardware = \"h800_sxm\"\nop = \"gemm_fp8\"\n"
         "params = { n_tokens = 4096, n = 4096, k = 7168 }\nmetric = \"tflops\"\nreference = 1900\n"
         "tolerance = 0.05\nsource = \"test\"\n";
  }
  CliResult r = cli({"--json", "--data-dir", data, "--db", dir + "/v.db", "validate", "--no-save"});
  REQUIRE(r.code == 1);
  REQUIRE(nlohmann::json::parse(r.out)["failed"] == 1);
  {
    std::ofstream f(data + "/validation/x.toml");
    f << "[[point]]\nid = \"bad\"\nhardware = \"h800_sxm\"\nop = \"gemm_fp8\"\nmetric = \"flops\"\nreference = 1\n"
         "tolerance = 0.05\nsource = \"test\"\n";
  }
  r = cli({"--data-dir", data, "--db", dir + "/v.db", "validate", "--no-save"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("x.toml") != std::string::npos);
  REQUIRE(r.err.find("metric = \"flops\"") != std::string::npos);
}

TEST_CASE("calibrate --fit: recovers a synthetic bench run and local predictions use the fit", "[cli]") {
  const std::string dir = fresh_dir("calibrate_fit");
  const std::string db = dir + "/c.db";
  REQUIRE(cli({"--db", db, "calibrate", "--budget", "0.2"}).code == 0);
  REQUIRE(cli({"--db", db, "calibrate", "--fit"}).code == 2);  // no bench run yet: says so
  v4lab::store::Store st(db);
  const auto roof = local_model(db);
  const auto& op = v4lab::get_op("rmsnorm");
  v4lab::store::RunRecord rec;
  rec.info.kind = "bench";
  for (double n : {1.0, 16.0, 256.0, 4096.0}) {
    const auto p = v4lab::resolve_params(op, {{"n_tokens", n}});
    const auto c = v4lab::sim::predict_op(op.work(p), roof);
    v4lab::store::Measurement m;
    m.op = "rmsnorm";
    m.backend = "cpu";
    m.params_json = v4lab::cli::params_json(p).dump();
    m.median_s = 3 * c.roofline_s + 5e-6;  // e = 1/3, overhead 5 us
    rec.measurements.push_back(m);
  }
  st.write_run(rec);
  CliResult r = cli({"--json", "--db", db, "calibrate", "--fit"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["summary"]["fit_max_rel_err"].get<double>() < 1e-6);
  REQUIRE(j["label"] == "calibrated fit");
  const auto local = local_model(db);
  const auto* e = local.efficiency_for("rmsnorm", "numerics");
  REQUIRE(e != nullptr);
  REQUIRE(e->compute == Approx(1.0 / 3).epsilon(1e-6));
  REQUIRE(e->overhead_s == Approx(5e-6).epsilon(1e-6));
  const auto p = v4lab::resolve_params(op, {{"n_tokens", 100}});
  const auto c = v4lab::sim::predict_op_for("rmsnorm", "numerics", op.work(p), local);
  REQUIRE(c.total_s == Approx(3 * v4lab::sim::predict_op(op.work(p), roof).roofline_s + 5e-6));
}
