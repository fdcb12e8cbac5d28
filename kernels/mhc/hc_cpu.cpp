// hc_cpu.cpp — optimized host hc_pre (unconstrained HC, specs/mhc.md): FP32, OpenMP over tokens,
// 16-lane vector partial sums for the per-stream sum of squares and the n+2 projections (one pass over
// each stream row), the shared hc_coefficients template, and a streaming pre-apply. Each token's
// arithmetic order is fixed, so results do not depend on threads or neighbours (bit-identical reruns).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/mhc/hc.h"

namespace v4lab::kernels {
namespace {

constexpr int kLanes = 16;
typedef float V16 __attribute__((vector_size(64)));

inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float hsum(const V16& v) {  // fixed left-to-right order
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}

// dots[row] = Σ_c theta[row, c]·v[c] for rows [0, w), ss = Σ v²: one pass over v, w+1 accumulators.
void stream_dots(const float* v, int64_t d, const float* theta, int w, float* dots, float* ss) {
  V16 acc[kMhcMaxHc + 2] = {}, acc_ss = {};
  const int64_t dv = d & ~int64_t(kLanes - 1);
  for (int64_t c = 0; c < dv; c += kLanes) {
    const V16 x = load16(v + c);
    acc_ss += x * x;
    for (int row = 0; row < w; ++row) acc[row] += load16(theta + int64_t(row) * d + c) * x;
  }
  float tail_ss = 0, tail[kMhcMaxHc + 2] = {};
  for (int64_t c = dv; c < d; ++c) {
    tail_ss += v[c] * v[c];
    for (int row = 0; row < w; ++row) tail[row] += theta[int64_t(row) * d + c] * v[c];
  }
  *ss = hsum(acc_ss) + tail_ss;
  for (int row = 0; row < w; ++row) dots[row] = hsum(acc[row]) + tail[row];
}

}  // namespace

void hc_pre_cpu(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots) {
  p.validate();
  const int n = p.hc, w = n + 2;
  const int64_t d = p.d_model, T = p.n_tokens;
#pragma omp parallel
  {
    std::vector<float> v(size_t(n) * d);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      const uint16_t* xt = x + t * n * d;
      float* dt = dots + t * n * w;
      for (int64_t k = 0; k < int64_t(n) * d; ++k) v[k] = bf16_to_f32(xt[k]);
      for (int i = 0; i < n; ++i) {
        float ss = 0;
        stream_dots(v.data() + i * d, d, theta, w, dt + i * w, &ss);
        const float r = 1.0f / std::sqrt(ss / float(d) + float(p.norm_eps));
        for (int row = 0; row < w; ++row) dt[i * w + row] *= r;
      }
      float* hp = h_pre + t * n;
      hc_coefficients<float>(dt, alpha, bias, n, hp, h_post + t * n, comb + t * n * n);
      uint16_t* yt = y + t * d;
      for (int64_t c = 0; c < d; ++c) {
        float acc = 0;
        for (int i = 0; i < n; ++i) acc += hp[i] * v[i * d + c];
        yt[c] = bf16_from_f32(acc);
      }
    }
  }
}

}  // namespace v4lab::kernels
