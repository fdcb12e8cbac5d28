// zipf.h — seeded Zipf sampling for the Engram cache simulator's synthetic traces (specs/engram.md §10):
// P(rank r) ∝ 1/(r+1)^s over n items, by inverse CDF (binary search in a precomputed table).
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace v4lab::sim {

class ZipfSampler {
 public:
  ZipfSampler(int64_t n_items, double exponent_s);  // config_error for n_items < 1 or s < 0
  int64_t operator()(Rng& rng) const;               // rank in [0, n_items); rank 0 is the most frequent
  int64_t n_items() const { return int64_t(cdf_.size()); }

 private:
  std::vector<double> cdf_;  // cdf_[r] = P(rank ≤ r); the last entry is 1
};

// `count` Zipf ranks over n_items, seeded. scatter_seed ≠ 0 maps ranks through a seeded bijection of
// [0, n_items) so hot items are spread over the id space instead of sitting at 0, 1, 2, … (two streams
// with the same scatter_seed and different seeds share one popularity ranking).
std::vector<uint32_t> zipf_stream(int64_t n_items, double exponent_s, int64_t count, uint64_t seed,
                                  uint64_t scatter_seed = 0);

}  // namespace v4lab::sim
