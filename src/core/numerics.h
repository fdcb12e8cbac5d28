// numerics.h — per-element math shared by host and device code (V4LAB_HD): BF16 rounding, sigmoid.
// Written once so the CPU tests exercise exactly the arithmetic the CUDA kernels run.
#pragma once
#include <cstdint>
#include <cstring>
#include <cmath>

#if defined(__CUDACC__)
#define V4LAB_HD __host__ __device__ __forceinline__
#else
#define V4LAB_HD inline
#endif

namespace v4lab {

V4LAB_HD uint32_t f32_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

V4LAB_HD float f32_from_bits(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// FP32 -> BF16 with round-to-nearest-even; NaN stays a (quiet) NaN, inf stays inf.
V4LAB_HD uint16_t bf16_from_f32(float f) {
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

V4LAB_HD float bf16_to_f32(uint16_t h) { return f32_from_bits(static_cast<uint32_t>(h) << 16); }

V4LAB_HD float bf16_round(float f) { return bf16_to_f32(bf16_from_f32(f)); }

V4LAB_HD float sigmoid_f32(float x) { return 1.0f / (1.0f + expf(-x)); }

// silu(g) = g·σ(g) = g / (1 + e^−g) (specs/moe.md "Experts").
V4LAB_HD float silu_f32(float g) { return g / (1.0f + expf(-g)); }

// SwiGLU h = silu(g)·u with the V4 clamp (specs/moe.md): u ← clamp(u, −L, L), g ← min(g, L); g has
// no lower clamp. limit <= 0 means no clamp (V3, V3.2, and every shared expert). NaN passes through
// (fminf/fmaxf would drop it, so the comparisons are written out).
V4LAB_HD float swiglu_f32(float g, float u, float limit) {
  if (limit > 0.0f) {
    u = u > limit ? limit : (u < -limit ? -limit : u);
    g = g > limit ? limit : g;
  }
  return silu_f32(g) * u;
}

}  // namespace v4lab
