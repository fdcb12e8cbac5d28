// study_streams_stability.cpp — composite-gain stability stack of the streams study (see
// study_streams_stability.h; specs/studies.md (c), specs/mhc.md "Amax gain magnitude"). The dynamic
// logits are the real mhc_pre kernel's mixes; the other Sinkhorn settings reuse the kernels' shared
// split + Sinkhorn template (mhc_split_sinkhorn, the V4LAB_HD code every backend runs) on those mixes.
#include "cli/study_streams_stability.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/numerics.h"
#include "core/rng.h"
#include "kernels/mhc/mhc.h"

namespace v4lab::cli {

namespace {

// Independent seeded streams per purpose (salt).
Rng study_rng(uint64_t seed, uint64_t salt) { return Rng(seed ^ (0x9e3779b97f4a7c15ull * (salt + 1))); }

using Clock = std::chrono::steady_clock;
using Mat = std::vector<double>;  // n×n row-major

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// ‖M‖₂ by power iteration on MᵀM (n ≤ 8).
double spectral(const Mat& M, int n) {
  std::vector<double> x(static_cast<size_t>(n), 1.0), y(static_cast<size_t>(n));
  double lam = 0;
  for (int it = 0; it < 60; ++it) {
    std::fill(y.begin(), y.end(), 0.0);
    for (int i = 0; i < n; ++i) {
      double mi = 0;
      for (int j = 0; j < n; ++j) mi += M[size_t(i * n + j)] * x[size_t(j)];
      for (int j = 0; j < n; ++j) y[size_t(j)] += M[size_t(i * n + j)] * mi;
    }
    double nn = 0;
    for (double v : y) nn += v * v;
    nn = std::sqrt(nn);
    if (nn == 0) return 0;
    lam = nn;
    for (int j = 0; j < n; ++j) x[size_t(j)] = y[size_t(j)] / nn;
  }
  return std::sqrt(lam);
}

// One curve's running state: the composite per token and the per-token bound Π_l ‖H_l‖₁.
struct Track {
  GainCurve curve;
  std::vector<Mat> M;
  std::vector<double> bound;
};

void start(Track& t, int n, int64_t T, int64_t L, const std::string& method, const std::string& conv, int tmax) {
  t.curve.n = n, t.curve.method = method, t.curve.convention = conv, t.curve.t_max = tmax;
  Mat I(static_cast<size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i) I[size_t(i * n + i)] = 1;
  t.M.assign(static_cast<size_t>(T), I);
  t.bound.assign(static_cast<size_t>(T), 1.0);
  for (auto* v : {&t.curve.fwd_mean, &t.curve.bwd_mean, &t.curve.fwd_max, &t.curve.bwd_max, &t.curve.log_col_max,
                  &t.curve.spectral_mean})
    v->reserve(static_cast<size_t>(L));
}

// Left-multiplies token t's composite by H (paper orientation), then (after all tokens) records gains.
void apply(Track& tr, int64_t t, const Mat& H, int n) {
  Mat& M = tr.M[size_t(t)];
  Mat R(static_cast<size_t>(n * n), 0.0);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) {
      const double h = H[size_t(i * n + k)];
      for (int j = 0; j < n; ++j) R[size_t(i * n + j)] += h * M[size_t(k * n + j)];
    }
  M = std::move(R);
  double colmax = 0;
  for (int j = 0; j < n; ++j) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += std::fabs(H[size_t(i * n + j)]);
    colmax = std::max(colmax, s);
  }
  tr.bound[size_t(t)] *= colmax;
}

