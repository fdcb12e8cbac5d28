// csa_indexer_cuda.cu — CUDA CSA indexer scores (specs/attention.md §4.2, §4.8): one CTA per (query,
// 64-key tile), the query's idx_heads × idx_dim values widened to FP32 in shared memory, one key per
// thread with FP32 FMAs, ReLU·w head sum; keys past the query's causal length are −inf. A plain
// CUDA-core kernel (the FP4 MQA-logits tensor-core kernel with fused top-k is future work).
// Also the registry glue (DeviceRun).
#include <cuda_runtime.h>
#include <math_constants.h>

#include <algorithm>

#include "core/error.h"
#include "core/numerics.h"
#include "kernels/attention/attention_v4_cuda.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_run.cuh"

namespace v4lab::kernels {
namespace {

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
constexpr int kKeysPerCta = 64;
constexpr int64_t kMaxQFloats = 12288;  // 48 KiB of shared memory: idx_heads·idx_dim ≤ 12,288

static __global__ void indexer_kernel(int64_t H, int64_t K, int64_t N, int64_t pos0, int64_t ratio,
                                      const uint16_t* __restrict__ q, const uint16_t* __restrict__ keys,
                                      const float* __restrict__ w, float* scores, int32_t* lengths) {
  extern __shared__ float qs[];
  const int64_t t = blockIdx.y, j = int64_t(blockIdx.x) * kKeysPerCta + threadIdx.x;
  const int64_t len = (pos0 + t + 1) / ratio;
  if (blockIdx.x == 0 && threadIdx.x == 0) lengths[t] = int32_t(len);
  if (int64_t(blockIdx.x) * kKeysPerCta >= len) {  // whole tile invisible
    if (j < N) scores[t * N + j] = -CUDART_INF_F;
    return;
  }
  for (int64_t i = threadIdx.x; i < H * K; i += blockDim.x) qs[i] = bf16_to_f32(q[t * H * K + i]);
  __syncthreads();
  if (j >= N) return;
  if (j >= len) {
    scores[t * N + j] = -CUDART_INF_F;
    return;
  }
  const uint16_t* kr = keys + j * K;
  float s = 0.f;
  for (int64_t h = 0; h < H; ++h) {
    float dot = 0.f;
    for (int64_t k = 0; k < K; ++k) dot = fmaf(qs[h * K + k], bf16_to_f32(kr[k]), dot);
    s = fmaf(w[t * H + h], dot < 0.f ? 0.f : dot, s);  // ReLU keeps NaN
  }
  scores[t * N + j] = s;
}

}  // namespace

void csa_indexer_cuda(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                      float* scores, int32_t* lengths, void* stream) {
  p.validate();
  if (p.idx_heads * p.idx_dim > kMaxQFloats)
    throw config_error("attn_csa_indexer: csa_indexer_cuda needs idx_heads·idx_dim <= 12288, got " +
                           std::to_string(p.idx_heads * p.idx_dim),
                       "idx_heads");
  if (p.n_tokens == 0) return;
  const int64_t N = p.n_entries();
  const dim3 grid(unsigned(std::max<int64_t>(1, (N + kKeysPerCta - 1) / kKeysPerCta)), unsigned(p.n_tokens));
  indexer_kernel<<<grid, kKeysPerCta, size_t(p.idx_heads * p.idx_dim) * sizeof(float), as_stream(stream)>>>(
      p.idx_heads, p.idx_dim, N, p.pos0(), p.ratio, q, keys, w, scores, lengths);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun csa_indexer_prepare_cuda(const CsaIndexerParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  std::function<void()> body = [p, q = R.get<uint16_t>("q"), k = R.get<uint16_t>("keys"), w = R.get<float>("w"),
                                s = R.get<float>("scores"), l = R.get<int32_t>("lengths"), st = R.stream] {
    csa_indexer_cuda(p, q, k, w, s, l, st);
  };
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
