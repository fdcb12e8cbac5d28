// test_sparse_attn.cpp — V4 sparse attention core (kernels/attention/sparse_attn.h; specs/attention.md
// §1.4 sink, §4.2, §4.9 tests, §6 tolerances): sink limits, SWA ≡ dense, top-k ≥ visible ≡ dense,
// n_tokens = 1, causality, ring wrap, NaN rules, invalid configs, and _cpu vs _ref via the registry.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "kernels/attention/sparse_attn.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

KernelIO make(const ParamMap& over, uint64_t seed = 7) {
  return find_kernels("attn_sparse")->make_io(test::params("attn_sparse", over), seed);
}

// Runs `fn` on io with params from `over` (lists and data taken from io).
void run(SparseAttnFn fn, const ParamMap& over, KernelIO& io, bool p_bf16 = true) {
  SparseAttnParams p = sparse_attn_params_from(test::params("attn_sparse", over));
  p.p_bf16 = p_bf16;
  fn(p, io.in("q").data<uint16_t>(), io.in("kv").data<uint16_t>(), io.in("cmp").data<uint16_t>(),
     io.in("win_idx").data<int32_t>(), io.in("sel_idx").data<int32_t>(), io.in("sink").data<float>(),
     io.in("pos").data<int32_t>(), io.out("o").data<uint16_t>(), io.out("lse").data<float>(), nullptr);
}

// FP64 dense attention with sink over explicit rows, P unrounded, no RoPE.
std::vector<double> dense(const uint16_t* q, const std::vector<const uint16_t*>& rows, double z, int64_t D) {
  std::vector<double> l(rows.size()), o(size_t(D), 0.0);
  double M = z;
  for (size_t e = 0; e < rows.size(); ++e) {
    double d = 0;
    for (int64_t c = 0; c < D; ++c) d += double(bf16_to_f32(q[c])) * bf16_to_f32(rows[e][c]);
    l[e] = d / std::sqrt(double(D));
    M = std::max(M, l[e]);
  }
  double den = std::exp(z - M);
  for (size_t e = 0; e < rows.size(); ++e) den += std::exp(l[e] - M);
  for (size_t e = 0; e < rows.size(); ++e)
    for (int64_t c = 0; c < D; ++c) o[size_t(c)] += std::exp(l[e] - M) / den * bf16_to_f32(rows[e][c]);
  return o;
}

bool same_bits(const Tensor& a, const Tensor& b, int64_t from, int64_t count) {
  for (int64_t k = from; k < from + count; ++k)
    if (a.data<uint16_t>()[k] != b.data<uint16_t>()[k]) return false;
  return true;
}

}  // namespace

TEST_CASE("attn_sparse: sink limits (-inf plain, +inf zero, z=80 finite, sigma identity)", "[attention][ref][cpu]") {
  const ParamMap over{{"n_tokens", 2}, {"n_ctx", 40}, {"n_heads", 4}, {"d_head", 64}, {"d_rope", 0},
                      {"window", 16}, {"ratio", 4}, {"top_k", 3}, {"o_groups", 1}, {"ring", 0}};
  for (SparseAttnFn fn : {SparseAttnFn(sparse_attn_ref), SparseAttnFn(sparse_attn_cpu)}) {
    KernelIO plain = make(over), with = make(over);
    std::fill_n(plain.in("sink").data<float>(), 4, -kInf);
    run(fn, over, plain, false);
    const float zs[4] = {kInf, 80.0f, 0.5f, -1.0f};
    std::copy(zs, zs + 4, with.in("sink").data<float>());
    run(fn, over, with, false);
    const int64_t D = 64;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t h = 0; h < 4; ++h) {
        const double lse = plain.out("lse").data<float>()[i * 4 + h];
        CHECK(with.out("lse").data<float>()[i * 4 + h] == Approx(lse).epsilon(1e-6));  // lse ignores the sink
        const double sig = zs[h] == kInf ? 0.0 : 1.0 / (1.0 + std::exp(double(zs[h]) - lse));
        for (int64_t c = 0; c < D; ++c) {
          const double a = with.out("o").get((i * 4 + h) * D + c), b = plain.out("o").get((i * 4 + h) * D + c);
          REQUIRE(std::isfinite(a));
          CHECK(std::fabs(a - sig * b) <= 1e-2 * std::fabs(sig * b) + 1e-30);  // o = o_plain·σ(lse − z), BF16 out
        }
      }
  }
}

