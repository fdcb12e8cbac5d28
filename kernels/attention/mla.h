// mla.h — DeepSeek-V3/V3.2 MLA decode attention core (specs/attention.md §2 "Naive", "Absorbed",
// scale; §3 sparse MLA over S_t): naive form (decompress W_kvb per cached token; MHA with d_qk 192,
// d_v 128) and weight-absorbed form (q̃ = [W_UKᵀ q_nope; q_rope], MQA over the 576-dim cache, then
// W_UV), selected by `form`; both compute the same o. _ref FP64, _cpu FP32 (split-KV + lse merge).
#pragma once
#include <cstdint>

#include "core/op_catalogue.h"

namespace v4lab::kernels {

enum class MlaForm { Naive = 0, Absorbed = 1 };

struct MlaParams {
  int64_t n_q = 1;          // queries; q is [n_q, n_heads, d_nope + d_rope] BF16 (q_rope already RoPE'd)
  int64_t n_ctx = 4096;     // cached tokens; cache is [n_ctx, kv_rank + d_rope] BF16 = (c_kv normed, k_pe RoPE'd)
  int64_t n_heads = 128;    // query heads
  int64_t d_nope = 128;     // qk_nope_head_dim
  int64_t d_rope = 64;      // qk_rope_head_dim (even, ≤ d_nope + d_rope)
  int64_t kv_rank = 512;    // kv_lora_rank: c_kv width (the MQA value width of the absorbed form)
  int64_t d_v = 128;        // v_head_dim
  MlaForm form = MlaForm::Absorbed;
  int64_t top_k = 0;        // 0: dense causal (s ≤ pos[i]); > 0: attend only idx [n_q, top_k] (DSA S_t, −1 = invalid)
  int64_t max_seq_len = 163840;   // YaRN mscale m² applies iff max_seq_len > yarn_orig_len
  double yarn_factor = 40;        // s of m = 0.1·ln s + 1
  double yarn_orig_len = 4096;    // L

  int64_t d_qk() const { return d_nope + d_rope; }
  int64_t d_cache() const { return kv_rank + d_rope; }
  int64_t w_rows() const { return n_heads * (d_nope + d_v); }  // W_kvb [H·(d_nope + d_v), kv_rank]
  double softmax_scale() const;  // d_qk^−0.5 · m² (m² ≈ 1.87385 iff max_seq_len > 4096), never 576^−0.5
  void validate() const;
};
MlaParams mla_params_from(const ParamMap& pm);

// In:  q [n_q, H, d_qk] BF16; cache [n_ctx, d_cache] BF16; w_kvb [H·(d_nope + d_v), kv_rank] BF16
//      (per head d_nope k rows = W_UK,h, then d_v v rows = W_UV,h); pos [n_q] I32 (dense: attend s ≤ pos);
//      idx [n_q, top_k] I32 (top_k > 0; entries outside [0, n_ctx) are invalid and skipped).
// Out: o [n_q, H, d_v] F32 (the W_o input); lse [n_q, H] F32 (log Σ e^l; −inf if nothing attended).
using MlaFn = void (*)(const MlaParams&, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                       const int32_t* pos, const int32_t* idx, float* o, float* lse);
void mla_decode_ref(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                    const int32_t* pos, const int32_t* idx, float* o, float* lse);
void mla_decode_cpu(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                    const int32_t* pos, const int32_t* idx, float* o, float* lse);

// FP64 naive and absorbed forms separately (the ref dispatches on form; the tests call both).
void mla_decode_ref_f64(const MlaParams& p, MlaForm form, const uint16_t* q, const uint16_t* cache,
                        const uint16_t* w_kvb, const int32_t* pos, const int32_t* idx, double* o, double* lse);

}  // namespace v4lab::kernels
