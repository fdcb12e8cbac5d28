// moe_cost.h — FLOP and byte formulas of the MoE ops (specs/moe.md "Cost"): router, routed experts,
// shared expert, combine, the expected number of distinct experts touched, EP dispatch/combine
// volumes. Pure functions shared by the op catalogue (core/ops/moe.cpp), the cost tests and
// docs/kernels/moe.md. Terms the spec marks "about"/"≈"/"estimate" are separate functions.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace v4lab {

enum class MoeWeightFormat { BF16 = 0, FP8 = 1, FP4 = 2 };  // FP8: 128×128 UE8M0; FP4: 1×32 UE8M0

// b_w: bytes per weight element including scales. FP8 128×128: 1 + b_s/16384 (b_s = 1 for UE8M0,
// 4 for V3's FP32 scales); MXFP4: 0.5 + 1/32 = 0.53125.
constexpr double moe_bytes_per_weight(MoeWeightFormat f, double scale_bytes = 1) {
  return f == MoeWeightFormat::BF16 ? 2.0 : f == MoeWeightFormat::FP8 ? 1.0 + scale_bytes / 16384.0 : 0.53125;
}

// E_touched(T) = E·(1 − (1 − k/E)^T): distinct experts hit by T tokens under uniform routing.
inline double moe_experts_touched(double T, double E, double k) {
  if (T <= 0 || E <= 0) return 0;
  return E * (1.0 - std::pow(1.0 - k / E, T));
}
// Expected rows per touched expert m_e = T·k/E / (1 − (1 − k/E)^T).
inline double moe_rows_per_touched(double T, double E, double k) {
  const double q = 1.0 - std::pow(1.0 - k / E, T);
  return q > 0 ? T * k / E / q : 0;
}

// ---- FLOPs (attention.md §0: add/mul = 1) ----
constexpr double moe_router_gemm_flops(double T, double d, double E) { return 2 * T * d * E; }
constexpr double moe_router_scoring_flops_estimate(double T, double E) { return 4 * T * E; }
// Three GEMMs (W1, W3: N = 2f; W2) over `rows` (token, expert) rows: 6·rows·d·f.
constexpr double moe_expert_gemm_flops(double rows, double d, double f) { return 6 * rows * d * f; }
constexpr double moe_swiglu_flops_estimate(double rows, double f) { return 8 * rows * f; }
// Routing-weight multiplies: V4 w·h (f per row), V3 w·(W2·h) (d per row).
constexpr double moe_weight_mul_flops(double rows, double d, double f, bool weight_before_down) {
  return rows * (weight_before_down ? f : d);
}
// Combine: (k+1)·d adds per token (k routed outputs and the shared one).
constexpr double moe_combine_flops(double T, double d, double k) { return T * (k + 1) * d; }

// ---- Bytes ----
constexpr double moe_expert_weight_bytes(double d, double f, double b_w) { return 3 * d * f * b_w; }
// Router: W_g BF16 + bias FP32 (2·E·d + 4E), plus x (2d), idx + w (8k), scores (4E), flags (4) per
// token; hash layers read 4·k int32 table entries per token.
constexpr double moe_gate_bytes(double T, double d, double E, double k, bool hash) {
  return T > 0 ? 2 * E * d + 4 * E + T * (2 * d + 8 * k + 4 * E + 4) + (hash ? 4 * k * T : 0) : 0;
}
// Permute: idx read (4k), row_map write (4k), BF16 row gather read + write (2·2d per row), offsets.
constexpr double moe_permute_bytes(double T, double d, double E, double k) {
  return T > 0 ? T * k * (8 + 4 * d) + 4 * (E + 1) : 0;
}
// Activation bytes per (token, expert) row. As run (fused: GEMM1 -> SwiGLU -> quant -> GEMM2 stay in
// cache): BF16 x in, w in, FP32 y_e out. Unfused (spec): GEMM1 d + d/128 in, 2·2f out; SwiGLU+quant
// 4f in, f + f/128 out; GEMM2 f + f/128 in, 2d out.
constexpr double moe_expert_act_bytes_per_row(double d, double f, bool unfused) {
  return unfused ? (d + d / 128 + 4 * f) + (4 * f + f + f / 128) + (f + f / 128 + 2 * d) : 2 * d + 4 + 4 * d;
}
// Routed experts op: weights of the distinct experts touched + activations.
inline double moe_experts_bytes(double T, double d, double f, double E, double k, double b_w, bool unfused) {
  if (T <= 0) return 0;
  return moe_experts_touched(T, E, k) * moe_expert_weight_bytes(d, f, b_w) +
         T * k * moe_expert_act_bytes_per_row(d, f, unfused) + 4 * (E + 1);
}
// Shared expert: its weights once + BF16 x in, FP32 y_s out per token.
constexpr double moe_shared_bytes(double T, double d, double f, double b_w) {
  return T > 0 ? moe_expert_weight_bytes(d, f, b_w) + T * (2 * d + 4 * d) : 0;
}
// Combine as run: k FP32 y_e rows + FP32 y_s in, BF16 y out, idx and row_map (8k) per token. The
// spec's BF16 variant reads 2d(k+1) and writes 2d.
constexpr double moe_combine_bytes(double T, double d, double k, bool bf16_inputs = false) {
  return T * ((bf16_inputs ? 2 : 4) * d * (k + 1) + 2 * d + (bf16_inputs ? 0 : 8 * k));
}

// Arithmetic intensity of a touched expert with m_e rows: 2·m_e / b_w FLOP per weight byte.
constexpr double moe_expert_intensity(double m_e, double b_w) { return 2 * m_e / b_w; }

// ---- EP dispatch / combine (R ranks) ----
// Dispatch bytes per copy (FP8): d + ⌈d/128⌉·b_s + b_meta.
inline double moe_dispatch_bytes_per_copy(double d, double scale_bytes, double meta_bytes) {
  return d + std::ceil(d / 128) * scale_bytes + meta_bytes;
}
constexpr double moe_combine_bytes_per_copy(double d) { return 2 * d; }
// Where an all-to-all's leaving bytes go under uniform destinations over R ranks in NVLink domains of
// D GPUs: to the D−1 peers of the own domain (NVLink) and to the R−D others (NIC), as shares of all
// R copies (own rank excluded from both): intra = (min(R,D) − 1)/R, inter = (R − min(R,D))/R.
struct NetSplit {
  double intra = 0, inter = 0;
};
inline NetSplit ep_net_split(double R, double D) {
  const double local = std::min(R, std::max(1.0, D));
  return {(local - 1) / R, (R - local) / R};
}
// Distinct ranks per token (deduplicated mode): R·(1 − C(E − E/R, k)/C(E, k)).
inline double moe_distinct_ranks(double E, double R, double k) {
  double ratio = 1;  // C(E − E/R, k) / C(E, k) = Π_{i<k} (E − E/R − i)/(E − i)
  for (int i = 0; i < int(k); ++i) ratio *= std::max(0.0, E - E / R - i) / (E - i);
  return R * (1 - ratio);
}

}  // namespace v4lab
