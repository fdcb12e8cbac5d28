// quant_cost.h — FLOP and byte formulas of the quant ops (specs/quant.md "Cost"), pure functions of
// the shape, shared by the op catalogue (core/ops/quant.cpp), the cost tests and docs/kernels/quant.md.
// Convention (attention.md §0): add/mul/div/max/compare = 1 FLOP; format conversions, abs and the
// bit-level ceil-log2 are free. Bytes are device-memory reads + writes of the op's tensors.
#pragma once
#include <cmath>
#include <cstdint>

namespace v4lab {

// Bytes per element of a stored quantized tensor, scales included: b_code + b_s / (elements per scale).
// FP8 1×128 UE8M0 1.0078125; 1×128 FP32 1.03125; 1×64 UE8M0 1.015625; 128×128 UE8M0 1.000061;
// MXFP4 1×32 UE8M0 0.53125.
constexpr double quant_bytes_per_element(double code_bytes, double elems_per_scale, double scale_bytes) {
  return code_bytes + scale_bytes / elems_per_scale;
}

// Quantize N elements in `blocks` blocks: 4·N + 2·blocks FLOP (per element amax, divide by s and two
// clamp compares; per block the floor max and a/f_max). Reads N·b_in, writes N·b_code + blocks·b_s.
constexpr double quant_flops(double n_elems, double blocks) { return 4.0 * n_elems + 2.0 * blocks; }
constexpr double quant_bytes(double n_elems, double blocks, double in_bytes, double code_bytes, double scale_bytes) {
  return n_elems * in_bytes + n_elems * code_bytes + blocks * scale_bytes;
}
// Dequantize: 1 multiply per element; reads codes + scales, writes FP32 (4 B) per element.
constexpr double dequant_flops(double n_elems) { return n_elems; }
constexpr double dequant_bytes(double n_elems, double blocks, double code_bytes, double scale_bytes) {
  return n_elems * code_bytes + blocks * scale_bytes + 4.0 * n_elems;
}

// Hadamard of `rows` vectors of length n: n·log2 n adds + n multiplies each (1,024 at n = 128);
// FP32 in and out.
inline double hadamard_flops(double rows, double n) { return rows * (n * std::log2(n) + n); }
constexpr double hadamard_bytes(double rows, double n) { return rows * n * 8.0; }

// Block-scaled GEMM C[M,N] = A[M,K]·B[N,K]ᵀ with one scale product per `group` K elements:
// 2·M·N·K + 2·M·N·K/group (per group: s_a·s_b and its multiply into P; the add into the FP32
// accumulator is the K-th add already in 2·M·N·K).
constexpr double gemm_q_flops(double m, double n, double k, double group) {
  return 2.0 * m * n * k + 2.0 * m * n * (k / group);
}
// Bytes: both quantized operands (codes + scales) and the output C (out_bytes per element).
constexpr double gemm_q_bytes(double a_bytes, double b_bytes, double m, double n, double out_bytes) {
  return a_bytes + b_bytes + m * n * out_bytes;
}

}  // namespace v4lab
