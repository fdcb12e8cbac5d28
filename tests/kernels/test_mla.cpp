// test_mla.cpp — MLA decode core (kernels/attention/mla.h; specs/attention.md §2 tests, §3 DSA
// equivalence, §6): naive ≡ absorbed (FP64 1e-10, FP32 per §6), mscale rule, n_tokens = 1,
// top_k ≥ n ≡ dense, causality, invalid params, and _cpu vs _ref via the registry.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/attention/mla.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

const ParamMap kSmall{{"n_tokens", 3}, {"n_ctx", 21}, {"n_heads", 4}, {"d_nope", 16}, {"d_rope", 8},
                      {"kv_rank", 32}, {"d_v", 16}};

KernelIO make(const ParamMap& over, uint64_t seed = 5) {
  return find_kernels("attn_mla_decode")->make_io(test::params("attn_mla_decode", over), seed);
}
std::vector<double> run64(const MlaParams& p, MlaForm f, const KernelIO& io, std::vector<double>* lse = nullptr) {
  std::vector<double> o(size_t(p.n_q * p.n_heads * p.d_v)), l(size_t(p.n_q * p.n_heads));
  mla_decode_ref_f64(p, f, io.in("q").data<uint16_t>(), io.in("cache").data<uint16_t>(), io.in("w_kvb").data<uint16_t>(),
                     io.in("pos").data<int32_t>(), io.in("idx").data<int32_t>(), o.data(), l.data());
  if (lse) *lse = l;
  return o;
}
std::vector<float> run_cpu(const MlaParams& p, const KernelIO& io) {
  std::vector<float> o(size_t(p.n_q * p.n_heads * p.d_v)), l(size_t(p.n_q * p.n_heads));
  mla_decode_cpu(p, io.in("q").data<uint16_t>(), io.in("cache").data<uint16_t>(), io.in("w_kvb").data<uint16_t>(),
                 io.in("pos").data<int32_t>(), io.in("idx").data<int32_t>(), o.data(), l.data());
  return o;
}

}  // namespace

TEST_CASE("attn_mla_decode: naive and absorbed agree (FP64 1e-10, FP32 1e-5)", "[attention][ref][cpu]") {
  for (double k : {0.0, 7.0}) {
    ParamMap over = kSmall;
    over["top_k"] = k;
    const MlaParams p = mla_params_from(test::params("attn_mla_decode", over));
    const KernelIO io = make(over);
    const auto a = run64(p, MlaForm::Naive, io), b = run64(p, MlaForm::Absorbed, io);
    double m = 0;
    for (double v : b) m = std::max(m, std::fabs(v));
    for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(a[i] - b[i]) <= 1e-10 * m);
    MlaParams pn = p, pa = p;
    pn.form = MlaForm::Naive, pa.form = MlaForm::Absorbed;
    const auto cn = run_cpu(pn, io), ca = run_cpu(pa, io);
    for (size_t i = 0; i < a.size(); ++i) CHECK(std::fabs(cn[i] - ca[i]) <= 2e-5 * std::fabs(b[i]) + 2e-6 * m);
  }
}

TEST_CASE("attn_mla_decode: softmax scale is 192^-0.5 times m^2 iff max_seq_len > 4096", "[attention][ref]") {
  MlaParams p;
  p.max_seq_len = 4096;
  CHECK(p.softmax_scale() == Approx(1.0 / std::sqrt(192.0)).epsilon(1e-15));
  p.max_seq_len = 4097;
  const double m = 0.1 * std::log(40.0) + 1;
  CHECK(m * m == Approx(1.87385).epsilon(1e-5));
  CHECK(p.softmax_scale() == Approx(m * m / std::sqrt(192.0)).epsilon(1e-15));
}

TEST_CASE("attn_mla_decode: n_tokens = 1 gives o_h = W_UV,h c_kv,0", "[attention][ref][cpu]") {
  ParamMap over = kSmall;
  over["n_tokens"] = 1, over["n_ctx"] = 1;
  const MlaParams p = mla_params_from(test::params("attn_mla_decode", over));
  const KernelIO io = make(over);
  const auto o = run64(p, MlaForm::Absorbed, io);
  const auto oc = run_cpu(p, io);
  for (int64_t h = 0; h < p.n_heads; ++h)
    for (int64_t r = 0; r < p.d_v; ++r) {
      double want = 0;
      for (int64_t c = 0; c < p.kv_rank; ++c)
        want += io.in("w_kvb").get((h * (p.d_nope + p.d_v) + p.d_nope + r) * p.kv_rank + c) * io.in("cache").get(c);
      CHECK(o[size_t(h * p.d_v + r)] == Approx(want).epsilon(1e-12).margin(1e-14));
      CHECK(oc[size_t(h * p.d_v + r)] == Approx(want).epsilon(1e-5).margin(1e-6));
    }
}

