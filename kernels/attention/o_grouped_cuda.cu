// o_grouped_cuda.cu — CUDA V4 grouped output projection (o_grouped.h; specs/attention.md §4.2
// "Output", §4.8 "Grouped O"): one CTA per (token, group, 64 output rows). The CTA quantizes its
// group's D_in activations per 1×128 block into shared memory (one warp per block: warp-max amax,
// then the shared o_grouped_act_* math), then each warp computes 8 output rows with lanes striding
// over K (coalesced FP8 weight loads) and a warp-shuffle sum. Correctness-first (CUDA cores; the
// batched FP8 tensor-core GEMM of §4.8 is future work).
#include <cuda_runtime.h>

#include "core/error.h"
#include "kernels/attention/o_grouped_cuda.h"
#include "kernels/cuda/device_run.cuh"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256, kWarps = kThreads / 32, kRowsPerWarp = 8, kRowsPerCta = kWarps * kRowsPerWarp;

__device__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = w > v ? w : v;
  }
  return v;
}

static __global__ void o_grouped_kernel(OGroupedParams p, const uint16_t* __restrict__ o,
                                        const uint8_t* __restrict__ w_codes, const uint8_t* __restrict__ w_scale,
                                        uint16_t* __restrict__ y) {
  extern __shared__ float act[];  // [D_in] activations of (token t, group g), FP32
  const int64_t R = p.o_rank, Din = p.d_in(), KB = p.k_blocks(), RB = p.r_blocks(), HD = p.n_heads * p.d_head;
  const int64_t ctas_per_group = (R + kRowsPerCta - 1) / kRowsPerCta;
  const int64_t g = blockIdx.x / ctas_per_group, r0 = (blockIdx.x % ctas_per_group) * kRowsPerCta, t = blockIdx.y;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const uint16_t* x = o + t * HD + g * Din;
  for (int64_t kb = warp; kb < KB; kb += kWarps) {
    const int64_t c0 = kb * 128, c1 = c0 + 128 < Din ? c0 + 128 : Din;
    float amax = 0.0f;
    for (int64_t c = c0 + lane; c < c1; c += 32) amax = o_grouped_amax_step(amax, bf16_to_f32(x[c]));
    amax = warp_max(amax);
    const BlockScale b = o_grouped_act_scale(amax);
    for (int64_t c = c0 + lane; c < c1; c += 32)
      act[c] = p.act_fp8 ? o_grouped_act_value(bf16_to_f32(x[c]), b) : bf16_to_f32(x[c]);
  }
  __syncthreads();
  for (int j = 0; j < kRowsPerWarp; ++j) {
    const int64_t r = r0 + warp * kRowsPerWarp + j;
    if (r >= R) break;
    const uint8_t* wr = w_codes + (g * R + r) * Din;
    float acc = 0.0f;
    for (int64_t c = lane; c < Din; c += 32)
      acc += o_grouped_weight_value(wr[c], ue8m0_to_f32(w_scale[o_grouped_scale_index(g, r, c, RB, KB)])) * act[c];
    acc = warp_sum(acc);
    if (lane == 0) y[t * p.o_groups * R + g * R + r] = bf16_from_f32(acc);
  }
}

}  // namespace

void o_grouped_cuda(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                    uint16_t* y, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  if (p.d_in() > kOGroupedCudaMaxDin)
    throw config_error("attn_o_grouped (cuda): n_heads/o_groups·d_head = " + std::to_string(p.d_in()) +
                       " exceeds the shared-memory limit " + std::to_string(kOGroupedCudaMaxDin));
  const int64_t ctas = p.o_groups * ((p.o_rank + kRowsPerCta - 1) / kRowsPerCta);
  const dim3 grid(unsigned(ctas), unsigned(p.n_tokens));
  const size_t shmem = size_t(p.d_in()) * sizeof(float);
  o_grouped_kernel<<<grid, kThreads, shmem, static_cast<cudaStream_t>(stream)>>>(p, o, w_codes, w_scale, y);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun o_grouped_prepare_cuda(const OGroupedParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  return device_run_finish(run, io, [p, &R] {
    o_grouped_cuda(p, R.get<uint16_t>("o"), R.get<uint8_t>("w_codes"), R.get<uint8_t>("w_scale"), R.get<uint16_t>("y"),
                   R.stream);
  });
}

}  // namespace v4lab::kernels
