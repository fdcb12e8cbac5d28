// select_quality.cpp — §5 selection-quality metrics on planted synthetic inputs (see select_quality.h).
// The indexer is the DSA kernel in both modes (CSA entry-level scores compressed entries with it, a
// stand-in until the CSA indexer lands), selection is attn_topk, outputs come from attn_sparse in FP32
// with P unrounded (isolating selection from precision). Dense p omits the sink (§5).
// GCC 12 flags Eigen's AVX-512 float GEMM packing (a `__m512 x = x` idiom in avx512fintrin.h) as
// maybe-uninitialized at our instantiation points; a known false positive, silenced for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/attention/dsa_indexer.h"
#include "kernels/attention/select_quality.h"
#include "kernels/attention/sparse_attn.h"
#include "kernels/attention/topk.h"
#include "kernels/detail/fill.h"

namespace v4lab::kernels {
namespace {

constexpr int64_t kIdxDim = 128;

struct QueryGeom {
  int64_t t;      // position
  int64_t n_sel;  // selectable candidates (DSA tokens 0..t; CSA visible entries)
  int64_t ws, wl; // CSA window start and length (DSA: 0, 0)
  int64_t n_cand() const { return n_sel + wl; }
};
QueryGeom geom(const SelectQualityParams& p, int64_t i) {
  QueryGeom g;
  g.t = p.n_ctx - p.n_q + i;
  if (p.mode == SelectMode::Dsa) {
    g.n_sel = g.t + 1, g.ws = 0, g.wl = 0;
  } else {
    g.n_sel = (g.t + 1) / 4;
    g.ws = std::max<int64_t>(0, g.t - p.window + 1);
    g.wl = g.t - g.ws + 1;
  }
  return g;
}
int64_t n_keys(const SelectQualityParams& p) { return p.mode == SelectMode::Dsa ? p.n_ctx : p.n_ctx / 4; }

// Keys: Gaussian rows scaled to RMS 1 (‖k‖ = √d), stored BF16.
void fill_rms_keys(Tensor& t, int64_t rows, int64_t d, Rng rng, std::vector<double>& f) {
  f.resize(size_t(rows * d));
  fill_normal_pairs(rows * d, rng, [&](int64_t k, double v) { f[size_t(k)] = v; });
  uint16_t* dst = t.data<uint16_t>();
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < d; ++c) ss += f[size_t(r * d + c)] * f[size_t(r * d + c)];
    const double s = std::sqrt(double(d) / std::max(ss, 1e-30));
    for (int64_t c = 0; c < d; ++c) {
      dst[r * d + c] = bf16_from_f32(float(f[size_t(r * d + c)] * s));
      f[size_t(r * d + c)] = bf16_to_f32(dst[r * d + c]);
    }
  }
}

double percentile(std::vector<double> v, double pct) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const int64_t k = std::clamp<int64_t>(int64_t(std::ceil(pct / 100.0 * double(v.size()))) - 1, 0, int64_t(v.size()) - 1);
  return v[size_t(k)];
}

}  // namespace

void SelectQualityParams::validate() const {
  auto bad = [](const std::string& f, double v, const std::string& rule) {
    return config_error("attn_select_quality: " + f + " = " + std::to_string(v) + " " + rule);
  };
  if (n_ctx < 8) throw bad("n_ctx", double(n_ctx), "must be >= 8");
  if (n_q < 1 || n_q > n_ctx) throw bad("n_tokens", double(n_q), "must be in [1, n_ctx]");
  if (n_heads < 1) throw bad("n_heads", double(n_heads), "must be >= 1");
  if (top_k < 0) throw bad("top_k", double(top_k), "must be >= 0");
  if (m_planted < 1) throw bad("m_planted", double(m_planted), "must be >= 1");
  if (!(rho > 0 && rho < 1)) throw bad("rho", rho, "must be in (0, 1)");
  if (window < 1) throw bad("window", double(window), "must be >= 1");
  if (idx_heads < 1) throw bad("idx_heads", double(idx_heads), "must be >= 1");
}

SelectQualityParams select_quality_params_from(const ParamMap& pm) {
  SelectQualityParams p;
  auto get = [&](const char* k, auto& v) {
    if (pm.count(k)) v = static_cast<std::remove_reference_t<decltype(v)>>(pm.at(k));
  };
  int mode = 0, placement = 0, had = 1;
  get("mode", mode), get("placement", placement), get("hadamard", had);
  p.mode = SelectMode(mode), p.placement = PlantPlacement(placement), p.hadamard = had != 0;
  get("n_ctx", p.n_ctx), get("n_tokens", p.n_q), get("n_heads", p.n_heads), get("d_head", p.d_head);
  get("top_k", p.top_k), get("m_planted", p.m_planted), get("rho", p.rho), get("gamma", p.gamma);
  get("sigma_i", p.sigma_i), get("window", p.window), get("idx_heads", p.idx_heads), get("sink", p.sink);
  p.validate();
  return p;
}

