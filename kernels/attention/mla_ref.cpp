// mla_ref.cpp — FP64 oracle of MLA decode (specs/attention.md §2): the naive form decompresses
// [k_nope; v] = W_kvb,h·c_kv per attended token; the absorbed form builds q̃_h = [W_UK,hᵀ q_nope; q_rope],
// attends the 576-dim cache as MQA and up-projects ô with W_UV,h. Equal in exact arithmetic, so they
// agree to 1e-10 in FP64. Also the parameter checks.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/numerics.h"
#include "kernels/attention/mla.h"

namespace v4lab::kernels {

double MlaParams::softmax_scale() const {
  double s = 1.0 / std::sqrt(double(d_qk()));
  if (double(max_seq_len) > yarn_orig_len && yarn_factor > 1) {
    const double m = 0.1 * std::log(yarn_factor) + 1.0;  // §1.3 mscale, m² ≈ 1.87385 at s = 40
    s *= m * m;
  }
  return s;
}

void MlaParams::validate() const {
  auto bad = [](const std::string& f, int64_t v, const std::string& rule) {
    return config_error("attn_mla_decode: " + f + " = " + std::to_string(v) + " " + rule);
  };
  if (n_q < 0) throw bad("n_tokens", n_q, "must be >= 0");
  if (n_ctx < 0) throw bad("n_ctx", n_ctx, "must be >= 0");
  if (n_heads < 1) throw bad("n_heads", n_heads, "must be >= 1");
  if (d_nope < 1) throw bad("d_nope", d_nope, "must be >= 1");
  if (d_rope < 0 || d_rope % 2 != 0) throw bad("d_rope", d_rope, "must be even and >= 0");
  if (kv_rank < 1) throw bad("kv_rank", kv_rank, "must be >= 1");
  if (d_v < 1) throw bad("d_v", d_v, "must be >= 1");
  if (top_k < 0) throw bad("top_k", top_k, "must be >= 0 (0 = dense causal)");
  if (form != MlaForm::Naive && form != MlaForm::Absorbed) throw bad("form", int64_t(form), "must be 0 or 1");
}

MlaParams mla_params_from(const ParamMap& pm) {
  MlaParams p;
  p.n_q = param_i(pm, "n_tokens");
  if (pm.count("n_ctx")) p.n_ctx = param_i(pm, "n_ctx");
  if (pm.count("n_heads")) p.n_heads = param_i(pm, "n_heads");
  if (pm.count("d_nope")) p.d_nope = param_i(pm, "d_nope");
  if (pm.count("d_rope")) p.d_rope = param_i(pm, "d_rope");
  if (pm.count("kv_rank")) p.kv_rank = param_i(pm, "kv_rank");
  if (pm.count("d_v")) p.d_v = param_i(pm, "d_v");
  if (pm.count("form")) p.form = static_cast<MlaForm>(param_i(pm, "form"));
  if (pm.count("top_k")) p.top_k = param_i(pm, "top_k");
  if (pm.count("max_seq_len")) p.max_seq_len = param_i(pm, "max_seq_len");
  p.validate();
  return p;
}

namespace {
inline double bf(uint16_t v) { return double(bf16_to_f32(v)); }

// Attended tokens of query i: idx row (sparse) or 0..min(pos, n_ctx−1) (dense causal).
void attended(const MlaParams& p, int64_t i, const int32_t* pos, const int32_t* idx, std::vector<int64_t>& out) {
  out.clear();
  if (p.top_k > 0) {
    for (int64_t j = 0; j < p.top_k; ++j) {
      const int32_t s = idx[i * p.top_k + j];
      if (s >= 0 && s < p.n_ctx) out.push_back(s);
    }
  } else {
    const int64_t last = std::min<int64_t>(pos[i], p.n_ctx - 1);
    for (int64_t s = 0; s <= last; ++s) out.push_back(s);
  }
}
}  // namespace

void mla_decode_ref_f64(const MlaParams& p, MlaForm form, const uint16_t* q, const uint16_t* cache,
                        const uint16_t* w_kvb, const int32_t* pos, const int32_t* idx, double* o, double* lse) {
  p.validate();
  const int64_t H = p.n_heads, R = p.kv_rank, Dc = p.d_cache(), Dq = p.d_qk(), Wr = p.d_nope + p.d_v;
  const double scale = p.softmax_scale();
  std::vector<int64_t> toks;
  std::vector<double> l, qt(static_cast<size_t>(Dc)), acc;
  for (int64_t i = 0; i < p.n_q; ++i) {
    attended(p, i, pos, idx, toks);
    for (int64_t h = 0; h < H; ++h) {
      const uint16_t* qh = q + (i * H + h) * Dq;
      const uint16_t* wk = w_kvb + h * Wr * R;        // W_UK,h [d_nope, R]
      const uint16_t* wv = w_kvb + (h * Wr + p.d_nope) * R;  // W_UV,h [d_v, R]
      l.assign(toks.size(), 0.0);
      if (form == MlaForm::Absorbed) {
        // q̃ = [W_UK,hᵀ q_nope; q_rope]; l_s = scale·q̃·[c_kv,s; k_pe,s].
        for (int64_t c = 0; c < R; ++c) {
          double a = 0;
          for (int64_t r = 0; r < p.d_nope; ++r) a += bf(qh[r]) * bf(wk[r * R + c]);
          qt[size_t(c)] = a;
        }
        for (int64_t r = 0; r < p.d_rope; ++r) qt[size_t(R + r)] = bf(qh[p.d_nope + r]);
        for (size_t e = 0; e < toks.size(); ++e) {
          const uint16_t* kr = cache + toks[e] * Dc;
          double d = 0;
          for (int64_t c = 0; c < Dc; ++c) d += qt[size_t(c)] * bf(kr[c]);
          l[e] = scale * d;
        }
      } else {
        // k_h^nope = W_UK,h·c_kv; k_h = [k_h^nope; k_pe]; l_s = scale·q_h·k_h.
        for (size_t e = 0; e < toks.size(); ++e) {
          const uint16_t* kr = cache + toks[e] * Dc;
          double d = 0;
          for (int64_t r = 0; r < p.d_nope; ++r) {
            double k = 0;
            for (int64_t c = 0; c < R; ++c) k += bf(wk[r * R + c]) * bf(kr[c]);
            d += bf(qh[r]) * k;
          }
          for (int64_t r = 0; r < p.d_rope; ++r) d += bf(qh[p.d_nope + r]) * bf(kr[R + r]);
          l[e] = scale * d;
        }
      }
      double M = -std::numeric_limits<double>::infinity();
      for (double v : l) M = v > M ? v : M;
      double sum = 0;
      for (double& v : l) sum += (v = std::exp(v - M));
      double* oh = o + (i * H + h) * p.d_v;
      lse[i * H + h] = toks.empty() ? -std::numeric_limits<double>::infinity() : M + std::log(sum);
      if (form == MlaForm::Absorbed) {
        // ô = Σ p_s·c_kv,s (the first R cache dims double as the value); o = W_UV,h·ô.
        acc.assign(size_t(R), 0.0);
        for (size_t e = 0; e < toks.size(); ++e) {
          const uint16_t* kr = cache + toks[e] * Dc;
          for (int64_t c = 0; c < R; ++c) acc[size_t(c)] += l[e] / sum * bf(kr[c]);
        }
        for (int64_t r = 0; r < p.d_v; ++r) {
          double a = 0;
          for (int64_t c = 0; c < R; ++c) a += bf(wv[r * R + c]) * acc[size_t(c)];
          oh[r] = toks.empty() ? 0.0 : a;
        }
      } else {
        // v_h = W_UV,h·c_kv per token; o = Σ p_s·v_s.
        for (int64_t r = 0; r < p.d_v; ++r) oh[r] = 0;
        for (size_t e = 0; e < toks.size(); ++e) {
          const uint16_t* kr = cache + toks[e] * Dc;
          for (int64_t r = 0; r < p.d_v; ++r) {
            double v = 0;
            for (int64_t c = 0; c < R; ++c) v += bf(wv[r * R + c]) * bf(kr[c]);
            oh[r] += l[e] / sum * v;
          }
        }
      }
    }
  }
}

void mla_decode_ref(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                    const int32_t* pos, const int32_t* idx, float* o, float* lse) {
  std::vector<double> o64(static_cast<size_t>(p.n_q * p.n_heads * p.d_v)), l64(static_cast<size_t>(p.n_q * p.n_heads));
  mla_decode_ref_f64(p, p.form, q, cache, w_kvb, pos, idx, o64.data(), l64.data());
  for (size_t k = 0; k < o64.size(); ++k) o[k] = float(o64[k]);
  for (size_t k = 0; k < l64.size(); ++k) lse[k] = float(l64[k]);
}

}  // namespace v4lab::kernels
