// attention_o_cost.h — FLOP and byte formulas of V4's grouped output projection attn_o_grouped
// (specs/attention.md §4.2 "Output", §4.3 W_oa, §4.4 precision, §4.7 "W_oa", §4.8 "Grouped O";
// quant.md "Cost"). Pure functions of plain numbers, shared by the op catalogue
// (core/ops/attention_o.cpp) and the tests (tests/kernels/test_attention_o_grouped.cpp).
#pragma once
#include <cstdint>

#include "core/ops/quant_cost.h"

namespace v4lab {

struct OGroupedShape {
  int64_t n_tokens = 1;  // T: rows of o (tokens)
  int64_t n_heads = 64;  // H: query heads (Flash 64, Pro 128)
  int64_t d_head = 512;  // D: per-head width
  int64_t o_groups = 8;  // G: groups of H/G consecutive heads (Flash 8, Pro 16)
  int64_t o_rank = 1024; // R: output rows per group (o_lora_rank)
  bool act_fp8 = true;   // FP8 1×128 activations (v4lab default, §4.4) or BF16 (reference, deviation (c))
  constexpr int64_t d_in() const { return n_heads / o_groups * d_head; }    // inputs per group (4096)
  constexpr int64_t k_blocks() const { return (d_in() + 127) / 128; }       // 128-wide K blocks per group
  constexpr int64_t r_blocks() const { return (o_rank + 127) / 128; }       // 128-row weight blocks per group
};

// y_g = W_oa,g·o_g: 2·T·R·D_in per group, 2·T·H·D·R in all (67.11 MFLOP/token Flash, 134.22 Pro, §4.7).
constexpr double o_grouped_gemm_flops(const OGroupedShape& s) {
  return 2.0 * double(s.n_tokens) * double(s.o_groups) * double(s.o_rank) * double(s.d_in());
}
// Total: the GEMM; with FP8 activations also one scale product per (token, row, K block) (gemm_q_flops)
// and the fused 1×128 activation quantization (4 per element + 2 per block, quant.md).
constexpr double o_grouped_flops(const OGroupedShape& s) {
  if (!s.act_fp8) return o_grouped_gemm_flops(s);
  const double T = double(s.n_tokens), G = double(s.o_groups), R = double(s.o_rank), KB = double(s.k_blocks());
  return o_grouped_gemm_flops(s) + 2.0 * T * G * R * KB + quant_flops(T * double(s.n_heads * s.d_head), T * G * KB);
}
// W_oa bytes: FP8 codes [G·R, D_in] + one UE8M0 byte per 128×128 block (32 MiB + 2 KiB Flash).
constexpr double o_grouped_weight_bytes(const OGroupedShape& s) {
  const double G = double(s.o_groups);
  return G * double(s.o_rank) * double(s.d_in()) + G * double(s.r_blocks()) * double(s.k_blocks());
}
// DRAM bytes: o in (BF16; the activation codes stay on chip), W_oa once, y out (BF16 [T, G·R]).
constexpr double o_grouped_bytes(const OGroupedShape& s) {
  const double T = double(s.n_tokens);
  return 2.0 * T * double(s.n_heads * s.d_head) + o_grouped_weight_bytes(s) + 2.0 * T * double(s.o_groups * s.o_rank);
}

}  // namespace v4lab
