// test_mhc.cpp — specs/mhc.md tests T1–T8 for the mHC kernels (T9, cost, is tests/core/test_mhc_cost.cpp).
// Chain of trust: _ref against hand-computed cases and the spec's properties; the shared FP32 split +
// Sinkhorn against its FP64 twin; _cpu (and _cuda when a device is present) against _ref through the
// registry's verify with the spec's Precision tolerances.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/mhc/mhc.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;
using v4lab::test::compare;
using v4lab::test::params;
using v4lab::test::require_all_pass;

namespace {

using PreFn = void (*)(const MhcParams&, const uint16_t*, const float*, const float*, const float*, uint16_t*, float*,
                       float*, float*, float*);
using PostFn = void (*)(const MhcParams&, const uint16_t*, const uint16_t*, const float*, const float*, uint16_t*);

// Host-side buffers for one hc_pre + hc_post site.
struct Site {
  MhcParams p;
  std::vector<uint16_t> x, y, f, x_out;
  std::vector<float> fn, base, scale, pre, post, comb, mixes;
  explicit Site(MhcParams q) : p(q) {
    const int64_t T = p.n_tokens, n = p.hc, d = p.d_model, m = p.m();
    x.assign(T * n * d, 0), y.assign(T * d, 0), f.assign(T * d, 0), x_out.assign(T * n * d, 0);
    fn.assign(m * n * d, 0.f), base.assign(m, 0.f), scale = {1.f, 1.f, 1.f};
    pre.assign(T * n, 0.f), post.assign(T * n, 0.f), comb.assign(T * n * n, 0.f), mixes.assign(T * m, 0.f);
  }
  void randomize(uint64_t seed) {
    Rng rng(seed);
    for (auto& v : x) v = bf16_from_f32(float(rng.normal()));
    const double sd = 1.0 / std::sqrt(double(p.k()));
    for (auto& v : fn) v = float(sd * rng.normal());
    for (auto& v : base) v = float(rng.uniform(-1, 1));
    for (auto& v : scale) v = float(rng.uniform(0.5, 2));
  }
  void run_pre(PreFn fn_) {
    fn_(p, x.data(), fn.data(), base.data(), scale.data(), y.data(), pre.data(), post.data(), comb.data(),
        mixes.data());
  }
  void run_post(PostFn fn_) { fn_(p, f.data(), x.data(), post.data(), comb.data(), x_out.data()); }
};

struct Backends {
  const char* name;
  PreFn pre;
  PostFn post;
};
const Backends kHostBackends[] = {{"ref", mhc_pre_ref, mhc_post_ref}, {"cpu", mhc_pre_cpu, mhc_post_cpu}};

double row_sum_err(const float* c, int n) {
  double e = 0;
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < n; ++j) s += c[i * n + j];
    e = std::max(e, std::fabs(s - 1));
  }
  return e;
}
double col_sum_err(const float* c, int n) {
  double e = 0;
  for (int j = 0; j < n; ++j) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += c[i * n + j];
    e = std::max(e, std::fabs(s - 1));
  }
  return e;
}

