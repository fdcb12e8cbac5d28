// dsa_indexer.h — DeepSeek-V3.2 DSA token-level lightning indexer (specs/attention.md §3): scores
// I[t,s] = Σ_j w_{t,j}·ReLU(q^I_{t,j}·k^I_s)·(k scale) for s ≤ t over FP8 (e4m3, UE8M0 scale per
// 128-vector) indexer queries and keys, accumulated in FP32; −inf where s > t. The scores feed
// attn_topk (kernels/attention/topk.h) with lengths t+1. _ref FP64, _cpu FP32 (Eigen tiles).
#pragma once
#include <cstdint>

#include "core/op_catalogue.h"

namespace v4lab::kernels {

struct DsaIndexerParams {
  int64_t n_q = 1;         // queries
  int64_t n_ctx = 4096;    // keys (context tokens)
  int64_t idx_heads = 64;  // indexer heads j
  int64_t idx_dim = 128;   // indexer width (one FP8 block per vector)
  void validate() const;   // config_error naming field, value and rule
};
DsaIndexerParams dsa_indexer_params_from(const ParamMap& pm);

// In:  q_codes [n_q, idx_heads, idx_dim] U8 e4m3; q_scale [n_q, idx_heads] U8 UE8M0;
//      k_codes [n_ctx, idx_dim] U8 e4m3; k_scale [n_ctx] U8 UE8M0; w [n_q, idx_heads] F32 (the
//      W^I_w output times idx_heads^−0.5·idx_dim^−0.5; q's scale is folded in here, as the reference);
//      pos [n_q] I32 (query i sees keys s ≤ pos[i]).
// Out: scores [n_q, n_ctx] F32, −inf for s > pos[i].
// Scales are powers of two > 0, so ReLU(s_q·x) = s_q·ReLU(x) and the fold is exact.
using DsaIndexerFn = void (*)(const DsaIndexerParams&, const uint8_t* q_codes, const uint8_t* q_scale,
                              const uint8_t* k_codes, const uint8_t* k_scale, const float* w, const int32_t* pos,
                              float* scores);
void dsa_indexer_ref(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale, const uint8_t* k_codes,
                     const uint8_t* k_scale, const float* w, const int32_t* pos, float* scores);
void dsa_indexer_cpu(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale, const uint8_t* k_codes,
                     const uint8_t* k_scale, const float* w, const int32_t* pos, float* scores);

// Indexer input pipeline (§3 steps 3–4) on FP32 vectors [rows, idx_dim], in place then quantized:
// non-interleaved RoPE on the first 64 dims at positions pos[r / per_pos] (skipped when rope = false),
// 128-point Hadamard (when hadamard), FP8 e4m3 with one UE8M0 scale per vector (the quant family).
void dsa_indexer_prepare(int64_t rows, int64_t idx_dim, int64_t per_pos, const int32_t* pos, bool rope, bool hadamard,
                         float* x, uint8_t* codes, uint8_t* scales);

}  // namespace v4lab::kernels
