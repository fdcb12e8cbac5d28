// test_timing.cpp — the harness's statistics and stopping rules (no timing assertions: STYLE).
#include <catch2/catch.hpp>

#include "profiler/timing.h"

using namespace v4lab;
using namespace v4lab::profiler;

TEST_CASE("quantile interpolates linearly", "[profiler]") {
  std::vector<double> v{5, 1, 4, 2, 3};
  REQUIRE(quantile(v, 0.5) == 3);
  REQUIRE(quantile(v, 0.0) == 1);
  REQUIRE(quantile(v, 1.0) == 5);
  REQUIRE(quantile(v, 0.1) == Approx(1.4));
}

TEST_CASE("measure honours warm-up and rep limits and derives rates from OpWork", "[profiler]") {
  int calls = 0;
  OpWork w;
  w.flops = 1e6;
  w.bytes_mem = 2e6;
  MeasureOptions o;
  o.warmup = 3;
  o.min_time_s = 0;
  o.min_reps = 7;
  o.max_reps = 7;
  Measurement m = measure([&] { ++calls; }, w, o);
  REQUIRE(calls == 10);
  REQUIRE(m.reps == 7);
  REQUIRE(m.p10_s <= m.median_s);
  REQUIRE(m.median_s <= m.p90_s);
  REQUIRE(m.flops == 1e6);
  if (m.median_s > 0) REQUIRE(m.gbytes_per_s == Approx(2e6 / m.median_s * 1e-9));
}
