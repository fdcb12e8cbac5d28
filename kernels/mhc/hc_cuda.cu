// hc_cuda.cu — CUDA hc_pre for unconstrained HC (specs/mhc.md "Unconstrained HC"), the comparison
// baseline: one CTA per token; per stream a block-wide pass produces the sum of squares and the n+2
// projections (warp shuffles, then the warps' partials in a fixed order: deterministic); thread 0
// forms the coefficients with the shared hc_coefficients template; then all threads pre-apply y.
#include <cuda_runtime.h>

#include "kernels/cuda/device_run.cuh"
#include "kernels/mhc/hc.h"
#include "kernels/mhc/mhc_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kMaxW = kMhcMaxHc + 2;

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

static __global__ void hc_pre_kernel(int n, int64_t d, float norm_eps, const uint16_t* __restrict__ x,
                                     const float* __restrict__ theta, const float* __restrict__ alpha,
                                     const float* __restrict__ bias, uint16_t* __restrict__ y,
                                     float* __restrict__ h_pre, float* __restrict__ h_post,
                                     float* __restrict__ comb, float* __restrict__ dots) {
  __shared__ float part[kWarps][kMaxW + 1];
  __shared__ float tok_dots[kMhcMaxHc * kMaxW];
  __shared__ float hp[kMhcMaxHc];
  const int64_t t = blockIdx.x;
  const int w = n + 2, lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const uint16_t* xt = x + t * n * d;
  for (int i = 0; i < n; ++i) {
    float acc[kMaxW + 1] = {};
    for (int64_t c = threadIdx.x; c < d; c += kThreads) {
      const float v = bf16_to_f32(xt[i * d + c]);
      acc[kMaxW] += v * v;
      for (int row = 0; row < w; ++row) acc[row] += theta[int64_t(row) * d + c] * v;
    }
    for (int k = 0; k <= kMaxW; ++k) {
      if (k < w || k == kMaxW) {
        const float s = warp_sum(acc[k]);
        if (lane == 0) part[warp][k] = s;
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      float ss = 0;
      for (int q = 0; q < kWarps; ++q) ss += part[q][kMaxW];
      const float r = 1.0f / sqrtf(ss / float(d) + norm_eps);
      for (int row = 0; row < w; ++row) {
        float s = 0;
        for (int q = 0; q < kWarps; ++q) s += part[q][row];
        tok_dots[i * w + row] = s * r;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    float hq[kMhcMaxHc], cb[kMhcMaxHc * kMhcMaxHc];
    hc_coefficients<float>(tok_dots, alpha, bias, n, hp, hq, cb);
    for (int i = 0; i < n; ++i) h_pre[t * n + i] = hp[i], h_post[t * n + i] = hq[i];
    for (int k = 0; k < n * n; ++k) comb[t * n * n + k] = cb[k];
    for (int k = 0; k < n * w; ++k) dots[t * n * w + k] = tok_dots[k];
  }
  __syncthreads();
  for (int64_t c = threadIdx.x; c < d; c += kThreads) {
    float acc = 0;
    for (int i = 0; i < n; ++i) acc += hp[i] * bf16_to_f32(xt[i * d + c]);
    y[t * d + c] = bf16_from_f32(acc);
  }
}

}  // namespace

void hc_pre_cuda(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                 uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  hc_pre_kernel<<<unsigned(p.n_tokens), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      p.hc, p.d_model, float(p.norm_eps), x, theta, alpha, bias, y, h_pre, h_post, comb, dots);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun hc_prepare_cuda(const MhcParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  return device_run_finish(
      run, io,
      [p, st = R.stream, x = R.get<uint16_t>("X"), th = R.get<float>("theta"), a = R.get<float>("alpha"),
       b = R.get<float>("bias"), y = R.get<uint16_t>("y"), hp = R.get<float>("h_pre"), hq = R.get<float>("h_post"),
       cb = R.get<float>("comb"), dt = R.get<float>("dots")] { hc_pre_cuda(p, x, th, a, b, y, hp, hq, cb, dt, st); });
}

}  // namespace v4lab::kernels
