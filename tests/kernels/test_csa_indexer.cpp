// test_csa_indexer.cpp — CSA lightning-indexer scores (kernels/attention/csa_indexer.h; specs/attention.md
// §4.2, §4.9, §6): visibility (entry j visible to query t iff (j+1)·4 ≤ t+1), _cpu vs the FP64 _ref on
// identical quantized inputs (|Δ| ≤ 1e-5·Σ|terms|) at decode, MTP and causal prefill shapes, keys decoded
// from the 68 B layout, decode ≡ the last prefill row, indexer + attn_topk with k_t = min(top_k, ⌊(t+1)/4⌋),
// n_ctx < 4 (no keys, no error), invalid configs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/attention/csa_indexer.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/attention/topk.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

ParamMap shape(double T, double n_ctx, double H = 64, double K = 128) {
  return v4lab::test::params("attn_csa_indexer", {{"n_tokens", T}, {"n_ctx", n_ctx}, {"idx_heads", H}, {"idx_dim", K}});
}

KernelIO run(Backend b, const ParamMap& pm, uint64_t seed) {
  const OpKernels* k = find_kernels("attn_csa_indexer");
  REQUIRE(k != nullptr);
  KernelIO io = k->make_io(pm, seed);
  PreparedRun r = k->prepare.at(b)(pm, io);
  r.launch();
  if (r.sync_outputs) r.sync_outputs();
  return io;
}

}  // namespace

TEST_CASE("csa indexer: visibility (j+1)·4 <= t+1", "[attention][ref][cpu]") {
  for (Backend b : {Backend::Ref, Backend::Cpu}) {
    const KernelIO io = run(b, shape(41, 41, 8, 32), 1);
    const float* s = io.out("scores").data<float>();
    const int64_t N = 10;
    for (int64_t t = 0; t < 41; ++t) {
      CHECK(io.out("lengths").data<int32_t>()[t] == (t + 1) / 4);
      for (int64_t j = 0; j < N; ++j) {
        const bool visible = (j + 1) * 4 <= t + 1;
        CHECK(std::isfinite(s[t * N + j]) == visible);
        if (!visible) CHECK(s[t * N + j] == -INFINITY);
      }
    }
  }
}

TEST_CASE("csa indexer: cpu vs FP64 ref on identical quantized inputs", "[attention][cpu]") {
  for (const ParamMap& pm : {shape(1, 4099), shape(2, 1000), shape(257, 257), shape(31, 131, 13, 32),
                             shape(13, 13, 1, 64), shape(1, 1), shape(3, 3), shape(1, 65536, 64, 128)}) {
    INFO("n_tokens " << pm.at("n_tokens") << " n_ctx " << pm.at("n_ctx") << " heads " << pm.at("idx_heads"));
    v4lab::test::require_all_pass(v4lab::test::compare("attn_csa_indexer", Backend::Cpu, pm, 9));
  }
}

TEST_CASE("csa indexer: keys decoded from the 68 B layout give the same scores", "[attention][cpu]") {
  const ParamMap pm = shape(2, 256);
  const OpKernels* k = find_kernels("attn_csa_indexer");
  KernelIO io = k->make_io(pm, 3);
  const CsaIndexerParams p = csa_indexer_params_from(pm);
  const int64_t N = p.n_entries();
  std::vector<float> s0(static_cast<size_t>(2 * N)), s1(static_cast<size_t>(2 * N));
  std::vector<int32_t> len(2);
  csa_indexer_cpu(p, io.in("q").data<uint16_t>(), io.in("keys").data<uint16_t>(), io.in("w").data<float>(), s0.data(),
                  len.data());
  // Re-encode the (already quantized) keys: FP4 quantization is idempotent, so decode(encode(k)) = k.
  V4IdxLayout l;
  l.page_tokens = N;
  std::vector<uint8_t> page(static_cast<size_t>(l.page_bytes()));
  std::vector<float> row(128);
  std::vector<uint16_t> keys(static_cast<size_t>(N * 128));
  for (int64_t j = 0; j < N; ++j) {
    for (int i = 0; i < 128; ++i) row[i] = bf16_to_f32(io.in("keys").data<uint16_t>()[j * 128 + i]);
    v4_idx_encode(l, row.data(), j, page.data());
    v4_idx_decode(l, page.data(), j, keys.data() + j * 128);
  }
  CHECK(std::memcmp(keys.data(), io.in("keys").raw(), keys.size() * 2) == 0);
  csa_indexer_cpu(p, io.in("q").data<uint16_t>(), keys.data(), io.in("w").data<float>(), s1.data(), len.data());
  CHECK(std::memcmp(s0.data(), s1.data(), s0.size() * 4) == 0);
}

