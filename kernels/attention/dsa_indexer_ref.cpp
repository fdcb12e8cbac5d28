// dsa_indexer_ref.cpp — FP64 oracle of the DSA lightning indexer (specs/attention.md §3) on the same
// FP8 codes the fast paths read (so it is exact up to FP64 rounding), plus the parameter checks and
// the RoPE → Hadamard → FP8 input pipeline built from the numerics and quant families.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/attention/dsa_indexer.h"
#include "kernels/numerics/numerics.h"
#include "kernels/quant/quant.h"

namespace v4lab::kernels {

void DsaIndexerParams::validate() const {
  auto bad = [](const std::string& f, int64_t v, const std::string& rule) {
    return config_error("attn_dsa_indexer: " + f + " = " + std::to_string(v) + " " + rule);
  };
  if (n_q < 0) throw bad("n_tokens", n_q, "must be >= 0");
  if (n_ctx < 0) throw bad("n_ctx", n_ctx, "must be >= 0");
  if (idx_heads < 1) throw bad("idx_heads", idx_heads, "must be >= 1");
  if (idx_dim < 1 || (idx_dim & (idx_dim - 1)) != 0) throw bad("idx_dim", idx_dim, "must be a power of two");
}

DsaIndexerParams dsa_indexer_params_from(const ParamMap& pm) {
  DsaIndexerParams p;
  p.n_q = param_i(pm, "n_tokens");
  p.n_ctx = pm.count("n_ctx") && param_i(pm, "n_ctx") > 0 ? param_i(pm, "n_ctx") : p.n_q;
  if (pm.count("idx_heads")) p.idx_heads = param_i(pm, "idx_heads");
  if (pm.count("idx_dim")) p.idx_dim = param_i(pm, "idx_dim");
  p.validate();
  if (p.n_ctx < p.n_q) throw config_error("attn_dsa_indexer: n_ctx = " + std::to_string(p.n_ctx) + " must be >= n_tokens");
  return p;
}

void dsa_indexer_ref(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale, const uint8_t* k_codes,
                     const uint8_t* k_scale, const float* w, const int32_t* pos, float* scores) {
  p.validate();
  const int64_t H = p.idx_heads, D = p.idx_dim;
  for (int64_t i = 0; i < p.n_q; ++i)
    for (int64_t s = 0; s < p.n_ctx; ++s) {
      if (s > pos[i]) {
        scores[i * p.n_ctx + s] = -std::numeric_limits<float>::infinity();
        continue;
      }
      double I = 0;
      for (int64_t j = 0; j < H; ++j) {
        const uint8_t* qc = q_codes + (i * H + j) * D;
        double d = 0;
        for (int64_t c = 0; c < D; ++c) d += double(fp8_e4m3_to_f32(qc[c])) * double(fp8_e4m3_to_f32(k_codes[s * D + c]));
        const double wq = double(w[i * H + j]) * double(ue8m0_to_f32(q_scale[i * H + j]));
        I += wq * (d > 0 ? d : 0.0);  // NaN codes stay NaN (d > 0 is false, so use the explicit check)
        if (d != d) I = d;
      }
      scores[i * p.n_ctx + s] = float(I * double(ue8m0_to_f32(k_scale[s])));
    }
}

void dsa_indexer_prepare(int64_t rows, int64_t idx_dim, int64_t per_pos, const int32_t* pos, bool rope, bool hadamard,
                         float* x, uint8_t* codes, uint8_t* scales) {
  if (rope) {
    // §3: non-interleaved (NeoX) RoPE on the FIRST 64 dims, V3.2 YaRN table (θ 10000, s 40, L 4096).
    RopeParams rp;
    rp.d_head = idx_dim, rp.d_rope = 64, rp.rope_offset = 0, rp.interleaved = false;
    rp.theta = 10000, rp.yarn_factor = 40, rp.yarn_orig_len = 4096;
    const RopeFreqs fr(rp);
    std::vector<float> cs(64);
    for (int64_t r = 0; r < rows; ++r) {
      fr.row(rp, pos[r / per_pos], cs.data());
      float* v = x + r * idx_dim;
      for (int k = 0; k < 32; ++k) {
        float yu, yv;
        rope_rotate_pair(v[k], v[k + 32], cs[2 * k], cs[2 * k + 1], yu, yv);
        v[k] = yu, v[k + 32] = yv;
      }
    }
  }
  if (hadamard) {
    HadamardParams hp;
    hp.rows = rows, hp.n = idx_dim;
    std::vector<float> y(static_cast<size_t>(rows * idx_dim));
    hadamard_cpu(hp, x, y.data());
    std::copy(y.begin(), y.end(), x);
  }
  QuantFp8Params qp;
  qp.rows = rows, qp.k = idx_dim, qp.block = int(idx_dim), qp.in_bf16 = false, qp.scale_fmt = ScaleFmt::Ue8m0;
  int64_t nonfinite = 0;
  quant_fp8_cpu(qp, x, codes, scales, &nonfinite);
}

}  // namespace v4lab::kernels