TEST_CASE("attn_mla_decode: DSA with top_k >= n equals dense causal MLA, causality", "[attention][ref][cpu]") {
  ParamMap dense = kSmall, sparse = kSmall;
  sparse["top_k"] = 64;  // > n_ctx: every visible token is in S_t
  const MlaParams pd = mla_params_from(test::params("attn_mla_decode", dense));
  const MlaParams ps = mla_params_from(test::params("attn_mla_decode", sparse));
  const KernelIO a = make(dense), b = make(sparse);
  const auto oa = run64(pd, MlaForm::Absorbed, a), ob = run64(ps, MlaForm::Absorbed, b);
  for (size_t i = 0; i < oa.size(); ++i) CHECK(oa[i] == Approx(ob[i]).epsilon(1e-12).margin(1e-14));
  // Causality: tokens after the last query position never matter; earlier queries ignore later rows.
  KernelIO c = make(dense);
  const int32_t pos0 = c.in("pos").data<int32_t>()[0];
  for (int64_t s = pos0 + 1; s < pd.n_ctx; ++s) c.in("cache").data<uint16_t>()[s * pd.d_cache()] ^= 0x0100;
  const auto o1 = run_cpu(pd, a), o2 = run_cpu(pd, c);
  for (int64_t k = 0; k < pd.n_heads * pd.d_v; ++k) CHECK(o1[size_t(k)] == o2[size_t(k)]);
}

TEST_CASE("attn_mla_decode: invalid params", "[attention][ref]") {
  MlaParams p;
  p.top_k = -1;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("top_k"));
  p.top_k = 0, p.d_rope = 7;
  CHECK_THROWS_AS(p.validate(), v4lab::Error);
  CHECK_THROWS_AS(test::params("attn_mla_decode", {{"form", 2}}), v4lab::Error);
}

TEST_CASE("attn_mla_decode: _cpu matches _ref (both forms, odd and real-ish shapes)", "[attention][cpu]") {
  for (int form : {0, 1})
    for (int64_t n : {1, 13, 31, 257}) {
      ParamMap over = kSmall;
      over["form"] = form, over["n_ctx"] = double(n), over["n_tokens"] = 1;
      test::require_all_pass(test::compare("attn_mla_decode", Backend::Cpu, test::params("attn_mla_decode", over), uint64_t(n)));
    }
  // V3 head shapes (192/128, kv_rank 512) with 16 heads, absorbed decode at n_ctx 1024 and DSA top_k 256.
  test::require_all_pass(test::compare("attn_mla_decode", Backend::Cpu,
                                       test::params("attn_mla_decode", {{"n_heads", 16}, {"n_ctx", 1024}}), 1));
  test::require_all_pass(test::compare(
      "attn_mla_decode", Backend::Cpu, test::params("attn_mla_decode", {{"n_heads", 16}, {"n_ctx", 1024}, {"top_k", 256}, {"n_tokens", 2}}), 2));
  test::require_all_pass(test::compare("attn_mla_decode", Backend::Cpu,
                                       test::params("attn_mla_decode", {{"n_heads", 2}, {"n_ctx", 40}, {"form", 0}}), 3));
}

TEST_CASE("attn_mla_decode: _cuda matches _ref", "[attention][cuda]") {
  if (!test::cuda_or_skip()) return;
  for (int form : {0, 1})
    test::require_all_pass(test::compare(
        "attn_mla_decode", Backend::Cuda, test::params("attn_mla_decode", {{"n_heads", 16}, {"n_ctx", 300}, {"form", double(form)}}), 1));
}

TEST_CASE("attn_mla_decode: decoding a prompt token by token reproduces the all-queries call", "[attention][ref][cpu]") {
  // n_tokens = n_ctx: queries at positions 0..12 attend causally over one cache (the prefill view);
  // then each position alone, over a cache holding only tokens 0..i (the decode view).
  ParamMap over = kSmall;
  over["n_tokens"] = 13, over["n_ctx"] = 13;
  const MlaParams p = mla_params_from(test::params("attn_mla_decode", over));
  const KernelIO io = make(over, 9);
  const auto all64 = run64(p, MlaForm::Absorbed, io);
  const auto all32 = run_cpu(p, io);
  const int64_t row = p.n_heads * p.d_v, qrow = p.n_heads * p.d_qk();
  for (int64_t i = 0; i < p.n_q; ++i) {
    MlaParams one = p;
    one.n_q = 1, one.n_ctx = i + 1;
    const int32_t pos = io.in("pos").data<int32_t>()[i];
    REQUIRE(pos == i);
    std::vector<double> o64(static_cast<size_t>(row)), l64(static_cast<size_t>(p.n_heads));
    std::vector<float> o32(static_cast<size_t>(row)), l32(static_cast<size_t>(p.n_heads));
    const uint16_t* q = io.in("q").data<uint16_t>() + i * qrow;
    mla_decode_ref_f64(one, MlaForm::Absorbed, q, io.in("cache").data<uint16_t>(), io.in("w_kvb").data<uint16_t>(),
                       &pos, nullptr, o64.data(), l64.data());
    mla_decode_cpu(one, q, io.in("cache").data<uint16_t>(), io.in("w_kvb").data<uint16_t>(), &pos, nullptr,
                   o32.data(), l32.data());
    double num = 0, den = 0;
    for (int64_t k = 0; k < row; ++k) {
      INFO("position " << i << " element " << k);
      CHECK(o64[size_t(k)] == Approx(all64[size_t(i * row + k)]).epsilon(1e-12).margin(1e-14));
      const double dlt = double(o32[size_t(k)]) - all32[size_t(i * row + k)];
      num += dlt * dlt, den += double(all32[size_t(i * row + k)]) * all32[size_t(i * row + k)];
    }
    CHECK(std::sqrt(num / std::max(den, 1e-300)) <= 1e-6);  // §6: decode vs prefill, FP32 rel-L2
  }
}
