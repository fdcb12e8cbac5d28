// zipf.cpp — Zipf sampler by inverse CDF and the seeded stream generator (specs/engram.md §10).
#include "sim/zipf.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace v4lab::sim {

ZipfSampler::ZipfSampler(int64_t n_items, double s) {
  if (n_items < 1 || n_items > (int64_t(1) << 32))
    throw config_error("zipf: n_items = " + std::to_string(n_items) + " is out of range [1, 2^32]");
  if (!(s >= 0 && s <= 10)) throw config_error("zipf: exponent s = " + std::to_string(s) + " is out of range [0, 10]");
  cdf_.resize(size_t(n_items));
  double acc = 0;
  for (int64_t r = 0; r < n_items; ++r) cdf_[r] = acc += std::pow(double(r + 1), -s);
  for (auto& c : cdf_) c /= acc;
  cdf_.back() = 1.0;
}

int64_t ZipfSampler::operator()(Rng& rng) const {
  const double u = rng.uniform();
  return int64_t(std::upper_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
}

std::vector<uint32_t> zipf_stream(int64_t n_items, double s, int64_t count, uint64_t seed, uint64_t scatter_seed) {
  const bool scatter = scatter_seed != 0;
  ZipfSampler z(n_items, s);
  Rng rng(seed);
  std::vector<uint32_t> perm;
  if (scatter) {  // a seeded Fisher–Yates permutation: a bijection, so the rank distribution is kept
    perm.resize(size_t(n_items));
    std::iota(perm.begin(), perm.end(), 0u);
    Rng pr(scatter_seed);
    for (int64_t i = n_items - 1; i > 0; --i) std::swap(perm[i], perm[pr.below(uint64_t(i + 1))]);
  }
  std::vector<uint32_t> out(size_t(std::max<int64_t>(count, 0)));
  for (auto& x : out) {
    const int64_t r = z(rng);
    x = scatter ? perm[r] : uint32_t(r);
  }
  return out;
}

}  // namespace v4lab::sim
