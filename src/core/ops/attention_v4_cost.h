// attention_v4_cost.h — FLOP, exp and byte formulas of the V4 compressor and CSA indexer, and the KV
// bytes per context token (specs/attention.md §4.5, §4.6, §4.7; quant.md "Cost"). Pure functions of
// plain numbers (no preset type), shared by the op catalogue (core/ops/attention_v4.cpp), the cost
// model and the tests (tests/core/test_attention_v4_cost.cpp). Terms the spec marks "about" are
// estimates (pooling, norm/RoPE/quant), never test targets.
#pragma once
#include <cstdint>

namespace v4lab {

// ---- Compressor (§4.2, §4.7) ----
constexpr double v4_compress_c(double ratio) { return ratio == 4 ? 2 : 1; }  // overlap iff r = 4
// Projections W_ckv and W_cg, per token: 2 GEMVs of [c·d, d_model] = 4·d_model·c·d (16.78 M CSA Flash).
constexpr double v4_compress_proj_flops_per_token(double d_model, double ratio, double d) {
  return 4 * d_model * v4_compress_c(ratio) * d;
}
// Pooling, per token: about 3·c·d FLOPs (max, sum, multiply-add) and c·d exps.
constexpr double v4_compress_pool_flops_per_token(double ratio, double d) { return 3 * v4_compress_c(ratio) * d; }
constexpr double v4_compress_exps_per_token(double ratio, double d) { return v4_compress_c(ratio) * d; }
// Norm, RoPE and quant per emitted entry: about 6·d FLOPs (+ 1 rsqrt).
constexpr double v4_compress_entry_flops(double d) { return 6 * d; }
// Stored bytes of one entry: main 584 B at d = 512 (FP8 NoPE + BF16 RoPE + 8 B scale record);
// indexer 68 B at d = 128 (packed FP4 + one UE8M0 per 32).
constexpr double v4_compress_entry_bytes(double d, double d_rope, bool indexer) {
  const int64_t tiles = int64_t(d - d_rope) / 64;
  return indexer ? d / 2 + d / 32 : (d - d_rope) + 2 * d_rope + double((tiles + 7) / 8 * 8);
}
// Reference-layout state (§4.6): kv_state + score_state FP32 [c·r, c·d]: 64 KiB CSA, 16 KiB indexer,
// 512 KiB HCA.
constexpr double v4_compress_state_bytes(double ratio, double d) {
  const double c = v4_compress_c(ratio);
  return 2 * (c * ratio) * (c * d) * 4;
}

struct V4CompressShape {
  int64_t n_tokens = 0;  // tokens of the call
  int64_t d_model = 4096;
  int64_t ratio = 4;
  int64_t d = 512;
  int64_t d_rope = 64;
  bool indexer = false;
  bool streaming = false;  // reference-layout state traffic
};
constexpr int64_t v4_compress_entries(const V4CompressShape& s) { return s.ratio > 0 ? s.n_tokens / s.ratio : 0; }
// Tokens whose projections the kernel computes: every token when streaming; the prefill form skips
// the tokens of an incomplete last block (they emit nothing).
constexpr double v4_compress_projected_tokens(const V4CompressShape& s) {
  return s.streaming ? double(s.n_tokens) : double(v4_compress_entries(s) * s.ratio);
}
constexpr double v4_compress_flops(const V4CompressShape& s) {
  return v4_compress_projected_tokens(s) * (v4_compress_proj_flops_per_token(double(s.d_model), double(s.ratio), double(s.d)) +
                               v4_compress_pool_flops_per_token(double(s.ratio), double(s.d))) +
         double(v4_compress_entries(s)) * v4_compress_entry_flops(double(s.d));
}
constexpr double v4_compress_transcendentals(const V4CompressShape& s) {
  return v4_compress_projected_tokens(s) * v4_compress_exps_per_token(double(s.ratio), double(s.d)) +
         double(v4_compress_entries(s));
}
// x read (BF16), weights read once (2 BF16 matrices [c·d, d_model]), ape FP32 [r, c·d], norm BF16,
// entries written in the stored layout; streaming adds 2·c·d·4 B per token and the state per entry.
constexpr double v4_compress_bytes(const V4CompressShape& s) {
  if (s.n_tokens <= 0) return 0;
  // The prefill form projects only the tokens of completed blocks; with none it reads nothing.
  if (!s.streaming && v4_compress_entries(s) == 0) return 0;
  const double c = v4_compress_c(double(s.ratio)), cd = c * double(s.d), D = double(s.d_model);
  const double ne = double(v4_compress_entries(s));
  double b = 2 * double(s.n_tokens) * D + 2 * 2 * cd * D + 4 * double(s.ratio) * cd + 2 * double(s.d) +
             ne * v4_compress_entry_bytes(double(s.d), double(s.d_rope), s.indexer);
  if (s.streaming) b += double(s.n_tokens) * 2 * cd * 4 + ne * v4_compress_state_bytes(double(s.ratio), double(s.d));
  return b;
}

// ---- CSA indexer (§4.2, §4.7) ----
// Per (query, key): 2·idx_heads·idx_dim (dots) + 2·idx_heads (×w and head sum) = 16,512 at 64 × 128.
constexpr double csa_indexer_flops_per_key(double idx_heads, double idx_dim) {
  return 2 * idx_heads * idx_dim + 2 * idx_heads;
}
// F(N, r) = Σ_{n=1..N} ⌊n/r⌋ = r·q(q−1)/2 + q·(m+1), q = ⌊N/r⌋, m = N mod r (§0).
constexpr double sum_floor_div(int64_t n, int64_t r) {
  if (n <= 0 || r <= 0) return 0;
  const int64_t q = n / r, m = n % r;
  return double(r) * double(q) * double(q - 1) / 2 + double(q) * double(m + 1);
}
// Visible keys summed over the queries at n_ctx − n_tokens + 1 .. n_ctx visible tokens (causal).
constexpr double csa_indexer_visible_keys(int64_t n_tokens, int64_t n_ctx, int64_t ratio) {
  return sum_floor_div(n_ctx, ratio) - sum_floor_div(n_ctx - n_tokens, ratio);
}
constexpr double csa_indexer_flops(int64_t n_tokens, int64_t n_ctx, int64_t idx_heads, int64_t idx_dim,
                                   int64_t ratio = 4) {
  return csa_indexer_flops_per_key(double(idx_heads), double(idx_dim)) *
         csa_indexer_visible_keys(n_tokens, n_ctx, ratio);
}
// Keys read once at the stored FP4 layout (68 B), q in FP4 (64 heads × 68 B), w FP32, the FP32 score
// matrix written (materialized; the fused top-k avoids it) and the lengths.
constexpr double csa_indexer_bytes(int64_t n_tokens, int64_t n_ctx, int64_t idx_heads, int64_t idx_dim,
                                   int64_t ratio = 4) {
  const double key = double(idx_dim) / 2 + double(idx_dim) / 32, ne = double(n_ctx / ratio), T = double(n_tokens);
  return ne * key + T * double(idx_heads) * key + 4 * T * double(idx_heads) + 4 * T * ne + 4 * T;
}

// ---- KV bytes per context token (§4.5) ----
// One layer: ratio 0 (SWA-only) → 0 (its ring is fixed per sequence); ratio r → entry/r, plus the
// indexer key/r on CSA layers (r = indexer_ratio). 163 B CSA, 4.5625 B HCA.
constexpr double kv_bytes_per_token_layer(double ratio, double kv_entry_bytes, double indexer_key_bytes,
                                          double indexer_ratio = 4) {
  if (ratio <= 0) return 0;
  return kv_entry_bytes / ratio + (ratio == indexer_ratio ? indexer_key_bytes / ratio : 0);
}
// Whole model over its num_layers main layers (MTP excluded: pass the layer count, not the list
// length). compress_ratios = nullptr: every layer keeps one entry and one indexer key per token (V3.2
// DSA: 61·(656 + 132) = 48,068 B; V3 MLA: indexer_key_bytes = 0). Flash 3514.25 B, Pro 5031.44 B.
constexpr double kv_bytes_per_token(const double* compress_ratios, int64_t num_layers, double kv_entry_bytes,
                                    double indexer_key_bytes, double indexer_ratio = 4) {
  double sum = 0;
  for (int64_t i = 0; i < num_layers; ++i)
    sum += compress_ratios ? kv_bytes_per_token_layer(compress_ratios[i], kv_entry_bytes, indexer_key_bytes,
                                                      indexer_ratio)
                           : kv_entry_bytes + indexer_key_bytes;
  return sum;
}
// Fixed per sequence: the SWA ring of every layer (window·584 B = 74,752 B) and the compressor state
// (CSA: main + indexer; HCA: main), over the main layers.
constexpr double v4_ring_bytes_per_sequence(int64_t num_layers, double window, double kv_entry_bytes) {
  return double(num_layers) * window * kv_entry_bytes;
}
constexpr double v4_compressor_state_bytes_per_sequence(const double* compress_ratios, int64_t num_layers, double d,
                                                        double idx_dim) {
  double sum = 0;
  for (int64_t i = 0; i < num_layers; ++i) {
    const double r = compress_ratios[i];
    if (r <= 0) continue;
    sum += v4_compress_state_bytes(r, d) + (r == 4 ? v4_compress_state_bytes(4, idx_dim) : 0);
  }
  return sum;
}

}  // namespace v4lab
