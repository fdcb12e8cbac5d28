// engram_cost.h — per-token cost formulas of the Engram ops (specs/engram.md §8): rows per token,
// bytes per stored row by dtype, index/gather bytes, gate/conv FLOPs, projection FLOPs, table
// footprint. Pure functions of the shape, shared by the op catalogue (core/ops/engram.cpp), the cost
// tests (tests/core/test_engram_cost.cpp) and docs/kernels/engram.md.
#pragma once
#include <cstdint>

namespace v4lab {

enum class EngramRowDtype { F32 = 0, BF16 = 1, FP8 = 2 };  // FP8 = E4M3 + one UE8M0 byte per 32

struct EngramShape {
  int64_t n_tokens = 0;  // T: tokens in the step
  int max_ngram = 3;     // N
  int heads = 8;         // K
  int64_t head_dim = 64; // D
  EngramRowDtype row_dtype = EngramRowDtype::F32;
  int out_bytes = 4;     // bytes per gathered output element (4 F32, 2 BF16)
  int hc = 4;            // M
  int64_t d_model = 1024;// d
  int conv_kernel = 4;   // w
  int64_t conv_dilation = 3;
};

constexpr int64_t engram_rows_per_token(const EngramShape& s) { return int64_t(s.max_ngram - 1) * s.heads; }  // R
constexpr int64_t engram_d_mem(const EngramShape& s) { return engram_rows_per_token(s) * s.head_dim; }
// b_row = D·b_elem + scale bytes: 4D, 2D, D + D/32 (FP8; 264 B at D = 256).
constexpr double engram_row_bytes(EngramRowDtype t, int64_t d) {
  return t == EngramRowDtype::F32 ? 4.0 * d : t == EngramRowDtype::BF16 ? 2.0 * d : double(d) + double(d / 32);
}

// ---- Index (hash) per token: N multiplies, N−1 XORs, R mods, R adds (integer ops, counted as
// FLOP-equivalents in OpWork.flops); bytes: token id + canonical-map entry read, R·4 B row ids written.
constexpr double engram_hash_int_ops_per_token(const EngramShape& s) {
  return double(s.max_ngram) + double(s.max_ngram - 1) + 2.0 * double(engram_rows_per_token(s));
}
constexpr double engram_index_bytes_per_token(const EngramShape& s) { return 4.0 * engram_rows_per_token(s); }
constexpr double engram_hash_bytes_per_token(const EngramShape& s) { return 8.0 + engram_index_bytes_per_token(s); }

// ---- Gather per token: R·b_row table bytes (27B BF16 2,560 B; demo FP32 4,096 B; V4.1 FP8 6,336 B);
// the op also reads the R·4 B ids and writes d_mem outputs. FP8 dequant: 1 multiply per element.
constexpr double engram_gather_table_bytes_per_token(const EngramShape& s) {
  return double(engram_rows_per_token(s)) * engram_row_bytes(s.row_dtype, s.head_dim);
}
constexpr double engram_gather_bytes_per_token(const EngramShape& s) {
  return engram_gather_table_bytes_per_token(s) + engram_index_bytes_per_token(s) +
         double(s.out_bytes) * double(engram_d_mem(s));
}
constexpr double engram_gather_flops_per_token(const EngramShape& s) {
  return s.row_dtype == EngramRowDtype::FP8 ? double(engram_d_mem(s)) : 0.0;
}

// ---- Projection (not an op here; the project's GEMM): 2·d_mem·(M+1)·d FLOPs per token
// (27B: 32.8 MFLOP, V4.1-like: 314.6 MFLOP); weight bytes d_mem·(M+1)·d·b_w per step.
constexpr double engram_projection_flops_per_token(const EngramShape& s) {
  return 2.0 * double(engram_d_mem(s)) * (s.hc + 1) * double(s.d_model);
}
constexpr double engram_projection_weight_bytes(const EngramShape& s, double bytes_per_weight) {
  return double(engram_d_mem(s)) * (s.hc + 1) * double(s.d_model) * bytes_per_weight;
}

// ---- Gate: ≈10·M·d FLOPs (two RMSNorms + dot); per branch 2 rsqrt + sqrt + sigmoid. Bytes (this
// op's tensors): h BF16 2Md, key F32 4Md, value F32 4d, ṽ F32 4Md, score/α 8M; norm weights 8Md once.
constexpr double engram_gate_flops_per_token(const EngramShape& s) { return 10.0 * s.hc * double(s.d_model); }
constexpr double engram_gate_transcendentals_per_token(const EngramShape& s) { return 4.0 * s.hc; }
constexpr double engram_gate_bytes_per_token(const EngramShape& s) {
  const double md = s.hc * double(s.d_model);
  return 2 * md + 4 * md + 4.0 * double(s.d_model) + 4 * md + 8.0 * s.hc;
}
constexpr double engram_gate_weight_bytes(const EngramShape& s) { return 8.0 * s.hc * double(s.d_model); }

// ---- Conv + norm + SiLU + residual: ≈(2w + 10)·M·d FLOPs; M·d exp (SiLU) + M rsqrt per token.
// Bytes: Ṽ read and y written (F32, 8Md); weights 4·M·d·(w + 1) once; decode state read + write
// 2·(w−1)·δ·M·d·4 once per call (the spec's BF16 ring would be half).
constexpr double engram_conv_flops_per_token(const EngramShape& s) {
  return (2.0 * s.conv_kernel + 10.0) * s.hc * double(s.d_model);
}
constexpr double engram_conv_transcendentals_per_token(const EngramShape& s) {
  return s.hc * double(s.d_model) + s.hc;
}
constexpr double engram_conv_bytes_per_token(const EngramShape& s) { return 8.0 * s.hc * double(s.d_model); }
constexpr double engram_conv_once_bytes(const EngramShape& s) {
  const double md = s.hc * double(s.d_model);
  return 4.0 * md * (s.conv_kernel + 1) + 2.0 * 4.0 * double(s.conv_kernel - 1) * double(s.conv_dilation) * md;
}
// Decode ring of (w−1)·δ normalized positions × M·d in BF16 (27B: 184,320 B; V4.1-like: 491,520 B).
constexpr double engram_conv_state_bytes_bf16(const EngramShape& s) {
  return 2.0 * double(s.conv_kernel - 1) * double(s.conv_dilation) * s.hc * double(s.d_model);
}

// Table footprint: Σp·b_row (D·b_elem·Σp plus scales).
constexpr double engram_table_bytes(double table_rows, EngramRowDtype t, int64_t d) {
  return table_rows * engram_row_bytes(t, d);
}

}  // namespace v4lab