// FP32 V4 Sinkhorn of logits (the shared code the CPU and CUDA kernels run).
std::vector<float> sinkhorn_f32(std::vector<float> L, int n, int iters = 20) {
  mhc_sinkhorn<float>(L.data(), n, iters, 1e-6f, SinkhornVariant::V4);
  return L;
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// T1 Sinkhorn convergence (FP32, the shared V4LAB_HD code)
// ------------------------------------------------------------------------------------------------
TEST_CASE("T1 Sinkhorn: uniform logits give doubly stochastic comb", "[ref][cpu]") {
  Rng rng(0x71);
  for (int n = 1; n <= 8; ++n) {
    double worst_row = 0, worst_col = 0;
    float min_entry = 1;
    for (int s = 0; s < 2000; ++s) {
      std::vector<float> L(n * n);
      for (auto& v : L) v = float(rng.uniform(-1, 1));
      const auto c = sinkhorn_f32(L, n);
      worst_row = std::max(worst_row, row_sum_err(c.data(), n));
      worst_col = std::max(worst_col, col_sum_err(c.data(), n));
      for (float v : c) min_entry = std::min(min_entry, v);
    }
    INFO("n = " << n << " worst row err " << worst_row << " worst col err " << worst_col);
    CHECK(worst_row <= 2e-5);
    CHECK(worst_col <= 2e-5);
    CHECK(min_entry >= 0);
  }
}

TEST_CASE("T1 Sinkhorn: N(0,1) logits at n = 4, 10^4 samples", "[ref][cpu]") {
  // Recorded seed. The row error has a long tail (spec: FP64, 2e7 samples, p99 ≈ 3e-6, max 1.4e-2).
  Rng rng(20250101);
  const int n = 4, samples = 10000;
  std::vector<double> row_err;
  double worst_col = 0;
  for (int s = 0; s < samples; ++s) {
    std::vector<float> L(n * n);
    for (auto& v : L) v = float(rng.normal());
    const auto c = sinkhorn_f32(L, n);
    row_err.push_back(row_sum_err(c.data(), n));
    worst_col = std::max(worst_col, col_sum_err(c.data(), n));
  }
  std::sort(row_err.begin(), row_err.end());
  const double p99 = row_err[size_t(0.99 * samples)], mx = row_err.back();
  INFO("row-sum error p99 " << p99 << " max " << mx << " col-sum error max " << worst_col);
  CHECK(mx <= 5e-2);
  CHECK(p99 <= 1e-4);
  CHECK(worst_col <= 2e-5);
}

TEST_CASE("T1 Sinkhorn: wide logits keep exact columns", "[ref][cpu]") {
  Rng rng(0x7103);
  for (double sd : {3.0, 5.0, 10.0}) {
    double worst_row = 0, worst_col = 0;
    for (int n : {2, 4, 8})
      for (int s = 0; s < 1000; ++s) {
        std::vector<float> L(n * n);
        for (auto& v : L) v = float(sd * rng.normal());
        const auto c = sinkhorn_f32(L, n);
        worst_row = std::max(worst_row, row_sum_err(c.data(), n));
        worst_col = std::max(worst_col, col_sum_err(c.data(), n));
      }
    // Row sums may be off by up to ~0.15 at 20 iterations: reported, not a failure (spec T1).
    WARN("T1 report: logits std " << sd << ": worst row-sum error " << worst_row << ", worst column-sum error "
                                  << worst_col);
    CHECK(worst_col <= 2e-5);
  }
}

TEST_CASE("T1 Sinkhorn: worst error does not grow with iterations", "[ref][cpu]") {
  const int n = 4;
  std::vector<std::vector<float>> logits;
  Rng rng(0x7104);
  for (int s = 0; s < 500; ++s) {
    std::vector<float> L(n * n);
    for (auto& v : L) v = float(rng.normal());
    logits.push_back(L);
  }
  double prev = 1e30;
  for (int iters : {5, 10, 20, 40}) {
    double worst = 0;
    for (const auto& L : logits) {
      const auto c = sinkhorn_f32(L, n, iters);
      worst = std::max({worst, row_sum_err(c.data(), n), col_sum_err(c.data(), n)});
    }
    INFO("iters " << iters << " worst error " << worst << " previous " << prev);
    CHECK(worst <= prev);
    prev = worst;
  }
}

// ------------------------------------------------------------------------------------------------
// T2 Variant equivalence (FP64, eps = 0)
// ------------------------------------------------------------------------------------------------
TEST_CASE("T2 V4 loop on L equals paper Eq. 9 on L^T, transposed back", "[ref]") {
  Rng rng(0x72);
  for (int n = 1; n <= 8; ++n)
    for (int s = 0; s < 50; ++s) {
      std::vector<double> L(n * n), v4(n * n), paper(n * n);
      for (auto& v : L) v = 2 * rng.normal();
      sinkhorn_v4_f64(L.data(), n, 20, 0.0, v4.data());
      sinkhorn_paper_f64(L.data(), n, 20, paper.data());
      std::vector<double> hd = L;  // the kernels' paper variant (comb frame, no transpose)
      mhc_sinkhorn<double>(hd.data(), n, 20, 1e-6, SinkhornVariant::Paper);
      for (int k = 0; k < n * n; ++k) {
        INFO("n = " << n << " sample " << s << " k = " << k);
        CHECK(std::fabs(v4[k] - paper[k]) <= 1e-12);
        CHECK(std::fabs(hd[k] - paper[k]) <= 1e-12);
      }
    }
}

// ------------------------------------------------------------------------------------------------
// T3 Transpose (the known trap)
// ------------------------------------------------------------------------------------------------
TEST_CASE("T3 hc_post mixes down the columns of comb", "[ref][cpu]") {
  MhcParams p;
  p.n_tokens = 3, p.hc = 2, p.d_model = 64;
  Site s(p);
  s.randomize(0x73);
  const float comb[4] = {0.9f, 0.1f, 0.3f, 0.7f};  // comb[i][j], row-major
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    std::copy(comb, comb + 4, s.comb.begin() + t * 4);
    s.post[t * 2] = 1.f, s.post[t * 2 + 1] = 1.f;  // F = 0, so post does not matter
  }
  for (const auto& b : kHostBackends) {
    s.run_post(b.post);
    int64_t differs_from_buggy = 0;
    for (int64_t t = 0; t < p.n_tokens; ++t)
      for (int64_t c = 0; c < p.d_model; ++c) {
        const double x0 = bf16_to_f32(s.x[(t * 2 + 0) * p.d_model + c]);
        const double x1 = bf16_to_f32(s.x[(t * 2 + 1) * p.d_model + c]);
        const uint16_t want0 = bf16_from_f64(double(0.9f) * x0 + double(0.3f) * x1);
        const uint16_t want1 = bf16_from_f64(double(0.1f) * x0 + double(0.7f) * x1);
        const uint16_t buggy0 = bf16_from_f64(double(0.9f) * x0 + double(0.1f) * x1);
        const uint16_t got0 = s.x_out[(t * 2 + 0) * p.d_model + c], got1 = s.x_out[(t * 2 + 1) * p.d_model + c];
        INFO(b.name << " t = " << t << " c = " << c);
        // _ref rounds the FP64 value once; _cpu's FP32 may land one BF16 step away.
        const double tol0 = std::string(b.name) == "ref" ? 0 : bf16_ulp(bf16_to_f32(want0));
        const double tol1 = std::string(b.name) == "ref" ? 0 : bf16_ulp(bf16_to_f32(want1));
        CHECK(std::fabs(bf16_to_f32(got0) - bf16_to_f32(want0)) <= tol0);
        CHECK(std::fabs(bf16_to_f32(got1) - bf16_to_f32(want1)) <= tol1);
        if (std::fabs(bf16_to_f32(got0) - bf16_to_f32(buggy0)) > bf16_ulp(bf16_to_f32(buggy0))) ++differs_from_buggy;
      }
    // The buggy row-mix must be told apart: it is wrong almost everywhere on random streams.
    CHECK(differs_from_buggy > p.n_tokens * p.d_model / 2);
  }
}

