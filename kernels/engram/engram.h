// engram.h — Engram conditional-memory kernels: engram_hash, engram_gather, engram_gate, engram_conv.
// Math: specs/engram.md §3 (multiplicative-XOR N-gram hash, prime moduli), §4 (table layout, gather
// with per-head offsets, FP8 rows per specs/quant.md), §5 (context-aware gate, short causal conv).
// Backends share one signature per op: _ref (scalar, FP64 accumulation, engram_ref.cpp), _cpu (OpenMP
// + SIMD FP32, engram_cpu.cpp); CUDA launchers are in engram_cuda.h. The per-element math (mix, mod,
// signed square root gate, SiLU, row decode) is written once here (V4LAB_HD) for every backend.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/numerics.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {

constexpr int kEngramMaxNgram = 8;  // N ≤ 8: the per-token id window lives in registers

enum class EngramRowFormat { F32 = 0, BF16 = 1, FP8 = 2 };  // FP8: D E4M3 codes then D/32 UE8M0 bytes
enum class EngramOutFormat { F32 = 0, BF16 = 1 };
enum class GateSignZero { Sign0 = 0, Copysign = 1 };  // §5 step 3: sgn(±0) = 0, or ±√1e-6

const char* engram_row_format_name(EngramRowFormat f);  // "f32", "bf16", "fp8_e4m3_ue8m0_32"
// Bytes of one stored row: 4D, 2D, or D + D/32 (FP8, D a multiple of 32; 264 B at D = 256).
int64_t engram_row_bytes(EngramRowFormat f, int64_t head_dim);

// ---------------------------------------------------------------------------------------------
// Parameters (one struct per op; shape comment per field)
// ---------------------------------------------------------------------------------------------
struct EngramHashParams {
  int64_t n_tokens = 64;       // T: token_ids [T] I32 raw ids, one packed row (no boundary reset)
  int max_ngram = 3;           // N: orders 2..N; multipliers [N]; context [N−1]
  int heads = 8;               // K: hash heads per order; primes/offsets [(N−1)·K]
  int64_t raw_vocab = 129280;  // V: canonical_map [V] I32; raw ids ≥ V are an error, < 0 are pad
  int64_t pad_id = 2;          // raw pad id, mapped through the canonical map (0 ≤ pad_id < V)
  int rows_per_token() const { return (max_ngram - 1) * heads; }  // R; row_ids [T, R] (u32 bits in I32)
  void validate() const;
};

struct EngramGatherParams {
  int64_t n_tokens = 64;         // T: row_ids [T, R] (u32 bits in I32)
  int rows_per_token = 16;       // R = (N−1)·K: rows gathered per token, in order-major head-minor order
  int64_t head_dim = 64;         // D: values per row; out is [T, R·D] (= d_mem, heads concatenated)
  int64_t table_rows = 1 << 20;  // Σp: table [table_rows, D] (F32/BF16) or [table_rows, row_bytes] U8
  EngramRowFormat row_format = EngramRowFormat::F32;
  EngramOutFormat out_format = EngramOutFormat::F32;
  int64_t d_mem() const { return rows_per_token * head_dim; }
  int64_t row_bytes() const { return engram_row_bytes(row_format, head_dim); }
  void validate() const;
};

struct EngramGateParams {
  int64_t n_tokens = 64;                         // T
  int hc = 4;                                    // M: mHC branches; h, key, v_gated [T, M, d]
  int64_t d_model = 1024;                        // d: h BF16, key F32; value [T, d] F32 (shared)
  double gate_norm_eps = 1.1920928955078125e-7;  // RMSNorm eps of q̂ and k̂ (2^-23)
  GateSignZero sign_zero = GateSignZero::Sign0;
  void validate() const;
};

struct EngramConvParams {
  int64_t n_tokens = 64;         // T: v_gated and y [T, M, d] F32
  int hc = 4;                    // M: branches; channels M·d
  int64_t d_model = 1024;        // d
  int conv_kernel = 4;           // w: taps; conv_w [M·d, w] F32 (PyTorch depthwise order)
  int conv_dilation = 3;         // δ (default N, the max order)
  double conv_norm_eps = 1e-5;   // per-branch RMSNorm eps; norm_w [M, d] F32
  bool add_residual = true;      // y = SiLU(conv) + Ṽ (residual outside the SiLU); false: SiLU(conv) only
  int64_t history() const { return int64_t(conv_kernel - 1) * conv_dilation; }  // L: state [L, M·d] F32
  int64_t channels() const { return int64_t(hc) * d_model; }
  void validate() const;
};

