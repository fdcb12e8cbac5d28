// test_cli_calibrate_exec.cpp — `v4lab calibrate --fit` over `v4lab exec` runs (issue 11): an exec
// row times calls_per_step calls, so its point is one call; identical layers are one shape; bench
// and exec runs fit together (--from A,B); a real exec run fitted and then predicted.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/common.h"
#include "cli_test_util.h"
#include "core/presets.h"
#include "sim/op_cost.h"
#include "store/store.h"

namespace {
// A synthetic run of kind `kind` whose rmsnorm rows take `calls` × (3 · roofline + 5 µs) each; exec
// rows repeat every shape in `copies` layers and carry the exec object.
v4lab::store::RunRecord synthetic(const std::string& kind, const v4lab::sim::HardwareModel& roof,
                                  std::initializer_list<double> n_tokens, double calls, int copies) {
  const auto& op = v4lab::get_op("rmsnorm");
  v4lab::store::RunRecord rec;
  rec.info.kind = kind;
  for (double n : n_tokens)
    for (int layer = 0; layer < copies; ++layer) {
      const auto p = v4lab::resolve_params(op, {{"n_tokens", n}});
      nlohmann::json pj = v4lab::cli::params_json(p);
      if (kind == "exec")
        pj["exec"] = {{"phase", n > 8 ? "prefill" : "decode"}, {"layer", layer}, {"layer_type", "csa"},
                      {"label", "attn_norm"}, {"calls_per_step", calls}};
      v4lab::store::Measurement m;
      m.op = "rmsnorm";
      m.backend = "cpu";
      m.params_json = pj.dump();
      m.median_s = calls * (3 * v4lab::sim::predict_op(op.work(p), roof).roofline_s + 5e-6);
      rec.measurements.push_back(m);
    }
  return rec;
}
}  // namespace

TEST_CASE("calibrate --fit --from: exec rows are fitted per call, one point per shape", "[cli]") {
  const std::string dir = fresh_dir("calibrate_exec");
  const std::string db = dir + "/c.db";
  REQUIRE(cli({"--db", db, "calibrate", "--budget", "0.2"}).code == 0);
  v4lab::store::Store st(db);
  const auto roof = local_model(db);
  const int64_t bench = st.write_run(synthetic("bench", roof, {64.0, 4096.0}, 1, 1));
  const int64_t exec = st.write_run(synthetic("exec", roof, {4.0, 2048.0}, 4, 5));  // 4 calls a row, 5 layers

  // The exec run alone: the per-call law is recovered (a fit of the 4-call times would say e = 1/12).
  CliResult r = cli({"--json", "--db", db, "calibrate", "--fit", "--from", std::to_string(exec)});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["summary"]["points"] == 2);  // 10 rows, 2 shapes
  CHECK(j["summary"]["fit_max_rel_err"].get<double>() < 1e-6);
  const auto local = local_model(db);
  const auto* e = local.efficiency_for("rmsnorm", "numerics");
  REQUIRE(e != nullptr);
  CHECK(e->compute == Approx(1.0 / 3).epsilon(1e-6));
  CHECK(e->overhead_s == Approx(5e-6).epsilon(1e-6));

  // Bench + exec together: 4 points, the same law.
  r = cli({"--json", "--db", db, "calibrate", "--fit", "--from", std::to_string(bench) + "," + std::to_string(exec)});
  INFO(r.err);
  REQUIRE(r.code == 0);
  j = nlohmann::json::parse(r.out);
  CHECK(j["summary"]["points"] == 4);
  CHECK(j["summary"]["runs"] == nlohmann::json::array({bench, exec}));
  CHECK(j["summary"]["fit_max_rel_err"].get<double>() < 1e-6);
  CHECK(j["source"].get<std::string>().find("runs " + std::to_string(bench) + ", " + std::to_string(exec)) == 0);

  // Naming a run twice, or evaluating on a fitted run, is a usage error.
  CHECK(cli({"--db", db, "calibrate", "--fit", "--from", std::to_string(exec) + "," + std::to_string(exec)}).code == 2);
  r = cli({"--db", db, "calibrate", "--fit", "--from", std::to_string(bench), "--eval", std::to_string(bench)});
  CHECK(r.code == 2);
  CHECK(r.err.find("is a fitted run") != std::string::npos);
}

TEST_CASE("calibrate --fit on a real exec run, then the next exec run's predictions use it", "[cli][exec]") {
  const std::string dir = fresh_dir("calibrate_exec_real");
  const std::string db = dir + "/c.db";
  REQUIRE(cli({"--db", db, "calibrate", "--budget", "0.2"}).code == 0);
  const std::vector<std::string> exec = {"--json", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny",
                                         "--layers", "4", "--prefill", "64", "--decode", "4", "--batch", "2"};
  CliResult r = cli(exec);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const int64_t run1 = nlohmann::json::parse(r.out)["run_id"].get<int64_t>();
  r = cli({"--json", "--db", db, "calibrate", "--fit", "--from", std::to_string(run1)});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto fit = nlohmann::json::parse(r.out);
  CHECK(fit["summary"]["ops"].get<int>() >= 10);
  auto second = exec;
  second.insert(second.end(), {"--seed", "2"});
  r = cli(second);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  // Every prediction of the second run is the calibrated model's.
  v4lab::store::Store st(db);
  int calibrated = 0, total = 0;
  for (const auto& p : st.predictions(j["run_id"].get<int64_t>())) {
    ++total;
    calibrated += p.model == "roofline-eff-v2";
  }
  CHECK(total > 0);
  CHECK(calibrated == total);
}
