// dsa_indexer_cuda.cu — CUDA DSA lightning indexer (dsa_indexer.h; specs/attention.md §3): one thread
// per (query, key), the query's FP8 codes decoded once per CTA into shared memory, ReLU·w head sum in
// FP32, −inf past the causal bound. Correctness-first (the FP8 MQA-logits GEMM is future work).
#include <cuda_runtime.h>

#include "kernels/attention/attention_core_cuda.h"
#include "kernels/cuda/device_run.cuh"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 128;

static __global__ void dsa_indexer_kernel(int64_t n_ctx, int64_t H, int64_t D, const uint8_t* __restrict__ q_codes,
                                          const uint8_t* __restrict__ q_scale, const uint8_t* __restrict__ k_codes,
                                          const uint8_t* __restrict__ k_scale, const float* __restrict__ w,
                                          const int32_t* __restrict__ pos, float* __restrict__ scores) {
  extern __shared__ float qs[];  // [H·D] decoded query codes, then [H] w·q_scale
  const int64_t i = blockIdx.y, s = int64_t(blockIdx.x) * kThreads + threadIdx.x;
  for (int64_t k = threadIdx.x; k < H * D; k += kThreads) qs[k] = fp8_e4m3_to_f32_bits(q_codes[i * H * D + k]);
  for (int64_t j = threadIdx.x; j < H; j += kThreads) qs[H * D + j] = w[i * H + j] * ue8m0_to_f32(q_scale[i * H + j]);
  __syncthreads();
  if (s >= n_ctx) return;
  if (s > pos[i]) {
    scores[i * n_ctx + s] = -INFINITY;
    return;
  }
  float I = 0;
  const uint8_t* kc = k_codes + s * D;
  for (int64_t j = 0; j < H; ++j) {
    float d = 0;
    for (int64_t c = 0; c < D; ++c) d += qs[j * D + c] * fp8_e4m3_to_f32_bits(kc[c]);
    I += qs[H * D + j] * (d < 0.0f ? 0.0f : d);
  }
  scores[i * n_ctx + s] = I * ue8m0_to_f32(k_scale[s]);
}

}  // namespace

void dsa_indexer_cuda(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale,
                      const uint8_t* k_codes, const uint8_t* k_scale, const float* w, const int32_t* pos,
                      float* scores, void* stream) {
  p.validate();
  if (p.n_q == 0 || p.n_ctx == 0) return;
  const size_t shmem = size_t(p.idx_heads * (p.idx_dim + 1)) * sizeof(float);
  if (shmem > 48 * 1024) throw config_error("attn_dsa_indexer (cuda): idx_heads·idx_dim too large for shared memory");
  const dim3 grid(unsigned((p.n_ctx + kThreads - 1) / kThreads), unsigned(p.n_q));
  dsa_indexer_kernel<<<grid, kThreads, shmem, static_cast<cudaStream_t>(stream)>>>(
      p.n_ctx, p.idx_heads, p.idx_dim, q_codes, q_scale, k_codes, k_scale, w, pos, scores);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun dsa_indexer_prepare_cuda(const DsaIndexerParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  return device_run_finish(run, io, [p, &R] {
    dsa_indexer_cuda(p, R.get<uint8_t>("q_codes"), R.get<uint8_t>("q_scale"), R.get<uint8_t>("k_codes"),
                     R.get<uint8_t>("k_scale"), R.get<float>("w"), R.get<int32_t>("pos"), R.get<float>("scores"),
                     R.stream);
  });
}

}  // namespace v4lab::kernels
