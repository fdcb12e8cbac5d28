// test_mhc_cost.cpp — T9 of specs/mhc.md: the mHC cost formulas (mhc_cost.h), the op catalogue's
// OpWork, and an instrumented count of the shared split + Sinkhorn code all agree with the spec's
// numbers exactly (1,000,990 / 1,750,558 FLOP per token per site, 25 transcendentals, 258,048 B).
#include <catch2/catch.hpp>

#include "core/op_catalogue.h"
#include "core/ops/mhc_cost.h"
#include "kernels/mhc/mhc.h"

using namespace v4lab;

namespace mhc_count {

// A number that counts the arithmetic done on it (attention.md §0 convention: add, subtract,
// multiply, divide and compare count 1; exp and sigmoid count as transcendentals; negation is free).
struct Counts {
  long flops = 0;
  long transcendentals = 0;
};
inline Counts g_counts;

struct Counted {
  double v = 0;
  Counted() = default;
  Counted(double x) : v(x) {}  // NOLINT: implicit, like a float
};
inline Counted operator+(Counted a, Counted b) {
  ++g_counts.flops;
  return a.v + b.v;
}
inline Counted operator-(Counted a, Counted b) {
  ++g_counts.flops;
  return a.v - b.v;
}
inline Counted operator*(Counted a, Counted b) {
  ++g_counts.flops;
  return a.v * b.v;
}
inline Counted operator/(Counted a, Counted b) {
  ++g_counts.flops;
  return a.v / b.v;
}
inline Counted operator-(Counted a) { return -a.v; }
inline Counted& operator+=(Counted& a, Counted b) {
  ++g_counts.flops;
  a.v += b.v;
  return a;
}
inline bool operator>(Counted a, Counted b) {
  ++g_counts.flops;
  return a.v > b.v;
}
// Found by argument-dependent lookup from the shared templates; a sigmoid is one transcendental.
inline Counted mhc_exp(Counted a) {
  ++g_counts.transcendentals;
  return std::exp(a.v);
}
inline Counted mhc_sigmoid(Counted a) {
  ++g_counts.transcendentals;
  return 1.0 / (1.0 + std::exp(-a.v));
}

}  // namespace mhc_count

namespace {

MhcShape shape(int64_t T, int n, int64_t d, int I = 20) { return MhcShape{T, n, d, I}; }

OpWork work(const std::string& op, const ParamMap& overrides) {
  const OpDef& def = get_op(op);
  return def.work(resolve_params(def, overrides));
}

}  // namespace

TEST_CASE("T9 mHC site FLOPs match the spec numbers", "[sim][ref]") {
  CHECK(mhc_site_flops_per_token(shape(1, 4, 4096)) == 1000990.0);  // V4-Flash
  CHECK(mhc_site_flops_per_token(shape(1, 4, 7168)) == 1750558.0);  // V4-Pro
  CHECK(mhc_site_transcendentals_per_token(shape(1, 4, 7168)) == 25.0);
  for (int64_t d : {1, 7, 128, 1280, 4096, 7168}) CHECK(mhc_site_flops_per_token(shape(1, 4, d)) == 244.0 * d + 1566);
  // The general closed form of the Site total row.
  for (int n = 1; n <= 8; ++n)
    for (int I : {1, 20, 37})
      for (int64_t d : {1, 13, 4096}) {
        const double m = double(mhc_m(n));
        const double closed = d * (2 * n * m + 2.0 * n * n + 5.0 * n) + n * n * (4.0 * I + 6) + n * (2.0 * I + 7) + 2;
        CHECK(mhc_site_flops_per_token(shape(1, n, d, I)) == closed);
        CHECK(mhc_site_transcendentals_per_token(shape(1, n, d, I)) == double(n * n + 2 * n + 1));
      }
  // hc_head: 2n²d + 4nd + 4n + 2, n sigmoids + 1 rsqrt.
  CHECK(mhc_head_flops_per_token(shape(1, 4, 7168)) == 2.0 * 16 * 7168 + 4.0 * 4 * 7168 + 16 + 2);
  CHECK(mhc_head_transcendentals_per_token(shape(1, 4, 7168)) == 5.0);
}

TEST_CASE("T9 mHC bytes match the spec numbers", "[sim][ref]") {
  const MhcShape pro = shape(1, 4, 7168), flash = shape(1, 4, 4096);
  CHECK(mhc_site_bytes_per_token(pro) == 258048.0);    // 36·d
  CHECK(mhc_site_bytes_per_token(flash) == 147456.0);  // 147.5 KB
  CHECK(mhc_fn_bytes(pro) == 384.0 * 7168);            // W_fn = 384·d = 2.75 MB
  CHECK(mhc_fn_bytes(pro) == 2752512.0);
  CHECK(mhc_head_fn_bytes(pro) == 4.0 * 16 * 7168);
  // Parameters dominate below about 11 tokens per step: W_fn / B_tok = 384/36.
  CHECK(mhc_fn_bytes(pro) / mhc_site_bytes_per_token(pro) == Approx(10.667).epsilon(1e-3));
  // Every row of the Bytes table (stream elements ×2 B), general n.
  for (int n = 1; n <= 8; ++n) {
    const double d = 1000;
    const MhcShape s = shape(1, n, 1000);
    CHECK(mhc_site_bytes_per_token(s, MhcFusion::Production) == 2 * ((3 * n + 1) * d + (n + 1) * d));
    CHECK(mhc_site_bytes_per_token(s, MhcFusion::Unfused) == 2 * ((5 * n + 1) * d + (3 * n + 1) * d));
    CHECK(mhc_site_bytes_per_token(s, MhcFusion::BigFused) == 2 * ((2 * n + 1) * d + (n + 1) * d));
    CHECK(mhc_site_bytes_per_token(s, MhcFusion::PostPreFused) == 2 * ((n + 1) * d + (n + 1) * d));
    const double m = double(mhc_m(n));
    CHECK(mhc_site_small_bytes_per_token(s) == 4 * (m + 1 + n * n + 2 * n));
  }
  CHECK(mhc_site_small_bytes_per_token(pro) == 196.0);
}

