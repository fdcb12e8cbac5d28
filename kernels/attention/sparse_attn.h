// sparse_attn.h — DeepSeek-V4 sparse attention core (specs/attention.md §4.2 "Attended set",
// "Attention", "Output"; §1.4 sink; §4.8 kernel notes): MQA with one K = V head over the union of a
// window index list (raw KV rows) and a selected/visible compressed-entry index list, one softmax
// with the per-head sink z_h, M = max(max l, z_h) [W], P rounded to BF16 before P·V (flag), FP32
// accumulate, inverse RoPE on o[d_head−d_rope:] at the query position. _ref FP64, _cpu FP32.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {

struct SparseAttnParams {
  int64_t n_q = 1;         // queries; q is [n_q, n_heads, d_head] BF16 (normed + RoPE'd at pos[i])
  int64_t n_heads = 64;    // query heads sharing the one KV head
  int64_t d_head = 512;    // K = V width
  int d_rope = 64;         // inverse RoPE on o[d_head − d_rope : d_head] at pos[i]; 0 = none; even, ≤ d_head
  int64_t n_kv = 128;      // rows of kv [n_kv, d_head] BF16 (raw KV: all tokens, or the decode ring)
  int64_t n_cmp = 0;       // rows of cmp [n_cmp, d_head] BF16 (compressed entries, dequantized view)
  int64_t n_win = 128;     // window index list width: win_idx [n_q, n_win] I32 rows of kv, −1 = invalid
  int64_t n_sel = 0;       // compressed list width: sel_idx [n_q, n_sel] I32 rows of cmp, −1 = invalid
  double scale = -1;       // softmax scale; < 0 means d_head^−0.5 (V4: 512^−0.5)
  bool p_bf16 = true;      // round e^{l−M} to BF16 before P·V (the V4 reference); the denominator stays FP32
  RopeParams rope;         // θ / YaRN of the inverse RoPE (only theta, yarn_*, beta_*, fp32_angles are used)

  double softmax_scale() const;
  void validate() const;   // config_error naming field, value and rule
};

// Index entries outside [0, rows) are treated as invalid (−1): skipped, never read.
// In:  q [n_q, H, D] BF16; kv [n_kv, D] BF16; cmp [n_cmp, D] BF16 (may be null when n_cmp = 0);
//      win_idx [n_q, n_win] I32; sel_idx [n_q, n_sel] I32; sink [H] F32 (z_h; −inf = no sink);
//      pos [n_q] I32 (query positions for the inverse RoPE).
// Out: o [n_q, H, D] BF16; lse [n_q, H] F32 = log Σ_e e^{l_e} over the attended entries (sink left
//      out; −inf when none); o_f32 [n_q, H, D] F32 when non-null (the pre-rounding output, for
//      selection-quality studies).
// Per (query, head): o = Σ_e P_e·v_e / (Σ_e e^{l_e−M} + e^{z−M}), P_e = [BF16](e^{l_e−M}). A query with
// no valid entry returns o = 0.
using SparseAttnFn = void (*)(const SparseAttnParams&, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                              const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos,
                              uint16_t* o, float* lse, float* o_f32);
void sparse_attn_ref(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                     const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos, uint16_t* o,
                     float* lse, float* o_f32 = nullptr);
void sparse_attn_cpu(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                     const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos, uint16_t* o,
                     float* lse, float* o_f32 = nullptr);

// ---------------------------------------------------------------------------------------------
// Op-level layout (attn_sparse): the index lists a V4 layer builds for queries at positions
// pos_i = n_ctx − n_tokens + i (prefill: n_ctx = n_tokens). Shared by make_io and the tests.
// ---------------------------------------------------------------------------------------------
struct SparseAttnLayout {
  int64_t n_tokens = 1;   // queries
  int64_t n_ctx = 4096;   // context tokens (the last query sees n_ctx tokens)
  int64_t window = 128;   // window (current token included), >= 1
  int64_t ratio = 4;      // 0 SWA-only; 4 CSA (selected); other > 0 HCA (all visible)
  int64_t top_k = 512;    // CSA selection size (k_t = min(top_k, ⌊(t+1)/4⌋))
  bool ring = false;      // kv is a decode ring of window + n_tokens − 1 slots (slot = pos mod slots)
  void validate() const;
  int64_t n_cmp() const { return ratio > 0 ? n_ctx / ratio : 0; }
  int64_t n_sel() const;  // list width: top_k (CSA), ⌊n_ctx/ratio⌋ (HCA), 0 (SWA)
  int64_t kv_rows() const { return ring ? window + n_tokens - 1 : n_ctx; }
};
SparseAttnLayout sparse_attn_layout_from(const ParamMap& pm);
SparseAttnParams sparse_attn_params_from(const ParamMap& pm);
// Fills pos, win_idx (window slots) and, for HCA, sel_idx (all visible). CSA selections are
// caller-provided (make_io draws a seeded random k_t-subset; tests pass their own).
void sparse_attn_build_lists(const SparseAttnLayout& L, int32_t* pos, int32_t* win_idx, int32_t* sel_idx);

}  // namespace v4lab::kernels
