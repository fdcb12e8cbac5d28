// test_hc.cpp — unconstrained hyper-connections (specs/mhc.md "Unconstrained HC"): hc_pre _ref
// against hand-computed cases and the HC paper's Pre-Norm-equivalent init, the H_res ↔ comb transpose
// that lets mhc_post apply HC's residual update, _cpu (and _cuda) against _ref, errors and cost.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "core/ops/mhc_cost.h"
#include "kernels/mhc/hc.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

struct HcSite {
  MhcParams p;
  std::vector<uint16_t> x, y;
  std::vector<float> theta, alpha, bias, h_pre, h_post, comb, dots;
  explicit HcSite(MhcParams q) : p(q) {
    const int64_t T = p.n_tokens, n = p.hc, d = p.d_model;
    x.assign(T * n * d, 0), y.assign(T * d, 0), theta.assign((n + 2) * d, 0.f), alpha = {0.f, 0.f, 0.f};
    bias.assign(2 * n + n * n, 0.f), h_pre.assign(T * n, 0.f), h_post.assign(T * n, 0.f);
    comb.assign(T * n * n, 0.f), dots.assign(T * n * (n + 2), 0.f);
  }
  void run_ref() {
    hc_pre_ref(p, x.data(), theta.data(), alpha.data(), bias.data(), y.data(), h_pre.data(), h_post.data(),
               comb.data(), dots.data());
  }
};

MhcParams hc_params(int64_t T, int n, int64_t d) {
  MhcParams p;
  p.n_tokens = T, p.hc = n, p.d_model = d;
  return p;
}

}  // namespace

TEST_CASE("hc_pre: hand-computed n = 1, d = 2", "[ref]") {
  HcSite s(hc_params(1, 1, 2));
  s.x = {bf16_from_f32(3.0f), bf16_from_f32(4.0f)};
  s.theta = {1.0f, 0.0f, 0.0f, 1.0f, 0.5f, 0.5f};  // θ_pre = e0, θ_post = e1, θ_res = (½, ½)
  s.alpha = {0.5f, 2.0f, 1.0f};
  s.bias = {0.25f, -1.0f, 0.1f};
  s.run_ref();
  const double r = 1.0 / std::sqrt(12.5 + 1e-6);  // mean(9, 16) = 12.5
  CHECK(s.dots[0] == Approx(3 * r).epsilon(1e-6));
  CHECK(s.dots[1] == Approx(4 * r).epsilon(1e-6));
  CHECK(s.dots[2] == Approx(3.5 * r).epsilon(1e-6));
  CHECK(s.h_pre[0] == Approx(0.5 * std::tanh(3 * r) + 0.25).epsilon(1e-6));
  CHECK(s.h_post[0] == Approx(2.0 * std::tanh(4 * r) - 1.0).epsilon(1e-6));
  CHECK(s.comb[0] == Approx(std::tanh(3.5 * r) + 0.1).epsilon(1e-6));
  CHECK(bf16_to_f32(s.y[0]) == bf16_to_f32(bf16_from_f32(float(s.h_pre[0] * 3.0))));
}

TEST_CASE("hc_pre: the Pre-Norm-equivalent init selects one stream and keeps the identity residual", "[ref][cpu]") {
  const int n = 4;
  const int64_t d = 13;
  for (int site = 0; site < 6; ++site) {
    HcSite s(hc_params(3, n, d));
    Rng rng(40 + site);
    for (auto& v : s.x) v = bf16_from_f32(float(rng.normal()));
    hc_init_site(n, d, site, s.theta.data(), s.alpha.data(), s.bias.data());
    s.run_ref();
    for (int64_t t = 0; t < 3; ++t) {
      for (int i = 0; i < n; ++i) {
        CHECK(s.h_pre[t * n + i] == (i == site % n ? 1.0f : 0.0f));
        CHECK(s.h_post[t * n + i] == 1.0f);
        for (int j = 0; j < n; ++j) CHECK(s.comb[(t * n + i) * n + j] == (i == j ? 1.0f : 0.0f));
      }
      // y is exactly the selected stream (a BF16 value times 1, rounded once)
      CHECK(std::memcmp(&s.y[t * d], &s.x[(t * n + site % n) * d], d * sizeof(uint16_t)) == 0);
    }
  }
}

