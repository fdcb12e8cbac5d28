// test_moe_cost.cpp — specs/moe.md "Cost": the formulas of moe_cost.h against the spec's tables and
// hand-computed values (V4-Flash decode batch 1 touches 6 experts), the op catalogue's OpWork, a
// Monte-Carlo check of E_touched and of the distinct-ranks formula, and monotonicity.
#include <catch2/catch.hpp>

#include <set>
#include <vector>

#include "core/op_catalogue.h"
#include "core/ops/moe_cost.h"
#include "core/rng.h"

using namespace v4lab;

namespace {
OpWork work(const std::string& op, const ParamMap& o) {
  const OpDef& d = get_op(op);
  return d.work(resolve_params(d, o));
}
}  // namespace

TEST_CASE("moe cost: per-token FLOPs and per-expert bytes match the spec table", "[moe][sim]") {
  CHECK(moe_expert_gemm_flops(6, 4096, 2048) == 6.0 * 6 * 4096 * 2048);  // 302.0 M (Flash routed)
  CHECK(moe_expert_gemm_flops(6, 4096, 2048) / 1e6 == Approx(302.0).margin(0.05));
  CHECK(moe_expert_gemm_flops(8, 7168, 2048) / 1e6 == Approx(704.6).margin(0.05));  // V3 routed
  CHECK(moe_expert_gemm_flops(6, 7168, 3072) / 1e6 == Approx(792.7).margin(0.05));  // Pro routed
  CHECK(moe_expert_gemm_flops(1, 4096, 2048) / 1e6 == Approx(50.3).margin(0.05));   // Flash shared
  CHECK(moe_router_gemm_flops(1, 4096, 256) == 2097152.0);                          // 2.10 M
  CHECK(moe_router_gemm_flops(1, 7168, 384) / 1e6 == Approx(5.51).margin(0.005));
  const double fp4 = moe_bytes_per_weight(MoeWeightFormat::FP4), fp8 = moe_bytes_per_weight(MoeWeightFormat::FP8);
  CHECK(fp4 == 0.53125);
  CHECK(fp8 == 1.0 + 1.0 / 16384);
  CHECK(moe_expert_weight_bytes(4096, 2048, fp4) == 3.0 * 4096 * 2048 * 0.53125);  // 13.37 MB
  CHECK(moe_expert_weight_bytes(4096, 2048, fp4) / 1e6 == Approx(13.37).margin(0.005));
  CHECK(moe_expert_weight_bytes(7168, 3072, fp4) / 1e6 == Approx(35.09).margin(0.005));
  CHECK(moe_expert_weight_bytes(7168, 2048, moe_bytes_per_weight(MoeWeightFormat::FP8, 4)) / 1e6 ==
        Approx(44.05).margin(0.01));
  CHECK(moe_expert_weight_bytes(4096, 2048, fp8) / 1e6 == Approx(25.17).margin(0.01));  // Flash shared
}

TEST_CASE("moe cost: distinct experts touched (spec table) and expected rows", "[moe][sim]") {
  CHECK(moe_experts_touched(1, 256, 6) == Approx(6).epsilon(1e-12));  // Flash decode batch 1
  struct Row {
    double E, k, T, want;
  };
  const Row rows[] = {{256, 8, 8, 57.4},   {256, 8, 64, 222.4},  {256, 8, 512, 256},  {256, 6, 8, 44.2},
                      {256, 6, 32, 136.1}, {256, 6, 128, 243.7}, {384, 6, 8, 45.5},   {384, 6, 64, 243.8},
                      {384, 6, 256, 377.2}, {384, 6, 512, 383.9}};
  for (const Row& r : rows) CHECK(moe_experts_touched(r.T, r.E, r.k) == Approx(r.want).margin(0.051));
  CHECK(moe_rows_per_touched(1, 256, 6) == Approx(1.0));
  CHECK(moe_rows_per_touched(8, 256, 6) == Approx(8 * 6 / moe_experts_touched(8, 256, 6)));
  double prev = 0;
  for (int T = 1; T <= 1024; T *= 2) {
    const double e = moe_experts_touched(T, 256, 6);
    CHECK(e >= prev);
    CHECK(e <= 256);
    prev = e;
  }
}