void record(Track& tr, int n) {
  const size_t T = tr.M.size();
  double fm = 0, bm = 0, fx = 0, bx = 0, lc = 0, sp = 0;
  for (size_t t = 0; t < T; ++t) {
    const Mat& M = tr.M[t];
    double f = 0, b = 0;
    for (int i = 0; i < n; ++i) {
      double r = 0;
      for (int j = 0; j < n; ++j) r += std::fabs(M[size_t(i * n + j)]);
      f = std::max(f, r);
    }
    for (int j = 0; j < n; ++j) {
      double c = 0, cs = 0;
      for (int i = 0; i < n; ++i) c += std::fabs(M[size_t(i * n + j)]), cs += M[size_t(i * n + j)];
      b = std::max(b, c);
      lc = std::max(lc, std::fabs(std::log(std::max(std::fabs(cs), 1e-300))));
    }
    if (b > tr.bound[t] * (1 + 1e-9)) tr.curve.bwd_within_bound = false;
    fm += f, bm += b, fx = std::max(fx, f), bx = std::max(bx, b), sp += spectral(M, n);
  }
  tr.curve.fwd_mean.push_back(fm / double(T));
  tr.curve.bwd_mean.push_back(bm / double(T));
  tr.curve.fwd_max.push_back(fx);
  tr.curve.bwd_max.push_back(bx);
  tr.curve.log_col_max.push_back(lc);
  tr.curve.spectral_mean.push_back(sp / double(T));
}

}  // namespace