const std::vector<std::string>& select_quality_summary_names() {
  static const std::vector<std::string> names = {
      "recall_mean",    "recall_min_head", "recall_p1", "recall_p10", "recall_p50",        "oracle_ratio",
      "oracle_overlap", "random_baseline", "err_mean",  "err_max",    "recall_compressed", "oracle_recall"};
  return names;
}

KernelIO select_quality_make_io(const SelectQualityParams& p, uint64_t seed) {
  p.validate();
  const int64_t d = p.d(), H = p.n_heads, IH = p.idx_heads, NK = n_keys(p), m = p.m_planted;
  const bool csa = p.mode == SelectMode::CsaEntry;
  KernelIO io;
  io.inputs.emplace_back("keys", DType::BF16, std::vector<int64_t>{NK, d});
  io.inputs.emplace_back("kv", DType::BF16, std::vector<int64_t>{csa ? p.n_ctx : 0, d});
  io.inputs.emplace_back("q", DType::BF16, std::vector<int64_t>{p.n_q, H, d});
  io.inputs.emplace_back("q_codes", DType::U8, std::vector<int64_t>{p.n_q, IH, kIdxDim});
  io.inputs.emplace_back("q_scale", DType::U8, std::vector<int64_t>{p.n_q, IH});
  io.inputs.emplace_back("k_codes", DType::U8, std::vector<int64_t>{NK, kIdxDim});
  io.inputs.emplace_back("k_scale", DType::U8, std::vector<int64_t>{NK});
  io.inputs.emplace_back("w", DType::F32, std::vector<int64_t>{p.n_q, IH});
  io.inputs.emplace_back("sink", DType::F32, std::vector<int64_t>{H});
  io.inputs.emplace_back("planted", DType::I32, std::vector<int64_t>{p.n_q, H, m});
  io.outputs.emplace_back("recall", DType::F32, std::vector<int64_t>{p.n_q, H});
  io.outputs.emplace_back("err", DType::F32, std::vector<int64_t>{p.n_q, H});
  io.outputs.emplace_back("sel", DType::I32, std::vector<int64_t>{p.n_q, p.top_k});
  io.outputs.emplace_back("summary", DType::F32, std::vector<int64_t>{kSelectSummary});

  std::vector<double> kf, kvf;
  fill_rms_keys(io.in("keys"), NK, d, rng_for(seed, 0), kf);
  if (csa) fill_rms_keys(io.in("kv"), p.n_ctx, d, rng_for(seed, 1), kvf);
  // §5 step 2–3: pool of 4m plantable keys per query, m per head; q = (Δ/√d)·Σ_P k_s + γ·g.
  Rng rng = rng_for(seed, 2);
  std::vector<double> qf(static_cast<size_t>(p.n_q * H * d));
  int32_t* planted = io.in("planted").data<int32_t>();
  uint16_t* qb = io.in("q").data<uint16_t>();
  for (int64_t i = 0; i < p.n_q; ++i) {
    const QueryGeom g = geom(p, i);
    // Plantable range [0, hi): far-only excludes keys inside (DSA) or overlapping (CSA) the window.
    const int64_t win_tok = std::max<int64_t>(0, g.t - p.window + 1);
    int64_t hi = g.n_sel;
    if (p.placement == PlantPlacement::FarOnly) hi = csa ? std::min(hi, win_tok / 4) : std::min(hi, win_tok);
    hi = std::max<int64_t>(hi, 1);
    std::vector<int32_t> pool;
    for (int64_t tries = 0; int64_t(pool.size()) < std::min<int64_t>(4 * m, hi) && tries < 100 * m; ++tries) {
      int64_t s;
      if (p.placement == PlantPlacement::LogUniform) {
        const double dist = std::exp(rng.uniform() * std::log(double(hi)));  // distance in [1, hi]
        s = std::clamp<int64_t>(hi - int64_t(dist), 0, hi - 1);
      } else {
        s = int64_t(rng.below(uint64_t(hi)));
      }
      if (std::find(pool.begin(), pool.end(), int32_t(s)) == pool.end()) pool.push_back(int32_t(s));
    }
    const double n = double(g.n_cand()), gamma = p.gamma;
    const double delta = std::log(n / double(m)) + gamma * gamma / 2 + std::log(p.rho / (1 - p.rho));
    for (int64_t h = 0; h < H; ++h) {
      std::vector<int32_t> mine = pool;
      for (size_t a = 0; a + 1 < mine.size(); ++a) std::swap(mine[a], mine[a + size_t(rng.below(mine.size() - a))]);
      mine.resize(std::min<size_t>(mine.size(), size_t(m)));
      double* qv = qf.data() + (i * H + h) * d;
      for (int64_t c = 0; c < d; ++c) qv[c] = gamma * rng.normal();
      for (int64_t a = 0; a < m; ++a) {
        const int32_t s = a < int64_t(mine.size()) ? mine[size_t(a)] : -1;
        planted[(i * H + h) * m + a] = s;
        if (s < 0) continue;
        for (int64_t c = 0; c < d; ++c) qv[c] += delta / std::sqrt(double(d)) * kf[size_t(s * d + c)];
      }
      for (int64_t c = 0; c < d; ++c) qb[(i * H + h) * d + c] = bf16_from_f32(float(qv[c]));
    }
  }
  // §5 step 4: k^I = P·k + σ_I·ξ, q^I_j = P·mean{q_h : h mod IH = j}, w = 1; P [128, d] ~ N(0, 1/128).
  Rng prng = rng_for(seed, 3);
  std::vector<double> P(static_cast<size_t>(kIdxDim * d));
  for (auto& v : P) v = prng.normal() / std::sqrt(double(kIdxDim));
  Rng nrng = rng_for(seed, 4);
  std::vector<float> kI(static_cast<size_t>(NK * kIdxDim)), qI(static_cast<size_t>(p.n_q * IH * kIdxDim));
  const double key_rms = std::sqrt(double(d) / double(kIdxDim));  // per-component RMS of P·k
  for (int64_t s = 0; s < NK; ++s)
    for (int64_t r = 0; r < kIdxDim; ++r) {
      double a = 0;
      for (int64_t c = 0; c < d; ++c) a += P[size_t(r * d + c)] * kf[size_t(s * d + c)];
      kI[size_t(s * kIdxDim + r)] = float(a + p.sigma_i * key_rms * nrng.normal());
    }
  for (int64_t i = 0; i < p.n_q; ++i)
    for (int64_t j = 0; j < IH; ++j) {
      std::vector<double> qbar(static_cast<size_t>(d), 0.0);
      int cnt = 0;
      for (int64_t h = j; h < H; h += IH, ++cnt)
        for (int64_t c = 0; c < d; ++c) qbar[size_t(c)] += qf[size_t((i * H + h) * d + c)];
      for (int64_t r = 0; r < kIdxDim; ++r) {
        double a = 0;
        for (int64_t c = 0; c < d; ++c) a += P[size_t(r * d + c)] * qbar[size_t(c)];
        qI[size_t((i * IH + j) * kIdxDim + r)] = cnt ? float(a / cnt) : 0.0f;
      }
    }
  std::vector<int32_t> zeros(static_cast<size_t>(std::max(NK, p.n_q)), 0);
  dsa_indexer_prepare(NK, kIdxDim, 1, zeros.data(), false, p.hadamard, kI.data(), io.in("k_codes").data<uint8_t>(),
                      io.in("k_scale").data<uint8_t>());
  dsa_indexer_prepare(p.n_q * IH, kIdxDim, IH, zeros.data(), false, p.hadamard, qI.data(),
                      io.in("q_codes").data<uint8_t>(), io.in("q_scale").data<uint8_t>());
  std::fill_n(io.in("w").data<float>(), p.n_q * IH, 1.0f);
  std::fill_n(io.in("sink").data<float>(), H, float(p.sink));
  return io;
}

