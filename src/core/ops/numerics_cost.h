// numerics_cost.h — exact FLOP, transcendental and byte formulas of the numerics ops: RMSNorm and
// RoPE (specs/attention.md §1.6 cost table, §0 FLOP convention) and SwiGLU (specs/moe.md "Experts";
// its "≈ 8·f" row is an estimate, the count here is exact for the code as written). Pure functions of
// the shape, shared by the op catalogue (core/ops/numerics.cpp), tests/core/test_numerics_cost.cpp
// and docs/kernels/numerics.md.
#pragma once
#include <cstdint>

namespace v4lab {

// ---- RMSNorm: y = w ⊙ x / sqrt(mean(x²) + eps), one row of `width` values per vector ----
struct RmsNormShape {
  int64_t n_tokens = 0;  // rows (for the V4 q-head norm: tokens × n_heads)
  int64_t width = 0;     // values per row
  bool weighted = true;  // false: the weightless V4 query-head norm (w = 1)
};
// x² (w) + Σ (w) + /width (1) + eps (1) + x·r (w) [+ ·w_j (w)] = 4w+2, weightless 3w+2; 1 rsqrt.
constexpr double rmsnorm_flops_per_row(const RmsNormShape& s) {
  return (s.weighted ? 4.0 : 3.0) * double(s.width) + 2.0;
}
constexpr double rmsnorm_transcendentals_per_row(const RmsNormShape&) { return 1.0; }
// BF16 in + BF16 out: 2·2·width per row.
constexpr double rmsnorm_bytes_per_row(const RmsNormShape& s) { return 2.0 * 2.0 * double(s.width); }
// FP32 weight, read once per call (like every weight: once per forward).
constexpr double rmsnorm_weight_bytes(const RmsNormShape& s) { return s.weighted ? 4.0 * double(s.width) : 0.0; }
constexpr double rmsnorm_flops(const RmsNormShape& s) { return double(s.n_tokens) * rmsnorm_flops_per_row(s); }
constexpr double rmsnorm_transcendentals(const RmsNormShape& s) {
  return double(s.n_tokens) * rmsnorm_transcendentals_per_row(s);
}
constexpr double rmsnorm_bytes(const RmsNormShape& s) {
  return s.n_tokens > 0 ? double(s.n_tokens) * rmsnorm_bytes_per_row(s) + rmsnorm_weight_bytes(s) : 0.0;
}

// ---- RoPE: rotate d_rope of the d_head values of every (token, head) vector ----
struct RopeShape {
  int64_t n_tokens = 0;  // tokens (one position each)
  int64_t n_heads = 0;   // rotated vectors per token
  int64_t d_rope = 64;   // rotated width (even)
};
// Per pair (u, v): u·c − v·s and u·s + v·c = 6 FLOPs, so 3·d_rope per rotated vector.
constexpr double rope_flops_per_vector(const RopeShape& s) { return 3.0 * double(s.d_rope); }
// The rotated slice is read and written in BF16: 2·2·d_rope per vector.
constexpr double rope_bytes_per_vector(const RopeShape& s) { return 2.0 * 2.0 * double(s.d_rope); }
// cos/sin table: one FP32 (cos, sin) per pair per position = 4·d_rope B per token, written once by
// the table build and read once by the rotation (the heads of a token reuse it from cache).
constexpr double rope_table_bytes(const RopeShape& s) { return 4.0 * double(s.d_rope) * double(s.n_tokens); }
// Table build: one cos and one sin per pair per position (d_rope per token). The O(d_rope) frequency
// table and the pos·f multiplies are table set-up and are not counted as FLOPs (the spec's row is 3·d_rope).
constexpr double rope_transcendentals(const RopeShape& s) { return double(s.d_rope) * double(s.n_tokens); }
constexpr double rope_flops(const RopeShape& s) {
  return double(s.n_tokens) * double(s.n_heads) * rope_flops_per_vector(s);
}
constexpr double rope_bytes(const RopeShape& s) {
  return double(s.n_tokens) * double(s.n_heads) * rope_bytes_per_vector(s) + 2.0 * rope_table_bytes(s);
}

// ---- SwiGLU: h = silu(min(g, L))·clamp(u, −L, L), FP32 in and out ----
struct SwigluShape {
  int64_t n_tokens = 0;  // rows
  int64_t width = 0;     // d_expert values per row
  bool clamped = true;   // limit > 0 (V4 routed experts)
};
// Clamp: u > L, u < −L, g > L (3 compares, only when clamped); silu: 1 + e^−g (1), g / (·) (1),
// × u (1); negation free. 6 per element clamped, 3 unclamped; 1 exp.
constexpr double swiglu_flops_per_element(const SwigluShape& s) { return s.clamped ? 6.0 : 3.0; }
constexpr double swiglu_transcendentals_per_element(const SwigluShape&) { return 1.0; }
// g and u read (FP32), h written (FP32): 12 B per element.
constexpr double swiglu_bytes_per_element(const SwigluShape&) { return 12.0; }
constexpr double swiglu_elements(const SwigluShape& s) { return double(s.n_tokens) * double(s.width); }
constexpr double swiglu_flops(const SwigluShape& s) { return swiglu_elements(s) * swiglu_flops_per_element(s); }
constexpr double swiglu_transcendentals(const SwigluShape& s) {
  return swiglu_elements(s) * swiglu_transcendentals_per_element(s);
}
constexpr double swiglu_bytes(const SwigluShape& s) { return swiglu_elements(s) * swiglu_bytes_per_element(s); }

}  // namespace v4lab
