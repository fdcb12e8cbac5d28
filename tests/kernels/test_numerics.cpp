// test_numerics.cpp — specs/attention.md §1.7 tests for RMSNorm, RoPE and YaRN, and specs/moe.md's
// SwiGLU clamp cases (cost: tests/core/test_numerics_cost.cpp). Chain of trust: _ref against
// hand-computed values and the spec's properties; _cpu (and _cuda when a device is present) against
// _ref through the registry's verify on seeded inputs, odd sizes and real V4 shapes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/numerics/numerics.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;
using v4lab::test::compare;
using v4lab::test::params;
using v4lab::test::require_all_pass;

namespace {

using RmsFn = void (*)(const RmsNormParams&, const uint16_t*, const float*, uint16_t*);
using RopeFn = void (*)(const RopeParams&, const uint16_t*, float*, uint16_t*);
using SwigluFn = void (*)(const SwigluParams&, const float*, const float*, float*);
struct HostBackend {
  const char* name;
  RmsFn rms;
  RopeFn rope;
  SwigluFn swiglu;
};
const HostBackend kHost[] = {{"ref", rmsnorm_ref, rope_ref, swiglu_ref}, {"cpu", rmsnorm_cpu, rope_cpu, swiglu_cpu}};

std::vector<uint16_t> bf16_random(int64_t n, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = bf16_from_f32(float(rng.normal()));
  return v;
}

RopeParams rope_p(int64_t T, int64_t H, int64_t d_head, int d_rope, int64_t offset, bool interleaved) {
  RopeParams p;
  p.n_tokens = T, p.n_heads = H, p.d_head = d_head, p.d_rope = d_rope, p.rope_offset = offset;
  p.interleaved = interleaved;
  return p;
}

std::vector<uint16_t> run_rope(RopeFn fn, const RopeParams& p, const std::vector<uint16_t>& x) {
  std::vector<float> cs(size_t(p.n_tokens * p.d_rope));
  std::vector<uint16_t> y(size_t(p.n_tokens * p.n_heads * p.d_rope));
  fn(p, x.data(), cs.data(), y.data());
  return y;
}

// FP64 rotation of one vector slice with the launch's FP32 table row (cs = [h][2]).
void rotate_f64(const RopeParams& p, const float* cs, const double* x, double* y, bool inverse) {
  const int h = p.half();
  for (int i = 0; i < h; ++i) {
    const int a = p.interleaved ? 2 * i : i, b = p.interleaved ? 2 * i + 1 : i + h;
    const double s = inverse ? -double(cs[2 * i + 1]) : double(cs[2 * i + 1]);
    rope_rotate_pair<double>(x[a], x[b], cs[2 * i], s, y[a], y[b]);
  }
}

double norm2(const double* v, int n) {
  double s = 0;
  for (int i = 0; i < n; ++i) s += v[i] * v[i];
  return std::sqrt(s);
}

template <class F>
void require_config_error(F&& f, const std::string& field) {
  try {
    f();
    FAIL("expected a config_error naming " << field);
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(std::string(e.what()).find(field) != std::string::npos);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RMSNorm
// ---------------------------------------------------------------------------------------------
TEST_CASE("rmsnorm ref: hand-computed row, weighted and weightless", "[numerics][ref]") {
  // x = (1, 2, 3, 4): mean(x²) = 7.5, r = 1/sqrt(7.5 + 1e-6) = 0.365148347...
  const std::vector<uint16_t> x = {bf16_from_f32(1), bf16_from_f32(2), bf16_from_f32(3), bf16_from_f32(4)};
  const std::vector<float> w = {1.0f, 0.5f, 2.0f, -1.0f};
  RmsNormParams p;
  p.n_tokens = 1, p.width = 4;
  std::vector<uint16_t> y(4);
  const double r = 1.0 / std::sqrt(7.5 + 1e-6);
  for (const auto& b : kHost) {
    INFO(b.name);
    p.weighted = true;
    b.rms(p, x.data(), w.data(), y.data());
    CHECK(bf16_to_f32(y[0]) == bf16_round(float(1 * 1.0 * r)));   // 0.365 -> 0.365234375
    CHECK(bf16_to_f32(y[1]) == bf16_round(float(2 * 0.5 * r)));
    CHECK(bf16_to_f32(y[2]) == bf16_round(float(3 * 2.0 * r)));   // 2.19 -> 2.1875
    CHECK(bf16_to_f32(y[3]) == bf16_round(float(-4 * r)));        // -1.46 -> -1.4609375
    p.weighted = false;
    b.rms(p, x.data(), nullptr, y.data());
    for (int j = 0; j < 4; ++j) CHECK(bf16_to_f32(y[j]) == bf16_round(float((j + 1) * r)));
  }
}

TEST_CASE("rmsnorm: constant and zero vectors, |x| = 1e30 does not overflow", "[numerics][ref][cpu]") {
  RmsNormParams p;
  p.n_tokens = 3, p.width = 257, p.weighted = false;
  std::vector<uint16_t> x(3 * 257), y(3 * 257);
  for (int j = 0; j < 257; ++j) {
    x[j] = bf16_from_f32(-3.0f);    // constant c: y = c/sqrt(c² + eps) = −0.99999994 -> −1 in BF16
    x[257 + j] = 0;                 // zero row: y = 0·(1/sqrt(eps)) = 0
    x[514 + j] = bf16_from_f32(1e30f);  // FP32 x² overflows; y must still be 1
  }
  for (const auto& b : kHost) {
    INFO(b.name);
    b.rms(p, x.data(), nullptr, y.data());
    for (int j = 0; j < 257; ++j) {
      CHECK(bf16_to_f32(y[j]) == -1.0f);
      CHECK(bf16_to_f32(y[257 + j]) == 0.0f);
      CHECK(bf16_to_f32(y[514 + j]) == 1.0f);
    }
  }
}

TEST_CASE("rmsnorm: a NaN poisons only its row", "[numerics][ref][cpu]") {
  RmsNormParams p;
  p.n_tokens = 5, p.width = 31;
  std::vector<uint16_t> x = bf16_random(5 * 31, 7), y(5 * 31);
  std::vector<float> w(31, 1.25f);
  x[2 * 31 + 17] = 0x7fc0;  // NaN in row 2
  for (const auto& b : kHost) {
    INFO(b.name);
    b.rms(p, x.data(), w.data(), y.data());
    for (int t = 0; t < 5; ++t)
      for (int j = 0; j < 31; ++j) CHECK(std::isnan(bf16_to_f32(y[t * 31 + j])) == (t == 2));
  }
}

// ---------------------------------------------------------------------------------------------
// RoPE
// ---------------------------------------------------------------------------------------------
TEST_CASE("rope ref: hand-computed pair rotations", "[numerics][ref]") {
  // One pair, θ irrelevant (f_0 = θ^0 = 1), no YaRN: token t at pos0 + t rotates by pos rad.
  RopeParams p = rope_p(2, 1, 2, 2, 0, true);
  p.yarn_factor = 1, p.pos0 = 1;
  const std::vector<uint16_t> x = {bf16_from_f32(1), 0, bf16_from_f32(0.5f), bf16_from_f32(2)};
  std::vector<float> cs(4);
  std::vector<uint16_t> y(4);
  rope_ref(p, x.data(), cs.data(), y.data());
  CHECK(cs[0] == float(std::cos(1.0)));
  CHECK(cs[1] == float(std::sin(1.0)));
  CHECK(cs[2] == float(std::cos(2.0)));
  CHECK(bf16_to_f32(y[0]) == bf16_round(float(std::cos(1.0))));  // (1, 0) -> (cos 1, sin 1)
  CHECK(bf16_to_f32(y[1]) == bf16_round(float(std::sin(1.0))));
  const double c2 = float(std::cos(2.0)), s2 = float(std::sin(2.0));  // (0.5, 2) at 2 rad
  CHECK(bf16_to_f32(y[2]) == bf16_round(float(0.5 * c2 - 2 * s2)));
  CHECK(bf16_to_f32(y[3]) == bf16_round(float(0.5 * s2 + 2 * c2)));
  // Second pair of a 4-wide GPT-J vector uses f_1 = θ^(−1/2) = 0.01 at θ = 10000.
  RopeParams q = rope_p(1, 1, 4, 4, 0, true);
  q.theta = 10000, q.yarn_factor = 1, q.pos0 = 100;
  std::vector<float> cs4(4);
  std::vector<uint16_t> x4 = {0, 0, bf16_from_f32(1), 0}, y4(4);
  rope_ref(q, x4.data(), cs4.data(), y4.data());
  CHECK(cs4[2] == float(std::cos(1.0)));  // angle 100·0.01 = 1 rad
  CHECK(bf16_to_f32(y4[3]) == bf16_round(float(std::sin(1.0))));
}

TEST_CASE("rope: pos 0 is the identity, for both pairings and both backends", "[numerics][ref][cpu]") {
  for (bool il : {true, false}) {
    RopeParams p = rope_p(1, 7, 192, 64, -1, il);
    const auto x = bf16_random(7 * 192, 3);
    for (const auto& b : kHost) {
      INFO(b.name << " interleaved " << il);
      const auto y = run_rope(b.rope, p, x);
      for (int hd = 0; hd < 7; ++hd) CHECK(std::memcmp(&y[hd * 64], &x[hd * 192 + 128], 64 * 2) == 0);
    }
  }
}

TEST_CASE("rope: norm preserved and inverse(forward) = identity with the launch table", "[numerics][ref]") {
  for (bool yarn : {false, true})
    for (int64_t pos0 : {int64_t(0), int64_t(12345), int64_t(1) << 24}) {
      RopeParams p = rope_p(3, 1, 64, 64, 0, true);
      p.pos0 = pos0;
      if (!yarn) p.yarn_factor = 1;
      std::vector<float> cs(3 * 64);
      rope_build_table(p, cs.data());
      Rng rng(uint64_t(pos0) + 11);
      for (int t = 0; t < 3; ++t) {
        double x[64], y[64], z[64];
        for (double& v : x) v = rng.normal();
        rotate_f64(p, &cs[t * 64], x, y, false);
        rotate_f64(p, &cs[t * 64], y, z, true);
        CHECK(std::fabs(norm2(y, 64) / norm2(x, 64) - 1) < 1e-6);
        for (int i = 0; i < 64; ++i) CHECK(std::fabs(z[i] - x[i]) < 1e-6 * norm2(x, 64));
      }
    }
  // The same through the kernels (BF16 rounding at each step): within 2 BF16 ulps of x.
  RopeParams p = rope_p(5, 3, 64, 64, 0, true);
  p.pos0 = 1000;
  const auto x = bf16_random(5 * 3 * 64, 5);
  const auto y = run_rope(rope_ref, p, x);
  p.inverse = true;
  const auto z = run_rope(rope_ref, p, y);
  for (size_t i = 0; i < x.size(); ++i)
    CHECK(std::fabs(bf16_to_f32(z[i]) - bf16_to_f32(x[i])) <= 2 * bf16_ulp(4.0) + 2 * bf16_ulp(bf16_to_f32(x[i])));
}

TEST_CASE("rope: <R(p)q, R(s)k> depends only on p - s (FP64 tables, shift 1e5)", "[numerics][ref]") {
  RopeParams p = rope_p(1, 1, 64, 64, 0, true);  // V4 YaRN frequencies
  std::vector<double> f(32);
  rope_freq_table<double>(p, f.data());
  auto rot = [&](const double* x, int64_t pos, double* y) {
    for (int i = 0; i < 32; ++i) {
      const double a = double(pos) * f[i];
      rope_rotate_pair<double>(x[2 * i], x[2 * i + 1], std::cos(a), std::sin(a), y[2 * i], y[2 * i + 1]);
    }
  };
  Rng rng(17);
  double q[64], k[64], rq[64], rk[64];
  for (int i = 0; i < 64; ++i) q[i] = rng.normal(), k[i] = rng.normal();
  for (auto [ps, ss] : {std::pair<int64_t, int64_t>{7, 3}, {1000, 10}, {40000, 39000}}) {
    auto dot = [&](int64_t a, int64_t b) {
      rot(q, a, rq), rot(k, b, rk);
      double d = 0;
      for (int i = 0; i < 64; ++i) d += rq[i] * rk[i];
      return d;
    };
    const double base = dot(ps, ss), shifted = dot(ps + 100000, ss + 100000);
    CHECK(std::fabs(shifted - base) <= 1e-5 * norm2(q, 64) * norm2(k, 64));
  }
}

TEST_CASE("rope: NeoX(x) = P^T GPTJ(P x) bit-exact", "[numerics][ref][cpu]") {
  // P moves NeoX pair (i, i + h) of the slice to GPT-J positions (2i, 2i + 1).
  const int64_t T = 4, H = 3, D = 128;
  const int R = 64, h = 32;
  const auto x = bf16_random(T * H * D, 21);
  std::vector<uint16_t> px = x;
  for (int64_t v = 0; v < T * H; ++v)
    for (int i = 0; i < h; ++i) {
      px[v * D + 2 * i] = x[v * D + i];
      px[v * D + 2 * i + 1] = x[v * D + i + h];
    }
  for (const auto& b : kHost) {
    INFO(b.name);
    RopeParams neox = rope_p(T, H, D, R, 0, false), gptj = rope_p(T, H, D, R, 0, true);
    neox.pos0 = gptj.pos0 = 777;
    const auto yn = run_rope(b.rope, neox, x), yg = run_rope(b.rope, gptj, px);
    int mismatches = 0;
    for (int64_t v = 0; v < T * H; ++v)
      for (int i = 0; i < h; ++i)
        mismatches += (yn[v * R + i] != yg[v * R + 2 * i]) + (yn[v * R + i + h] != yg[v * R + 2 * i + 1]);
    CHECK(mismatches == 0);
  }
}

TEST_CASE("rope: the rotated slice at rope_offset equals rope of the sliced vector", "[numerics][ref][cpu]") {
  for (auto [D, off] : {std::pair<int64_t, int64_t>{192, 128}, {128, 0}, {200, 37}}) {
    RopeParams p = rope_p(3, 2, D, 64, off, off != 0);
    p.pos0 = 99;
    const auto x = bf16_random(3 * 2 * D, 31);
    std::vector<uint16_t> xs(3 * 2 * 64);
    for (int v = 0; v < 6; ++v) std::memcpy(&xs[v * 64], &x[v * D + off], 64 * 2);
    RopeParams ps = p;
    ps.d_head = 64, ps.rope_offset = 0;
    for (const auto& b : kHost) {
      INFO(b.name << " D " << D << " offset " << off);
      CHECK(run_rope(b.rope, p, x) == run_rope(b.rope, ps, xs));
    }
  }
  RopeParams last = rope_p(1, 1, 192, 64, -1, true);
  CHECK(last.offset() == 128);  // −1 = the last d_rope values (V3/V4 query heads)
}

TEST_CASE("yarn: low/high 15/25 (V4) and 10/23 (V3), f'_0 = f_0, f'_31 = f_31/16", "[numerics][ref]") {
  double low = 0, high = 0;
  yarn_low_high<double>(160000, 64, 65536, 32, 1, low, high);
  CHECK(low == 15.0);
  CHECK(high == 25.0);
  yarn_low_high<double>(10000, 64, 4096, 32, 1, low, high);
  CHECK(low == 10.0);
  CHECK(high == 23.0);
  RopeParams v4;  // defaults are the V4 CSA/HCA rope: θ 160000, s 16, L 65536, β 32/1
  std::vector<double> f(32);
  rope_freq_table<double>(v4, f.data());
  auto f0 = [](int i) { return 1.0 / std::pow(160000.0, 2.0 * i / 64); };
  CHECK(f[0] == f0(0));
  CHECK(f[0] == 1.0);
  for (int i = 0; i <= 15; ++i) CHECK(f[i] == f0(i));          // pairs 0–15 keep f_i
  for (int i = 25; i < 32; ++i) CHECK(f[i] == f0(i) / 16);     // pairs 25–31 use f_i/16
  CHECK(f[31] == f0(31) / 16);
  for (int i = 16; i <= 24; ++i) {                              // 16–24 blend
    CHECK(f[i] < f0(i));
    CHECK(f[i] > f0(i) / 16);
  }
  // low == high gets high += 0.001 (L = 6: c(β) < 0 for both betas, both clamp to 0); factor 1 is off.
  yarn_low_high<double>(10000, 64, 6, 32, 1, low, high);
  CHECK(low == 0.0);
  CHECK(high == 0.001);
  RopeParams off = v4;
  off.yarn_factor = 1;
  rope_freq_table<double>(off, f.data());
  CHECK(f[31] == f0(31));
}

// ---------------------------------------------------------------------------------------------
// SwiGLU
// ---------------------------------------------------------------------------------------------
TEST_CASE("swiglu: V4 clamp cases and NaN propagation", "[numerics][ref][cpu]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // (g, u) -> expected h with L = 10 (moe.md Tests).
  const std::vector<float> g = {50, 1, 1, -50, 3, nan, 2, 10};
  const std::vector<float> u = {1, 50, -50, 1, -2, 1, nan, 10};
  const double silu10 = 10 / (1 + std::exp(-10.0)), silu1 = 1 / (1 + std::exp(-1.0));
  const std::vector<double> want = {silu10, silu1 * 10, -silu1 * 10, -50 / (1 + std::exp(50.0)),
                                    -2 * 3 / (1 + std::exp(-3.0)), nan, nan, 10 * silu10};
  SwigluParams p;
  p.n_tokens = 1, p.width = int64_t(g.size()), p.limit = 10;
  std::vector<float> h(g.size());
  for (const auto& b : kHost) {
    INFO(b.name);
    b.swiglu(p, g.data(), u.data(), h.data());
    for (size_t i = 0; i < g.size(); ++i) {
      INFO(i);
      if (std::isnan(want[i])) {
        CHECK(std::isnan(h[i]));
      } else {
        CHECK(h[i] == Approx(want[i]).epsilon(1e-6));
      }
    }
    CHECK(h[3] < 0);
    CHECK(std::fabs(h[3]) < 1e-20);  // g = −50 is not clamped: silu(−50) ≈ −9.6e-21, not silu(−10)
    p.limit = 0;                     // limit 0: nothing is clamped
    b.swiglu(p, g.data(), u.data(), h.data());
    CHECK(h[0] == Approx(50 / (1 + std::exp(-50.0))).epsilon(1e-6));
    CHECK(h[1] == Approx(silu1 * 50).epsilon(1e-6));
    p.limit = 10;
  }
  CHECK(swiglu_f64(50, 50, 10) == Approx(10 * silu10));
}

// ---------------------------------------------------------------------------------------------
// Errors, empty launches, NaN locality
// ---------------------------------------------------------------------------------------------
TEST_CASE("numerics: invalid configurations are config errors naming the field", "[numerics][ref][cpu]") {
  RopeParams odd = rope_p(1, 1, 64, 7, 0, true);
  require_config_error([&] { odd.validate(); }, "d_rope");
  RopeParams big = rope_p(1, 1, 64, 128, 0, true);
  require_config_error([&] { big.validate(); }, "d_rope");
  RopeParams slice = rope_p(1, 1, 192, 64, 129, true);
  require_config_error([&] { slice.validate(); }, "rope_offset");
  RopeParams beta = rope_p(1, 1, 64, 64, 0, true);
  beta.beta_fast = 1, beta.beta_slow = 32;
  require_config_error([&] { beta.validate(); }, "beta_fast");
  RmsNormParams rms;
  rms.width = 0;
  require_config_error([&] { rms.validate(); }, "width");
  SwigluParams sw;
  sw.width = 0;
  require_config_error([&] { sw.validate(); }, "width");
  // Through the catalogue / registry: ranges, then the cross-field rules at make_io.
  require_config_error([&] { params("rmsnorm", {{"width", 0}}); }, "width");
  require_config_error([&] { params("swiglu", {{"width", 0}}); }, "width");
  require_config_error([&] { params("rope", {{"d_rope", 1}}); }, "d_rope");
  require_config_error([&] { run_once("rope", Backend::Cpu, params("rope", {{"d_rope", 65}}), 1); }, "d_rope");
  require_config_error(
      [&] { run_once("rope", Backend::Ref, params("rope", {{"d_head", 32}, {"d_rope", 64}}), 1); }, "d_rope");
  require_config_error(
      [&] { run_once("rope", Backend::Cpu, params("rope", {{"d_head", 192}, {"rope_offset", 130}}), 1); },
      "rope_offset");
  // The message names the value and the accepted range.
  try {
    slice.validate();
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("129") != std::string::npos);
    CHECK(std::string(e.what()).find("0..128") != std::string::npos);
  }
}

TEST_CASE("numerics: n_tokens = 0 launches nothing and returns empty outputs", "[numerics][ref][cpu]") {
  for (const char* op : {"rmsnorm", "rope", "swiglu"})
    for (Backend b : {Backend::Ref, Backend::Cpu}) {
      INFO(op << " " << backend_name(b));
      const KernelIO io = run_once(op, b, params(op, {{"n_tokens", 0}}), 1);
      for (const auto& t : io.outputs) CHECK(t.numel() == 0);
    }
}

TEST_CASE("numerics: a NaN in one token stays in that token", "[numerics][ref][cpu]") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const auto& b : kHost) {
    INFO(b.name);
    RopeParams p = rope_p(4, 3, 96, 64, 32, true);
    auto x = bf16_random(4 * 3 * 96, 41);
    x[(1 * 3 + 2) * 96 + 32 + 5] = 0x7fc0;  // token 1, head 2, slice value 5 (pair 2)
    const auto y = run_rope(b.rope, p, x);
    for (int64_t i = 0; i < int64_t(y.size()); ++i) {
      const bool in_pair = i / 64 == 1 * 3 + 2 && (i % 64 == 4 || i % 64 == 5);
      CHECK(std::isnan(bf16_to_f32(y[i])) == in_pair);
    }
    SwigluParams sp;
    sp.n_tokens = 3, sp.width = 13;
    std::vector<float> g(39, 1.5f), u(39, -2.0f), h(39);
    g[13 + 4] = nan;
    b.swiglu(sp, g.data(), u.data(), h.data());
    for (int i = 0; i < 39; ++i) CHECK(std::isnan(h[i]) == (i == 17));
  }
}