TEST_CASE("T9 op catalogue OpWork equals the formulas", "[sim][ref]") {
  for (int64_t T : {1, 13, 4096}) {
    const ParamMap pm = {{"n_tokens", double(T)}, {"hc", 4}, {"d_model", 7168}};
    const OpWork pre = work("mhc_pre", pm), post = work("mhc_post", pm);
    CHECK(pre.flops + post.flops == 1750558.0 * T);
    CHECK(pre.transcendentals + post.transcendentals == 25.0 * T);
    CHECK(post.transcendentals == 0);
    // bytes_step = n_tokens·B_tok + W_fn, with W_fn read once per call by mhc_pre.
    CHECK(pre.bytes_mem + post.bytes_mem == 258048.0 * T + 384.0 * 7168);
    CHECK(pre.flops + post.flops == mhc_site_flops(shape(T, 4, 7168)));
    CHECK(pre.bytes_mem + post.bytes_mem == mhc_site_bytes(shape(T, 4, 7168)));
    CHECK(pre.bytes_mem == 18.0 * 7168 * T + 384.0 * 7168);  // production split: 18·d each at n = 4
    CHECK(post.bytes_mem == 18.0 * 7168 * T);
    CHECK(pre.precision == Precision::FP32);
    CHECK(pre.bytes_variant == "production");
    const OpWork head = work("mhc_head", pm);
    CHECK(head.flops == T * mhc_head_flops_per_token(shape(1, 4, 7168)));
    CHECK(head.bytes_mem == T * (2.0 * 4 * 7168 + 2.0 * 7168) + 4.0 * 16 * 7168);
  }
  // Defaults are V4-Flash at 64 tokens; iters changes only the Sinkhorn term.
  const OpWork def = work("mhc_pre", {});
  CHECK(def.flops == 64 * mhc_pre_flops_per_token(shape(64, 4, 4096, 20)));
  const OpWork i40 = work("mhc_pre", {{"iters", 40}});
  CHECK(i40.flops - def.flops == 64.0 * (16 * 4 * 20 + 4 * 2 * 20));
  // Unfused variant and no tokens.
  const OpWork unf = work("mhc_post", {{"fusion", 1}, {"d_model", 7168}, {"n_tokens", 1}});
  CHECK(unf.bytes_mem == 2.0 * (13 * 7168 + 12 * 7168));
  CHECK(unf.bytes_variant == "unfused");
  CHECK(work("mhc_pre", {{"n_tokens", 0}}).bytes_mem == 0);
  CHECK(work("mhc_pre", {{"n_tokens", 0}}).flops == 0);
}

TEST_CASE("T9 instrumented split + Sinkhorn count equals the formula", "[sim][ref]") {
  using mhc_count::Counted;
  using mhc_count::g_counts;
  for (int n = 1; n <= 8; ++n)
    for (int I : {1, 2, 20}) {
      const int m = (2 + n) * n;
      std::vector<Counted> mixes(m), pre(n), post(n), comb(n * n);
      std::vector<float> base(m, 0.1f), scale = {1.f, 1.f, 1.f};
      for (int i = 0; i < m; ++i) mixes[i] = 0.01 * i;
      g_counts = {};
      kernels::mhc_split_sinkhorn<Counted>(mixes.data(), base.data(), scale.data(), n, I, Counted(1e-6),
                                           kernels::SinkhornVariant::V4, pre.data(), post.data(), comb.data());
      // Spec rows "×r and split" (less the m multiplies by r, done by the GEMM driver) and "Sinkhorn".
      const long split = 3L * n * n + 8L * n - m;
      const long sinkhorn = long(n) * n * (4L * I + 3) + long(n) * (2L * I - 1);
      CHECK(g_counts.flops == split + sinkhorn);
      CHECK(g_counts.transcendentals == long(n) * n + 2L * n);  // n² exp + 2n sigmoid (+1 rsqrt elsewhere)
      // The rest of the pre row is analytic: 2ndm + (2nd + 2) + m + 2nd.
      const MhcShape s = shape(1, n, 4096, I);
      const double rest = 2.0 * n * 4096 * m + (2.0 * n * 4096 + 2) + m + 2.0 * n * 4096;
      CHECK(mhc_pre_flops_per_token(s) == rest + double(split + sinkhorn));
    }
  // hc_head split: 3 per stream (scale·mix, +base, +eps) + n sigmoids; with ×r and sumsq: 4n + 2.
  for (int n = 1; n <= 8; ++n) {
    std::vector<Counted> mixes(n, Counted(0.5)), pre(n);
    std::vector<float> base(n, 0.f), scale = {1.f};
    g_counts = {};
    kernels::mhc_head_split<Counted>(mixes.data(), base.data(), scale.data(), n, Counted(1e-6), pre.data());
    CHECK(g_counts.flops == 3L * n);
    CHECK(g_counts.transcendentals == n);
    CHECK(mhc_head_flops_per_token(shape(1, n, 100)) == 2.0 * n * n * 100 + 4.0 * n * 100 + g_counts.flops + n + 2);
  }
}