TEST_CASE("moe cost: Monte-Carlo E_touched and distinct ranks within 1%", "[moe][sim]") {
  Rng rng(2024);
  const int E = 256, k = 6, trials = 1000;
  for (int T : {1, 8, 64, 512}) {
    double mean = 0;
    for (int i = 0; i < trials; ++i) {
      std::vector<char> hit(E, 0);
      for (int t = 0; t < T; ++t) {
        std::vector<int> perm(E);
        for (int e = 0; e < E; ++e) perm[e] = e;
        for (int j = 0; j < k; ++j) {
          std::swap(perm[j], perm[j + rng.below(E - j)]);
          hit[perm[j]] = 1;
        }
      }
      for (char h : hit) mean += h;
    }
    mean /= trials;
    INFO("T = " << T);
    CHECK(mean == Approx(moe_experts_touched(T, E, k)).epsilon(0.01));
  }
  for (int R : {8, 64}) {
    double mean = 0;
    for (int i = 0; i < 4000; ++i) {
      std::set<int> picked, ranks;
      while (int(picked.size()) < k) picked.insert(int(rng.below(E)));
      for (int e : picked) ranks.insert(e / (E / R));
      mean += double(ranks.size());
    }
    mean /= 4000;
    CHECK(mean == Approx(moe_distinct_ranks(E, R, k)).epsilon(0.01));
  }
  CHECK(moe_distinct_ranks(256, 8, 6) == Approx(4.44).margin(0.005));  // spec table, V4-Flash EP8
  CHECK(moe_distinct_ranks(256, 64, 6) == Approx(5.83).margin(0.005));
  CHECK(moe_distinct_ranks(256, 8, 8) == Approx(5.29).margin(0.005));  // V3
  CHECK(moe_dispatch_bytes_per_copy(7168, 4, 0) == 7392);
  CHECK(moe_dispatch_bytes_per_copy(4096, 1, 0) == 4128);
  CHECK(moe_combine_bytes_per_copy(4096) * 6 / 1e3 == Approx(49.2).margin(0.05));
}

TEST_CASE("moe cost: catalogue OpWork, hand-computed V4-Flash decode", "[moe][sim]") {
  // moe_experts at batch 1 over all 256 Flash experts: 6 experts touched, FP4 weights.
  const OpWork w = work("moe_experts", {{"n_tokens", 1}, {"n_experts", 256}, {"top_k", 6}});
  const double d = 4096, f = 2048;
  CHECK(w.flops == 6 * 6 * d * f + 8 * 6 * f + 6 * f);
  CHECK(w.bytes_mem == Approx(6 * 3 * d * f * 0.53125 + 6 * (2 * d + 4 + 4 * d) + 4 * 257).epsilon(1e-12));
  CHECK(w.precision == Precision::FP4);
  const OpWork wu = work("moe_experts", {{"n_tokens", 1}, {"n_experts", 256}, {"fusion", 1}});
  CHECK(wu.bytes_mem - 6 * 3 * d * f * 0.53125 - 4 * 257 ==
        Approx(6 * ((d + d / 128 + 4 * f) + (4 * f + f + f / 128) + (f + f / 128 + 2 * d))));
  const OpWork v3 = work("moe_experts", {{"n_tokens", 1}, {"n_experts", 256}, {"top_k", 8}, {"d_model", 7168},
                                         {"expert_dtype", 1}, {"weight_before_down", 0}});
  CHECK(v3.flops == 6 * 8 * 7168.0 * 2048 + 8 * 8 * 2048.0 + 8 * 7168.0);
  CHECK(v3.precision == Precision::FP8);
  const OpWork g = work("moe_gate", {{"n_tokens", 1}});
  CHECK(g.flops == 2 * d * 256 + 4 * 256);
  CHECK(g.bytes_mem == 2 * 256 * d + 4 * 256 + (2 * d + 8 * 6 + 4 * 256 + 4));
  const OpWork s = work("moe_shared", {{"n_tokens", 1}});
  CHECK(s.bytes_mem == Approx(3 * d * f * (1 + 1.0 / 16384) + 6 * d));
  CHECK(work("moe_combine", {{"n_tokens", 2}}).flops == 2 * 7 * d);
  for (const char* op : {"moe_gate", "moe_permute", "moe_experts", "moe_shared", "moe_combine"}) {
    const OpWork z = work(op, {{"n_tokens", 0}});
    CHECK(z.flops == 0);
    CHECK(z.bytes_mem == 0);
  }
  // More tokens never cost fewer bytes or FLOPs.
  double prev = 0;
  for (int T : {1, 2, 8, 64, 512}) {
    const OpWork x = work("moe_experts", {{"n_tokens", T}, {"n_experts", 256}});
    CHECK(x.bytes_mem >= prev);
    prev = x.bytes_mem;
  }
}
