// test_topk.cpp — causal top-k of the lightning indexers (kernels/attention/topk.h; specs/attention.md
// §3 tie rule, §4.9 NaN rule, §6 top-k sets): hand cases for ties, NaN, ±0, k ≥ len, k = 0; _cpu
// (both its sampled and radix paths) equal to _ref exactly on random, tied and adversarial rows.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/attention/topk.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

struct Row {
  std::vector<int32_t> idx;
  int32_t nans = -1;
};

Row run(void (*fn)(const TopkParams&, const float*, const int32_t*, int32_t*, int32_t*), const std::vector<float>& s,
        int64_t k, int32_t len = -1) {
  TopkParams p;
  p.n_queries = 1, p.n_cand = int64_t(s.size()), p.top_k = k;
  Row r;
  r.idx.assign(size_t(k), 7);
  const int32_t l = len < 0 ? int32_t(s.size()) : len;
  fn(p, s.data(), &l, r.idx.data(), &r.nans);
  return r;
}

void both_equal(const std::vector<float>& s, int64_t k, const std::vector<int32_t>& want, int32_t len = -1) {
  const Row a = run(topk_ref, s, k, len), b = run(topk_cpu, s, k, len);
  CHECK(a.idx == want);
  CHECK(b.idx == want);
  CHECK(a.nans == b.nans);
}

}  // namespace

TEST_CASE("topk: ties go to the lower index, output is the set in index order", "[ref][cpu]") {
  both_equal({1, 3, 3, 2, 3}, 2, {1, 2});
  both_equal({1, 3, 3, 2, 3}, 3, {1, 2, 4});
  both_equal({5, 1, 4, 2}, 2, {0, 2});
  both_equal({-0.0f, 0.0f, -1.0f}, 1, {0});  // −0 ties with +0, so index 0 wins
}

TEST_CASE("topk: NaN ranks below everything (even -inf) and is counted", "[ref][cpu]") {
  const float nan = std::nanf("");
  both_equal({nan, 1, -INFINITY, nan}, 2, {1, 2});
  both_equal({nan, 1, -INFINITY, nan}, 3, {0, 1, 2});
  CHECK(run(topk_cpu, {nan, 1, -INFINITY, nan}, 2).nans == 2);
  CHECK(run(topk_ref, {nan, 1, -INFINITY, nan}, 2).nans == 2);
}

TEST_CASE("topk: k >= visible takes all visible, k = 0 and len = 0 select nothing, -1 padding", "[ref][cpu]") {
  both_equal({3, 1, 2}, 5, {0, 1, 2, -1, -1});
  both_equal({3, 1, 2, 9, 9}, 4, {0, 1, 2, -1}, 3);  // causal bound: only the first 3 are visible
  both_equal({3, 1, 2}, 0, {});
  both_equal({3, 1, 2}, 2, {-1, -1}, 0);
}

TEST_CASE("topk: bad lengths and negative sizes are configuration errors", "[ref][cpu]") {
  CHECK_THROWS_AS(run(topk_ref, {1, 2}, 1, 3), Error);
  CHECK_THROWS_AS(run(topk_cpu, {1, 2}, 1, 3), Error);
  TopkParams p;
  p.top_k = -1;
  CHECK_THROWS_AS(p.validate(), Error);
  CHECK_THROWS_AS(v4lab::test::params("attn_topk", {{"top_k", -1}}), Error);
}

TEST_CASE("topk: _cpu equals _ref on random, tied, sorted and NaN-laden rows (sampled and radix paths)",
          "[cpu]") {
  Rng rng(77);
  for (int64_t n : {1, 13, 257, 4099, 40000, 262144}) {
    for (int64_t k : {1, 31, 2048}) {
      for (int kind = 0; kind < 5; ++kind) {
        std::vector<float> s(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) {
          const double g = rng.normal();
          switch (kind) {
            case 0: s[size_t(i)] = float(g); break;                        // distinct
            case 1: s[size_t(i)] = float(std::round(g * 4) / 4); break;    // heavy ties
            case 2: s[size_t(i)] = float(i); break;                        // ascending: top at the end
            case 3: s[size_t(i)] = float(n - i); break;                    // descending: top at the start
            default: s[size_t(i)] = rng.uniform() < 0.1 ? std::nanf("") : float(g); break;
          }
        }
        INFO("n = " << n << " k = " << k << " kind = " << kind);
        const Row a = run(topk_ref, s, k), b = run(topk_cpu, s, k);
        CHECK(a.idx == b.idx);
        CHECK(a.nans == b.nans);
      }
    }
  }
}

TEST_CASE("topk: registry verify, causal lengths over many queries", "[cpu]") {
  uint64_t seed = 3;
  for (double q : {1.0, 5.0, 64.0})
    for (double n : {13.0, 5000.0, 70000.0}) {
      const ParamMap pm = v4lab::test::params("attn_topk", {{"n_tokens", q}, {"n_cand", n}, {"top_k", 512}});
      v4lab::test::require_all_pass(v4lab::test::compare("attn_topk", Backend::Cpu, pm, ++seed));
    }
}

TEST_CASE("topk: _cuda equals _ref", "[cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  uint64_t seed = 11;
  for (double q : {1.0, 7.0})
    for (double n : {13.0, 5000.0, 262144.0})
      for (double k : {1.0, 512.0, 2048.0}) {
        const ParamMap pm = v4lab::test::params("attn_topk", {{"n_tokens", q}, {"n_cand", n}, {"top_k", k}});
        v4lab::test::require_all_pass(v4lab::test::compare("attn_topk", Backend::Cuda, pm, ++seed));
      }
}
