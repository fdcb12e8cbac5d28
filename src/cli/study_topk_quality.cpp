// study_topk_quality.cpp — measured selection quality for the top-k study (see study_topk_quality.h):
// inputs per family, indexer inputs through a fixed random projection (specs/attention.md §5 step 4),
// then the real kernels: dsa_indexer (FP8, Hadamard) or csa_indexer (FP4 simulated with Hadamard,
// kv_quant_sim_indexer), attn_topk for the indexer and for the oracle, attn_sparse for the outputs.
#include "cli/study_topk_quality.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "core/numerics.h"
#include "core/rng.h"
#include "kernels/attention/csa_indexer.h"
#include "kernels/attention/dsa_indexer.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/attention/sparse_attn.h"
#include "kernels/attention/topk.h"

namespace v4lab::cli {

const char* topk_family_name(TopkFamily f) {
  switch (f) {
    case TopkFamily::Random: return "random";
    case TopkFamily::Local: return "local";
    case TopkFamily::Clustered: return "clustered";
    case TopkFamily::Needle: return "needle";
    case TopkFamily::HeavyTail: return "heavy_tail";
  }
  return "?";
}

const std::vector<TopkFamily>& all_topk_families() {
  static const std::vector<TopkFamily> f = {TopkFamily::Random, TopkFamily::Local, TopkFamily::Clustered,
                                            TopkFamily::Needle, TopkFamily::HeavyTail};
  return f;
}

TopkFamily parse_topk_family(const std::string& s) {
  for (TopkFamily f : all_topk_families())
    if (s == topk_family_name(f)) return f;
  throw usage_error("--families: unknown family '" + s + "' (accepted: random, local, clustered, needle, heavy_tail)");
}

namespace {

// Independent seeded streams per purpose (salt).
Rng study_rng(uint64_t seed, uint64_t salt) { return Rng(seed ^ (0x9e3779b97f4a7c15ull * (salt + 1))); }

constexpr int64_t kIdxDim = 128;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Rows of RMS 1 (‖k‖ = √d) Gaussian vectors.
void rms_rows(std::vector<double>& v, int64_t rows, int64_t d, Rng& rng) {
  v.resize(static_cast<size_t>(rows * d));
  for (auto& x : v) x = rng.normal();
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t c = 0; c < d; ++c) ss += v[size_t(r * d + c)] * v[size_t(r * d + c)];
    const double s = std::sqrt(double(d) / std::max(ss, 1e-300));
    for (int64_t c = 0; c < d; ++c) v[size_t(r * d + c)] *= s;
  }
}

// BF16 copy; `v` is replaced by the rounded values (what the kernels see).
std::vector<uint16_t> to_bf16(std::vector<double>& v) {
  std::vector<uint16_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    b[i] = bf16_from_f32(float(v[i]));
    v[i] = bf16_to_f32(b[i]);
  }
  return b;
}

double percentile(std::vector<double> v, double pct) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const int64_t k = std::clamp<int64_t>(int64_t(std::ceil(pct / 100.0 * double(v.size()))) - 1, 0, int64_t(v.size()) - 1);
  return v[size_t(k)];
}
double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

struct Inputs {
  std::vector<double> keys, win, q;   // [N, d], [wl, d], [nq, H, d] (BF16-rounded values)
  std::vector<std::vector<int32_t>> needles;  // per query
};

