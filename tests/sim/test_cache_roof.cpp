// test_cache_roof.cpp — the cache-aware memory roof (docs/cost-model.md §Cache-aware memory roof):
// min(B, C) bytes at the cached share, the rest at the DRAM share; continuous and monotone in bytes
// and bandwidth; the fit finds a synthetic cache cliff, its capacity and both shares; JSON round trip.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/error.h"
#include "sim/efficiency.h"
#include "sim/op_cost.h"

using namespace v4lab;
using namespace v4lab::sim;

static HardwareModel toy_cached(double cache_bytes) {
  HardwareModel m;
  m.id = "toy";
  m.peak_flops_per_s[Precision::FP32] = {1e12, "fp32_tflops", "assumption"};
  m.mem_bw = {1e10, "mem_bw_gbs", "assumption"};  // 10 GB/s
  m.overhead_s = 1e-6;
  m.cache_bytes = cache_bytes;
  return m;
}

TEST_CASE("cache roof: the first C bytes at the cached share, the rest at the DRAM share", "[sim]") {
  const HardwareModel hw = toy_cached(4e6);
  Efficiency e;
  e.key = "x";
  e.kind = "fit";
  e.additive = true;
  e.memory = 0.5;        // DRAM: 5 GB/s
  e.memory_cached = 4;   // cache: 40 GB/s
  e.overhead_s = 0;
  OpWork w;
  w.bytes_mem = 2e6;  // inside: 2e6 / 40e9
  REQUIRE(predict_op(w, hw, &e).memory_s == Approx(2e6 / 40e9));
  w.bytes_mem = 1e7;  // 4e6 inside + 6e6 outside
  REQUIRE(predict_op(w, hw, &e).memory_s == Approx(4e6 / 40e9 + 6e6 / 5e9));
  // Continuous at B = C and non-decreasing in B; more bandwidth is never slower.
  w.bytes_mem = 4e6;
  const double at = predict_op(w, hw, &e).total_s;
  w.bytes_mem = 4e6 * (1 + 1e-9);
  REQUIRE(predict_op(w, hw, &e).total_s == Approx(at).epsilon(1e-6));
  double prev = 0;
  for (double b = 1e3; b < 1e9; b *= 1.37) {
    w.bytes_mem = b;
    const double t = predict_op(w, hw, &e).total_s;
    REQUIRE(t >= prev);
    prev = t;
    HardwareModel fast = hw;
    fast.mem_bw.value *= 1.5;
    REQUIRE(predict_op(w, fast, &e).total_s <= t);
  }
  // Without memory_cached (every GPU anchor) or without a capacity, one share for all bytes.
  Efficiency plain = e;
  plain.memory_cached = std::numeric_limits<double>::quiet_NaN();
  w.bytes_mem = 1e7;
  REQUIRE(predict_op(w, hw, &plain).memory_s == Approx(1e7 / 5e9));
  REQUIRE(predict_op(w, toy_cached(0), &e).memory_s == Approx(1e7 / 5e9));
}

TEST_CASE("cache roof fit: a synthetic cliff gives its capacity, both shares and < 2x everywhere", "[sim]") {
  // Truth: C = 8 MiB, cached share 3, DRAM share 0.6, overhead 2 µs, roofline bandwidth 10 GB/s.
  const double C = 8.0 * 1024 * 1024, W = 1e10;
  std::vector<FitPoint> pts;
  for (const char* op : {"a", "b"})
    for (double B : {1e4, 1e5, 1e6, 4e6, 3e7, 1e8, 5e8}) {
      FitPoint p;
      p.op = op;
      p.family = "f";
      p.shape = "{}";
      p.bytes_mem = B;
      p.memory_s = B / W;
      p.compute_s = B / W * 0.01;
      p.measured_s = std::min(B, C) / (W * 3) + std::max(0.0, B - C) / (W * 0.6) + 2e-6;
      pts.push_back(p);
    }
  const EfficiencyTable t = fit_efficiency(pts, "local", "synthetic", cache_capacity_grid(1e9));
  REQUIRE(std::isfinite(t.cache_bytes));
  REQUIRE(t.cache_bytes == Approx(C).epsilon(0.25));  // the √2 grid brackets C
  const Efficiency& e = t.entries.at("a");
  REQUIRE(std::isfinite(e.memory_cached));
  REQUIRE(e.memory_cached > e.memory);
  REQUIRE(e.memory == Approx(0.6).epsilon(0.35));  // C on the √2 grid, not exactly 8 MiB
  for (const FitPoint& p : pts) {
    const double r = fit_predict_s(t, p, 1e-6) / p.measured_s;
    INFO(p.bytes_mem << " ratio " << r);
    REQUIRE(r < 1.3);
    REQUIRE(r > 1 / 1.3);
  }
  // Without candidates the same points get no cache roof and miss the cliff by far more.
  const EfficiencyTable flat = fit_efficiency(pts, "local", "synthetic");
  REQUIRE_FALSE(std::isfinite(flat.cache_bytes));
  double worst = 1;
  for (const FitPoint& p : pts) {
    const double r = fit_predict_s(flat, p, 1e-6) / p.measured_s;
    worst = std::max(worst, std::max(r, 1 / r));
  }
  REQUIRE(worst > 1.5);
  // JSON round trip keeps the capacity and the cached share.
  const EfficiencyTable back = efficiency_from_json(t.to_json(), "roundtrip");
  REQUIRE(back.cache_bytes == t.cache_bytes);
  REQUIRE(back.entries.at("a").memory_cached == Approx(e.memory_cached));
  nlohmann::json bad = t.to_json();
  bad["cache_bytes"] = -1;
  REQUIRE_THROWS_AS(efficiency_from_json(bad, "bad"), Error);
}