// ------------------------------------------------------------------------------------------------
// T4 Identity preservation
// ------------------------------------------------------------------------------------------------
TEST_CASE("T4a equal streams and F = 0 are preserved", "[ref][cpu]") {
  for (const auto& b : kHostBackends)
    for (int n : {1, 2, 4, 8}) {
      MhcParams p;
      p.n_tokens = 5, p.hc = n, p.d_model = 96;
      Site s(p);
      s.randomize(0x74a + n);
      for (int64_t t = 0; t < p.n_tokens; ++t)
        for (int i = 1; i < n; ++i)
          std::copy_n(s.x.begin() + t * p.k(), p.d_model, s.x.begin() + t * p.k() + i * p.d_model);
      s.run_pre(b.pre);
      s.run_post(b.post);  // f is all zero
      for (int64_t t = 0; t < p.n_tokens; ++t)
        for (int j = 0; j < n; ++j)
          for (int64_t c = 0; c < p.d_model; ++c) {
            const double want = bf16_to_f32(s.x[t * p.k() + c]);
            const double got = bf16_to_f32(s.x_out[t * p.k() + j * p.d_model + c]);
            INFO(b.name << " n = " << n << " t = " << t << " j = " << j << " c = " << c);
            REQUIRE(std::fabs(got - want) <= 2e-6 * std::fabs(want));
          }
    }
}

TEST_CASE("T4b F = 0 gives a convex mix of the streams", "[ref][cpu]") {
  for (const auto& b : kHostBackends)
    for (int n : {2, 3, 4, 8}) {
      MhcParams p;
      p.n_tokens = 7, p.hc = n, p.d_model = 128;
      Site s(p);
      s.randomize(0x74b + n);
      s.run_pre(b.pre);
      s.run_post(b.post);
      double max_x = 0;
      for (auto v : s.x) max_x = std::max(max_x, double(std::fabs(bf16_to_f32(v))));
      int64_t bad = 0;
      for (int64_t t = 0; t < p.n_tokens; ++t)
        for (int64_t c = 0; c < p.d_model; ++c) {
          double lo = 1e30, hi = -1e30;
          for (int i = 0; i < n; ++i) {
            const double v = bf16_to_f32(s.x[t * p.k() + i * p.d_model + c]);
            lo = std::min(lo, v), hi = std::max(hi, v);
          }
          for (int j = 0; j < n; ++j) {
            const double v = bf16_to_f32(s.x_out[t * p.k() + j * p.d_model + c]);
            if (v < lo - 1e-5 * max_x || v > hi + 1e-5 * max_x) ++bad;
          }
        }
      INFO(b.name << " n = " << n);
      CHECK(bad == 0);
    }
}

TEST_CASE("T4c L = 30 P gives comb = P and hc_post permutes the streams", "[ref][cpu]") {
  for (const auto& b : kHostBackends)
    for (int n : {2, 4, 8}) {
      MhcParams p;
      p.n_tokens = 3, p.hc = n, p.d_model = 64;
      Site s(p);
      s.randomize(0x74c + n);
      std::fill(s.fn.begin(), s.fn.end(), 0.f);  // mixes = 0, so L = base
      std::fill(s.base.begin(), s.base.end(), 0.f);
      s.scale = {1.f, 1.f, 1.f};
      std::vector<int> perm(n);  // P[i][perm[i]] = 1; 3i+1 mod n is a non-identity permutation for n = 2, 4, 8
      for (int i = 0; i < n; ++i) perm[i] = (3 * i + 1) % n;
      for (int i = 0; i < n; ++i) s.base[2 * n + i * n + perm[i]] = 30.f;
      s.run_pre(b.pre);
      s.run_post(b.post);
      double max_x = 0;
      for (auto v : s.x) max_x = std::max(max_x, double(std::fabs(bf16_to_f32(v))));
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        for (int i = 0; i < n; ++i)
          for (int j = 0; j < n; ++j) {
            INFO(b.name << " n = " << n << " comb[" << i << "][" << j << "]");
            CHECK(std::fabs(s.comb[t * n * n + i * n + j] - (perm[i] == j ? 1.0 : 0.0)) <= 1e-5);
          }
        // X'_j = Σ_i P[i][j]·X_i = X_i for the i with perm[i] = j.
        for (int i = 0; i < n; ++i)
          for (int64_t c = 0; c < p.d_model; ++c) {
            const double want = bf16_to_f32(s.x[t * p.k() + i * p.d_model + c]);
            const double got = bf16_to_f32(s.x_out[t * p.k() + perm[i] * p.d_model + c]);
            CHECK(std::fabs(got - want) <= 1e-5 * max_x);
          }
      }
    }
}

