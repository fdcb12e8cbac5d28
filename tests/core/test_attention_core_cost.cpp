// test_attention_core_cost.cpp — attention-core cost formulas (specs/attention.md §0 helper sums,
// §2 MLA, §3 DSA, §4.7 V4 core): closed forms against loops, the spec's per-entry numbers, and the
// op catalogue rows built from them.
#include <catch2/catch.hpp>

#include <algorithm>

#include "core/op_catalogue.h"
#include "core/ops/attention_core_cost.h"

using namespace v4lab;

TEST_CASE("attention core cost: SW, F, G, D equal their loops", "[attention][cost]") {
  for (int64_t N : {0, 1, 3, 4, 5, 127, 128, 129, 1000, 4099}) {
    for (int64_t w : {1, 4, 128}) {
      double sw = 0;
      for (int64_t n = 1; n <= N; ++n) sw += double(std::min(n, w));
      CHECK(attn_sum_sw(N, w) == sw);
    }
    for (int64_t r : {1, 4, 128}) {
      double f = 0;
      for (int64_t n = 1; n <= N; ++n) f += double(n / r);
      CHECK(attn_sum_f(N, r) == f);
    }
    for (int64_t k : {0, 1, 7, 512}) {
      double g = 0, d = 0;
      for (int64_t n = 1; n <= N; ++n) g += double(std::min(k, n / 4)), d += double(std::min(k, n));
      CHECK(attn_sum_g(N, k) == g);
      CHECK(attn_sum_d(N, k) == d);
    }
  }
}

TEST_CASE("attention core cost: the spec's per-entry numbers", "[attention][cost]") {
  SparseAttnShape flash, pro;
  pro.n_heads = 128, pro.top_k = 1024;
  CHECK(attn_core_flops_per_entry(flash) == 131072);
  CHECK(attn_core_flops_per_entry(pro) == 262144);
  MlaShape mla;
  CHECK(mla_naive_flops_per_entry(mla) == 81920);
  CHECK(mla_absorbed_flops_per_entry(mla) == 278528);
  CHECK(mla_kvb_flops(mla) == Approx(33.55e6).epsilon(1e-3));
  CHECK(mla_kv_entry_bytes_bf16(mla) == 1152);
  DsaShape dsa;
  CHECK(dsa_indexer_flops_per_pair(dsa) == 16512);
  // E(n): window + X(n) per layer type.
  SparseAttnShape swa = flash, hca = flash;
  swa.ratio = 0, hca.ratio = 128;
  CHECK(attn_e_entries(swa, 5000) == 128);
  CHECK(attn_e_entries(flash, 100) == 100 + 25);
  CHECK(attn_e_entries(flash, 65536) == 128 + 512);
  CHECK(attn_e_entries(hca, 65536) == 128 + 512);
  // Prefill = Σ over queries of the decode cost.
  for (const auto& s : {swa, flash, hca}) {
    double sum = 0;
    for (int64_t n = 1; n <= 3000; ++n) sum += attn_sparse_decode_flops(s, n);
    CHECK(attn_sparse_prefill_flops(s, 3000) == sum);
  }
  CHECK(mla_naive_prefill_flops(mla, 10) == 81920.0 * 55);
  CHECK(dsa_decode_bytes(dsa, 4096, false) == 132.0 * 4096 + 656.0 * 2048 + 788);
  CHECK(attn_v4_decode_write_bytes(4) == 584 + 146 + 17);
  CHECK(attn_v4_decode_write_bytes(0) == 584);
}

TEST_CASE("attention core cost: catalogue rows", "[attention][cost]") {
  const OpDef& sp = get_op("attn_sparse");
  SparseAttnShape s;
  ParamMap p = resolve_params(sp, {{"n_tokens", 1}, {"n_ctx", 4096}});
  CHECK(sp.work(p).flops == attn_sparse_decode_flops(s, 4096));
  p = resolve_params(sp, {{"n_tokens", 1000}, {"n_ctx", 0}, {"ring", 0}});
  CHECK(sp.work(p).flops == attn_sparse_prefill_flops(s, 1000));
  CHECK(sp.work(p).transcendentals == attn_sparse_prefill_exps(s, 1000));
  const OpDef& mla = get_op("attn_mla_decode");
  MlaShape m;
  p = resolve_params(mla, {{"n_ctx", 4096}});
  CHECK(mla.work(p).flops == mla_absorbed_decode_flops(m, 4096) + mla_kvb_flops(m));
  p = resolve_params(mla, {{"n_ctx", 4096}, {"top_k", 2048}});
  CHECK(mla.work(p).flops == mla_absorbed_decode_flops(m, 2048) + mla_kvb_flops(m));
  const OpDef& dsa = get_op("attn_dsa_indexer");
  p = resolve_params(dsa, {{"n_tokens", 100}, {"n_ctx", 0}});
  CHECK(dsa.work(p).flops == dsa_indexer_prefill_flops(DsaShape{}, 100));
  p = resolve_params(dsa, {{"n_tokens", 1}, {"n_ctx", 4096}});
  CHECK(dsa.work(p).flops == dsa_indexer_decode_flops(DsaShape{}, 4096));
}
