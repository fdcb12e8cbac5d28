// o_grouped.h — DeepSeek-V4 grouped output projection attn_o_grouped (specs/attention.md §4.2
// "Output", §4.3 W_oa, §4.4 precision and deviation (c), §4.8 "Grouped O"): the n_heads attention
// outputs are split into o_groups groups of n_heads/o_groups consecutive heads (D_in = that × d_head
// inputs each) and y_g = W_oa,g·o_g ∈ R^o_rank; out = W_ob·[y_1; …; y_G] is a plain GEMM (gemm_fp8).
// W_oa is FP8 e4m3 with one UE8M0 scale per 128×128 block of each group; activations are FP8 e4m3 with
// one UE8M0 scale per 1×128 block of each group row (act_fp8, v4lab) or BF16 (the reference's BF16
// einsum over the dequantized W_oa; FP8 × 2^k is exact in BF16, so its weights equal ours). FP32
// accumulate, BF16 out. _ref FP64 (o_grouped_ref.cpp), _cpu FP32 (o_grouped_cpu.cpp), _cuda.
#pragma once
#include <cstdint>

#include "core/op_catalogue.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {

struct OGroupedParams {
  int64_t n_tokens = 1;   // T: o is [T, n_heads, d_head] BF16 (heads of group g: [g·H/G, (g+1)·H/G))
  int64_t n_heads = 64;   // H (Flash 64, Pro 128)
  int64_t d_head = 512;   // D
  int64_t o_groups = 8;   // G, divides H (Flash 8, Pro 16); 1 = a plain projection
  int64_t o_rank = 1024;  // R: y is [T, G·R] BF16, column g·R + r = output r of group g
  bool act_fp8 = true;    // FP8 1×128 activations (true) or BF16 (false)
  V4LAB_HD int64_t d_in() const { return n_heads / o_groups * d_head; }
  V4LAB_HD int64_t k_blocks() const { return (d_in() + 127) / 128; }   // KB: K blocks per group (last may be partial)
  V4LAB_HD int64_t r_blocks() const { return (o_rank + 127) / 128; }   // RB: 128-row weight blocks per group
  void validate() const;  // config_error naming the field, value and rule
};
OGroupedParams o_grouped_params_from(const ParamMap& pm);

// Layouts. w_codes U8 [G·R, D_in] (row g·R + r = output r of group g, K contiguous); w_scale U8 UE8M0
// [G·RB, KB], scale of code (g·R + r, c) at (g·RB + r/128)·KB + c/128 (blocks restart at each group,
// so V4's R = 1024, D_in = 4096 is exactly the 128×128 quantization of the whole [G·R, D_in] matrix).
// Activation block b of token t and group g covers o[t, g·D_in + 128·b … + min(128, D_in − 128·b)).
V4LAB_HD int64_t o_grouped_scale_index(int64_t g, int64_t r, int64_t c, int64_t r_blocks, int64_t k_blocks) {
  return (g * r_blocks + r / 128) * k_blocks + c / 128;
}
// Per-element math shared by _cpu and _cuda (quant.md canonical FP8 quantizer: amax over the finite
// elements floored at 1e-4, s = 2^⌈log2(amax/448)⌉, RNE with clamping; non-finite → the NaN code).
V4LAB_HD float o_grouped_amax_step(float amax, float x) {
  const float a = fabsf(x);
  return quant_isfinite(x) && a > amax ? a : amax;
}
V4LAB_HD BlockScale o_grouped_act_scale(float amax) {
  return block_scale_ue8m0_bits(amax > kFp8AmaxFloor ? amax : kFp8AmaxFloor, kFp8Max);
}
V4LAB_HD float o_grouped_act_value(float x, const BlockScale& b) {  // FP8 round trip of one activation
  return fp8_e4m3_to_f32_bits(fp8_e4m3_from_f32_bits(x * b.inv_s)) * b.s;
}
// scale = ue8m0_to_f32(block byte), decoded once per block (ldexpf per element would dominate).
V4LAB_HD float o_grouped_weight_value(uint8_t code, float scale) { return fp8_e4m3_to_f32_bits(code) * scale; }

// In: o [T, H, D] BF16; w_codes, w_scale as above. Out: y [T, G·R] BF16. T = 0 does nothing.
using OGroupedFn = void (*)(const OGroupedParams&, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                            uint16_t* y);
void o_grouped_ref(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                   uint16_t* y);
void o_grouped_cpu(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                   uint16_t* y);

// W_oa from FP32 weights w [G·R, D_in] (row-major): per group the 128×128 UE8M0 quantization of
// quant.md (amax floored at 1e-4), into w_codes / w_scale (the layout above). Used by make_io and tests.
void o_grouped_quantize_weights(const OGroupedParams& p, const float* w, uint8_t* w_codes, uint8_t* w_scale);

}  // namespace v4lab::kernels
