// test_efficiency.cpp — calibrated efficiencies (sim/efficiency.h): how a table scales each roof, the
// fit recovering known parameters, loader errors, the shipped GPU tables, and monotonicity with them.
#include <catch2/catch.hpp>

#include <random>

#include "core/error.h"
#include "core/presets.h"
#include "sim/efficiency.h"
#include "sim/op_cost.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

static HardwareModel toy() {
  HardwareModel m;
  m.id = "toy";
  m.peak_flops_per_s[Precision::FP32] = {1e12, "fp32_tflops", "assumption"};
  m.mem_bw = {1e11, "mem_bw_gbs", "assumption"};
  m.net_bw = {1e10, "nvlink_gbs", "assumption"};
  m.nic_bw = {1e9, "nic_gbs", "assumption"};
  m.overhead_s = 2e-6;
  return m;
}

TEST_CASE("efficiency: each roof is divided by its share, overhead and additive forms", "[sim]") {
  HardwareModel hw = toy();
  OpWork w;
  w.flops = 1e9;      // 1 ms at peak
  w.bytes_mem = 5e7;  // 0.5 ms at peak bandwidth
  Efficiency e;
  e.key = "x";
  e.kind = "fit";
  e.compute = 0.5;   // 2 ms
  e.memory = 0.25;   // 2 ms
  REQUIRE(predict_op(w, hw, &e).total_s == Approx(2e-3 + 2e-6));  // max, hardware overhead (NaN in e)
  e.overhead_s = 1e-5;
  REQUIRE(predict_op(w, hw, &e).total_s == Approx(2e-3 + 1e-5));
  e.additive = true;
  REQUIRE(predict_op(w, hw, &e).total_s == Approx(4e-3 + 1e-5));
  const OpCost c = predict_op(w, hw, &e);
  REQUIRE(c.roofline_s == Approx(1e-3));  // the plain roofline is kept for reports
  REQUIRE(c.efficiency_key == "x");
  REQUIRE(std::string(cost_model_name(c)) == kCalibratedModelName);
  REQUIRE(std::string(cost_model_name(predict_op(w, hw))) == kCostModelName);
}

TEST_CASE("efficiency: NVLink and NIC bytes go out concurrently, the net share scales both", "[sim]") {
  HardwareModel hw = toy();
  OpWork w;
  w.bytes_net = 1e7;  // 1 ms on NVLink
  w.bytes_nic = 2e6;  // 2 ms on the NIC
  REQUIRE(predict_op(w, hw).comm_s == Approx(2e-3));
  Efficiency e;
  e.kind = "anchor";
  e.net = 0.5;
  REQUIRE(predict_op(w, hw, &e).comm_s == Approx(4e-3));
}

TEST_CASE("efficiency fit recovers known lines (overlap and additive forms)", "[sim]") {
  std::vector<FitPoint> pts;
  // op a: t = 2 · max(c, m) + 3 us;  op b: t = 4 · c + 1.5 · m + 0 (compute and memory both matter).
  for (double n : {1.0, 8.0, 64.0, 512.0, 4096.0}) {
    const double c = 1e-7 * n, m = 3e-8 * n + 1e-7;
    pts.push_back({"a", "fam", "", c, m, 2 * std::max(c, m) + 3e-6});
    pts.push_back({"b", "fam", "", c * 0.3, m, 4 * c * 0.3 + 1.5 * m});
  }
  const EfficiencyTable t = fit_efficiency(pts, "local", "synthetic");
  const Efficiency& a = t.entries.at("a");
  REQUIRE_FALSE(a.additive);
  REQUIRE(a.compute == Approx(0.5).epsilon(1e-6));
  REQUIRE(a.overhead_s == Approx(3e-6).epsilon(1e-6));
  REQUIRE(a.fit_max_rel_err < 1e-9);
  REQUIRE(a.loo_median_rel_err < 1e-9);
  const Efficiency& b = t.entries.at("b");
  REQUIRE(b.additive);
  REQUIRE(b.compute == Approx(0.25).epsilon(1e-6));
  REQUIRE(b.memory == Approx(1 / 1.5).epsilon(1e-6));
  for (auto& p : pts) REQUIRE(fit_rel_error(t, p, 2e-6) < 1e-9);
  // Lookup order: op, family, default.
  REQUIRE(t.lookup("a", "zzz") == &a);
  REQUIRE(t.lookup("nope", "fam") == nullptr);
}

