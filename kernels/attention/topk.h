// topk.h — causal top-k selection over index scores (specs/attention.md §3 "S_t = top-k_t", §4.2 CSA
// selection, §6 top-k sets), the selection step of the V3.2 DSA and V4 CSA lightning indexers.
// Order: higher score first, then lower index (the spec's tie rule); NaN ranks below every other
// value (−inf included) and is counted (v4lab rule; torch.topk ranks NaN highest). −0 ties with +0.
#pragma once
#include <cstdint>

#include "core/numerics.h"
#include "core/op_catalogue.h"

namespace v4lab::kernels {

struct TopkParams {
  int64_t n_queries = 1;    // rows of scores (decode: 1; prefill: n_tokens)
  int64_t n_cand = 2048;    // columns: candidates per query (context tokens, or compressed entries)
  int64_t top_k = 2048;     // k; each query selects k_t = min(top_k, len_t) indices (k_t may be 0)
  void validate() const;    // config_error: n_queries < 0, n_cand < 0, top_k < 0
};
TopkParams topk_params_from(const ParamMap& pm);

// Total order on FP32 scores as unsigned keys: larger key = ranks higher. NaN → 0 (lowest), −0 → +0.
V4LAB_HD uint32_t topk_key(float s) {
  uint32_t u = f32_bits(s);
  if ((u & 0x7fffffffu) > 0x7f800000u) return 0u;  // NaN
  if (u == 0x80000000u) u = 0u;                     // −0 ties with +0
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
V4LAB_HD bool topk_before(uint32_t key_a, int32_t idx_a, uint32_t key_b, int32_t idx_b) {
  return key_a > key_b || (key_a == key_b && idx_a < idx_b);
}

// In: scores [n_queries, n_cand] f32; lengths [n_queries] i32 — query q sees candidates [0, len_q)
// (len_q ≤ n_cand; the causal bound, e.g. t+1 for DSA or ⌊(t+1)/4⌋ for CSA).
// Out: idx [n_queries, top_k] i32 — the selected set in ascending index order (the order a sparse
// attention kernel gathers in; deterministic, and no sort by rank is spent), −1 past k_q;
// nan_count [n_queries] i32 (NaN scores among the visible candidates).
void topk_ref(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count);
void topk_cpu(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count);

}  // namespace v4lab::kernels
