// fill.h — seeded input generators shared by every family's make_io (kernels/<family>/*_register.cpp):
// one independent Rng stream per tensor (so e.g. a weight does not change with n_tokens), normal and
// uniform fills in FP32 and BF16.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/numerics.h"
#include "core/rng.h"
#include "core/tensor.h"

namespace v4lab::kernels {

// Stream `salt` of `seed`: tensors of one io use salts 0, 1, 2, ...
inline Rng rng_for(uint64_t seed, uint64_t salt) { return Rng(seed ^ (0x9e3779b97f4a7c15ull * (salt + 1))); }

// Box-Muller yields two independent normals per pair of uniforms; using both halves the cost of
// filling large tensors (Rng::normal() keeps only the cosine half).
template <class Store>
void fill_normal_pairs(int64_t count, Rng& rng, Store&& store) {
  for (int64_t i = 0; i < count; i += 2) {
    double u1 = rng.uniform();
    while (u1 <= 0.0) u1 = rng.uniform();
    const double rad = std::sqrt(-2.0 * std::log(u1)), ang = 6.283185307179586 * rng.uniform();
    store(i, rad * std::cos(ang));
    if (i + 1 < count) store(i + 1, rad * std::sin(ang));
  }
}
// N(0, stddev²) into a BF16 tensor (rounded RNE) or an F32 tensor.
inline void fill_bf16_normal(Tensor& t, Rng rng, double stddev = 1.0) {
  uint16_t* d = t.data<uint16_t>();
  fill_normal_pairs(t.numel(), rng, [d, stddev](int64_t i, double v) { d[i] = bf16_from_f32(float(stddev * v)); });
}
inline void fill_normal(Tensor& t, Rng rng, double stddev) {
  float* d = t.data<float>();
  fill_normal_pairs(t.numel(), rng, [d, stddev](int64_t i, double v) { d[i] = float(stddev * v); });
}
// U[lo, hi) into an F32 tensor.
inline void fill_uniform(Tensor& t, Rng rng, double lo, double hi) {
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = float(rng.uniform(lo, hi));
}

}  // namespace v4lab::kernels