TEST_CASE("attn_sparse: SWA-only equals dense attention for n <= window, CSA top_k >= visible equals dense",
          "[attention][ref][cpu]") {
  for (int ratio : {0, 4}) {
    const ParamMap over{{"n_tokens", 13}, {"n_ctx", 0}, {"n_heads", 2}, {"d_head", 64}, {"d_rope", 0}, {"window", 16},
                        {"ratio", double(ratio)}, {"top_k", 100}, {"o_groups", 1}, {"ring", 0}};
    KernelIO io = make(over);
    run(sparse_attn_ref, over, io, false);
    const SparseAttnParams p = sparse_attn_params_from(test::params("attn_sparse", over));
    for (int64_t t = 0; t < 13; ++t) {
      std::vector<const uint16_t*> rows;
      for (int64_t s = 0; s <= t; ++s) rows.push_back(io.in("kv").data<uint16_t>() + s * 64);
      if (ratio == 4)
        for (int64_t j = 0; j < (t + 1) / 4; ++j) rows.push_back(io.in("cmp").data<uint16_t>() + j * 64);
      for (int64_t h = 0; h < 2; ++h) {
        const auto want = dense(io.in("q").data<uint16_t>() + (t * 2 + h) * 64, rows, io.in("sink").data<float>()[h], 64);
        for (int64_t c = 0; c < 64; ++c)
          CHECK(io.out("o").get((t * 2 + h) * 64 + c) == Approx(want[size_t(c)]).epsilon(1.0 / 256).margin(1e-6));
      }
    }
    (void)p;
  }
}

TEST_CASE("attn_sparse: n_tokens = 1 gives sigma(l - z) kv_0 (inverse RoPE undoes position 0)", "[attention][ref][cpu]") {
  const ParamMap over{{"n_tokens", 1}, {"n_ctx", 1}, {"n_heads", 3}, {"d_head", 128}, {"window", 128},
                      {"ratio", 4}, {"o_groups", 1}, {"ring", 0}};
  for (SparseAttnFn fn : {SparseAttnFn(sparse_attn_ref), SparseAttnFn(sparse_attn_cpu)}) {
    KernelIO io = make(over);
    run(fn, over, io);
    for (int64_t h = 0; h < 3; ++h) {
      double d = 0;
      for (int64_t c = 0; c < 128; ++c) d += io.in("q").get(h * 128 + c) * io.in("kv").get(c);
      const double l = d / std::sqrt(128.0), z = io.in("sink").data<float>()[h];
      const double sig = 1.0 / (1.0 + std::exp(z - l));
      for (int64_t c = 0; c < 128; ++c)
        CHECK(io.out("o").get(h * 128 + c) == Approx(sig * io.in("kv").get(c)).epsilon(1.0 / 128).margin(1e-6));
    }
  }
}

TEST_CASE("attn_sparse: causality — perturbing positions > t leaves outputs <= t bit-identical", "[attention][cpu]") {
  for (int ratio : {0, 4, 8}) {
    const ParamMap over{{"n_tokens", 40}, {"n_ctx", 0}, {"n_heads", 2}, {"d_head", 64}, {"window", 8},
                        {"ratio", double(ratio)}, {"top_k", 4}, {"o_groups", 1}, {"ring", 0}};
    const int64_t t = 21;
    KernelIO a = make(over), b = make(over);
    for (int64_t s = t + 1; s < 40; ++s)
      for (int64_t c = 0; c < 64; ++c) b.in("kv").data<uint16_t>()[s * 64 + c] = 0x7fc0;  // NaN
    const int64_t ncmp = b.in("cmp").shape()[0];
    const int64_t first_hidden = ratio > 0 ? (t + 1) / ratio : 0;
    for (int64_t j = first_hidden; j < ncmp; ++j)
      for (int64_t c = 0; c < 64; ++c) b.in("cmp").data<uint16_t>()[j * 64 + c] = 0x7fc0;
    run(sparse_attn_cpu, over, a);
    run(sparse_attn_cpu, over, b);
    CHECK(same_bits(a.out("o"), b.out("o"), 0, (t + 1) * 2 * 64));
  }
}

TEST_CASE("attn_sparse: NaN key poisons exactly the queries whose window holds it", "[attention][ref][cpu]") {
  const ParamMap over{{"n_tokens", 40}, {"n_ctx", 0}, {"n_heads", 2}, {"d_head", 64}, {"window", 8},
                      {"ratio", 0}, {"o_groups", 1}, {"ring", 0}};
  for (SparseAttnFn fn : {SparseAttnFn(sparse_attn_ref), SparseAttnFn(sparse_attn_cpu)}) {
    KernelIO io = make(over);
    io.in("kv").data<uint16_t>()[20 * 64 + 5] = 0x7fc0;
    run(fn, over, io);
    for (int64_t t = 0; t < 40; ++t) {
      const bool hit = t >= 20 && t < 28;
      CHECK(std::isnan(io.out("o").get(t * 2 * 64 + 3)) == hit);
    }
  }
}