TEST_CASE("T4d fn = 0 and base = 0 give the neutral split", "[ref][cpu]") {
  for (const auto& b : kHostBackends)
    for (int n = 1; n <= 8; ++n) {
      MhcParams p;
      p.n_tokens = 2, p.hc = n, p.d_model = 32;
      Site s(p);
      s.randomize(0x74d + n);
      std::fill(s.fn.begin(), s.fn.end(), 0.f);
      std::fill(s.base.begin(), s.base.end(), 0.f);
      s.run_pre(b.pre);
      INFO(b.name << " n = " << n);
      for (float v : s.pre) CHECK(std::fabs(v - (0.5 + 1e-6)) <= 1e-6);
      for (float v : s.post) CHECK(std::fabs(v - 1.0) <= 1e-6);
      // At n = 1 every Sinkhorn step x/(x + eps) settles at 1 − eps (a hair over 1e-6 away from 1), so
      // the 1e-6 bound cannot hold there; T4e's 3e-6 bound for hc = 1 applies.
      const double tol = n == 1 ? 3e-6 : 1e-6;
      for (float v : s.comb) CHECK(std::fabs(v - 1.0 / n) <= tol);
    }
}

TEST_CASE("T4e hc = 1 gives comb = 1", "[ref][cpu]") {
  for (const auto& b : kHostBackends) {
    MhcParams p;
    p.n_tokens = 9, p.hc = 1, p.d_model = 100;
    Site s(p);
    s.randomize(0x74e);
    s.run_pre(b.pre);
    INFO(b.name);
    for (float v : s.comb) CHECK(std::fabs(v - 1.0) <= 3e-6);
  }
}

// ------------------------------------------------------------------------------------------------
// T5 Composite gain over S sites (mHC bounded; unconstrained HC explodes)
// ------------------------------------------------------------------------------------------------
namespace {

struct Gains {
  double fwd = 0, bwd = 0;
};

// P = H^(S)···H^(1); g_fwd = max_j Σ_i |P[j][i]| (row sums), g_bwd = max_i Σ_j |P[j][i]| (column sums).
Gains composite_gain(const std::vector<std::vector<double>>& H, int n) {
  std::vector<double> P(n * n, 0.0), Q(n * n);
  for (int i = 0; i < n; ++i) P[i * n + i] = 1;
  for (const auto& h : H) {
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < n; ++i) {
        double s = 0;
        for (int k = 0; k < n; ++k) s += h[j * n + k] * P[k * n + i];
        Q[j * n + i] = s;
      }
    P.swap(Q);
  }
  Gains g;
  for (int a = 0; a < n; ++a) {
    double row = 0, col = 0;
    for (int b = 0; b < n; ++b) row += std::fabs(P[a * n + b]), col += std::fabs(P[b * n + a]);
    g.fwd = std::max(g.fwd, row), g.bwd = std::max(g.bwd, col);
  }
  return g;
}

// mHC's residual matrix of one site: H_res[j][i] = comb[i][j].
std::vector<double> h_res_of(const std::vector<float>& comb, int n) {
  std::vector<double> h(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) h[j * n + i] = comb[i * n + j];
  return h;
}

}  // namespace

TEST_CASE("T5 mHC composite gain stays bounded", "[ref][cpu]") {
  Rng rng(0x75);
  for (int S : {86, 122})
    for (int n : {2, 4, 8}) {
      for (double sigma : {1.0, 3.0}) {
        double fwd_lo = 1e30, fwd_hi = 0, bwd_hi = 0;
        for (int token = 0; token < 10; ++token) {
          std::vector<std::vector<double>> H;
          for (int s = 0; s < S; ++s) {
            std::vector<float> L(n * n);
            for (auto& v : L) v = float(sigma * rng.normal());
            H.push_back(h_res_of(sinkhorn_f32(L, n), n));
          }
          const Gains g = composite_gain(H, n);
          fwd_lo = std::min(fwd_lo, g.fwd), fwd_hi = std::max(fwd_hi, g.fwd), bwd_hi = std::max(bwd_hi, g.bwd);
        }
        INFO("S = " << S << " n = " << n << " sigma = " << sigma << " g_fwd in [" << fwd_lo << ", " << fwd_hi
                    << "] g_bwd max " << bwd_hi);
        CHECK(fwd_lo >= 1 - 2e-6 * S);
        CHECK(fwd_hi <= 1 + 1e-5);
        CHECK(bwd_hi <= 1.2);
      }
      for (double a : {5.0, 8.0}) {  // near-permutation logits a·P_s + N(0,1)
        double bwd_hi = 0;
        for (int token = 0; token < 10; ++token) {
          std::vector<std::vector<double>> H;
          for (int s = 0; s < S; ++s) {
            std::vector<int> perm(n);
            for (int i = 0; i < n; ++i) perm[i] = i;
            for (int i = n - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
            std::vector<float> L(n * n);
            for (int k = 0; k < n * n; ++k) L[k] = float(rng.normal());
            for (int i = 0; i < n; ++i) L[i * n + perm[i]] += float(a);
            H.push_back(h_res_of(sinkhorn_f32(L, n), n));
          }
          bwd_hi = std::max(bwd_hi, composite_gain(H, n).bwd);
        }
        INFO("S = " << S << " n = " << n << " a = " << a << " g_bwd max " << bwd_hi);
        CHECK(bwd_hi <= 1.2);
      }
    }
}

TEST_CASE("T5 unconstrained HC composite gain explodes", "[ref]") {
  const int n = 4, S = 122;
  std::vector<double> fwd;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Rng rng(0x7500 + seed);
    std::vector<std::vector<double>> H;
    for (int s = 0; s < S; ++s) {
      std::vector<double> h(n * n);
      for (int k = 0; k < n * n; ++k) h[k] = (k % (n + 1) == 0 ? 1.0 : 0.0) + 0.2 * rng.normal();
      H.push_back(h);
    }
    fwd.push_back(composite_gain(H, n).fwd);
  }
  std::sort(fwd.begin(), fwd.end());
  const double median = 0.5 * (fwd[9] + fwd[10]);
  INFO("median g_fwd over 20 seeds: " << median);
  CHECK(median >= 10);
}