TEST_CASE("hc_pre: comb = H_res transposed, so mhc_post applies HC's update X'_j = sum_i H_res[j][i] X_i",
          "[ref]") {
  HcSite s(hc_params(1, 2, 1));
  s.x = {bf16_from_f32(1.0f), bf16_from_f32(10.0f)};
  // α = 0: the coefficients are the biases. b_res = [[0.9, 0.1], [0.3, 0.7]] (row j = output stream).
  s.bias = {0.f, 0.f, 0.f, 0.f, 0.9f, 0.1f, 0.3f, 0.7f};
  s.run_ref();
  CHECK(s.comb[0 * 2 + 1] == 0.3f);  // comb[i=0][j=1] = H_res[1][0]
  CHECK(s.comb[1 * 2 + 0] == 0.1f);
  std::vector<uint16_t> f = {bf16_from_f32(0.0f)}, out(2);
  mhc_post_ref(s.p, f.data(), s.x.data(), s.h_post.data(), s.comb.data(), out.data());
  CHECK(bf16_to_f32(out[0]) == bf16_round(0.9f * 1.0f + 0.1f * 10.0f));  // X'_0 = 0.9 X_0 + 0.1 X_1
  CHECK(bf16_to_f32(out[1]) == bf16_round(0.3f * 1.0f + 0.7f * 10.0f));  // X'_1 = 0.3 X_0 + 0.7 X_1
}

TEST_CASE("hc_pre: _cpu matches _ref on odd sizes and V4 shapes, reruns bit-identical", "[cpu]") {
  uint64_t seed = 0x4c;
  struct Case {
    int n;
    int64_t d, T;
  };
  for (Case c : {Case{1, 1, 1}, Case{2, 13, 31}, Case{3, 257, 13}, Case{4, 4096, 13}, Case{4, 7168, 3},
                 Case{8, 31, 257}, Case{5, 100, 1}}) {
    INFO("n = " << c.n << " d = " << c.d << " T = " << c.T);
    const ParamMap pm = v4lab::test::params("hc_pre", {{"n_tokens", double(c.T)}, {"hc", double(c.n)},
                                                       {"d_model", double(c.d)}});
    v4lab::test::require_all_pass(v4lab::test::compare("hc_pre", Backend::Cpu, pm, ++seed));
  }
  const ParamMap pm = v4lab::test::params("hc_pre", {{"n_tokens", 37}});
  const KernelIO a = run_once("hc_pre", Backend::Cpu, pm, 5), b = run_once("hc_pre", Backend::Cpu, pm, 5);
  for (size_t i = 0; i < a.outputs.size(); ++i)
    CHECK(std::memcmp(a.outputs[i].raw(), b.outputs[i].raw(), a.outputs[i].nbytes()) == 0);
}

TEST_CASE("hc_pre: bad shapes and parameters are configuration errors, n_tokens = 0 is empty", "[ref][cpu]") {
  CHECK_THROWS_AS(v4lab::test::params("hc_pre", {{"hc", 9}}), Error);
  CHECK_THROWS_AS(v4lab::test::params("hc_pre", {{"d_model", 0}}), Error);
  const ParamMap pm = v4lab::test::params("hc_pre", {{"n_tokens", 2}, {"d_model", 8}});
  const OpKernels* k = find_kernels("hc_pre");
  KernelIO io = k->make_io(pm, 1);
  io.inputs[1] = Tensor("theta", DType::F32, {5, 8});  // needs [n+2, d] = [6, 8]
  CHECK_THROWS_AS(k->prepare.at(Backend::Cpu)(pm, io), Error);
  const KernelIO empty = run_once("hc_pre", Backend::Cpu, v4lab::test::params("hc_pre", {{"n_tokens", 0}}), 1);
  for (const auto& t : empty.outputs) CHECK(t.numel() == 0);
}

TEST_CASE("hc_pre: cost formulas", "[sim]") {
  MhcShape s;
  s.n_tokens = 1, s.hc = 4, s.d_model = 4096;
  // d·(2n² + 8n) + 3n² + 8n = 64·4096 + 80; the projections alone are the spec's 2·n·d·(n+2).
  CHECK(hc_pre_flops_per_token(s) == 64.0 * 4096 + 80);
  CHECK(hc_pre_flops_per_token(s) - 2.0 * 4 * 4096 * 6 == 16.0 * 4096 + 80);  // sumsq 2nd + apply 2nd
  CHECK(hc_pre_transcendentals_per_token(s) == 4 + 16 + 8);
  s.n_tokens = 10;
  CHECK(hc_pre_bytes(s) == 10 * (2.0 * 4 * 4096 + 2.0 * 4096) + 4.0 * 6 * 4096);
  s.n_tokens = 0;
  CHECK(hc_pre_bytes(s) == 0);
  const OpWork w = get_op("hc_pre").work(v4lab::test::params("hc_pre", {{"n_tokens", 3}}));
  CHECK(w.flops == 3 * (64.0 * 4096 + 80));
}

TEST_CASE("hc_pre: _cuda matches _ref", "[cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  uint64_t seed = 0x4d;
  for (int n : {1, 4, 8})
    for (int64_t T : {1, 13}) {
      const ParamMap pm = v4lab::test::params("hc_pre", {{"n_tokens", double(T)}, {"hc", double(n)}});
      v4lab::test::require_all_pass(v4lab::test::compare("hc_pre", Backend::Cuda, pm, ++seed));
    }
}
