// attention_core_cost.h — exact FLOP / exp / byte formulas of the attention cores (specs/attention.md
// §0 helper sums SW, F, G, D; §2 MLA core; §3 DSA indexer; §4.7 V4 sparse-attention core). Pure
// functions of the shape, shared by the op catalogue (core/ops/attention_core.cpp), the cost tests
// (tests/core/test_attention_core_cost.cpp) and docs/kernels/attention-core.md.
#pragma once
#include <algorithm>
#include <cstdint>

namespace v4lab {

// ---- §0 helper sums (exact, closed forms; tested against loops) ----
// SW(N) = Σ_{n=1..N} min(n, window).
constexpr double attn_sum_sw(int64_t N, int64_t window) {
  const double n = double(N), w = double(window);
  return N <= window ? n * (n + 1) / 2 : w * (w + 1) / 2 + (n - w) * w;
}
// F(N, r) = Σ_{n=1..N} ⌊n/r⌋ = r·q(q−1)/2 + q·(m+1), q = ⌊N/r⌋, m = N mod r.
constexpr double attn_sum_f(int64_t N, int64_t r) {
  if (r <= 0 || N <= 0) return 0;
  const double q = double(N / r), m = double(N % r);
  return double(r) * q * (q - 1) / 2 + q * (m + 1);
}
// G(N, k) = Σ_{n=1..N} min(k, ⌊n/4⌋).
constexpr double attn_sum_g(int64_t N, int64_t k) {
  if (N <= 4 * k + 3) return attn_sum_f(N, 4);
  return attn_sum_f(4 * k + 3, 4) + double(k) * double(N - 4 * k - 3);
}
// D(N, k) = Σ_{n=1..N} min(k, n).
constexpr double attn_sum_d(int64_t N, int64_t k) {
  const double n = double(N), kk = double(k);
  return N <= k ? n * (n + 1) / 2 : kk * (kk + 1) / 2 + (n - kk) * kk;
}

// ---- §4.7 V4 sparse attention core ----
struct SparseAttnShape {
  int64_t n_heads = 64;  // query heads (one KV head, K = V)
  int64_t d_head = 512;  // per-head width
  int64_t window = 128;  // SWA window (current token included)
  int64_t ratio = 4;     // 0 = SWA-only, 4 = CSA (selected entries), other > 0 = HCA (all visible)
  int64_t top_k = 512;   // CSA selection size
};
// X(n): compressed entries attended by a query that sees n tokens.
constexpr int64_t attn_x_entries(const SparseAttnShape& s, int64_t n) {
  if (s.ratio <= 0) return 0;
  if (s.ratio == 4) return std::min(s.top_k, n / 4);
  return n / s.ratio;
}
// E(n) = min(n, window) + X(n).
constexpr int64_t attn_e_entries(const SparseAttnShape& s, int64_t n) { return std::min(n, s.window) + attn_x_entries(s, n); }
// 4·n_heads·d_head per entry: 2·H·D for q·k and 2·H·D for p·v (131,072 Flash, 262,144 Pro).
constexpr double attn_core_flops_per_entry(const SparseAttnShape& s) { return 4.0 * double(s.n_heads) * double(s.d_head); }
// Σ_{n=1..N} E(n) via the helper sums: SW(N) + {0 | G(N, top_k) | F(N, ratio)}.
constexpr double attn_prefill_entries(const SparseAttnShape& s, int64_t N) {
  const double x = s.ratio <= 0 ? 0.0 : s.ratio == 4 ? attn_sum_g(N, s.top_k) : attn_sum_f(N, s.ratio);
  return attn_sum_sw(N, s.window) + x;
}
constexpr double attn_sparse_decode_flops(const SparseAttnShape& s, int64_t n) {
  return attn_core_flops_per_entry(s) * double(attn_e_entries(s, n));
}
constexpr double attn_sparse_prefill_flops(const SparseAttnShape& s, int64_t N) {
  return attn_core_flops_per_entry(s) * attn_prefill_entries(s, N);
}
// exps: one per (head, entry) plus the sink term (one per head per query, §1.6).
constexpr double attn_sparse_decode_exps(const SparseAttnShape& s, int64_t n) {
  return double(s.n_heads) * double(attn_e_entries(s, n) + 1);
}
constexpr double attn_sparse_prefill_exps(const SparseAttnShape& s, int64_t N) {
  return double(s.n_heads) * (attn_prefill_entries(s, N) + double(N));
}
constexpr double kV4EntryBytes = 584;         // production main-KV layout (§4.4)
constexpr double kV4Bf16EntryBytes = 1024;    // the BF16 view attn_sparse reads (512 × BF16)
// Decode bytes per query at n visible tokens: entries at `entry_bytes`, one I32 index per entry, the
// query and output rows (BF16), the sink (FP32).
constexpr double attn_sparse_decode_bytes(const SparseAttnShape& s, int64_t n, double entry_bytes) {
  const double e = double(attn_e_entries(s, n));
  return e * (entry_bytes + 4) + 2.0 * 2.0 * double(s.n_heads * s.d_head) + 4.0 * double(s.n_heads);
}
// §4.7 decode KV bytes written per token (amortized): 584 + 584/ratio + 17 (CSA indexer key).
constexpr double attn_v4_decode_write_bytes(int64_t ratio) {
  return ratio <= 0 ? kV4EntryBytes : kV4EntryBytes + kV4EntryBytes / double(ratio) + (ratio == 4 ? 17.0 : 0.0);
}

// ---- §2 MLA core ----
struct MlaShape {
  int64_t n_heads = 128;  // query heads
  int64_t d_nope = 128;   // qk_nope_head_dim
  int64_t d_rope = 64;    // qk_rope_head_dim
  int64_t kv_rank = 512;  // kv_lora_rank (c_kv width)
  int64_t d_v = 128;      // v_head_dim
};
// Naive: 2·H·(d_qk + d_v) per (query, entry) = 81,920 at V3 shapes.
constexpr double mla_naive_flops_per_entry(const MlaShape& s) {
  return 2.0 * double(s.n_heads) * double(s.d_nope + s.d_rope + s.d_v);
}
// Absorbed: 2·H·((kv_rank + d_rope) + kv_rank) per (query, entry) = 278,528 at V3 shapes.
constexpr double mla_absorbed_flops_per_entry(const MlaShape& s) {
  return 2.0 * double(s.n_heads) * double(2 * s.kv_rank + s.d_rope);
}
// W_kvb up-projection of one latent, 2·kv_rank·H·(d_nope + d_v) = 33.55 MFLOP: per cached token
// (naive) or per query (absorbed: 16.78 to absorb q, 16.78 to up-project ô).
constexpr double mla_kvb_flops(const MlaShape& s) {
  return 2.0 * double(s.kv_rank) * double(s.n_heads) * double(s.d_nope + s.d_v);
}
// Prefill (naive): 81,920·N(N+1)/2 core FLOPs; exps n_heads·N(N+1)/2.
constexpr double mla_naive_prefill_flops(const MlaShape& s, int64_t N) {
  return mla_naive_flops_per_entry(s) * double(N) * double(N + 1) / 2;
}
constexpr double mla_prefill_exps(const MlaShape& s, int64_t N) { return double(s.n_heads) * double(N) * double(N + 1) / 2; }
// Decode (absorbed) at n entries: 278,528·n.
constexpr double mla_absorbed_decode_flops(const MlaShape& s, int64_t n) { return mla_absorbed_flops_per_entry(s) * double(n); }
constexpr double mla_kv_entry_bytes_bf16(const MlaShape& s) { return 2.0 * double(s.kv_rank + s.d_rope); }  // 1152
constexpr double kMlaFp8EntryBytes = 656;  // FlashMLA V3.2 sparse layout (§2)

// ---- §3 DSA lightning indexer ----
struct DsaShape {
  int64_t idx_heads = 64;  // indexer heads
  int64_t idx_dim = 128;   // indexer width
  int64_t top_k = 2048;    // selection size
};
// 2·idx_heads·idx_dim (dots) + 2·idx_heads (×w and the head sum) = 16,512 per (query, key).
constexpr double dsa_indexer_flops_per_pair(const DsaShape& s) {
  return 2.0 * double(s.idx_heads) * double(s.idx_dim) + 2.0 * double(s.idx_heads);
}
constexpr double dsa_indexer_prefill_flops(const DsaShape& s, int64_t N) {
  return dsa_indexer_flops_per_pair(s) * double(N) * double(N + 1) / 2;
}
constexpr double dsa_indexer_decode_flops(const DsaShape& s, int64_t n) { return dsa_indexer_flops_per_pair(s) * double(n); }
constexpr double kDsaKeyBytes = 132;  // 128 e4m3 + one FP32 scale per key (§3)
// Decode bytes (§3): 132·n keys + 8·n scores (if materialized) + 656·min(top_k, n) gathered + 788 written.
constexpr double dsa_decode_bytes(const DsaShape& s, int64_t n, bool scores_materialized) {
  return kDsaKeyBytes * double(n) + (scores_materialized ? 8.0 * double(n) : 0.0) +
         kMlaFp8EntryBytes * double(std::min(s.top_k, n)) + 788.0;
}

}  // namespace v4lab