void select_quality_run(const SelectQualityParams& p, bool reference, KernelIO& io) {
  p.validate();
  const int64_t d = p.d(), H = p.n_heads, IH = p.idx_heads, NK = n_keys(p), K = p.top_k;
  const bool csa = p.mode == SelectMode::CsaEntry;
  const uint16_t* keys = io.in("keys").data<uint16_t>();
  const uint16_t* kv = io.in("kv").data<uint16_t>();
  const uint16_t* q = io.in("q").data<uint16_t>();
  // 1–2. Indexer scores and top-k (the real kernels of the chosen backend).
  DsaIndexerParams ip;
  ip.n_q = p.n_q, ip.n_ctx = NK, ip.idx_heads = IH, ip.idx_dim = kIdxDim;
  std::vector<int32_t> ipos(static_cast<size_t>(p.n_q)), len(static_cast<size_t>(p.n_q)), nan_count(static_cast<size_t>(p.n_q));
  for (int64_t i = 0; i < p.n_q; ++i) {
    const QueryGeom g = geom(p, i);
    ipos[size_t(i)] = int32_t(g.n_sel - 1), len[size_t(i)] = int32_t(g.n_sel);
  }
  std::vector<float> scores(static_cast<size_t>(p.n_q * NK));
  (reference ? dsa_indexer_ref : dsa_indexer_cpu)(ip, io.in("q_codes").data<uint8_t>(), io.in("q_scale").data<uint8_t>(),
                                                  io.in("k_codes").data<uint8_t>(), io.in("k_scale").data<uint8_t>(),
                                                  io.in("w").data<float>(), ipos.data(), scores.data());
  TopkParams tp;
  tp.n_queries = p.n_q, tp.n_cand = NK, tp.top_k = K;
  int32_t* sel = io.out("sel").data<int32_t>();
  (reference ? topk_ref : topk_cpu)(tp, scores.data(), len.data(), sel, nan_count.data());
  // 3. Dense p over C_t (no sink): FP64 loops (reference) or FP32 Eigen (fast).
  float* recall = io.out("recall").data<float>();
  float* err = io.out("err").data<float>();
  std::vector<double> rq(static_cast<size_t>(p.n_q)), rmin(static_cast<size_t>(p.n_q)), ro_all, ru_all, rc_all, overlap, baseline;
  for (int64_t i = 0; i < p.n_q; ++i) {
    const QueryGeom g = geom(p, i);
    const int64_t C = g.n_cand();
    std::vector<const uint16_t*> rows;  // C_t: window rows (CSA) then selectable keys
    for (int64_t s = g.ws; s < g.ws + g.wl; ++s) rows.push_back(kv + s * d);
    for (int64_t s = 0; s < g.n_sel; ++s) rows.push_back(keys + s * d);
    std::vector<double> pr(static_cast<size_t>(H * C));
    const double scale = 1.0 / std::sqrt(double(d));
    if (reference) {
      for (int64_t h = 0; h < H; ++h)
        for (int64_t e = 0; e < C; ++e) {
          double a = 0;
          for (int64_t c = 0; c < d; ++c)
            a += double(bf16_to_f32(q[(i * H + h) * d + c])) * double(bf16_to_f32(rows[size_t(e)][c]));
          pr[size_t(h * C + e)] = scale * a;
        }
    } else {
      using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
      RowMat Qf(H, d), Kf(C, d);
      for (int64_t h = 0; h < H; ++h)
        for (int64_t c = 0; c < d; ++c) Qf(h, c) = bf16_to_f32(q[(i * H + h) * d + c]);
      for (int64_t e = 0; e < C; ++e)
        for (int64_t c = 0; c < d; ++c) Kf(e, c) = bf16_to_f32(rows[size_t(e)][c]);
      const RowMat S = (Qf * Kf.transpose()) * float(scale);
      for (int64_t k = 0; k < H * C; ++k) pr[size_t(k)] = S.data()[k];
    }
    std::vector<float> psum(static_cast<size_t>(g.n_sel), 0.0f);
    for (int64_t h = 0; h < H; ++h) {
      double* r = pr.data() + h * C;
      const double M = *std::max_element(r, r + C);
      double sum = 0;
      for (int64_t e = 0; e < C; ++e) sum += (r[e] = std::exp(r[e] - M));
      for (int64_t e = 0; e < C; ++e) r[e] /= sum;
      for (int64_t e = 0; e < g.n_sel; ++e) psum[size_t(e)] += float(r[g.wl + e]);
    }
    // Oracle O_t: top-k of Σ_h p over the selectable candidates.
    const int64_t kt = std::min(K, g.n_sel);
    std::vector<int32_t> oracle(static_cast<size_t>(K), -1), olen{int32_t(g.n_sel)}, onan(1);
    TopkParams op;
    op.n_queries = 1, op.n_cand = g.n_sel, op.top_k = K;
    (reference ? topk_ref : topk_cpu)(op, psum.data(), olen.data(), oracle.data(), onan.data());
    std::vector<char> in_u(static_cast<size_t>(g.n_sel), 0), in_o(static_cast<size_t>(g.n_sel), 0);
    for (int64_t j = 0; j < kt; ++j) {
      if (sel[i * K + j] >= 0) in_u[size_t(sel[i * K + j])] = 1;
      if (oracle[size_t(j)] >= 0) in_o[size_t(oracle[size_t(j)])] = 1;
    }
    int64_t both = 0;
    for (int64_t e = 0; e < g.n_sel; ++e) both += in_u[size_t(e)] && in_o[size_t(e)];
    overlap.push_back(kt > 0 ? double(both) / double(kt) : 1.0);
    baseline.push_back(double(kt + g.wl) / double(C));
    double sum_h = 0, min_h = 1e300;
    for (int64_t h = 0; h < H; ++h) {
      const double* r = pr.data() + h * C;
      double win = 0, ru = 0, ro = 0, cmp_all = 0;
      for (int64_t e = 0; e < g.wl; ++e) win += r[e];
      for (int64_t e = 0; e < g.n_sel; ++e) {
        cmp_all += r[g.wl + e];
        if (in_u[size_t(e)]) ru += r[g.wl + e];
        if (in_o[size_t(e)]) ro += r[g.wl + e];
      }
      const double R = win + ru;
      recall[i * H + h] = float(R);
      ru_all.push_back(R), ro_all.push_back(win + ro);
      rc_all.push_back(cmp_all > 0 ? ru / cmp_all : 1.0);
      sum_h += R, min_h = std::min(min_h, R);
    }
    rq[size_t(i)] = sum_h / double(H), rmin[size_t(i)] = min_h;
  }
  // 4. Output error: sparse (U) vs dense (C) attention with the sink, FP32 outputs, P unrounded.
  SparseAttnParams sp;
  sp.n_q = p.n_q, sp.n_heads = H, sp.d_head = d, sp.d_rope = 0, sp.p_bf16 = false;
  sp.n_kv = csa ? p.n_ctx : 0, sp.n_cmp = NK, sp.n_win = csa ? p.window : 0;
  std::vector<int32_t> win(static_cast<size_t>(p.n_q * sp.n_win)), pos(static_cast<size_t>(p.n_q)), dense(static_cast<size_t>(p.n_q * NK), -1);
  for (int64_t i = 0; i < p.n_q; ++i) {
    const QueryGeom g = geom(p, i);
    pos[size_t(i)] = int32_t(g.t);
    for (int64_t j = 0; j < sp.n_win; ++j) win[size_t(i * sp.n_win + j)] = j < g.wl ? int32_t(g.ws + j) : -1;
    for (int64_t s = 0; s < g.n_sel; ++s) dense[size_t(i * NK + s)] = int32_t(s);
  }
  const SparseAttnFn attn = reference ? SparseAttnFn(sparse_attn_ref) : SparseAttnFn(sparse_attn_cpu);
  std::vector<uint16_t> ob(static_cast<size_t>(p.n_q * H * d));
  std::vector<float> lse(static_cast<size_t>(p.n_q * H)), o_sp(ob.size()), o_dn(ob.size());
  const float* sink = io.in("sink").data<float>();
  sp.n_sel = K;
  attn(sp, q, kv, keys, win.data(), sel, sink, pos.data(), ob.data(), lse.data(), o_sp.data());
  sp.n_sel = NK;
  attn(sp, q, kv, keys, win.data(), dense.data(), sink, pos.data(), ob.data(), lse.data(), o_dn.data());
  std::vector<double> errs;
  for (int64_t r = 0; r < p.n_q * H; ++r) {
    double num = 0, den = 0;
    for (int64_t c = 0; c < d; ++c) {
      const double a = o_sp[size_t(r * d + c)], b = o_dn[size_t(r * d + c)];
      num += (a - b) * (a - b), den += b * b;
    }
    err[r] = float(std::sqrt(num) / std::max(std::sqrt(den), 1e-12));
    errs.push_back(err[r]);
  }
  auto mean = [](const std::vector<double>& v) { return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); };
  float* out = io.out("summary").data<float>();
  const double ru = mean(ru_all), ro = mean(ro_all);
  const double vals[kSelectSummary] = {ru,           mean(rmin),     percentile(rq, 1),
                                       percentile(rq, 10), percentile(rq, 50), ro > 0 ? ru / ro : 1.0,
                                       mean(overlap), mean(baseline), mean(errs),
                                       errs.empty() ? 0.0 : *std::max_element(errs.begin(), errs.end()),
                                       csa ? mean(rc_all) : ru, ro};
  for (int k = 0; k < kSelectSummary; ++k) out[k] = float(vals[k]);
}

}  // namespace v4lab::kernels