// From resolved op-catalogue params (absent keys keep the defaults above).
EngramHashParams engram_hash_params_from(const ParamMap& pm);
EngramGatherParams engram_gather_params_from(const ParamMap& pm);
EngramGateParams engram_gate_params_from(const ParamMap& pm);
EngramConvParams engram_conv_params_from(const ParamMap& pm);

// ---------------------------------------------------------------------------------------------
// Shared per-element math (host and device)
// ---------------------------------------------------------------------------------------------
V4LAB_HD uint64_t engram_mulhi_u64(uint64_t a, uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __umul64hi(a, b);
#else
  return uint64_t((unsigned __int128)a * b >> 64);
#endif
}
// x mod p by Barrett reduction with inv = ⌊(2^64−1)/p⌋: the quotient estimate is at most 2 short,
// so two conditional subtracts make it exact for every x < 2^64, p ≥ 2 (tested against %).
V4LAB_HD uint64_t engram_mod(uint64_t x, uint64_t p, uint64_t inv) {
  uint64_t r = x - engram_mulhi_u64(x, inv) * p;
  r = r >= p ? r - p : r;
  return r >= p ? r - p : r;
}
V4LAB_HD uint64_t engram_mod_inverse(uint64_t p) { return ~uint64_t(0) / p; }

// §3 mix: x[j] is the compressed id at position t − j (pad before the row). mix[n−2] = mix_n:
// mix_2 = x0·m0 ⊕ x1·m1, mix_n = mix_{n−1} ⊕ x_{n−1}·m_{n−1}. All products < 2^63 by the bound on m.
V4LAB_HD void engram_mix(const uint64_t* x, const uint64_t* m, int max_ngram, uint64_t* mix) {
  uint64_t h = (x[0] * m[0]) ^ (x[1] * m[1]);
  mix[0] = h;
  for (int n = 3; n <= max_ngram; ++n) {
    h ^= x[n - 1] * m[n - 1];
    mix[n - 2] = h;
  }
}

// §5 step 3: s′ = sgn(s)·√max(|s|, 1e-6). Sign0: sgn(±0) = 0 (torch.sign); Copysign: ±0 → ±0.001.
V4LAB_HD double engram_sqrt(double x) { return sqrt(x); }
V4LAB_HD float engram_sqrt(float x) { return sqrtf(x); }
V4LAB_HD bool engram_negative_zero(float x) { return f32_bits(x) == 0x80000000u; }
V4LAB_HD bool engram_negative_zero(double x) {
  uint64_t u;
  memcpy(&u, &x, 8);
  return u == 0x8000000000000000ull;
}
template <class T>
V4LAB_HD T engram_signed_sqrt(T s, GateSignZero mode) {
  const T a = s < T(0) ? -s : s;
  const T r = engram_sqrt(a > T(1e-6) ? a : T(1e-6));
  if (s > T(0)) return r;
  if (s < T(0)) return -r;
  if (s != s) return s;  // NaN stays NaN
  if (mode == GateSignZero::Sign0) return T(0);
  return engram_negative_zero(s) ? -r : r;
}
V4LAB_HD double engram_exp(double x) { return exp(x); }
V4LAB_HD float engram_exp(float x) { return expf(x); }
template <class T>
V4LAB_HD T engram_sigmoid(T x) {
  return T(1) / (T(1) + engram_exp(-x));
}
template <class T>
V4LAB_HD T engram_silu(T x) {
  return x / (T(1) + engram_exp(-x));
}
// α as stored (FP32): σ(s′) clamped into the open interval (0, 1). FP32 σ rounds to exactly 1 for
// s′ > ~17 and to 0 below ~−104; the clamp keeps the spec's α ∈ (0, 1) for any weights.
V4LAB_HD float engram_alpha_store(double a) {
  const float f = float(a);
  const float lo = 1.17549435e-38f, hi = 0.99999994f;  // FLT_MIN, 1 − 2^-24
  return f < lo ? lo : (f > hi ? hi : f);  // NaN passes through unchanged
}

// One stored row element i as FP32 (exact for every format: FP8 code × 2^scale is a power-of-two
// scaling, quant.md step 4; the scale byte of element i is byte D + i/32 of the row).
V4LAB_HD float engram_row_value(EngramRowFormat f, const uint8_t* row, int64_t head_dim, int64_t i) {
  if (f == EngramRowFormat::F32) return reinterpret_cast<const float*>(row)[i];
  if (f == EngramRowFormat::BF16) return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
  return fp8_e4m3_to_f32(row[i]) * ue8m0_to_f32(row[head_dim + i / 32]);
}