TEST_CASE("efficiency fit: an op measured in two kernel forms gets one entry per form", "[sim]") {
  std::vector<FitPoint> pts;
  // op c, form "fast": t = 2 · max(c, m) + 1 us; form "slow": t = 40 · max(c, m) + 9 us. op d: one form.
  for (double n : {1.0, 8.0, 64.0, 512.0}) {
    const double c = 1e-7 * n, m = 3e-8 * n + 1e-7;
    FitPoint f{"c", "fam", "", c, m, 2 * std::max(c, m) + 1e-6};
    f.variant = "fast";
    FitPoint s{"c", "fam", "", c, m, 40 * std::max(c, m) + 9e-6};
    s.variant = "slow";
    FitPoint d{"d", "fam", "", c, m, 3 * std::max(c, m) + 2e-6};
    d.variant = "only";
    pts.insert(pts.end(), {f, s, d});
  }
  const EfficiencyTable t = fit_efficiency(pts, "local", "synthetic");
  REQUIRE(t.entries.count("c@fast") == 1);
  REQUIRE(t.entries.count("c@slow") == 1);
  REQUIRE(t.entries.count("c") == 0);
  REQUIRE(t.entries.count("d") == 1);  // a single form keeps the plain op key (it serves every form)
  CHECK(t.entries.at("c@fast").compute == Approx(0.5).epsilon(1e-6));
  CHECK(t.entries.at("c@slow").compute == Approx(1.0 / 40).epsilon(1e-6));
  CHECK(t.entries.at("c@slow").overhead_s == Approx(9e-6).epsilon(1e-6));
  for (auto& p : pts) CHECK(fit_rel_error(t, p, 2e-6) < 1e-9);
  CHECK(t.lookup("c", "fam", "slow") == &t.entries.at("c@slow"));
  CHECK(t.lookup("d", "fam", "other") == &t.entries.at("d"));
}

TEST_CASE("efficiency tables: loader errors name the entry and field", "[sim]") {
  auto load = [](const nlohmann::json& e) { return efficiency_from_json({{"entries", {e}}}, "t.toml"); };
  REQUIRE_THROWS_WITH(load({{"key", "gemm_fp8"}, {"compute", 0.0}, {"kind", "anchor"}, {"source", "s"}}),
                      Catch::Contains("t.toml: entry 'gemm_fp8': 'compute'") && Catch::Contains("(0, 1e9]"));
  REQUIRE_THROWS_WITH(load({{"key", "g"}, {"compte", 0.5}, {"kind", "anchor"}, {"source", "s"}}),
                      Catch::Contains("unknown field 'compte'"));
  REQUIRE_THROWS_WITH(load({{"key", "g"}, {"compute", 0.5}, {"kind", "anchor"}}), Catch::Contains("needs a 'source'"));
  REQUIRE_THROWS_WITH(load({{"key", "g"}, {"compute", 0.5}}), Catch::Contains("needs 'kind'"));
  REQUIRE_THROWS_AS(efficiency_from_json({{"x", 1}}, "t.toml"), Error);
}

TEST_CASE("shipped GPU efficiency tables load from data/ and change the prediction", "[sim]") {
  const std::string data = default_data_dir();
  for (const char* id : {"h800_sxm", "h100_sxm", "h200_sxm", "b200", "gb200"}) {
    INFO(id);
    const HardwareModel hw = hardware_model(load_hardware_preset(id, data));
    REQUIRE_FALSE(hw.efficiency.empty());
    REQUIRE(hw.efficiency_for("gemm_fp8", "quant") != nullptr);
    REQUIRE(hw.efficiency_for("rmsnorm", "numerics") == nullptr);  // no anchor: plain roofline
  }
  const HardwareModel h800 = hardware_model(load_hardware_preset("h800_sxm", data));
  const OpDef& g = get_op("gemm_fp8");
  const OpWork w = g.work(resolve_params(g, {{"n_tokens", 4096}, {"n", 4096}, {"k", 7168}}));
  const OpCost roof = predict_op(w, h800), cal = predict_op_for("gemm_fp8", "quant", w, h800);
  REQUIRE(cal.efficiency_kind == "anchor");
  REQUIRE(cal.compute_s == Approx(roof.compute_s / 0.639));
  // The sparse MLA variant has its own anchor.
  REQUIRE(h800.efficiency_for("attn_mla_decode", "attention", "absorbed_sparse_bf16")->compute == Approx(0.415));
  REQUIRE(h800.efficiency_for("attn_mla_decode", "attention", "absorbed_bf16")->compute == Approx(0.667));
}

TEST_CASE("with calibrated efficiencies, more bandwidth or FLOP/s still never predicts a slower step", "[sim]") {
  const std::string data = default_data_dir();
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", data);
  std::mt19937 rng(11);
  for (int it = 0; it < 6; ++it) {
    HardwarePreset hw = load_hardware_preset(it % 2 ? "h800_sxm" : "b200", data);
    Deployment dep;
    dep.gpus = dep.dp = dep.ep = 8 << (rng() % 3);  // 8, 16, 32: NIC traffic from 16 on
    Workload wl;
    wl.phase = rng() % 2 ? Phase::Decode : Phase::Prefill;
    wl.batch = dep.gpus * (1 + int64_t(rng() % 8));
    wl.chunk = 512;
    const double base = predict_step(flash, hw, dep, wl).step_s;
    for (const char* key : {"mem_bw_gbs", "fp8_dense_tflops", "nvlink_gbs", "nic_gbs"}) {
      HardwarePreset faster = hw;
      faster.fields.at(key).value *= 1.5;
      INFO(key << " it " << it);
      REQUIRE(predict_step(flash, faster, dep, wl).step_s <= base * (1 + 1e-12));
    }
  }
}
