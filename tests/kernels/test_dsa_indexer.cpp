// test_dsa_indexer.cpp — DSA lightning indexer (kernels/attention/dsa_indexer.h; specs/attention.md §3
// tests, §6): scores vs FP64 on identical quantized inputs (rel 1e-5), causal −inf, selection sets
// through attn_topk, the Hadamard leaving unquantized scores unchanged, the NeoX first-64 RoPE pin.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "kernels/attention/dsa_indexer.h"
#include "kernels/attention/topk.h"
#include "kernels/quant/quant.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

TEST_CASE("attn_dsa_indexer: _cpu matches FP64 on identical FP8 inputs", "[attention][cpu]") {
  for (int64_t n : {1, 13, 31, 257})
    test::require_all_pass(test::compare("attn_dsa_indexer", Backend::Cpu,
                                         test::params("attn_dsa_indexer", {{"n_tokens", double(n)}, {"n_ctx", 0}}), uint64_t(n)));
  test::require_all_pass(test::compare("attn_dsa_indexer", Backend::Cpu,
                                       test::params("attn_dsa_indexer", {{"n_tokens", 2}, {"n_ctx", 3000}}), 9));
}

TEST_CASE("attn_dsa_indexer: causal -inf and selection S_t within [0, t] of size min(top_k, t+1)", "[attention][cpu]") {
  const ParamMap pm = test::params("attn_dsa_indexer", {{"n_tokens", 40}, {"n_ctx", 0}});
  const OpKernels* k = find_kernels("attn_dsa_indexer");
  KernelIO io = k->make_io(pm, 3);
  k->prepare.at(Backend::Cpu)(pm, io).launch();
  const float* s = io.out("scores").data<float>();
  for (int64_t t = 0; t < 40; ++t)
    for (int64_t j = 0; j < 40; ++j) CHECK((j > t) == (std::isinf(s[t * 40 + j]) && s[t * 40 + j] < 0));
  TopkParams tp;
  tp.n_queries = 40, tp.n_cand = 40, tp.top_k = 8;
  std::vector<int32_t> len(40), idx(40 * 8), nan(40);
  for (int t = 0; t < 40; ++t) len[size_t(t)] = t + 1;
  topk_cpu(tp, s, len.data(), idx.data(), nan.data());
  for (int64_t t = 0; t < 40; ++t) {
    int cnt = 0;
    for (int64_t j = 0; j < 8; ++j) {
      const int32_t v = idx[size_t(t * 8 + j)];
      if (v < 0) continue;
      ++cnt;
      CHECK(v <= t);
    }
    CHECK(cnt == std::min<int64_t>(8, t + 1));
  }
  CHECK(idx[0] == 0);  // n = 1 ⇒ S = {0}
}

TEST_CASE("attn_dsa_indexer: Hadamard leaves unquantized dot products unchanged", "[attention][ref]") {
  HadamardParams hp;
  hp.rows = 2, hp.n = 128;
  std::vector<float> x(256), y(256);
  for (int i = 0; i < 256; ++i) x[size_t(i)] = float(std::sin(0.37 * i) + 0.1 * i / 256.0);
  hadamard_ref(hp, x.data(), y.data());
  double a = 0, b = 0;
  for (int c = 0; c < 128; ++c) a += double(x[size_t(c)]) * x[size_t(128 + c)], b += double(y[size_t(c)]) * y[size_t(128 + c)];
  CHECK(b == Approx(a).epsilon(1e-5));
}

TEST_CASE("attn_dsa_indexer: RoPE is NeoX on the first 64 dims (golden)", "[attention][ref]") {
  // e_0 at position 3: pair (x[0], x[32]) rotates by 3·f_0 = 3 rad; x[1] and dims 64.. stay 0.
  std::vector<float> x(128, 0.0f);
  x[0] = 1.0f;
  const int32_t pos = 3;
  std::vector<uint8_t> codes(128), scale(1);
  dsa_indexer_prepare(1, 128, 1, &pos, true, false, x.data(), codes.data(), scale.data());
  const float s = ue8m0_to_f32(scale[0]);
  CHECK(fp8_e4m3_to_f32(codes[0]) * s == Approx(std::cos(3.0)).epsilon(1.0 / 16));
  CHECK(fp8_e4m3_to_f32(codes[32]) * s == Approx(std::sin(3.0)).epsilon(1.0 / 16));
  CHECK(fp8_e4m3_to_f32(codes[1]) == 0.0f);
  for (int c = 64; c < 128; ++c) CHECK(fp8_e4m3_to_f32(codes[size_t(c)]) == 0.0f);
}

TEST_CASE("attn_dsa_indexer: invalid params", "[attention][ref]") {
  DsaIndexerParams p;
  p.idx_dim = 100;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("idx_dim"));
  CHECK_THROWS_AS(test::params("attn_dsa_indexer", {{"n_tokens", 10}, {"n_ctx", 5}}).size() &&
                      (dsa_indexer_params_from(test::params("attn_dsa_indexer", {{"n_tokens", 10}, {"n_ctx", 5}})), true),
                  v4lab::Error);
}

TEST_CASE("attn_dsa_indexer: _cuda matches _ref", "[attention][cuda]") {
  if (!test::cuda_or_skip()) return;
  test::require_all_pass(test::compare("attn_dsa_indexer", Backend::Cuda,
                                       test::params("attn_dsa_indexer", {{"n_tokens", 257}, {"n_ctx", 0}}), 1));
}
