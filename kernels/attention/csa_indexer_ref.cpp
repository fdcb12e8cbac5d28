// csa_indexer_ref.cpp — CSA indexer scores in FP64 (_ref; specs/attention.md §4.2 "Indexer"): plain
// loops, each score rounded once to FP32. Also validation and the tensor contract.
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/numerics.h"
#include "kernels/attention/csa_indexer.h"

namespace v4lab::kernels {
namespace {

[[noreturn]] void bad(const std::string& field, int64_t value, const std::string& rule) {
  std::ostringstream o;
  o << "attn_csa_indexer: " << field << " = " << value << " " << rule;
  throw config_error(o.str(), field);
}

}  // namespace

void CsaIndexerParams::validate() const {
  if (n_tokens < 0) bad("n_tokens", n_tokens, "must be >= 0");
  if (n_ctx < n_tokens) bad("n_ctx", n_ctx, "must be >= n_tokens = " + std::to_string(n_tokens));
  if (idx_heads < 1) bad("idx_heads", idx_heads, "must be >= 1 (V4: 64)");
  if (idx_dim < 32 || (idx_dim & (idx_dim - 1)) != 0 || idx_dim % 32 != 0)
    bad("idx_dim", idx_dim, "must be a power of two and a multiple of 32 (Hadamard + MXFP4; V4: 128)");
  if (ratio < 1) bad("ratio", ratio, "must be >= 1 (CSA: 4)");
}

CsaIndexerParams csa_indexer_params_from(const ParamMap& pm) {
  CsaIndexerParams p;
  if (pm.count("n_tokens")) p.n_tokens = param_i(pm, "n_tokens");
  if (pm.count("n_ctx")) p.n_ctx = param_i(pm, "n_ctx");
  if (pm.count("idx_heads")) p.idx_heads = param_i(pm, "idx_heads");
  if (pm.count("idx_dim")) p.idx_dim = param_i(pm, "idx_dim");
  if (pm.count("ratio")) p.ratio = param_i(pm, "ratio");
  return p;
}

std::vector<AttnTensorSpec> csa_indexer_io_spec(const CsaIndexerParams& p) {
  const int64_t T = p.n_tokens, H = p.idx_heads, K = p.idx_dim, N = p.n_entries();
  return {{"q", DType::BF16, {T, H, K}, true},
          {"keys", DType::BF16, {N, K}, true},
          {"w", DType::F32, {T, H}, true},
          {"scores", DType::F32, {T, N}, false},
          {"lengths", DType::I32, {T}, false}};
}

void csa_indexer_check_io(const CsaIndexerParams& p, const KernelIO& io) {
  p.validate();
  for (const auto& spec : csa_indexer_io_spec(p)) {
    const Tensor& t = spec.input ? io.in(spec.name) : io.out(spec.name);
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      throw config_error("attn_csa_indexer: tensor '" + spec.name + "' is " + dtype_name(t.dtype()) + " " +
                         t.shape_str() + ", expected " + dtype_name(spec.dtype) + " for n_tokens = " +
                         std::to_string(p.n_tokens) + ", n_ctx = " + std::to_string(p.n_ctx));
  }
}

// I[t,j] = Σ_h w[t,h]·max(0, Σ_k q[t,h,k]·key[j,k]) for j < len_t, else −inf.
void csa_indexer_ref(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                     float* scores, int32_t* lengths) {
  p.validate();
  const int64_t H = p.idx_heads, K = p.idx_dim, N = p.n_entries();
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const int64_t len = p.length(t);
    lengths[t] = int32_t(len);
    for (int64_t j = 0; j < N; ++j) {
      if (j >= len) {
        scores[t * N + j] = -std::numeric_limits<float>::infinity();
        continue;
      }
      double s = 0;
      for (int64_t h = 0; h < H; ++h) {
        double dot = 0;
        for (int64_t k = 0; k < K; ++k)
          dot += double(bf16_to_f32(q[(t * H + h) * K + k])) * double(bf16_to_f32(keys[j * K + k]));
        s += double(w[t * H + h]) * (dot > 0 ? dot : (std::isnan(dot) ? dot : 0.0));
      }
      scores[t * N + j] = float(s);
    }
  }
}

}  // namespace v4lab::kernels
