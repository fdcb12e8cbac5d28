// sparse_attn_ref.cpp — FP64 oracle of the V4 sparse attention core (specs/attention.md §4.2, §1.4)
// plus the parameter checks and the V4 index-list layout shared by every backend and the tests.
// Scalar loops, no threads; the only roundings are the ones the spec names (P → BF16, output BF16).
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/attention/sparse_attn.h"

namespace v4lab::kernels {

double SparseAttnParams::softmax_scale() const { return scale < 0 ? 1.0 / std::sqrt(double(d_head)) : scale; }

void SparseAttnParams::validate() const {
  auto bad = [](const std::string& f, double v, const std::string& rule) {
    return config_error("attn_sparse: " + f + " = " + std::to_string(v) + " " + rule);
  };
  if (n_q < 0) throw bad("n_tokens", double(n_q), "must be >= 0");
  if (n_heads < 1) throw bad("n_heads", double(n_heads), "must be >= 1");
  if (d_head < 1) throw bad("d_head", double(d_head), "must be >= 1");
  if (d_rope < 0 || d_rope % 2 != 0 || d_rope > d_head)
    throw bad("d_rope", d_rope, "must be even and in [0, d_head = " + std::to_string(d_head) + "]");
  if (n_kv < 0 || n_cmp < 0 || n_win < 0 || n_sel < 0) throw bad("n_kv/n_cmp/n_win/n_sel", -1, "must be >= 0");
}

void SparseAttnLayout::validate() const {
  auto bad = [](const std::string& f, double v, const std::string& rule) {
    return config_error("attn_sparse: " + f + " = " + std::to_string(int64_t(v)) + " " + rule);
  };
  if (window < 1) throw bad("window", double(window), "must be >= 1");
  if (ratio < 0) throw bad("ratio", double(ratio), "must be >= 0 (0 SWA, 4 CSA, other HCA)");
  if (top_k < 0) throw bad("top_k", double(top_k), "must be >= 0");
  if (n_tokens < 0) throw bad("n_tokens", double(n_tokens), "must be >= 0");
  if (n_ctx < n_tokens) throw bad("n_ctx", double(n_ctx), "must be >= n_tokens = " + std::to_string(n_tokens));
}

int64_t SparseAttnLayout::n_sel() const {
  if (ratio <= 0) return 0;
  return ratio == 4 ? top_k : n_ctx / ratio;
}

SparseAttnLayout sparse_attn_layout_from(const ParamMap& pm) {
  SparseAttnLayout L;
  L.n_tokens = param_i(pm, "n_tokens");
  L.n_ctx = pm.count("n_ctx") ? param_i(pm, "n_ctx") : L.n_tokens;
  if (L.n_ctx == 0) L.n_ctx = L.n_tokens;  // 0 = prefill: the context is the chunk itself
  if (pm.count("window")) L.window = param_i(pm, "window");
  if (pm.count("ratio")) L.ratio = param_i(pm, "ratio");
  if (pm.count("top_k")) L.top_k = param_i(pm, "top_k");
  if (pm.count("ring")) L.ring = param_i(pm, "ring") != 0;
  return L;
}

SparseAttnParams sparse_attn_params_from(const ParamMap& pm) {
  const SparseAttnLayout L = sparse_attn_layout_from(pm);
  L.validate();
  SparseAttnParams p;
  p.n_q = L.n_tokens;
  if (pm.count("n_heads")) p.n_heads = param_i(pm, "n_heads");
  if (pm.count("d_head")) p.d_head = param_i(pm, "d_head");
  if (pm.count("d_rope")) p.d_rope = int(param_i(pm, "d_rope"));
  if (pm.count("p_bf16")) p.p_bf16 = param_i(pm, "p_bf16") != 0;
  p.n_kv = L.kv_rows();
  p.n_cmp = L.n_cmp();
  p.n_win = L.window;
  p.n_sel = L.n_sel();
  // V4 CSA/HCA layers rotate with compress θ and YaRN; SWA-only layers with θ 10000, no YaRN (§1.3).
  p.rope.d_head = p.d_head;
  p.rope.d_rope = p.d_rope > 0 ? p.d_rope : 2;
  if (L.ratio == 0) p.rope.theta = 10000, p.rope.yarn_factor = 1;
  if (pm.count("rope_theta")) p.rope.theta = pm.at("rope_theta");
  return p;
}

void sparse_attn_build_lists(const SparseAttnLayout& L, int32_t* pos, int32_t* win_idx, int32_t* sel_idx) {
  const int64_t slots = L.kv_rows(), n_sel = L.n_sel();
  for (int64_t i = 0; i < L.n_tokens; ++i) {
    const int64_t t = L.n_ctx - L.n_tokens + i;
    pos[i] = int32_t(t);
    // Window {max(0, t−window+1), …, t}, oldest first; ring slots pos mod slots.
    for (int64_t j = 0; j < L.window; ++j) {
      const int64_t s = t - L.window + 1 + j;
      win_idx[i * L.window + j] = s < 0 ? -1 : int32_t(L.ring ? s % slots : s);
    }
    if (L.ratio > 0 && L.ratio != 4) {  // HCA: every visible entry j < ⌊(t+1)/ratio⌋
      const int64_t vis = (t + 1) / L.ratio;
      for (int64_t j = 0; j < n_sel; ++j) sel_idx[i * n_sel + j] = j < vis ? int32_t(j) : -1;
    }
  }
}

void sparse_attn_ref(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                     const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos, uint16_t* o,
                     float* lse, float* o_f32) {
  p.validate();
  const int64_t H = p.n_heads, D = p.d_head;
  const double scale = p.softmax_scale();
  const RopeFreqs freqs(p.rope);
  std::vector<float> cs(static_cast<size_t>(p.d_rope > 0 ? p.d_rope : 2));
  std::vector<const uint16_t*> rows;
  std::vector<double> l, acc(static_cast<size_t>(D));
  for (int64_t i = 0; i < p.n_q; ++i) {
    // §4.2 attended set U_t: window rows, then compressed rows; invalid entries are never read.
    rows.clear();
    for (int64_t j = 0; j < p.n_win; ++j) {
      const int32_t s = win_idx[i * p.n_win + j];
      if (s >= 0 && s < p.n_kv) rows.push_back(kv + int64_t(s) * D);
    }
    for (int64_t j = 0; j < p.n_sel; ++j) {
      const int32_t s = sel_idx[i * p.n_sel + j];
      if (s >= 0 && s < p.n_cmp) rows.push_back(cmp + int64_t(s) * D);
    }
    if (p.d_rope > 0) freqs.row(p.rope, pos[i], cs.data());
    l.assign(rows.size(), 0.0);
    for (int64_t h = 0; h < H; ++h) {
      const uint16_t* qh = q + (i * H + h) * D;
      // l_e = scale·q_h·k_e.
      for (size_t e = 0; e < rows.size(); ++e) {
        double d = 0;
        for (int64_t c = 0; c < D; ++c) d += double(bf16_to_f32(qh[c])) * double(bf16_to_f32(rows[e][c]));
        l[e] = scale * d;
      }
      // §1.4 [W]: M = max(max_e l_e, z); NaN logits are not taken into M (they poison the sum instead).
      const double z = sink[h];
      double m_l = -std::numeric_limits<double>::infinity();
      for (double v : l) m_l = v > m_l ? v : m_l;
      const double M = z > m_l ? z : m_l;
      double sum = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      if (M > -std::numeric_limits<double>::infinity()) {
        for (size_t e = 0; e < rows.size(); ++e) {
          const double w = std::exp(l[e] - M);
          sum += w;
          const double pw = p.p_bf16 ? double(bf16_round(float(w))) : w;
          for (int64_t c = 0; c < D; ++c) acc[size_t(c)] += pw * double(bf16_to_f32(rows[e][c]));
        }
      }
      // e^{z−M}: exactly 1 when z is the max (z = +inf included, where z − M would be NaN).
      const double ez = z >= M ? 1.0 : std::exp(z - M);
      const double den = sum + ez;
      const double inv = den > 0 || den != den ? 1.0 / den : 0.0;  // a NaN entry poisons o
      for (auto& a : acc) a *= inv;
      if (M == std::numeric_limits<double>::infinity())  // z = +inf: o = 0 (and no entry can dominate)
        std::fill(acc.begin(), acc.end(), 0.0);
      // §4.2 output: inverse RoPE on the last d_rope values (interleaved pairs) at the query position.
      const int64_t off = D - p.d_rope;
      for (int k = 0; k < p.d_rope / 2; ++k) {
        const double u = acc[size_t(off + 2 * k)], v = acc[size_t(off + 2 * k + 1)];
        const double c = cs[size_t(2 * k)], s = -double(cs[size_t(2 * k + 1)]);
        acc[size_t(off + 2 * k)] = u * c - v * s;
        acc[size_t(off + 2 * k + 1)] = u * s + v * c;
      }
      for (int64_t c = 0; c < D; ++c) {
        o[(i * H + h) * D + c] = bf16_from_f32(float(acc[size_t(c)]));
        if (o_f32) o_f32[(i * H + h) * D + c] = float(acc[size_t(c)]);
      }
      // lse without the sink, from its own max so a large z cannot underflow it.
      double sum_l = 0;
      for (double v : l) sum_l += std::exp(v - m_l);
      lse[i * H + h] = rows.empty() ? -std::numeric_limits<float>::infinity() : float(m_l + std::log(sum_l));
    }
  }
}

}  // namespace v4lab::kernels
