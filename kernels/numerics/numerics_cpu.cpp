// numerics_cpu.cpp — optimized host numerics kernels (_cpu): FP32 math, OpenMP threads over rows or
// tokens, contiguous inner loops the compiler vectorizes (-march chosen at configure time).
// specs/attention.md §1.1–1.3, specs/moe.md "Experts". The per-element math is the shared V4LAB_HD
// code of numerics.h (the CUDA kernels run the same); every row's arithmetic order is fixed and
// independent of the thread count, so runs are bit-identical and a NaN stays in its row.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

// SwiGLU's exp: glibc's libmvec has SIMD expf variants; declared for OpenMP here, GCC calls them
// from the vectorized loop. That needs -fno-math-errno -fno-trapping-math (this file only, set in
// kernels/CMakeLists.txt: no v4lab code reads errno or FP exception flags); elsewhere it stays scalar.
#if defined(_OPENMP) && defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__)
#if __GLIBC_PREREQ(2, 22)
#define V4LAB_SIMD_EXPF 1
#endif
#endif
#if defined(V4LAB_SIMD_EXPF)
extern "C" {
#pragma omp declare simd notinbranch
float expf(float) noexcept;
}
#endif

#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {
namespace {

constexpr int kLanes = 16;  // partial sums of the sum of squares: one AVX-512 or two AVX2 registers

// GCC/Clang vector extension: 16 FP32 lanes, lowered to whatever -march offers.
typedef float F16v __attribute__((vector_size(64)));
typedef uint32_t U16v __attribute__((vector_size(64)));

// 16 BF16 values -> 16 floats (a BF16 is the high half of an FP32).
inline F16v load_bf16x16(const uint16_t* p) {
  uint16_t h[kLanes];
  std::memcpy(h, p, sizeof h);
  U16v u;
  for (int l = 0; l < kLanes; ++l) u[l] = uint32_t(h[l]) << 16;
  F16v f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Σ x² of one BF16 row in FP32: kLanes partial sums, then a fixed-order reduction.
float row_sum_sq(const uint16_t* x, int64_t W) {
  F16v acc = {};
  int64_t j = 0;
  for (; j + kLanes <= W; j += kLanes) {
    const F16v v = load_bf16x16(x + j);
    acc += v * v;
  }
  float tail[kLanes] = {};
  for (int l = 0; j < W; ++j, ++l) {
    const float v = bf16_to_f32(x[j]);
    tail[l] = v * v;
  }
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += acc[l] + tail[l];
  return s;
}

// Sum of squares overflows FP32 for |x| ≳ 1.8e19/√width (spec §1.7 [W]); a finite row then takes the
// FP64 sum so the result does not collapse to 0. Inf/NaN rows keep the FP32 result (NaN/0 as FP64).
float row_scale(const uint16_t* x, int64_t W, float eps) {
  const float ss = row_sum_sq(x, W);
  if (std::isfinite(ss)) return rms_scale<float>(ss, float(W), eps);
  double ss64 = 0;
  for (int64_t j = 0; j < W; ++j) {
    const double v = bf16_to_f32(x[j]);
    ss64 += v * v;
  }
  if (!std::isfinite(ss64)) return rms_scale<float>(ss, float(W), eps);
  return float(rms_scale<double>(ss64, double(W), double(eps)));
}

template <bool kWeighted>
void rmsnorm_rows(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y) {
  const int64_t W = p.width;
  const float eps = float(p.eps);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xr = x + t * W;
    uint16_t* yr = y + t * W;
    const float r = row_scale(xr, W, eps);
    // Second pass over the row (still in L1/L2): y = x·r (·w), rounded RNE to BF16.
    for (int64_t j = 0; j < W; ++j) {
      float v = bf16_to_f32(xr[j]) * r;
      if constexpr (kWeighted) v *= weight[j];
      yr[j] = bf16_from_f32(v);
    }
  }
}

// One vector's slice: GPT-J pairs (2i, 2i+1) or NeoX pairs (i, i + h); c and s are the token's
// per-pair cos and (signed) sin.
template <bool kInterleaved>
inline void rotate_vector(const uint16_t* __restrict xv, uint16_t* __restrict yv, const float* __restrict c,
                          const float* __restrict s, int h) {
  for (int i = 0; i < h; ++i) {
    const int a = kInterleaved ? 2 * i : i, b = kInterleaved ? 2 * i + 1 : i + h;
    float ya, yb;
    rope_rotate_pair<float>(bf16_to_f32(xv[a]), bf16_to_f32(xv[b]), c[i], s[i], ya, yb);
    yv[a] = bf16_from_f32(ya);
    yv[b] = bf16_from_f32(yb);
  }
}

// cos/sin of pos·f'_i for the h pairs (the shared rope_cos_sin).
template <class T>
inline void table_row(int64_t pos, const T* __restrict f, float* __restrict c, float* __restrict s, int h) {
  for (int i = 0; i < h; ++i) rope_cos_sin<T>(pos, f[i], c[i], s[i]);
}

template <bool kInterleaved>
void rope_tokens(const RopeParams& p, const RopeFreqs& fr, const uint16_t* x, float* cos_sin, uint16_t* y) {
  const int h = p.half();
  const int64_t off = p.offset(), H = p.n_heads;
#pragma omp parallel
  {
    std::vector<float> c(h), s(h);  // per thread: the token's cos and signed sin, split for SIMD loads
#pragma omp for schedule(static)
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      // Table row of this launch, built by the thread that uses it (scalar sincos: about a third of
      // the time at d_rope = 64, H = 64; the heads then reuse the row from L1).
      const int64_t pos = p.pos0 + t;
      if (p.fp32_angles)
        table_row<float>(pos, fr.f32.data(), c.data(), s.data(), h);
      else
        table_row<double>(pos, fr.f64.data(), c.data(), s.data(), h);
      float* cs = cos_sin + t * 2 * h;
      for (int i = 0; i < h; ++i) {
        cs[2 * i] = c[i];
        cs[2 * i + 1] = s[i];
      }
      if (p.inverse)
        for (int i = 0; i < h; ++i) s[i] = -s[i];
      for (int64_t hd = 0; hd < H; ++hd)
        rotate_vector<kInterleaved>(x + (t * H + hd) * p.d_head + off, y + (t * H + hd) * p.d_rope, c.data(),
                                    s.data(), h);
    }
  }
}

}  // namespace

void rmsnorm_cpu(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y) {
  p.validate();
  if (p.weighted)
    rmsnorm_rows<true>(p, x, weight, y);
  else
    rmsnorm_rows<false>(p, x, weight, y);
}

void rope_cpu(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y) {
  p.validate();
  if (p.n_tokens == 0) return;
  const RopeFreqs fr(p);  // d_rope/2 frequencies, once per launch
  if (p.interleaved)
    rope_tokens<true>(p, fr, x, cos_sin, y);
  else
    rope_tokens<false>(p, fr, x, cos_sin, y);
}

void swiglu_cpu(const SwigluParams& p, const float* __restrict g, const float* __restrict u, float* __restrict h) {
  p.validate();
  const int64_t n = p.n_tokens * p.width;
  constexpr int64_t kBlock = 4096;  // elements per work item: large enough to amortize scheduling
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const float limit = p.limit;
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t i1 = std::min(n, (b + 1) * kBlock);
#pragma omp simd
    for (int64_t i = b * kBlock; i < i1; ++i) h[i] = swiglu_f32(g[i], u[i], limit);
  }
}

}  // namespace v4lab::kernels