// Keys and queries of one family. Logits are q·k/√d (attn_sparse's scale).
Inputs make_inputs(TopkFamily fam, int64_t N, int64_t wl, const TopkQualityConfig& c, Rng& rng) {
  const int64_t d = c.d_head, H = c.heads, nq = c.queries;
  const double sd = std::sqrt(double(d));
  Inputs in;
  std::vector<double> shared(static_cast<size_t>(d));  // per-query structure term shared by the heads
  in.q.assign(static_cast<size_t>(nq * H * d), 0.0);
  std::vector<double> centroids;
  std::vector<int64_t> cluster;
  switch (fam) {
    case TopkFamily::Random:
    case TopkFamily::Needle:
      rms_rows(in.keys, N, d, rng);
      break;
    case TopkFamily::Local: {  // AR(1) with correlation φ, then RMS-normalized
      in.keys.resize(static_cast<size_t>(N * d));
      const double a = std::sqrt(1 - c.phi * c.phi);
      for (int64_t cc = 0; cc < d; ++cc) in.keys[size_t(cc)] = rng.normal();
      for (int64_t s = 1; s < N; ++s)
        for (int64_t cc = 0; cc < d; ++cc)
          in.keys[size_t(s * d + cc)] = c.phi * in.keys[size_t((s - 1) * d + cc)] + a * rng.normal();
      for (int64_t s = 0; s < N; ++s) {
        double ss = 0;
        for (int64_t cc = 0; cc < d; ++cc) ss += in.keys[size_t(s * d + cc)] * in.keys[size_t(s * d + cc)];
        for (int64_t cc = 0; cc < d; ++cc) in.keys[size_t(s * d + cc)] *= sd / std::sqrt(ss);
      }
      break;
    }
    case TopkFamily::Clustered: {  // keys = normalize(μ_c + ε): cosine ≈ 0.7 with their centroid
      rms_rows(centroids, c.clusters, d, rng);
      rms_rows(in.keys, N, d, rng);
      cluster.resize(static_cast<size_t>(N));
      for (int64_t s = 0; s < N; ++s) {
        cluster[size_t(s)] = int64_t(rng.below(uint64_t(c.clusters)));
        double ss = 0;
        for (int64_t cc = 0; cc < d; ++cc) {
          double& x = in.keys[size_t(s * d + cc)];
          x += centroids[size_t(cluster[size_t(s)] * d + cc)];
          ss += x * x;
        }
        for (int64_t cc = 0; cc < d; ++cc) in.keys[size_t(s * d + cc)] *= sd / std::sqrt(ss);
      }
      break;
    }
    case TopkFamily::HeavyTail: {  // key norms from a Pareto law (capped at 50× the median scale)
      rms_rows(in.keys, N, d, rng);
      for (int64_t s = 0; s < N; ++s) {
        const double a = std::min(50.0, std::pow(1.0 - rng.uniform(), -1.0 / c.pareto_alpha));
        for (int64_t cc = 0; cc < d; ++cc) in.keys[size_t(s * d + cc)] *= a;
      }
      break;
    }
  }
  to_bf16(in.keys);
  if (wl > 0) {
    rms_rows(in.win, wl, d, rng);
    to_bf16(in.win);
  }
  in.needles.resize(static_cast<size_t>(nq));
  const double n_all = double(N + wl), m = double(std::min(c.needles, N));
  const double delta = std::log(n_all / m) + c.gamma * c.gamma / 2 + std::log(c.rho / (1 - c.rho));
  for (int64_t i = 0; i < nq; ++i) {
    std::fill(shared.begin(), shared.end(), 0.0);
    if (fam == TopkFamily::Needle) {
      auto& nd = in.needles[size_t(i)];
      while (int64_t(nd.size()) < int64_t(m)) {
        const int32_t s = int32_t(rng.below(uint64_t(N)));
        if (std::find(nd.begin(), nd.end(), s) == nd.end()) nd.push_back(s);
      }
      for (int32_t s : nd)
        for (int64_t cc = 0; cc < d; ++cc) shared[size_t(cc)] += delta / sd * in.keys[size_t(s * d + cc)];
    } else if (fam == TopkFamily::Local) {  // recency peak: aligned with the newest key
      for (int64_t cc = 0; cc < d; ++cc) shared[size_t(cc)] = c.strength / sd * in.keys[size_t((N - 1) * d + cc)];
    } else if (fam == TopkFamily::Clustered) {
      const int64_t cs = int64_t(rng.below(uint64_t(c.clusters)));
      for (int64_t cc = 0; cc < d; ++cc) shared[size_t(cc)] = c.strength / sd * centroids[size_t(cs * d + cc)];
    }
    // random / heavy_tail: no shared term; unit-variance query components give logits ~ N(0, |k|²/d).
    const double noise = (fam == TopkFamily::Random || fam == TopkFamily::HeavyTail) ? 1.0 : c.gamma;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t cc = 0; cc < d; ++cc) in.q[size_t((i * H + h) * d + cc)] = shared[size_t(cc)] + noise * rng.normal();
  }
  to_bf16(in.q);
  return in;
}

}  // namespace