// ------------------------------------------------------------------------------------------------
// T6 Shapes
// ------------------------------------------------------------------------------------------------
namespace {

KernelIO io_of(MhcOp op, const MhcParams& p) {
  KernelIO io;
  for (auto& s : mhc_io_spec(op, p)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

void replace_input(KernelIO& io, const std::string& name, DType dt, std::vector<int64_t> shape) {
  for (auto& t : io.inputs)
    if (t.name() == name) t = Tensor(name, dt, std::move(shape));
}

bool rejected(MhcOp op, const MhcParams& p, const KernelIO& io) {
  try {
    mhc_check_io(op, p, io);
  } catch (const Error& e) {
    return e.kind() == ErrorKind::Config;
  }
  return false;
}

}  // namespace

TEST_CASE("T6 fn must be [(2+n)n, n*d_model], other shapes are rejected", "[ref][cpu]") {
  for (int n = 1; n <= 8; ++n)
    for (int64_t d : {1, 7, 128, 4096, 7168}) {
      MhcParams p;
      p.n_tokens = 1, p.hc = n, p.d_model = d;
      const int64_t m = p.m(), K = p.k();
      INFO("n = " << n << " d_model = " << d);
      KernelIO io = io_of(MhcOp::Pre, p);
      CHECK_NOTHROW(mhc_check_io(MhcOp::Pre, p, io));
      CHECK(io.in("fn").shape() == std::vector<int64_t>{m, K});
      std::vector<std::vector<int64_t>> wrong = {{m, K + 1}, {m + 1, K}, {m * K}, {1, m, K}};
      if (m != K) wrong.push_back({K, m});  // transposed (paper layout)
      if (n > 1) wrong.push_back({m, K - d});
      for (const auto& shape : wrong) {
        KernelIO bad = io_of(MhcOp::Pre, p);
        replace_input(bad, "fn", DType::F32, shape);
        CHECK(rejected(MhcOp::Pre, p, bad));
      }
      KernelIO bad_dtype = io_of(MhcOp::Pre, p);
      replace_input(bad_dtype, "X", DType::F32, {1, n, d});
      CHECK(rejected(MhcOp::Pre, p, bad_dtype));
      // hc_head's fn is [n, n·d]: the hc_pre shape is wrong there.
      KernelIO head = io_of(MhcOp::Head, p);
      CHECK_NOTHROW(mhc_check_io(MhcOp::Head, p, head));
      replace_input(head, "fn", DType::F32, {m, K});
      CHECK((m == n || rejected(MhcOp::Head, p, head)));
    }
  // prepare goes through the same check.
  const ParamMap pm = params("mhc_pre", {{"n_tokens", 2}, {"hc", 4}, {"d_model", 16}});
  const OpKernels* k = find_kernels("mhc_pre");
  KernelIO io = k->make_io(pm, 1);
  replace_input(io, "fn", DType::F32, {24, 65});
  CHECK_THROWS_AS(k->prepare.at(Backend::Cpu)(pm, io), Error);
}

// ------------------------------------------------------------------------------------------------
// T7 Reference vs optimized CPU
// ------------------------------------------------------------------------------------------------
TEST_CASE("T7 _cpu matches _ref on odd sizes and V4 shapes", "[cpu]") {
  struct Case {
    int n;
    int64_t d, T;
  };
  std::vector<Case> cases;
  for (int n : {1, 2, 4, 8})
    for (int64_t d : {1, 13})
      for (int64_t T : {1, 13, 137}) cases.push_back({n, d, T});
  // d = 4096 (V4-Flash) at the sizes that keep the FP64 reference fast; one V4-Pro shape.
  for (Case c : {Case{1, 4096, 137}, Case{2, 4096, 13}, Case{4, 4096, 1}, Case{4, 4096, 13}, Case{4, 4096, 137},
                 Case{8, 4096, 13}, Case{4, 7168, 13}})
    cases.push_back(c);
  uint64_t seed = 0x77;
  for (const Case& c : cases) {
    const ParamMap over = {{"n_tokens", double(c.T)}, {"hc", double(c.n)}, {"d_model", double(c.d)}};
    for (const char* op : {"mhc_pre", "mhc_post", "mhc_head"}) {
      INFO(op << " n = " << c.n << " d = " << c.d << " T = " << c.T);
      require_all_pass(compare(op, Backend::Cpu, params(op, over), ++seed));
    }
  }
  // hc = 4 post at every T (cheap) and the paper Sinkhorn variant.
  for (int64_t T : {1, 13, 137}) {
    INFO("mhc_post d = 4096 T = " << T);
    require_all_pass(compare("mhc_post", Backend::Cpu, params("mhc_post", {{"n_tokens", double(T)}}), ++seed));
  }
  INFO("mhc_pre sinkhorn_variant = paper");
  require_all_pass(compare("mhc_pre", Backend::Cpu,
                           params("mhc_pre", {{"n_tokens", 13}, {"d_model", 256}, {"sinkhorn_variant", 1}}), ++seed));
}

TEST_CASE("T7 _cpu is deterministic", "[cpu]") {
  const ParamMap pm = params("mhc_pre", {{"n_tokens", 37}, {"d_model", 512}});
  const KernelIO a = run_once("mhc_pre", Backend::Cpu, pm, 5), b = run_once("mhc_pre", Backend::Cpu, pm, 5);
  for (size_t i = 0; i < a.outputs.size(); ++i)
    CHECK(std::memcmp(a.outputs[i].raw(), b.outputs[i].raw(), a.outputs[i].nbytes()) == 0);
}

TEST_CASE("T7 _cpu per-token results do not depend on the batch", "[cpu]") {
  // T = 4 takes the small-batch path (GEMM split over fn rows), T = 400 the fused token-block path;
  // the first 4 tokens must come out bit-identical.
  MhcParams big;
  big.n_tokens = 400, big.hc = 4, big.d_model = 72;
  MhcParams small = big;
  small.n_tokens = 4;
  Site a(big), b(small);
  a.randomize(0x7703);
  b.fn = a.fn, b.base = a.base, b.scale = a.scale;
  std::copy_n(a.x.begin(), b.x.size(), b.x.begin());
  a.run_pre(mhc_pre_cpu);
  b.run_pre(mhc_pre_cpu);
  CHECK(std::equal(b.y.begin(), b.y.end(), a.y.begin()));
  CHECK(std::memcmp(b.mixes.data(), a.mixes.data(), b.mixes.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(b.pre.data(), a.pre.data(), b.pre.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(b.post.data(), a.post.data(), b.post.size() * sizeof(float)) == 0);
  CHECK(std::memcmp(b.comb.data(), a.comb.data(), b.comb.size() * sizeof(float)) == 0);
}

TEST_CASE("T7 two full layers with random F: _cpu tracks _ref", "[cpu]") {
  // 2 layers = 4 sites (attention, MoE), V4-Flash width. Each backend runs its own chain; BF16
  // rounding differences of one site feed the next, so the bound is a few ulps, not one.
  MhcParams p;
  p.n_tokens = 13, p.hc = 4, p.d_model = 4096;
  std::vector<uint16_t> x0(p.n_tokens * p.k());
  Rng rng(0x7702);
  for (auto& v : x0) v = bf16_from_f32(float(rng.normal()));
  std::vector<std::vector<uint16_t>> finals;
  for (const auto& b : kHostBackends) {
    Site s(p);
    s.x = x0;
    for (int site = 0; site < 4; ++site) {
      const std::vector<uint16_t> keep = s.x;
      s.randomize(0x7710 + site);  // fn, base, scale (and x, overwritten below)
      s.x = keep;
      Rng fr(0x7720 + site);
      for (auto& v : s.f) v = bf16_from_f32(float(fr.normal()));
      s.run_pre(b.pre);
      s.run_post(b.post);
      s.x = s.x_out;
    }
    finals.push_back(s.x);
  }
  // Compare in units of one BF16 ulp at the streams' RMS: where X' cancels to near 0 its own ulp is
  // tiny, but an input that differs by one ulp still moves it by ~ulp(|X|).
  double sq = 0, se = 0, worst = 0;
  int64_t differ = 0;
  for (size_t i = 0; i < finals[0].size(); ++i) {
    const double want = bf16_to_f32(finals[0][i]), got = bf16_to_f32(finals[1][i]);
    sq += want * want, se += (got - want) * (got - want);
    worst = std::max(worst, std::fabs(got - want));
    if (got != want) ++differ;
  }
  const double rms = std::sqrt(sq / double(finals[0].size())), nmse = se / sq;
  const double worst_ulps = worst / bf16_ulp(rms);
  INFO("elements differing: " << differ << " of " << finals[0].size() << ", worst |diff| " << worst << " = "
                              << worst_ulps << " ulp(rms " << rms << "), nmse " << nmse);
  // NMSE bound: one BF16 rounding of mantissa-uniform values adds 2^-14/28 ≈ 2.2e-6; the chains must
  // differ by less than that, i.e. by rounding flips, not by a systematic error.
  CHECK(worst_ulps <= 4);
  CHECK(nmse <= 2e-6);
}

// ------------------------------------------------------------------------------------------------
// T8 Bad inputs
// ------------------------------------------------------------------------------------------------
TEST_CASE("T8 n_tokens = 0 launches nothing and returns empty outputs", "[ref][cpu]") {
  for (Backend b : {Backend::Ref, Backend::Cpu})
    for (const char* op : {"mhc_pre", "mhc_post", "mhc_head"}) {
      const ParamMap pm = params(op, {{"n_tokens", 0}});
      const KernelIO io = run_once(op, b, pm, 1);
      for (const auto& t : io.outputs) CHECK(t.numel() == 0);
      for (const auto& r : find_kernels(op)->verify(pm, io, io)) CHECK(r.passed);
    }
}

TEST_CASE("T8 hc = 0, d_model = 0 or iters < 1 are configuration errors", "[ref][cpu]") {
  auto config_error_of = [](MhcParams p) {
    try {
      p.validate();
    } catch (const Error& e) {
      return e.kind() == ErrorKind::Config;
    }
    return false;
  };
  MhcParams p;
  p.hc = 0;
  CHECK(config_error_of(p));
  p.hc = 9;
  CHECK(config_error_of(p));
  p = MhcParams{};
  p.d_model = 0;
  CHECK(config_error_of(p));
  p = MhcParams{};
  p.iters = 0;
  CHECK(config_error_of(p));
  CHECK_FALSE(config_error_of(MhcParams{}));
  for (const ParamMap& bad : {ParamMap{{"hc", 0}}, ParamMap{{"d_model", 0}}, ParamMap{{"iters", 0}}}) {
    try {
      params("mhc_pre", bad);
      FAIL("accepted a bad parameter");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Config);
    }
  }
  p = MhcParams{};
  p.n_tokens = 1, p.hc = 0;
  uint16_t x[4] = {};
  float w[4] = {}, out[4] = {};
  uint16_t y[4] = {};
  CHECK_THROWS_AS(mhc_pre_cpu(p, x, w, w, w, y, out, out, out, out), Error);
  CHECK_THROWS_AS(mhc_post_ref(p, x, x, w, w, y), Error);
}

TEST_CASE("T8 a NaN or Inf in one token stays in that token", "[ref][cpu]") {
  for (const auto& b : kHostBackends)
    for (uint16_t poison : {uint16_t(0x7fc0), uint16_t(0x7f80), uint16_t(0xff80)}) {
      MhcParams p;
      p.n_tokens = 13, p.hc = 4, p.d_model = 96;
      Site clean(p), dirty(p);
      clean.randomize(0x78), dirty.randomize(0x78);
      Rng fr(0x781);
      for (auto& v : clean.f) v = bf16_from_f32(float(fr.normal()));
      dirty.f = clean.f;
      const int64_t bad_t = 5, bad_i = 2, bad_c = 7;
      dirty.x[bad_t * p.k() + bad_i * p.d_model + bad_c] = poison;
      clean.run_pre(b.pre), dirty.run_pre(b.pre);
      clean.run_post(b.post), dirty.run_post(b.post);
      INFO(b.name << " poison 0x" << std::hex << poison);
      auto rows_equal = [](const auto& u, const auto& v, int64_t t, int64_t w) {
        return std::memcmp(u.data() + t * w, v.data() + t * w, sizeof(u[0]) * w) == 0;
      };
      for (int64_t t = 0; t < p.n_tokens; ++t) {
        if (t == bad_t) {
          for (int64_t c = 0; c < p.d_model; ++c) CHECK_FALSE(std::isfinite(bf16_to_f32(dirty.y[t * p.d_model + c])));
          for (int i = 0; i < p.m(); ++i) CHECK_FALSE(std::isfinite(dirty.mixes[t * p.m() + i]));
          for (int i = 0; i < p.hc; ++i) CHECK_FALSE(std::isfinite(dirty.pre[t * p.hc + i]));
          for (int i = 0; i < p.hc; ++i) CHECK_FALSE(std::isfinite(dirty.post[t * p.hc + i]));
          for (int i = 0; i < p.hc * p.hc; ++i) CHECK_FALSE(std::isfinite(dirty.comb[t * p.hc * p.hc + i]));
          continue;
        }
        CHECK(rows_equal(clean.y, dirty.y, t, p.d_model));
        CHECK(rows_equal(clean.mixes, dirty.mixes, t, p.m()));
        CHECK(rows_equal(clean.pre, dirty.pre, t, p.hc));
        CHECK(rows_equal(clean.post, dirty.post, t, p.hc));
        CHECK(rows_equal(clean.comb, dirty.comb, t, p.hc * p.hc));
      }
    }
}

TEST_CASE("T8 hc_post: a NaN in one element stays in its token and column", "[ref][cpu]") {
  MhcParams p;
  p.n_tokens = 9, p.hc = 4, p.d_model = 80;
  const auto io = find_kernels("mhc_post")->make_io(params("mhc_post", {{"n_tokens", 9}, {"d_model", 80}}), 3);
  for (const auto& b : kHostBackends) {
    Site clean(p), dirty(p);
    std::memcpy(clean.f.data(), io.in("F").raw(), io.in("F").nbytes());
    std::memcpy(clean.x.data(), io.in("X").raw(), io.in("X").nbytes());
    std::memcpy(clean.post.data(), io.in("post").raw(), io.in("post").nbytes());
    std::memcpy(clean.comb.data(), io.in("comb").raw(), io.in("comb").nbytes());
    dirty.f = clean.f, dirty.x = clean.x, dirty.post = clean.post, dirty.comb = clean.comb;
    dirty.x[4 * p.k() + 1 * p.d_model + 33] = 0x7fc0;  // X[t=4, i=1, c=33] = NaN
    dirty.f[6 * p.d_model + 10] = 0x7f80;              // F[t=6, c=10] = +Inf
    clean.run_post(b.post), dirty.run_post(b.post);
    INFO(b.name);
    for (int64_t t = 0; t < p.n_tokens; ++t)
      for (int j = 0; j < p.hc; ++j)
        for (int64_t c = 0; c < p.d_model; ++c) {
          const int64_t i = t * p.k() + j * p.d_model + c;
          if ((t == 4 && c == 33) || (t == 6 && c == 10)) {
            CHECK_FALSE(std::isfinite(bf16_to_f32(dirty.x_out[i])));
          } else {
            CHECK(dirty.x_out[i] == clean.x_out[i]);
          }
        }
  }
}

TEST_CASE("T8 an all-zero token gives pre = sigmoid(base) + eps", "[ref][cpu]") {
  for (const auto& b : kHostBackends) {
    MhcParams p;
    p.n_tokens = 6, p.hc = 4, p.d_model = 64;
    Site s(p);
    s.randomize(0x79);
    std::fill_n(s.x.begin() + 2 * p.k(), p.k(), uint16_t(0));
    s.run_pre(b.pre);
    INFO(b.name);
    for (int i = 0; i < p.hc; ++i) {
      const double want = 1.0 / (1.0 + std::exp(-double(s.base[i]))) + 1e-6;
      CHECK(std::fabs(s.pre[2 * p.hc + i] - want) <= 1e-6);
    }
    for (float v : s.comb) CHECK(std::isfinite(v));
    for (float v : s.post) CHECK(std::isfinite(v));
    for (int64_t c = 0; c < p.d_model; ++c) CHECK(bf16_to_f32(s.y[2 * p.d_model + c]) == 0.0f);
  }
}

TEST_CASE("T8 logits up to 1e4 keep comb finite with exact columns", "[ref][cpu]") {
  Rng rng(0x7a);
  for (int n = 1; n <= 8; ++n)
    for (int s = 0; s < 200; ++s) {
      const int m = (2 + n) * n;
      std::vector<float> mixes(m), base(m, 0.f), scale = {1.f, 1.f, 1.f}, pre(n), post(n), comb(n * n);
      for (auto& v : mixes) v = float(rng.uniform(-1e4, 1e4));
      mhc_split_sinkhorn<float>(mixes.data(), base.data(), scale.data(), n, 20, 1e-6f, SinkhornVariant::V4, pre.data(),
                                post.data(), comb.data());
      INFO("n = " << n << " sample " << s);
      for (float v : comb) REQUIRE(std::isfinite(v));
      for (float v : pre) REQUIRE(std::isfinite(v));
      for (float v : post) REQUIRE(std::isfinite(v));
      CHECK(col_sum_err(comb.data(), n) <= 2e-5);
    }
}

// ------------------------------------------------------------------------------------------------
// CUDA (runs only where a device is present)
// ------------------------------------------------------------------------------------------------
TEST_CASE("T7 _cuda matches _ref", "[cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  uint64_t seed = 0x7c;
  struct Case {
    int n;
    int64_t d, T;
  };
  for (Case c : {Case{1, 13, 13}, Case{2, 1, 137}, Case{3, 7, 5}, Case{4, 4096, 1}, Case{4, 4096, 13},
                 Case{4, 4096, 137}, Case{4, 7168, 13}, Case{8, 4096, 13}, Case{8, 13, 137}, Case{5, 100, 31}}) {
    const ParamMap over = {{"n_tokens", double(c.T)}, {"hc", double(c.n)}, {"d_model", double(c.d)}};
    for (const char* op : {"mhc_pre", "mhc_post", "mhc_head"}) {
      INFO(op << " n = " << c.n << " d = " << c.d << " T = " << c.T);
      require_all_pass(compare(op, Backend::Cuda, params(op, over), ++seed));
    }
  }
  {  // T8 on the device: a NaN in token 5 stays there; every other token is bit-identical
    const ParamMap pm = params("mhc_pre", {{"n_tokens", 13}, {"d_model", 512}});
    const OpKernels* k = find_kernels("mhc_pre");
    KernelIO clean = k->make_io(pm, 11), dirty = k->make_io(pm, 11);
    dirty.in("X").data<uint16_t>()[5 * 4 * 512 + 2 * 512 + 7] = 0x7fc0;
    for (KernelIO* io : {&clean, &dirty}) {
      PreparedRun r = k->prepare.at(Backend::Cuda)(pm, *io);
      r.launch();
      r.sync_outputs();
    }
    for (size_t o = 0; o < clean.outputs.size(); ++o) {
      const Tensor& a = clean.outputs[o];
      const Tensor& b = dirty.outputs[o];
      const int64_t row = a.numel() / 13;
      for (int64_t t = 0; t < 13; ++t)
        for (int64_t i = t * row; i < (t + 1) * row; ++i) {
          INFO(a.name() << " token " << t << " element " << i);
          if (t == 5)
            CHECK_FALSE(std::isfinite(b.get(i)));
          else
            CHECK(std::memcmp(static_cast<const char*>(a.raw()) + i * dtype_size(a.dtype()),
                              static_cast<const char*>(b.raw()) + i * dtype_size(b.dtype()),
                              dtype_size(a.dtype())) == 0);
        }
    }
  }
  for (const char* op : {"mhc_pre", "mhc_post", "mhc_head"}) {  // repeated runs are bit-identical
    const ParamMap pm = params(op, {{"n_tokens", 37}});
    const KernelIO a = run_once(op, Backend::Cuda, pm, 9), b = run_once(op, Backend::Cuda, pm, 9);
    for (size_t i = 0; i < a.outputs.size(); ++i)
      CHECK(std::memcmp(a.outputs[i].raw(), b.outputs[i].raw(), a.outputs[i].nbytes()) == 0);
    const KernelIO empty = run_once(op, Backend::Cuda, params(op, {{"n_tokens", 0}}), 1);
    for (const auto& t : empty.outputs) CHECK(t.numel() == 0);
  }
}
