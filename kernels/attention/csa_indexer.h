// csa_indexer.h — the V4 CSA lightning indexer scores on compressed keys (specs/attention.md §4.2
// "Indexer", §4.4, §4.8): I[t,j] = Σ_h w_{t,h}·ReLU(q^I_{t,h}·k^I_j) over the visible entries
// j < ⌊(p_t+1)/r⌋ (p_t = pos0 + t), FP32 accumulation; invisible entries are −inf. The scores and
// per-query lengths feed attn_topk (kernels/attention/topk.h) with k_t = min(top_k, ⌊(p_t+1)/4⌋).
// Decode: 1–2 queries at the end of the context; prefill: causal over the whole chunk.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/attention/compress.h"

namespace v4lab::kernels {

struct CsaIndexerParams {
  int64_t n_tokens = 1;     // queries, at positions n_ctx − n_tokens .. n_ctx − 1
  int64_t n_ctx = 65536;    // context length seen by the last query (decode at n_ctx; prefill: n_ctx = n_tokens)
  int64_t idx_heads = 64;   // H (index_n_heads)
  int64_t idx_dim = 128;    // dims per head and per key (index_head_dim): a power of two, % 32 == 0
  int64_t ratio = 4;        // compression ratio of the keys (CSA: 4)
  int64_t pos0() const { return n_ctx - n_tokens; }
  int64_t n_entries() const { return n_ctx / ratio; }  // keys in the cache (visible to the last query)
  int64_t length(int64_t t) const { return (pos0() + t + 1) / ratio; }  // visible keys of query t
  void validate() const;  // config_error naming the field, value and accepted range
};
CsaIndexerParams csa_indexer_params_from(const ParamMap& pm);

// In: q [n_tokens, H, idx_dim] BF16 (after RoPE + Hadamard + FP4 sim); keys [n_entries, idx_dim] BF16
// (FP4 sim, or decoded from the 68 B layout); w [n_tokens, H] FP32 (already × idx_dim^−½·H^−½).
// Out: scores [n_tokens, n_entries] FP32 (−inf past the query's length); lengths [n_tokens] I32.
void csa_indexer_ref(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                     float* scores, int32_t* lengths);
void csa_indexer_cpu(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                     float* scores, int32_t* lengths);

std::vector<AttnTensorSpec> csa_indexer_io_spec(const CsaIndexerParams& p);
void csa_indexer_check_io(const CsaIndexerParams& p, const KernelIO& io);

}  // namespace v4lab::kernels