TEST_CASE("csa indexer: decode ≡ the last row of the prefill", "[attention][cpu]") {
  const CsaIndexerParams pre{64, 64, 64, 128, 4};
  const KernelIO io = run(Backend::Cpu, shape(64, 64), 12);
  const CsaIndexerParams dec{1, 64, 64, 128, 4};
  const int64_t N = 16;
  std::vector<float> s(N);
  int32_t len = 0;
  csa_indexer_cpu(dec, io.in("q").data<uint16_t>() + 63 * 64 * 128, io.in("keys").data<uint16_t>(),
                  io.in("w").data<float>() + 63 * 64, s.data(), &len);
  CHECK(len == 16);
  CHECK(std::memcmp(s.data(), io.out("scores").data<float>() + 63 * N, N * 4) == 0);
  (void)pre;
}

TEST_CASE("csa indexer + attn_topk: k_t = min(top_k, floor((t+1)/4))", "[attention][cpu]") {
  const int64_t T = 200, N = 50, top_k = 8;
  const KernelIO io = run(Backend::Cpu, shape(double(T), double(T), 16, 64), 5);
  TopkParams tp;
  tp.n_queries = T, tp.n_cand = N, tp.top_k = top_k;
  std::vector<int32_t> idx(static_cast<size_t>(T * top_k)), nan(static_cast<size_t>(T));
  topk_cpu(tp, io.out("scores").data<float>(), io.out("lengths").data<int32_t>(), idx.data(), nan.data());
  const float* s = io.out("scores").data<float>();
  for (int64_t t = 0; t < T; ++t) {
    const int64_t len = (t + 1) / 4, k = std::min(top_k, len);
    std::vector<bool> sel(static_cast<size_t>(N), false);
    int64_t count = 0;
    for (int64_t i = 0; i < top_k; ++i) {
      const int32_t j = idx[size_t(t * top_k + i)];
      if (j < 0) continue;
      ++count;
      CHECK(j < len);
      sel[size_t(j)] = true;
    }
    CHECK(count == k);
    float min_sel = INFINITY, max_unsel = -INFINITY;
    for (int64_t j = 0; j < len; ++j) {
      if (sel[size_t(j)])
        min_sel = std::min(min_sel, s[t * N + j]);
      else
        max_unsel = std::max(max_unsel, s[t * N + j]);
    }
    if (k > 0 && k < len) CHECK(min_sel >= max_unsel);
  }
  CHECK(nan[0] == 0);
}

TEST_CASE("csa indexer: invalid configs name the field", "[attention][ref]") {
  auto msg = [](CsaIndexerParams p) {
    try {
      p.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(msg({1, 64, 64, 96, 4}).find("idx_dim = 96") != std::string::npos);
  CHECK(msg({1, 64, 64, 16, 4}).find("idx_dim = 16") != std::string::npos);
  CHECK(msg({1, 64, 64, 128, -1}).find("ratio = -1") != std::string::npos);
  CHECK(msg({2, 1, 64, 128, 4}).find("n_ctx") != std::string::npos);
  CHECK(msg({1, 64, 64, 128, 4}).empty());
  TopkParams tp;
  tp.top_k = -1;
  CHECK_THROWS_AS(tp.validate(), v4lab::Error);
}

TEST_CASE("csa indexer: cuda vs ref", "[attention][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  for (const ParamMap& pm : {shape(1, 4099), shape(2, 1000), shape(257, 257), shape(31, 131, 13, 32)})
    v4lab::test::require_all_pass(v4lab::test::compare("attn_csa_indexer", Backend::Cuda, pm, 9));
}
