// topk_ref.cpp — the specification of causal top-k (kernels/attention/topk.h): a full sort of each
// query's visible candidates by (score desc, index asc) under the NaN-lowest order; the first k_t
// are the selected set, written in index order.
#include <algorithm>
#include <vector>

#include "core/error.h"
#include "kernels/attention/topk.h"

namespace v4lab::kernels {

void TopkParams::validate() const {
  if (n_queries < 0) throw config_error("topk: n_queries = " + std::to_string(n_queries) + " must be >= 0");
  if (n_cand < 0) throw config_error("topk: n_cand = " + std::to_string(n_cand) + " must be >= 0");
  if (top_k < 0) throw config_error("topk: top_k = " + std::to_string(top_k) + " must be >= 0");
}

TopkParams topk_params_from(const ParamMap& pm) {
  TopkParams p;
  p.n_queries = param_i(pm, "n_tokens");
  p.n_cand = param_i(pm, "n_cand");
  p.top_k = param_i(pm, "top_k");
  return p;
}

void topk_ref(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count) {
  p.validate();
  std::vector<int32_t> order;
  for (int64_t q = 0; q < p.n_queries; ++q) {
    const int64_t len = lengths[q];
    if (len < 0 || len > p.n_cand)
      throw config_error("topk: lengths[" + std::to_string(q) + "] = " + std::to_string(len) + " outside [0, " +
                         std::to_string(p.n_cand) + "]");
    const float* s = scores + q * p.n_cand;
    order.resize(size_t(len));
    int32_t nans = 0;
    for (int64_t i = 0; i < len; ++i) {
      order[size_t(i)] = int32_t(i);
      nans += topk_key(s[i]) == 0u && s[i] != s[i];
    }
    std::sort(order.begin(), order.end(),
              [s](int32_t a, int32_t b) { return topk_before(topk_key(s[a]), a, topk_key(s[b]), b); });
    const int64_t k = std::min(p.top_k, len);
    std::sort(order.begin(), order.begin() + k);  // the selected set, in index order
    int32_t* out = idx + q * p.top_k;
    for (int64_t j = 0; j < p.top_k; ++j) out[j] = j < k ? order[size_t(j)] : -1;
    nan_count[q] = nans;
  }
}

}  // namespace v4lab::kernels
