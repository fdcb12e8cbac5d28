// test_topk_cost.cpp — the modelled half of the top-k study (sim/studies/topk_cost): the spec's per-key
// and per-entry FLOP figures (16,512 per indexer key; 278,528 per V3.2 selected key; 4·h·512 per V4
// entry), FLOPs equal the op catalogue, indexer cost constant in k, attention linear in k_eff, bytes
// at the production layouts, monotonicity in k and L, and the step time from predict_step.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/op_catalogue.h"
#include "core/presets.h"
#include "sim/studies/topk_cost.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {
TopkArchShape shape_of(const char* id) { return topk_arch_shape(load_model_preset(id, default_data_dir())); }
double flops(const char* op, const ParamMap& over) {
  const OpDef& d = get_op(op);
  return d.work(resolve_params(d, over)).flops;
}
const std::vector<int64_t> kKs = {64, 128, 256, 512, 1024, 2048, 4096, 8192};
}  // namespace

TEST_CASE("topk cost: presets map to DSA (V3.2) and CSA (V4), V3 has no indexer", "[sim][study]") {
  const TopkArchShape d = shape_of("deepseek_v32"), c = shape_of("deepseek_v4_flash");
  REQUIRE(d.arch == TopkArch::Dsa);
  REQUIRE(d.default_k == 2048);
  REQUIRE(c.arch == TopkArch::Csa);
  REQUIRE(c.default_k == 512);
  REQUIRE(c.window == 128);
  REQUIRE_THROWS_WITH(shape_of("deepseek_v3"), Catch::Contains("index_topk"));
  REQUIRE(topk_candidates(TopkArch::Dsa, 4096) == 4096);
  REQUIRE(topk_candidates(TopkArch::Csa, 4099) == 1024);
}

TEST_CASE("topk cost: DSA scoring 16,512 FLOPs per key, attention 278,528 per selected key, bytes 132/4/656", "[sim][study]") {
  const TopkArchShape s = shape_of("deepseek_v32");
  for (int64_t L : {4096, 16384, 65536, 131072}) {
    const TopkCost a = topk_cost(s, L, 512), b = topk_cost(s, L, 2048);
    REQUIRE(a.n_cand == L);
    REQUIRE(a.scoring_flops == 16512.0 * double(L));
    REQUIRE(b.attn_flops - a.attn_flops == 278528.0 * (2048 - 512));
    REQUIRE(a.key_bytes == 132.0 * double(L));
    REQUIRE(a.score_bytes == 4.0 * double(L));
    REQUIRE(a.kv_bytes == 656.0 * 512);
    REQUIRE(a.selection_flops == double(L));  // one compare per candidate (catalogue estimate)
  }
  // Projections: wq_b^I 2·1536·8192 + wk^I 2·7168·128 + weights_proj 2·7168·64, as the catalogue counts them.
  const TopkCost c = topk_cost(s, 4096, 2048);
  const double want = flops("gemm_fp8", {{"n_tokens", 1}, {"k", 1536}, {"n", 8192}}) +
                      flops("gemm_fp8", {{"n_tokens", 1}, {"k", 7168}, {"n", 128}}) +
                      flops("gemm_fp8", {{"n_tokens", 1}, {"k", 7168}, {"n", 64}});
  REQUIRE(c.proj_flops == want);
  REQUIRE(c.proj_flops >= 2.0 * (1536 * 8192 + 7168 * 128 + 7168 * 64));
}

TEST_CASE("topk cost: CSA over floor(L/4) entries plus the 128-token window, 584 B entries, 68 B keys", "[sim][study]") {
  const TopkArchShape s = shape_of("deepseek_v4_flash");
  for (int64_t L : {4096, 16384, 65536, 131072}) {
    const TopkCost a = topk_cost(s, L, 256), b = topk_cost(s, L, 1024);
    REQUIRE(a.n_cand == L / 4);
    REQUIRE(a.scoring_flops == 16512.0 * double(L / 4));
    REQUIRE(a.attended == 128 + 256);
    REQUIRE(b.attn_flops - a.attn_flops == 4.0 * 64 * 512 * (1024 - 256));  // 2·h·(512+512) per entry
    REQUIRE(a.kv_bytes == 584.0 * (128 + 256));
    REQUIRE(a.key_bytes == 68.0 * double(L / 4));
    REQUIRE(a.score_bytes == 4.0 * double(L / 4));
  }
  // Exactly the catalogue entries the step model wires in.
  const TopkCost c = topk_cost(s, 16384, 512);
  REQUIRE(c.scoring_flops == flops("attn_csa_indexer", {{"n_tokens", 1}, {"n_ctx", 16384}, {"idx_heads", 64}, {"idx_dim", 128}}));
  REQUIRE(c.attn_flops == flops("attn_sparse", {{"n_tokens", 1}, {"n_ctx", 16384}, {"n_heads", 64}, {"d_head", 512},
                                                {"window", 128}, {"ratio", 4}, {"top_k", 512}, {"o_groups", 1}}));
  REQUIRE(c.selection_flops == flops("attn_topk", {{"n_tokens", 1}, {"n_cand", 4096}, {"top_k", 512}}));
}

