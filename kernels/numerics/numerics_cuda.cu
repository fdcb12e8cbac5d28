// numerics_cuda.cu — CUDA kernels for RMSNorm, RoPE/YaRN and SwiGLU (specs/attention.md §1.1–1.3,
// specs/moe.md "Experts"). All three are memory-bound streaming kernels: RMSNorm is one CTA per row
// (the row stays in L1 between the reduction and the scaling pass), RoPE builds this launch's cos/sin
// table (one thread per (token, pair)) and then rotates one pair per thread, SwiGLU is element-wise.
// Per-element math is the shared V4LAB_HD code of numerics.h; reductions have a fixed order.
#include <cuda_runtime.h>

#include <algorithm>

#include "kernels/cuda/check.cuh"
#include "kernels/numerics/numerics_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// 1D grid for `n` work items with kThreads per CTA, capped (the kernels loop grid-stride).
unsigned grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return unsigned(std::min<int64_t>(std::max<int64_t>(blocks, 1), int64_t(1) << 30));
}

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block sum in a fixed order (lanes, then warps 0..7); every thread gets the total.
template <class T>
__device__ T block_sum(T v, T* smem) {
  v = warp_sum(v);
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  __syncthreads();  // smem may still be read by a previous call
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  T s = 0;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) s += smem[w];
  return s;
}

// One CTA per row. FP32 sum of squares; a finite row whose FP32 sum overflows (|x| ≳ 1.8e19/√width,
// spec §1.7 [W]) is summed again in FP64, like _cpu.
template <bool kWeighted>
static __global__ void __launch_bounds__(kThreads)
    rmsnorm_kernel(const uint16_t* __restrict__ x, const float* __restrict__ weight, uint16_t* __restrict__ y,
                   int64_t width, float eps) {
  __shared__ float s32[kWarps];
  __shared__ double s64[kWarps];
  const int64_t row = blockIdx.x;
  const uint16_t* xr = x + row * width;
  uint16_t* yr = y + row * width;
  float ss = 0;
  for (int64_t j = threadIdx.x; j < width; j += kThreads) {
    const float v = bf16_to_f32(xr[j]);
    ss += v * v;
  }
  ss = block_sum(ss, s32);
  float r = rms_scale<float>(ss, float(width), eps);
  if (!isfinite(ss)) {
    double ss64 = 0;
    for (int64_t j = threadIdx.x; j < width; j += kThreads) {
      const double v = bf16_to_f32(xr[j]);
      ss64 += v * v;
    }
    ss64 = block_sum(ss64, s64);
    if (isfinite(ss64)) r = float(rms_scale<double>(ss64, double(width), double(eps)));
  }
  for (int64_t j = threadIdx.x; j < width; j += kThreads) {
    float v = bf16_to_f32(xr[j]) * r;
    if (kWeighted) v *= weight[j];
    yr[j] = bf16_from_f32(v);
  }
}

// Table: one thread per (token, pair). T = double (FP64 angles) or float (fp32_angles).
template <class T>
static __global__ void __launch_bounds__(kThreads)
    rope_table_kernel(float* __restrict__ cos_sin, int64_t n_tokens, int half, int d_rope, int64_t pos0, T theta,
                      T factor, T low, T high) {
  const int64_t n = n_tokens * half;
  for (int64_t k = int64_t(blockIdx.x) * kThreads + threadIdx.x; k < n; k += int64_t(gridDim.x) * kThreads) {
    const int64_t t = k / half;
    const int i = int(k % half);
    const T f = rope_freq<T>(i, d_rope, theta, factor, low, high);
    rope_cos_sin<T>(pos0 + t, f, cos_sin[2 * k], cos_sin[2 * k + 1]);
  }
}

// Rotation: one thread per (token, head, pair); consecutive threads take consecutive pairs of a head.
static __global__ void __launch_bounds__(kThreads)
    rope_rotate_kernel(const uint16_t* __restrict__ x, const float* __restrict__ cos_sin, uint16_t* __restrict__ y,
                       int64_t n_tokens, int64_t n_heads, int64_t d_head, int64_t offset, int half, bool interleaved,
                       bool inverse) {
  const int64_t n = n_tokens * n_heads * half;
  for (int64_t k = int64_t(blockIdx.x) * kThreads + threadIdx.x; k < n; k += int64_t(gridDim.x) * kThreads) {
    const int i = int(k % half);
    const int64_t v = k / half;  // vector index t·H + head
    const int64_t t = v / n_heads;
    const int a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
    const uint16_t* xv = x + v * d_head + offset;
    uint16_t* yv = y + v * (2 * half);
    const float c = cos_sin[(t * half + i) * 2], s0 = cos_sin[(t * half + i) * 2 + 1];
    float ya, yb;
    rope_rotate_pair<float>(bf16_to_f32(xv[a]), bf16_to_f32(xv[b]), c, inverse ? -s0 : s0, ya, yb);
    yv[a] = bf16_from_f32(ya);
    yv[b] = bf16_from_f32(yb);
  }
}

static __global__ void __launch_bounds__(kThreads)
    swiglu_kernel(const float* __restrict__ g, const float* __restrict__ u, float* __restrict__ h, int64_t n,
                  float limit) {
  for (int64_t k = int64_t(blockIdx.x) * kThreads + threadIdx.x; k < n; k += int64_t(gridDim.x) * kThreads)
    h[k] = swiglu_f32(g[k], u[k], limit);
}

}  // namespace

void rmsnorm_cuda(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  if (p.weighted)
    rmsnorm_kernel<true><<<unsigned(p.n_tokens), kThreads, 0, st>>>(x, weight, y, p.width, float(p.eps));
  else
    rmsnorm_kernel<false><<<unsigned(p.n_tokens), kThreads, 0, st>>>(x, weight, y, p.width, float(p.eps));
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void rope_cuda(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  const int h = p.half();
  const int64_t table_n = p.n_tokens * h;
  if (p.fp32_angles) {
    float low = 0, high = 1;
    if (p.yarn())
      yarn_low_high<float>(float(p.theta), p.d_rope, float(p.yarn_orig_len), float(p.beta_fast), float(p.beta_slow),
                           low, high);
    rope_table_kernel<float><<<grid_for(table_n), kThreads, 0, st>>>(cos_sin, p.n_tokens, h, p.d_rope, p.pos0,
                                                                     float(p.theta), float(p.yarn_factor), low, high);
  } else {
    double low = 0, high = 1;
    if (p.yarn()) yarn_low_high<double>(p.theta, p.d_rope, p.yarn_orig_len, p.beta_fast, p.beta_slow, low, high);
    rope_table_kernel<double><<<grid_for(table_n), kThreads, 0, st>>>(cos_sin, p.n_tokens, h, p.d_rope, p.pos0,
                                                                      p.theta, p.yarn_factor, low, high);
  }
  V4LAB_CUDA_CHECK(cudaGetLastError());
  rope_rotate_kernel<<<grid_for(p.n_tokens * p.n_heads * h), kThreads, 0, st>>>(
      x, cos_sin, y, p.n_tokens, p.n_heads, p.d_head, p.offset(), h, p.interleaved, p.inverse);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void swiglu_cuda(const SwigluParams& p, const float* g, const float* u, float* h, void* stream) {
  p.validate();
  const int64_t n = p.n_tokens * p.width;
  if (n == 0) return;
  swiglu_kernel<<<grid_for(n), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(g, u, h, n, p.limit);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace v4lab::kernels
