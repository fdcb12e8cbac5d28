// test_op_cost.cpp — roofline cost model: hand-derived cases, fallbacks, monotonicity (STYLE 19).
#include <catch2/catch.hpp>

#include "core/error.h"
#include "core/presets.h"
#include "sim/op_cost.h"

using namespace v4lab;
using namespace v4lab::sim;

static HardwareModel toy() {
  HardwareModel m;
  m.id = "toy";
  m.device_class = "gpu";
  m.peak_flops_per_s[Precision::FP32] = {1e12, "fp32_tflops", "assumption"};
  m.peak_flops_per_s[Precision::BF16] = {8e12, "bf16_dense_tflops", "assumption"};
  m.mem_bw = {1e11, "mem_bw_gbs", "assumption"};
  m.host_link_bw = {1e10, "host_link_gbs", "assumption"};
  m.overhead_s = 2e-6;
  return m;
}

TEST_CASE("roofline: hand-derived compute- and memory-bound cases", "[sim]") {
  HardwareModel hw = toy();
  OpWork w;
  w.flops = 1e9;       // 1 ms at 1 TFLOP/s
  w.bytes_mem = 1e7;   // 0.1 ms at 100 GB/s
  w.precision = Precision::FP32;
  OpCost c = predict_op(w, hw);
  REQUIRE(c.compute_s == Approx(1e-3));
  REQUIRE(c.memory_s == Approx(1e-4));
  REQUIRE(c.total_s == Approx(1e-3 + 2e-6));
  REQUIRE(c.bound == "compute");
  REQUIRE(c.intensity == Approx(100));

  w.bytes_mem = 1e9;  // 10 ms
  c = predict_op(w, hw);
  REQUIRE(c.bound == "memory");
  REQUIRE(c.total_s == Approx(1e-2 + 2e-6));

  w.precision = Precision::BF16;  // 8x faster compute
  w.bytes_mem = 0;
  c = predict_op(w, hw);
  REQUIRE(c.compute_s == Approx(1e9 / 8e12));

  w.precision = Precision::FP8;  // absent: falls back to BF16
  c = predict_op(w, hw);
  REQUIRE(c.precision_used == Precision::BF16);

  w = {};
  w.transcendentals = 1e6;  // each costs kTranscendentalCost FP32 FLOP-equivalents
  c = predict_op(w, hw);
  REQUIRE(c.compute_s == Approx(1e6 * HardwareModel::kTranscendentalCost / 1e12));

  w = {};
  w.bytes_host_link = 1e8;  // 10 ms over a 10 GB/s link
  c = predict_op(w, hw);
  REQUIRE(c.bound == "host");
  w = {};
  w.bytes_net = 1;
  REQUIRE_THROWS_AS(predict_op(w, hw), Error);  // no network rate in the toy model
}

TEST_CASE("roofline: more bandwidth or more FLOP/s is never slower", "[sim]") {
  HardwareModel a = toy();
  for (double intensity : {0.1, 1.0, 10.0, 100.0, 1000.0}) {
    OpWork w;
    w.bytes_mem = 1e8;
    w.flops = intensity * w.bytes_mem;
    double t0 = predict_op(w, a).total_s;
    HardwareModel b = a;
    b.mem_bw.value *= 2;
    REQUIRE(predict_op(w, b).total_s <= t0);
    HardwareModel c = a;
    c.peak_flops_per_s[Precision::FP32].value *= 2;
    REQUIRE(predict_op(w, c).total_s <= t0);
    OpWork w2 = w;
    w2.flops *= 2;
    REQUIRE(predict_op(w2, a).total_s >= t0);
  }
}

TEST_CASE("hardware_model reads presets and refuses an un-probed local preset", "[sim]") {
  const std::string data = std::string(V4LAB_SOURCE_DIR) + "/data";
  HardwareModel h800 = hardware_model(load_hardware_preset("h800_sxm", data));
  REQUIRE(h800.peak(Precision::BF16).value == Approx(989e12));
  REQUIRE(h800.mem_bw.value == Approx(3.35e12));
  HardwareModel b200 = hardware_model(load_hardware_preset("b200", data));
  REQUIRE(b200.peak(Precision::FP4).value == Approx(9000e12));
  Precision used;
  h800.peak(Precision::FP4, &used);
  REQUIRE(used == Precision::FP8);
  try {
    hardware_model(load_hardware_preset("local", data));
    FAIL("un-probed local preset accepted");
  } catch (const Error& e) {
    REQUIRE(std::string(e.what()).find("fp32_tflops") != std::string::npos);
  }
}