TEST_CASE("topk cost: indexer cost constant in k, attention linear in k_eff, everything saturates at k >= N", "[sim][study]") {
  for (const char* id : {"deepseek_v32", "deepseek_v4_flash"}) {
    const TopkArchShape s = shape_of(id);
    for (int64_t L : {4096, 65536}) {
      const TopkCost base = topk_cost(s, L, kKs.front());
      const int64_t N = base.n_cand;
      double prev_total = 0, prev_bytes = 0;
      for (int64_t k : kKs) {
        const TopkCost c = topk_cost(s, L, k);
        INFO(id << " L=" << L << " k=" << k);
        REQUIRE(c.proj_flops == base.proj_flops);
        REQUIRE(c.scoring_flops == base.scoring_flops);
        REQUIRE(c.k_eff == std::min(k, N));
        const double per_entry = s.arch == TopkArch::Dsa ? 278528.0 : 4.0 * 64 * 512;
        REQUIRE(c.attn_flops - base.attn_flops == per_entry * double(c.k_eff - base.k_eff));
        REQUIRE(c.total_flops() >= prev_total);
        REQUIRE(c.total_bytes() >= prev_bytes);
        prev_total = c.total_flops(), prev_bytes = c.total_bytes();
      }
      // Dense reference: no indexer, k_eff = N; sparse at k >= N attends the same entries.
      const TopkCost dense = topk_cost(s, L, kTopkDense), full = topk_cost(s, L, N);
      REQUIRE(dense.proj_flops == 0);
      REQUIRE(dense.scoring_flops == 0);
      REQUIRE(dense.selection_flops == 0);
      REQUIRE(dense.k_eff == N);
      REQUIRE(dense.attn_flops == full.attn_flops);
      REQUIRE(dense.kv_bytes == full.kv_bytes);
      REQUIRE(topk_cost(s, L, 2 * N).total_flops() == full.total_flops());
    }
  }
  // Cost at fixed k grows with the context (the indexer scans every candidate).
  const TopkArchShape s = shape_of("deepseek_v32");
  REQUIRE(topk_cost(s, 131072, 2048).total_flops() > topk_cost(s, 16384, 2048).total_flops());
  REQUIRE_THROWS_WITH(topk_cost(s, 0, 64), Catch::Contains("context"));
  REQUIRE_THROWS_WITH(topk_cost(s, 4096, 0), Catch::Contains("k 0"));
}

TEST_CASE("topk step: predict_step with index_topk overridden grows with k and with the context", "[sim][study]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  Deployment dep;
  dep.gpus = 8, dep.dp = 8, dep.ep = 8;
  for (const char* id : {"deepseek_v32", "deepseek_v4_flash"}) {
    const ModelPreset m = load_model_preset(id, data);
    const TopkArchShape s = topk_arch_shape(m);
    double prev = 0;
    for (int64_t k : {64, 512, 2048, 8192}) {
      const TopkStep st = topk_step(m, s, hw, dep, 8, 131072, k);
      INFO(id << " k=" << k);
      REQUIRE(st.ok);
      REQUIRE(st.step_s >= prev);
      REQUIRE(st.attention_s > 0);
      prev = st.step_s;
    }
    REQUIRE(topk_step(m, s, hw, dep, 8, 131072, 2048).step_s > topk_step(m, s, hw, dep, 8, 4096, 2048).step_s);
    // With 8 sequences per GPU at 128K the dense core outweighs the indexer (at 1 sequence per GPU and
    // shorter contexts the indexer's extra launches can make DSA slower than dense MLA in this model).
    const TopkStep dense = topk_step(m, s, hw, dep, 64, 131072, kTopkDense);
    REQUIRE(dense.ok);
    REQUIRE(dense.step_s > topk_step(m, s, hw, dep, 64, 131072, 64).step_s);
  }
  // CSA dense at 1M needs top_k = 262,144 entries: outside the catalogue range, reported as not modelled.
  const ModelPreset v4 = load_model_preset("deepseek_v4_flash", data);
  const TopkStep big = topk_step(v4, topk_arch_shape(v4), hw, dep, 8, 1 << 20, kTopkDense);
  REQUIRE_FALSE(big.ok);
  REQUIRE(big.note.find("262144") != std::string::npos);
}
