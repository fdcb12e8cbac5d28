// test_select_quality.cpp — selection-quality metrics (kernels/attention/select_quality.h;
// specs/attention.md §5 sanity): top_k ≥ |C| ⇒ recall 1 and error 0; recall non-decreasing in k;
// planted keys found at small k (the property docs/attention.md states); random baseline = k/n; _cpu metrics vs _ref metrics via the registry.
#include <catch2/catch.hpp>

#include <vector>

#include "kernels/attention/select_quality.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {
std::vector<float> summary(const ParamMap& over, bool reference = false, uint64_t seed = 11) {
  const SelectQualityParams p = select_quality_params_from(test::params("attn_select_quality", over));
  KernelIO io = select_quality_make_io(p, seed);
  select_quality_run(p, reference, io);
  const float* s = io.out("summary").data<float>();
  return std::vector<float>(s, s + kSelectSummary);
}
}  // namespace

TEST_CASE("attn_select_quality: top_k >= |C| gives recall 1 and zero error", "[attention][cpu]") {
  for (int mode : {0, 1}) {
    const auto s = summary({{"mode", double(mode)}, {"n_ctx", 512}, {"top_k", 512}, {"n_tokens", 4}});
    CHECK(s[0] == Approx(1.0).epsilon(1e-6));
    CHECK(s[8] == Approx(0.0).margin(1e-6));
    CHECK(s[6] == Approx(1.0));
  }
}

TEST_CASE("attn_select_quality: recall non-decreasing in k, planted keys found, random baseline k/n", "[attention][cpu]") {
  double prev = 0;
  for (double k : {4.0, 16.0, 64.0, 128.0}) {
    const auto s = summary({{"n_ctx", 1024}, {"top_k", k}, {"rho", 0.95}, {"n_tokens", 4}});
    CHECK(s[0] >= prev - 1e-6);
    prev = s[0];
    CHECK(s[7] == Approx(k / 1022.5).epsilon(1e-3));  // mean of k/(t+1), t = 1020..1023
    if (k >= 64) {
      CHECK(s[11] > 0.9);              // oracle: the 4m = 64 planted pool holds ≈ ρ of the mass at k = 64
      CHECK(s[0] > 5 * s[7]);          // indexer (FP8 through a 576→128 projection): far above random
      CHECK(s[5] <= 1.0 + 1e-6);       // oracle ≥ indexer
    }
  }
}

TEST_CASE("attn_select_quality: _cpu metrics match _ref metrics", "[attention][cpu]") {
  test::require_all_pass(test::compare("attn_select_quality", Backend::Cpu,
                                       test::params("attn_select_quality", {{"n_ctx", 512}, {"n_tokens", 4}, {"top_k", 32}}), 1));
  test::require_all_pass(test::compare(
      "attn_select_quality", Backend::Cpu,
      test::params("attn_select_quality", {{"mode", 1}, {"n_ctx", 1024}, {"n_tokens", 4}, {"top_k", 32}, {"sigma_i", 0.5}}), 2));
}

TEST_CASE("attn_select_quality: planted keys are found at small k (docs/attention.md)", "[attention][cpu]") {
  // The property docs/attention.md states for the §5 construction (n = 1024, ρ = 0.95, σ_I = 0, FP8):
  // at k = m and 2m the indexer's mass recall is ≥ 0.4 of the oracle's and ≥ 8× random (16 heads with
  // different planted subsets, m = 16: the indexer's linear ReLU head sum and 128-dim cross-talk are
  // what separates it from the oracle); ≥ 0.6 of the oracle with one head; ≥ 0.7 with m = 4 (margin
  // √(128/4) ≈ 5.7σ instead of √(128/16) ≈ 2.8σ).
  struct Case {
    double m, k, heads, min_ratio;
  };
  for (const Case c : {Case{16, 16, 16, 0.4}, Case{16, 32, 16, 0.4}, Case{16, 16, 1, 0.6}, Case{4, 4, 16, 0.7},
                       Case{4, 8, 16, 0.7}}) {
    INFO("m = " << c.m << ", k = " << c.k << ", heads = " << c.heads);
    const auto s = summary({{"n_ctx", 1024}, {"top_k", c.k}, {"m_planted", c.m}, {"rho", 0.95}, {"n_tokens", 4},
                            {"n_heads", c.heads}, {"idx_heads", c.heads}});
    INFO("recall " << s[0] << ", oracle " << s[11] << ", random " << s[7]);
    CHECK(s[5] >= c.min_ratio);  // R(U)/R(O)
    CHECK(s[0] >= 8 * s[7]);
  }
}