std::vector<TopkQualityPoint> measure_topk_quality(sim::TopkArch arch, TopkFamily fam, const std::vector<int64_t>& ks,
                                                   const TopkQualityConfig& c) {
  using namespace kernels;
  const bool csa = arch == sim::TopkArch::Csa;
  const int64_t N = c.n_cand, d = c.d_head, H = c.heads, IH = c.idx_heads, nq = c.queries;
  const int64_t wl = csa ? c.window : 0, C = N + wl;
  Rng rng = study_rng(c.seed, uint64_t(fam) * 2 + (csa ? 1 : 0));
  Inputs in = make_inputs(fam, N, wl, c, rng);
  std::vector<uint16_t> keys_b(in.keys.size()), win_b(std::max<size_t>(1, in.win.size())), q_b(in.q.size());
  for (size_t i = 0; i < in.keys.size(); ++i) keys_b[i] = bf16_from_f32(float(in.keys[i]));
  for (size_t i = 0; i < in.win.size(); ++i) win_b[i] = bf16_from_f32(float(in.win[i]));
  for (size_t i = 0; i < in.q.size(); ++i) q_b[i] = bf16_from_f32(float(in.q[i]));

  // Indexer inputs: k^I = P·k + σ_I·ξ, q^I_j = P·mean{q_h : h mod IH = j}. P [128, d] is a random
  // orthonormal projection (rows orthonormal when d >= 128, columns when d < 128), so at d <= 128 it
  // preserves every inner product and σ_I alone sets the indexer's fidelity (§5 step 4: σ_I = 0 is near-
  // oracle); at d > 128 the projection itself loses part of the logit structure.
  Rng prng = study_rng(c.seed, 100);
  std::vector<double> P(static_cast<size_t>(kIdxDim * d));
  for (auto& v : P) v = prng.normal();
  {
    const bool rows = d >= kIdxDim;  // orthonormalize the shorter side
    const int64_t nv = rows ? kIdxDim : d, len = rows ? d : kIdxDim;
    auto at = [&](int64_t v, int64_t e) -> double& { return rows ? P[size_t(v * d + e)] : P[size_t(e * d + v)]; };
    for (int64_t v = 0; v < nv; ++v) {
      for (int64_t u = 0; u < v; ++u) {
        double dot = 0;
        for (int64_t e = 0; e < len; ++e) dot += at(v, e) * at(u, e);
        for (int64_t e = 0; e < len; ++e) at(v, e) -= dot * at(u, e);
      }
      double nn = 0;
      for (int64_t e = 0; e < len; ++e) nn += at(v, e) * at(v, e);
      for (int64_t e = 0; e < len; ++e) at(v, e) /= std::sqrt(nn);
    }
  }
  Rng nrng = study_rng(c.seed, 101 + uint64_t(fam));
  std::vector<double> pk(static_cast<size_t>(N * kIdxDim));
  double pk_ss = 0;
  for (int64_t s = 0; s < N; ++s)
    for (int64_t r = 0; r < kIdxDim; ++r) {
      double a = 0;
      for (int64_t cc = 0; cc < d; ++cc) a += P[size_t(r * d + cc)] * in.keys[size_t(s * d + cc)];
      pk[size_t(s * kIdxDim + r)] = a, pk_ss += a * a;
    }
  const double key_rms = std::sqrt(pk_ss / double(N * kIdxDim));  // per-component RMS of P·k
  std::vector<float> kI(static_cast<size_t>(N * kIdxDim)), qI(static_cast<size_t>(nq * IH * kIdxDim));
  for (size_t x = 0; x < kI.size(); ++x) kI[x] = float(pk[x] + c.sigma_i * key_rms * nrng.normal());
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t j = 0; j < IH; ++j) {
      std::vector<double> qbar(static_cast<size_t>(d), 0.0);
      int cnt = 0;
      for (int64_t h = j; h < H; h += IH, ++cnt)
        for (int64_t cc = 0; cc < d; ++cc) qbar[size_t(cc)] += in.q[size_t((i * H + h) * d + cc)];
      for (int64_t r = 0; r < kIdxDim; ++r) {
        double a = 0;
        for (int64_t cc = 0; cc < d; ++cc) a += P[size_t(r * d + cc)] * qbar[size_t(cc)];
        qI[size_t((i * IH + j) * kIdxDim + r)] = cnt ? float(a / cnt) : 0.0f;
      }
    }

  // 1. Indexer scores [nq, N] with the real kernel of the arch (w = 1: head weights ≥ 0, §5 step 4).
  std::vector<float> scores(static_cast<size_t>(nq * N)), w(static_cast<size_t>(nq * IH), 1.0f);
  const auto t_idx = Clock::now();
  if (!csa) {
    std::vector<uint8_t> kc(static_cast<size_t>(N * kIdxDim)), ksc(static_cast<size_t>(N)), qc(static_cast<size_t>(nq * IH * kIdxDim)), qsc(static_cast<size_t>(nq * IH));
    std::vector<int32_t> zeros(static_cast<size_t>(std::max(N, nq * IH)), 0), pos(static_cast<size_t>(nq), int32_t(N - 1));
    dsa_indexer_prepare(N, kIdxDim, 1, zeros.data(), false, true, kI.data(), kc.data(), ksc.data());
    dsa_indexer_prepare(nq * IH, kIdxDim, IH, zeros.data(), false, true, qI.data(), qc.data(), qsc.data());
    DsaIndexerParams ip;
    ip.n_q = nq, ip.n_ctx = N, ip.idx_heads = IH, ip.idx_dim = kIdxDim;
    (c.reference ? dsa_indexer_ref : dsa_indexer_cpu)(ip, qc.data(), qsc.data(), kc.data(), ksc.data(), w.data(),
                                                      pos.data(), scores.data());
  } else {
    // FP4 simulation with the Hadamard (the V4 indexer-key quant sim) on BF16 keys and queries.
    std::vector<uint16_t> kq(static_cast<size_t>(N * kIdxDim)), qq(static_cast<size_t>(nq * IH * kIdxDim)), tmp(static_cast<size_t>(kIdxDim));
    std::vector<float> work(static_cast<size_t>(kIdxDim));
    auto sim_rows = [&](const std::vector<float>& src, int64_t rows, std::vector<uint16_t>& dst) {
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t x = 0; x < kIdxDim; ++x) tmp[size_t(x)] = bf16_from_f32(src[size_t(r * kIdxDim + x)]);
        kv_quant_sim_indexer(tmp.data(), int(kIdxDim), work.data(), dst.data() + r * kIdxDim);
      }
    };
    sim_rows(kI, N, kq);
    sim_rows(qI, nq * IH, qq);
    CsaIndexerParams cp;
    cp.n_tokens = 1, cp.n_ctx = 4 * N, cp.idx_heads = IH, cp.idx_dim = kIdxDim, cp.ratio = 4;
    for (int64_t i = 0; i < nq; ++i) {
      int32_t len = 0;
      (c.reference ? csa_indexer_ref : csa_indexer_cpu)(cp, qq.data() + i * IH * kIdxDim, kq.data(), w.data() + i * IH,
                                                        scores.data() + i * N, &len);
      if (len != N) throw runtime_error("top-k study: csa_indexer length " + std::to_string(len) + " != N");
    }
  }
  const double indexer_s = since(t_idx);

  // 2. Dense softmax (no sink) per (query, head) in FP64 from the BF16 values: e = exp(l − M) over C_t
  // (window first, then entries in index order) and its total in that order.
  std::vector<double> ex(static_cast<size_t>(nq * H * C)), tot(static_cast<size_t>(nq * H)), win_mass(static_cast<size_t>(nq * H));
  std::vector<float> psum(static_cast<size_t>(nq * N), 0.0f);
  const double scale = 1.0 / std::sqrt(double(d));
  for (int64_t i = 0; i < nq; ++i)
    for (int64_t h = 0; h < H; ++h) {
      const double* qv = in.q.data() + (i * H + h) * d;
      double* e = ex.data() + (i * H + h) * C;
      for (int64_t r = 0; r < C; ++r) {
        const double* kv = r < wl ? in.win.data() + r * d : in.keys.data() + (r - wl) * d;
        double a = 0;
        for (int64_t cc = 0; cc < d; ++cc) a += qv[cc] * kv[cc];
        e[r] = scale * a;
      }
      const double M = *std::max_element(e, e + C);
      double t = 0, wm = 0;
      for (int64_t r = 0; r < C; ++r) {
        e[r] = std::exp(e[r] - M);
        t += e[r];
        if (r < wl) wm += e[r];
      }
      tot[size_t(i * H + h)] = t, win_mass[size_t(i * H + h)] = wm;
      for (int64_t s = 0; s < N; ++s) psum[size_t(i * N + s)] += float(e[wl + s] / t);
    }

  // Dense output once: the attended list is every entry (and the window), P unrounded, FP32 output.
  SparseAttnParams sp;
  sp.n_q = nq, sp.n_heads = H, sp.d_head = d, sp.d_rope = 0, sp.p_bf16 = false;
  sp.n_kv = wl, sp.n_cmp = N, sp.n_win = wl;
  std::vector<int32_t> win_idx(static_cast<size_t>(nq * wl)), qpos(static_cast<size_t>(nq), int32_t(csa ? 4 * N - 1 : N - 1)), dense(static_cast<size_t>(nq * N));
  for (int64_t i = 0; i < nq; ++i) {
    for (int64_t j = 0; j < wl; ++j) win_idx[size_t(i * wl + j)] = int32_t(j);
    for (int64_t s = 0; s < N; ++s) dense[size_t(i * N + s)] = int32_t(s);
  }
  // V4 has a per-head sink (z = 0 here); V3.2 has none (−inf).
  std::vector<float> sink(static_cast<size_t>(H), csa ? 0.0f : -std::numeric_limits<float>::infinity());
  const SparseAttnFn attn = c.reference ? SparseAttnFn(sparse_attn_ref) : SparseAttnFn(sparse_attn_cpu);
  std::vector<uint16_t> ob(static_cast<size_t>(nq * H * d));
  std::vector<float> lse(static_cast<size_t>(nq * H)), o_dn(ob.size()), o_sp(ob.size());
  sp.n_sel = N;
  attn(sp, q_b.data(), win_b.data(), keys_b.data(), win_idx.data(), dense.data(), sink.data(), qpos.data(), ob.data(),
       lse.data(), o_dn.data());

  const auto topk = c.reference ? topk_ref : topk_cpu;
  std::vector<TopkQualityPoint> out;
  for (int64_t k : ks) {
    TopkQualityPoint pt;
    pt.arch = arch, pt.family = fam, pt.k = k, pt.n_cand = N, pt.window = wl, pt.indexer_s = indexer_s;
    const int64_t ke = std::min(k, N);
    pt.k_eff = ke;
    // 3. Indexer and oracle selections with the real top-k (ascending index order, −1 past k_eff).
    TopkParams tp;
    tp.n_queries = nq, tp.n_cand = N, tp.top_k = k;
    std::vector<int32_t> len(static_cast<size_t>(nq), int32_t(N)), nan(static_cast<size_t>(nq)), sel(static_cast<size_t>(nq * k)), osel(static_cast<size_t>(nq * k));
    const auto t_topk = Clock::now();
    topk(tp, scores.data(), len.data(), sel.data(), nan.data());
    pt.topk_s = since(t_topk);
    topk(tp, psum.data(), len.data(), osel.data(), nan.data());
    std::vector<double> rec, orec, rcmp, ovl, errs, coss, found;
    for (int64_t i = 0; i < nq; ++i) {
      std::vector<char> in_u(static_cast<size_t>(N), 0), in_o(static_cast<size_t>(N), 0);
      for (int64_t j = 0; j < ke; ++j) {
        if (sel[size_t(i * k + j)] >= 0) in_u[size_t(sel[size_t(i * k + j)])] = 1;
        if (osel[size_t(i * k + j)] >= 0) in_o[size_t(osel[size_t(i * k + j)])] = 1;
      }
      int64_t both = 0;
      for (int64_t s = 0; s < N; ++s) both += in_u[size_t(s)] && in_o[size_t(s)];
      ovl.push_back(ke > 0 ? double(both) / double(ke) : 1.0);
      if (fam == TopkFamily::Needle) {
        int64_t f = 0;
        for (int32_t s : in.needles[size_t(i)]) f += in_u[size_t(s)];
        found.push_back(double(f) / double(std::max<size_t>(1, in.needles[size_t(i)].size())));
      }
      for (int64_t h = 0; h < H; ++h) {
        const double* e = ex.data() + (i * H + h) * C;
        // Same summation order as the total (window, then entries ascending): all selected ⇒ R = 1 exactly.
        double su = 0, so = 0, cu = 0;
        for (int64_t r = 0; r < wl; ++r) su += e[r], so += e[r];
        for (int64_t s = 0; s < N; ++s) {
          if (in_u[size_t(s)]) su += e[wl + s], cu += e[wl + s];
          if (in_o[size_t(s)]) so += e[wl + s];
        }
        const double t = tot[size_t(i * H + h)], tc = t - win_mass[size_t(i * H + h)];
        rec.push_back(su / t), orec.push_back(so / t);
        rcmp.push_back(csa ? (tc > 0 ? cu / tc : 1.0) : su / t);
      }
    }
    // 4. Output error: the selected list (compacted to k_eff columns, ascending) vs the dense list.
    std::vector<int32_t> selc(static_cast<size_t>(nq * ke));
    for (int64_t i = 0; i < nq; ++i)
      for (int64_t j = 0; j < ke; ++j) selc[size_t(i * ke + j)] = sel[size_t(i * k + j)];
    sp.n_sel = ke;
    const auto t_sp = Clock::now();
    attn(sp, q_b.data(), win_b.data(), keys_b.data(), win_idx.data(), selc.data(), sink.data(), qpos.data(), ob.data(),
         lse.data(), o_sp.data());
    pt.sparse_s = since(t_sp);
    pt.sparse_equals_dense = true;
    for (int64_t r = 0; r < nq * H; ++r) {
      double num = 0, den = 0, dot = 0, na = 0;
      for (int64_t cc = 0; cc < d; ++cc) {
        const double a = o_sp[size_t(r * d + cc)], b = o_dn[size_t(r * d + cc)];
        if (a != b) pt.sparse_equals_dense = false;
        num += (a - b) * (a - b), den += b * b, dot += a * b, na += a * a;
      }
      errs.push_back(std::sqrt(num) / std::max(std::sqrt(den), 1e-12));
      coss.push_back(na > 0 && den > 0 ? dot / std::sqrt(na * den) : (na == den ? 1.0 : 0.0));
    }
    pt.recall_mean = mean(rec), pt.recall_p5 = percentile(rec, 5), pt.recall_min = *std::min_element(rec.begin(), rec.end());
    pt.oracle_recall_mean = mean(orec), pt.oracle_recall_p5 = percentile(orec, 5);
    pt.oracle_recall_min = *std::min_element(orec.begin(), orec.end());
    pt.recall_compressed_mean = mean(rcmp);
    pt.overlap_mean = mean(ovl);
    pt.random_baseline = double(ke + wl) / double(C);
    pt.err_mean = mean(errs), pt.err_p99 = percentile(errs, 99), pt.err_max = *std::max_element(errs.begin(), errs.end());
    pt.cos_min = *std::min_element(coss.begin(), coss.end());
    if (!found.empty()) pt.needles_found = mean(found);
    pt.recall = std::move(rec), pt.oracle_recall = std::move(orec);
    out.push_back(std::move(pt));
  }
  return out;
}

}  // namespace v4lab::cli