// ---------------------------------------------------------------------------------------------
// _cpu against _ref through the registry
// ---------------------------------------------------------------------------------------------
TEST_CASE("rmsnorm _cpu matches _ref on odd sizes and V4 shapes", "[numerics][cpu]") {
  uint64_t seed = 100;
  for (int64_t W : {1, 13, 31, 257})
    for (int64_t T : {1, 13, 31})
      for (int w : {0, 1})
        require_all_pass(compare("rmsnorm", Backend::Cpu,
                                 params("rmsnorm", {{"n_tokens", double(T)}, {"width", double(W)}, {"weighted", w}}),
                                 ++seed));
  // d_model 4096 (Flash) / 7168 (Pro), kv 512, and the weightless q-head norm (64 heads × 512).
  for (auto [T, W, w] : {std::tuple{5, 4096, 1}, {3, 7168, 1}, {13, 512, 1}, {64 * 3, 512, 0}})
    require_all_pass(compare("rmsnorm", Backend::Cpu,
                             params("rmsnorm", {{"n_tokens", double(T)}, {"width", double(W)}, {"weighted", w}}),
                             ++seed));
}

TEST_CASE("rope _cpu matches _ref on odd sizes and V4 shapes", "[numerics][cpu]") {
  uint64_t seed = 200;
  for (int64_t T : {1, 13, 31, 257})
    for (int il : {0, 1})
      require_all_pass(compare(
          "rope", Backend::Cpu,
          params("rope", {{"n_tokens", double(T)}, {"n_heads", 3}, {"d_head", 192}, {"interleaved", il}}), ++seed));
  // V4: 64 heads × 512, d_rope 64 (last 64), YaRN on, decode deep into a 1M context; inverse; FP32 angles.
  for (auto [inv, f32, pos0] : {std::tuple{0, 0, 1000000}, {1, 0, 16777216}, {0, 1, 65536}, {0, 0, 0}})
    require_all_pass(compare("rope", Backend::Cpu,
                             params("rope", {{"n_tokens", 3}, {"inverse", inv}, {"fp32_angles", f32}, {"pos0", pos0}}),
                             ++seed));
  // V3.2 indexer: NeoX, first 64 of 128, θ 10000, no YaRN; odd d_rope/offset combinations.
  require_all_pass(compare("rope", Backend::Cpu,
                           params("rope", {{"n_tokens", 13}, {"d_head", 128}, {"rope_offset", 0}, {"interleaved", 0},
                                           {"theta", 10000}, {"yarn_factor", 1}}),
                           ++seed));
  require_all_pass(compare("rope", Backend::Cpu,
                           params("rope", {{"n_tokens", 31}, {"n_heads", 1}, {"d_head", 31}, {"d_rope", 26},
                                           {"rope_offset", 3}, {"yarn_factor", 40}, {"yarn_orig_len", 4096}}),
                           ++seed));
}

