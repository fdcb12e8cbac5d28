// test_streams_cost.cpp — the modelled half of the mHC streams study (sim/studies/streams_cost): the
// byte figures of specs/studies.md (c) (C = 4096: 49.2 / 82.0 / 147.6 / 278.8 KB, plain 24.6 KB;
// C = 7168: 86.0 / 143.4 / 258.1 / 487.7 KB, plain 43.0 KB), the unfused paper Table 2 counts, the
// FLOPs split summing exactly to the op catalogue (Flash n = 4: 1,000,990), parameters, residual
// memory, recompute block, monotonicity in n, and the step-time overhead from predict_step.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/op_catalogue.h"
#include "core/presets.h"
#include "sim/studies/streams_cost.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {
double kb1(double bytes) { return std::round(bytes / 100.0) / 10.0; }  // KB (1e3 B) to one decimal
}  // namespace

TEST_CASE("streams cost: fused bytes per token per site match studies.md (c)", "[sim][study]") {
  const double c4096[] = {49.2, 82.0, 147.6, 278.8}, c7168[] = {86.0, 143.4, 258.1, 487.7};
  const int ns[] = {1, 2, 4, 8};
  for (int i = 0; i < 4; ++i) {
    const int n = ns[i];
    INFO("n=" << n);
    const StreamsCost a = streams_cost(n, 4096, 20, 60), b = streams_cost(n, 7168, 20, 60);
    REQUIRE(a.bytes_fused == 8.0 * n * 4096 + 4 * 4096 + 8 * n + 4 * n * n);
    REQUIRE(kb1(a.bytes_fused) == Approx(c4096[i]).margin(1e-9));
    REQUIRE(kb1(b.bytes_fused) == Approx(c7168[i]).margin(1e-9));
    REQUIRE(a.unfused_read_elems == (5.0 * n + 1) * 4096 + n * n + 2 * n);
    REQUIRE(a.unfused_write_elems == (3.0 * n + 1) * 4096 + n * n + 2 * n);
    REQUIRE(a.bytes_unfused == 2 * ((5.0 * n + 1) * 4096 + (3.0 * n + 1) * 4096) + 8.0 * (n * n + 2 * n));
  }
  REQUIRE(kb1(streams_cost(4, 4096, 20, 60).bytes_plain) == Approx(24.6));
  REQUIRE(kb1(streams_cost(4, 7168, 20, 60).bytes_plain) == Approx(43.0));
}

TEST_CASE("streams cost: FLOPs split sums exactly to the catalogue mhc_pre + mhc_post", "[sim][study]") {
  for (int n = 1; n <= 8; ++n)
    for (int64_t C : {1, 7, 1024, 4096, 7168})
      for (int I : {1, 3, 20}) {
        const StreamsCost c = streams_cost(n, C, I, 60);
        INFO("n=" << n << " C=" << C << " I=" << I);
        REQUIRE(c.flops_gemm + c.flops_sumsq + c.flops_split + c.flops_sinkhorn + c.flops_apply + c.flops_post ==
                c.flops_total);
        REQUIRE(c.flops_gemm == 2.0 * n * double(C) * (n * n + 2 * n));
        REQUIRE(c.transcendentals == n * n + 2 * n + 1);
      }
  REQUIRE(streams_cost(4, 4096, 20, 60).flops_total == 1000990);  // mhc.md: 244·d + 1,566
  REQUIRE(streams_cost(4, 7168, 20, 60).flops_total == 1750558);
}

TEST_CASE("streams cost: parameters, residual memory and the recompute block", "[sim][study]") {
  const StreamsCost c = streams_cost(4, 7168, 20, 60);
  REQUIRE(c.params_per_site == 4.0 * 7168 * 24 + 3 + 24);
  REQUIRE(c.param_bytes_per_site == 4.0 * 24 * 4 * 7168 + 4.0 * 27);  // W_fn 2.75 MB + scales, biases
  REQUIRE(c.residual_bytes_per_token == 56.0 * 1024);                 // 56 KiB (Pro)
  REQUIRE(streams_cost(4, 4096, 20, 60).residual_bytes_per_token == 32.0 * 1024);
  REQUIRE(c.plain_residual_bytes_per_token == 2.0 * 7168);
  REQUIRE(c.recompute_block == 6);  // √(4·60/6) = 6.32
  REQUIRE(c.train_act_elems_per_token == 4.0 * 7168 * 10 + 6.0 * 7168 * 6);
  REQUIRE(streams_cost(1, 1024, 20, 1).recompute_block == 1);
}

TEST_CASE("streams cost: bytes, FLOPs, params and memory grow with n, bad input names the field", "[sim][study]") {
  StreamsCost prev = streams_cost(1, 4096, 20, 60);
  for (int n = 2; n <= 8; ++n) {
    const StreamsCost c = streams_cost(n, 4096, 20, 60);
    REQUIRE(c.bytes_fused > prev.bytes_fused);
    REQUIRE(c.bytes_unfused > prev.bytes_unfused);
    REQUIRE(c.flops_total > prev.flops_total);
    REQUIRE(c.params_per_site > prev.params_per_site);
    REQUIRE(c.residual_bytes_per_token > prev.residual_bytes_per_token);
    REQUIRE(c.bytes_fused > c.bytes_plain);
    prev = c;
  }
  REQUIRE_THROWS_WITH(streams_cost(0, 4096, 20, 60), Catch::Contains("n = 0") && Catch::Contains("[1, 8]"));
  REQUIRE_THROWS_WITH(streams_cost(9, 4096, 20, 60), Catch::Contains("n = 9"));
  REQUIRE_THROWS_WITH(streams_cost(4, 0, 20, 60), Catch::Contains("d_model"));
  REQUIRE_THROWS_WITH(streams_cost(4, 4096, 0, 60), Catch::Contains("t_max"));
}

TEST_CASE("streams step: predict_step overhead vs the plain residual grows with n", "[sim][study]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset m = load_model_preset("deepseek_v4_flash", data);
  Deployment dep;
  dep.gpus = 8, dep.dp = 8, dep.ep = 8;
  Workload wl;
  wl.phase = Phase::Decode, wl.batch = 64, wl.context = 4096;
  const StreamsStep plain = streams_step(m, hw, dep, wl, 0, 0);
  REQUIRE(plain.mhc_s == 0);
  REQUIRE(plain.overhead == 0);
  double prev = 0;
  for (int n : {1, 2, 4, 8}) {
    const StreamsStep s = streams_step(m, hw, dep, wl, n, plain.step_s);
    INFO("n=" << n);
    REQUIRE(s.mhc_s > prev);
    REQUIRE(s.overhead > 0);
    prev = s.mhc_s;
  }
  REQUIRE(streams_step(m, hw, dep, wl, 8, plain.step_s).overhead > streams_step(m, hw, dep, wl, 2, plain.step_s).overhead);
}