TEST_CASE("attn_sparse: ring wrap — decode through positions 126..129 equals prefill", "[attention][ref][cpu]") {
  const ParamMap pre{{"n_tokens", 130}, {"n_ctx", 0}, {"n_heads", 2}, {"d_head", 64}, {"window", 128},
                     {"ratio", 0}, {"o_groups", 1}, {"ring", 0}};
  KernelIO full = make(pre);
  run(sparse_attn_cpu, pre, full);
  for (int64_t t = 126; t < 130; ++t) {
    const ParamMap dec{{"n_tokens", 1}, {"n_ctx", double(t + 1)}, {"n_heads", 2}, {"d_head", 64}, {"window", 128},
                       {"ratio", 0}, {"o_groups", 1}, {"ring", 1}};
    KernelIO io = make(dec);
    std::copy_n(full.in("q").data<uint16_t>() + t * 2 * 64, 2 * 64, io.in("q").data<uint16_t>());
    std::copy_n(full.in("sink").data<float>(), 2, io.in("sink").data<float>());
    for (int64_t s = std::max<int64_t>(0, t - 127); s <= t; ++s)  // slot = pos mod 128
      std::copy_n(full.in("kv").data<uint16_t>() + s * 64, 64, io.in("kv").data<uint16_t>() + (s % 128) * 64);
    for (SparseAttnFn fn : {SparseAttnFn(sparse_attn_ref), SparseAttnFn(sparse_attn_cpu)}) {
      run(fn, dec, io);
      KernelIO ref = make(pre);
      run(fn, pre, ref);
      for (int64_t k = 0; k < 2 * 64; ++k)
        CHECK(io.out("o").data<uint16_t>()[k] == ref.out("o").data<uint16_t>()[t * 2 * 64 + k]);
    }
  }
}

TEST_CASE("attn_sparse: invalid configs name the field", "[attention][ref]") {
  CHECK_THROWS_AS(make({{"n_heads", 12}, {"o_groups", 8}}), v4lab::Error);
  CHECK_THROWS_AS(make({{"window", 0}}), v4lab::Error);
  CHECK_THROWS_AS(make({{"d_rope", 63}}), v4lab::Error);
  CHECK_THROWS_AS(make({{"d_rope", 1024}}), v4lab::Error);
  SparseAttnLayout L;
  L.top_k = -1;
  CHECK_THROWS_WITH(L.validate(), Catch::Contains("top_k"));
  L.top_k = 1, L.window = 0;
  CHECK_THROWS_WITH(L.validate(), Catch::Contains("window"));
  SparseAttnParams p;
  p.d_rope = 7;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("d_rope"));
}

TEST_CASE("attn_sparse: _cpu matches _ref (random, odd and real shapes)", "[attention][cpu]") {
  // Decode at V4-Flash shape (64 heads, d 512, window 128, CSA top_k 512) with the ring, HCA and SWA.
  test::require_all_pass(test::compare("attn_sparse", Backend::Cpu, test::params("attn_sparse", {{"n_ctx", 4096}}), 1));
  test::require_all_pass(test::compare(
      "attn_sparse", Backend::Cpu, test::params("attn_sparse", {{"n_ctx", 20000}, {"ratio", 128}, {"n_heads", 16}}), 2));
  test::require_all_pass(test::compare(
      "attn_sparse", Backend::Cpu, test::params("attn_sparse", {{"n_tokens", 2}, {"n_ctx", 300}, {"ratio", 0}}), 3));
  for (int64_t n : {1, 13, 31, 257}) {
    const ParamMap pm = test::params("attn_sparse", {{"n_tokens", double(n)}, {"n_ctx", 0}, {"ring", 0}, {"n_heads", 4},
                                                     {"o_groups", 4}, {"top_k", 16}, {"ratio", n % 2 ? 4.0 : 128.0}});
    test::require_all_pass(test::compare("attn_sparse", Backend::Cpu, pm, uint64_t(n)));
  }
  test::require_all_pass(test::compare(
      "attn_sparse", Backend::Cpu,
      test::params("attn_sparse", {{"n_tokens", 31}, {"n_ctx", 900}, {"n_heads", 8}, {"top_k", 64}, {"p_bf16", 0}}), 4));
}

TEST_CASE("attn_sparse: _cuda matches _ref", "[attention][cuda]") {
  if (!test::cuda_or_skip()) return;
  test::require_all_pass(test::compare("attn_sparse", Backend::Cuda, test::params("attn_sparse", {{"n_ctx", 4096}}), 1));
  test::require_all_pass(test::compare(
      "attn_sparse", Backend::Cuda, test::params("attn_sparse", {{"n_tokens", 31}, {"n_ctx", 0}, {"ring", 0}, {"n_heads", 8}}), 2));
}