TEST_CASE("swiglu _cpu matches _ref on odd sizes and V4 shapes", "[numerics][cpu]") {
  uint64_t seed = 300;
  for (int64_t W : {1, 13, 31, 257})
    for (int64_t T : {1, 13})
      for (double L : {0.0, 10.0})
        require_all_pass(compare("swiglu", Backend::Cpu,
                                 params("swiglu", {{"n_tokens", double(T)}, {"width", double(W)}, {"limit", L}}),
                                 ++seed));
  for (int64_t W : {2048, 3072})
    require_all_pass(compare("swiglu", Backend::Cpu, params("swiglu", {{"n_tokens", 7}, {"width", double(W)}, {"limit", 10}}), ++seed));
}

TEST_CASE("numerics _cpu is deterministic", "[numerics][cpu]") {
  for (const char* op : {"rmsnorm", "rope", "swiglu"}) {
    const ParamMap pm = params(op, {{"n_tokens", 33}});
    const KernelIO a = run_once(op, Backend::Cpu, pm, 9), b = run_once(op, Backend::Cpu, pm, 9);
    for (size_t i = 0; i < a.outputs.size(); ++i)
      CHECK(std::memcmp(a.outputs[i].raw(), b.outputs[i].raw(), a.outputs[i].nbytes()) == 0);
  }
}