StreamsStability measure_streams_stability(int n, const StreamsStabilityConfig& c) {
  using namespace kernels;
  if (n < 1 || n > kMhcMaxHc) throw config_error("streams study: n = " + std::to_string(n) + " must be in [1, 8]");
  MhcParams p;
  p.n_tokens = c.tokens, p.hc = n, p.d_model = c.d_model, p.iters = 20, p.sinkhorn = SinkhornVariant::V4;
  p.validate();
  const int64_t T = c.tokens, C = c.d_model, L = c.depth, K = p.k();
  const int m = p.m();
  StreamsStability out;
  out.n = n;

  // Tracks: mHC per (convention, t_max), HC, plain.
  std::vector<Track> mhc_tr;
  for (const char* conv : {"paper", "v4"})
    for (int tm : c.t_max) {
      mhc_tr.emplace_back();
      start(mhc_tr.back(), n, T, L, "mhc", conv, tm);
    }
  Track hc_tr, plain_tr;
  start(hc_tr, n, T, L, "hc", "", 0);
  start(plain_tr, n, T, L, "plain", "", 0);
  std::vector<SinkhornError> sk;
  for (auto& t : mhc_tr) sk.push_back({n, t.curve.convention, t.curve.t_max, 0.0, 0.0, 1e300});

  // Streams X [T, n, C] BF16: random tokens, advanced by mhc_post with F = 0.
  Rng xr = study_rng(c.seed, 1000 + uint64_t(n));
  std::vector<uint16_t> X(static_cast<size_t>(T * K)), Xn(X.size()), F(static_cast<size_t>(T * C), 0), y(static_cast<size_t>(T * C));
  for (auto& v : X) v = bf16_from_f32(float(xr.normal()));
  std::vector<float> fn(static_cast<size_t>(m) * size_t(K)), base(static_cast<size_t>(m), 0.0f), scale = {1.0f, 1.0f, 1.0f};
  std::vector<float> pre(static_cast<size_t>(T * n)), post(static_cast<size_t>(T * n)), comb(static_cast<size_t>(T * n * n)), mixes(static_cast<size_t>(T * m));
  const double phi_std = c.dyn_std / std::sqrt(double(K));  // mix = φ·(v/rms v): std dyn_std·‖v/rms‖/√K = dyn_std
  std::vector<double> pre_t, post_t;
  double dyn_ss = 0, dyn_cnt = 0;
  const auto pre_fn = c.reference ? mhc_pre_ref : mhc_pre_cpu;
  const auto post_fn = c.reference ? mhc_post_ref : mhc_post_cpu;
  for (int64_t l = 0; l < L; ++l) {
    Rng wr = study_rng(c.seed, uint64_t(n) * 100000 + uint64_t(l));
    for (auto& v : fn) v = float(phi_std * wr.normal());
    // Static logits in comb's frame: L[i][j] = diag·δ_ij + E[i][j] (+ the dynamic term from the kernel).
    std::vector<double> E(static_cast<size_t>(n * n));
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        E[size_t(i * n + j)] = c.sigma_b * wr.normal();
        base[size_t(2 * n + i * n + j)] = float((i == j ? c.diag : 0.0) + E[size_t(i * n + j)]);
      }
    auto t0 = Clock::now();
    pre_fn(p, X.data(), fn.data(), base.data(), scale.data(), y.data(), pre.data(), post.data(), comb.data(), mixes.data());
    pre_t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    for (int64_t t = 0; t < T; ++t) {
      const float* mx = mixes.data() + t * m;
      // Dynamic term D (comb frame) = scale[2]·mixes_comb, measured from the kernel's mixes.
      Mat D(static_cast<size_t>(n * n));
      for (int k = 0; k < n * n; ++k) {
        D[size_t(k)] = double(mx[2 * n + k]);
        dyn_ss += D[size_t(k)] * D[size_t(k)], dyn_cnt += 1;
      }
      // The kernel's own comb (V4, 20 iterations) must equal the shared template run on its mixes.
      float tp[kMhcMaxHc], tq[kMhcMaxHc], tc[kMhcMaxHc * kMhcMaxHc];
      mhc_split_sinkhorn<float>(mx, base.data(), scale.data(), n, 20, float(p.hc_eps), SinkhornVariant::V4, tp, tq, tc);
      if (!c.reference)
        for (int k = 0; k < n * n; ++k)
          out.kernel_vs_template = std::max(out.kernel_vs_template, double(std::fabs(tc[k] - comb[size_t(t * n * n + k)])));
      // mHC for every (convention, t_max); paper orientation H = combᵀ.
      std::vector<Mat> paper_last, v4_last;
      for (size_t a = 0; a < mhc_tr.size(); ++a) {
        Track& tr = mhc_tr[a];
        const bool paper = tr.curve.convention == "paper";
        Mat H(static_cast<size_t>(n * n));
        mhc_split_sinkhorn<float>(mx, base.data(), scale.data(), n, tr.curve.t_max, paper ? 0.0f : float(p.hc_eps),
                                  paper ? SinkhornVariant::Paper : SinkhornVariant::V4, tp, tq, tc);
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j) H[size_t(i * n + j)] = double(tc[j * n + i]);
        SinkhornError& e = sk[a];
        for (int i = 0; i < n; ++i) {
          double rs = 0, cs = 0;
          for (int j = 0; j < n; ++j) {
            rs += H[size_t(i * n + j)], cs += H[size_t(j * n + i)];
            e.min_entry = std::min(e.min_entry, H[size_t(i * n + j)]);
          }
          e.row_err = std::max(e.row_err, std::fabs(rs - 1)), e.col_err = std::max(e.col_err, std::fabs(cs - 1));
        }
        if (tr.curve.t_max == c.t_max.back()) (paper ? paper_last : v4_last).push_back(H);
        apply(tr, t, H, n);
      }
      if (!paper_last.empty() && !v4_last.empty())
        for (int k = 0; k < n * n; ++k)
          out.conventions_max_diff =
              std::max(out.conventions_max_diff, std::fabs(paper_last[0][size_t(k)] - v4_last[0][size_t(k)]));
      // Unconstrained HC: H = I + E + D (paper orientation, same draws); n = 1 degenerates to H = 1.
      Mat H(static_cast<size_t>(n * n)), Ip(static_cast<size_t>(n * n), 0.0);
      for (int i = 0; i < n; ++i) Ip[size_t(i * n + i)] = 1;
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          H[size_t(i * n + j)] = (i == j ? 1.0 : 0.0) + E[size_t(j * n + i)] + D[size_t(j * n + i)];
      apply(hc_tr, t, n == 1 ? Ip : H, n);
      apply(plain_tr, t, Ip, n);
    }
    for (auto& tr : mhc_tr) record(tr, n);
    record(hc_tr, n);
    record(plain_tr, n);
    t0 = Clock::now();
    post_fn(p, F.data(), X.data(), post.data(), comb.data(), Xn.data());
    post_t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    X.swap(Xn);
  }
  for (auto& tr : mhc_tr) out.curves.push_back(std::move(tr.curve));
  out.curves.push_back(std::move(hc_tr.curve));
  out.curves.push_back(std::move(plain_tr.curve));
  out.sinkhorn = std::move(sk);
  out.dyn_std_measured = dyn_cnt > 0 ? std::sqrt(dyn_ss / dyn_cnt) : 0;
  out.pre_s = median(pre_t), out.post_s = median(post_t);
  return out;
}

}  // namespace v4lab::cli