// ---------------------------------------------------------------------------------------------
// Entry points. Dense row-major buffers; BF16 is raw uint16 bits; n_tokens = 0 does nothing.
// ---------------------------------------------------------------------------------------------
// engram_hash. In: token_ids [T] raw (I32); context [N−1] raw ids of the positions −(N−1)..−1 (< 0 =
// pad; a decode step passes its ring of previous ids); canonical_map [V] (raw → compressed);
// multipliers [N] (u64); primes [R] (u64, order-major head-minor). Out: row_ids [T, R] global rows
// (u32) = offsets[j] + mix_n mod p_j; offsets [R] (u64 prefix sums of primes); mixes [T, N−1] (u64).
// Throws config_error naming the position for a raw id ≥ V, or a table of ≥ 2^32 rows.
void engram_hash_ref(const EngramHashParams& p, const int32_t* token_ids, const int32_t* context,
                     const int32_t* canonical_map, const uint64_t* multipliers, const uint64_t* primes,
                     uint32_t* row_ids, uint64_t* offsets, uint64_t* mixes);
void engram_hash_cpu(const EngramHashParams& p, const int32_t* token_ids, const int32_t* context,
                     const int32_t* canonical_map, const uint64_t* multipliers, const uint64_t* primes,
                     uint32_t* row_ids, uint64_t* offsets, uint64_t* mixes);

// engram_gather. In: table (format p.row_format, p.table_rows rows); row_ids [T, R]. Out: out [T, R·D]
// F32 or BF16 (RNE). Throws config_error naming token, slot and id for an id ≥ table_rows.
void engram_gather_ref(const EngramGatherParams& p, const void* table, const uint32_t* row_ids, void* out);
void engram_gather_cpu(const EngramGatherParams& p, const void* table, const uint32_t* row_ids, void* out);

// Building blocks for a staging-buffer pipeline (§9; the pipeline itself is a later step): copy the raw
// stored rows ids[0..n) of `table` (row_bytes each) contiguously into `staging` (host gather into a
// pinned buffer), and decode n contiguous stored rows (staging, or a table with ids = nullptr meaning
// rows 0..n−1) into out [n, D]. engram_gather_cpu = both fused, without the intermediate copy.
void engram_stage_rows_cpu(const void* table, int64_t row_bytes, const uint32_t* ids, int64_t n, void* staging);
void engram_decode_rows_cpu(EngramRowFormat f, int64_t head_dim, const void* rows, int64_t n, EngramOutFormat of,
                            void* out);

// engram_gate (§5 steps 1–4, per token t and branch m). In: h [T, M, d] BF16 (branch m of the
// residual before this layer's attention); key [T, M, d] F32 (k^(m) = W_K^(m) e + b, from the
// projection GEMM); value [T, d] F32 (v = W_V e + b, shared); q_norm_w, k_norm_w [M, d] F32.
// Out: score [T, M] (s = ⟨q̂, k̂⟩/√d), alpha [T, M] (σ(s′), in (0, 1)), v_gated [T, M, d] (α·v).
void engram_gate_ref(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                     const float* q_norm_w, const float* k_norm_w, float* score, float* alpha, float* v_gated);
void engram_gate_cpu(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                     const float* q_norm_w, const float* k_norm_w, float* score, float* alpha, float* v_gated);

// engram_conv (§5, paper eq. 5). In: v_gated Ṽ [T, M, d]; norm_w [M, d]; conv_w [M·d, w]; state
// [L, M·d] normalized positions −L..−1 (zeros in prefill; decode passes the previous state_out).
// x̂ = RMSNorm_m(Ṽ)·norm_w; out_t[c] = Σ_j conv_w[c, w−1−j]·x̂_{t−jδ}[c]; y = SiLU(out) (+ Ṽ).
// Out: y [T, M, d]; state_out [L, M·d] = x̂ at positions T−L..T−1. The H ← H + y add is the caller's.
void engram_conv_ref(const EngramConvParams& p, const float* v_gated, const float* norm_w, const float* conv_w,
                     const float* state, float* y, float* state_out);
void engram_conv_cpu(const EngramConvParams& p, const float* v_gated, const float* norm_w, const float* conv_w,
                     const float* state, float* y, float* state_out);

// ---------------------------------------------------------------------------------------------
// Tensor-level contract shared by make_io, prepare and the tests
// ---------------------------------------------------------------------------------------------
enum class EngramOp { Hash, Gather, Gate, Conv };
struct EngramTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<EngramTensorSpec> engram_io_spec(EngramOp op, const ParamMap& pm);  // inputs, then outputs
void engram_check_io(EngramOp op, const ParamMap& pm, const KernelIO& io);     // throws config_error

}  // namespace v4lab::kernels