// ---------------------------------------------------------------------------------------------
// _cuda against _ref
// ---------------------------------------------------------------------------------------------
TEST_CASE("numerics _cuda matches _ref", "[numerics][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  uint64_t seed = 400;
  for (auto [T, W, w] : {std::tuple{1, 1, 1}, {13, 257, 0}, {31, 4096, 1}, {5, 7168, 1}, {192, 512, 0}})
    require_all_pass(compare("rmsnorm", Backend::Cuda,
                             params("rmsnorm", {{"n_tokens", double(T)}, {"width", double(W)}, {"weighted", w}}),
                             ++seed));
  for (auto [T, il, inv, f32, pos0] :
       {std::tuple{1, 1, 0, 0, 0}, {13, 0, 0, 0, 7}, {31, 1, 1, 0, 1000000}, {3, 1, 0, 1, 65536}, {257, 1, 0, 0, 0}})
    require_all_pass(compare("rope", Backend::Cuda,
                             params("rope", {{"n_tokens", double(T)}, {"interleaved", il}, {"inverse", inv},
                                             {"fp32_angles", f32}, {"pos0", pos0}}),
                             ++seed));
  for (auto [T, W, L] : {std::tuple{1, 1, 10.0}, {13, 31, 0.0}, {7, 2048, 10.0}, {5, 3072, 10.0}})
    require_all_pass(compare("swiglu", Backend::Cuda,
                             params("swiglu", {{"n_tokens", double(T)}, {"width", double(W)}, {"limit", L}}), ++seed));
  for (const char* op : {"rmsnorm", "rope", "swiglu"}) {
    const KernelIO io = run_once(op, Backend::Cuda, params(op, {{"n_tokens", 0}}), 1);
    for (const auto& t : io.outputs) CHECK(t.numel() == 0);
  }
}
