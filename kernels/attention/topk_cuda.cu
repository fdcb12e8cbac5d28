// topk_cuda.cu — CUDA causal top-k (kernels/attention/topk.h): one CTA per query. Three radix passes
// (11, 11, 10 key bits) with shared-memory histograms find the k-th key T; a fourth pass appends every
// key > T and, in index order (block-wide scans per tile), the first keys == T; a bitonic sort in
// shared memory puts the k selected in index order. Deterministic; no workspace (top_k ≤ 4096).
#include <cuda_runtime.h>

#include "kernels/attention/topk_cuda.h"
#include "kernels/cuda/device_run.cuh"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 512;
constexpr int kMaxK = kTopkCudaMaxK;

struct Digit {
  int shift, bits;
};
__device__ const Digit kDigits[3] = {{21, 11}, {10, 11}, {0, 10}};

// Threshold digit of a histogram: the bin where the count from the top reaches `need`; returns the
// count strictly above it. Thread 0 only.
__device__ int threshold_bin(const int* hist, int bins, int need, int* above_out) {
  int above = 0, b = bins - 1;
  for (; b > 0; --b) {
    if (above + hist[b] >= need) break;
    above += hist[b];
  }
  *above_out = above;
  return b;
}

static __global__ void topk_kernel(int64_t n_cand, int64_t top_k, const float* __restrict__ scores,
                                   const int32_t* __restrict__ lengths, int32_t* __restrict__ idx,
                                   int32_t* __restrict__ nan_count) {
  __shared__ int hist[2048];
  __shared__ uint32_t prefix_key, prefix_mask;
  __shared__ int need_s, n_sel, n_eq_taken, nan_s, warp_counts[kThreads / 32];
  __shared__ uint32_t sel_key[kMaxK];
  __shared__ int32_t sel_idx[kMaxK];
  const int64_t q = blockIdx.x;
  const float* s = scores + q * n_cand;
  const int64_t len = lengths[q];
  const int k = int(len < top_k ? len : top_k);
  if (threadIdx.x == 0) prefix_key = 0, prefix_mask = 0, need_s = k, n_sel = 0, n_eq_taken = 0, nan_s = 0;
  __syncthreads();
  int my_nans = 0;
  for (int64_t i = threadIdx.x; i < len; i += kThreads) my_nans += s[i] != s[i];
  atomicAdd(&nan_s, my_nans);
  // Passes 1–3: narrow the threshold key digit by digit (only while k > 0).
  for (int d = 0; d < 3 && k > 0; ++d) {
    const Digit dg = kDigits[d];
    const int bins = 1 << dg.bits;
    for (int b = threadIdx.x; b < bins; b += kThreads) hist[b] = 0;
    __syncthreads();
    const uint32_t pk = prefix_key, pm = prefix_mask;
    for (int64_t i = threadIdx.x; i < len; i += kThreads) {
      const uint32_t key = topk_key(s[i]);
      if ((key & pm) == pk) atomicAdd(&hist[(key >> dg.shift) & (bins - 1)], 1);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int above = 0;
      const int b = threshold_bin(hist, bins, need_s, &above);
      need_s -= above;
      prefix_key |= uint32_t(b) << dg.shift;
      prefix_mask |= uint32_t(bins - 1) << dg.shift;
    }
    __syncthreads();
  }
  // Pass 4: keys > T in any order (sorted below); keys == T in index order, the first need_s of them.
  const uint32_t T = prefix_key;
  const int need_eq = need_s;
  for (int64_t base = 0; base < len && k > 0; base += kThreads) {
    const int64_t i = base + threadIdx.x;
    const uint32_t key = i < len ? topk_key(s[i]) : 0u;
    const bool gt = i < len && key > T, eq = i < len && key == T;
    if (gt) {
      const int slot = atomicAdd(&n_sel, 1);
      sel_key[slot] = key, sel_idx[slot] = int32_t(i);
    }
    const unsigned ballot = __ballot_sync(0xffffffffu, eq);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_counts[warp] = __popc(ballot);
    __syncthreads();
    int before = n_eq_taken;
    for (int w = 0; w < warp; ++w) before += warp_counts[w];
    before += __popc(ballot & ((1u << lane) - 1u));
    __syncthreads();
    if (eq && before < need_eq) {
      const int slot = atomicAdd(&n_sel, 1);
      sel_key[slot] = key, sel_idx[slot] = int32_t(i);
    }
    if (threadIdx.x == 0) {
      int tile = 0;
      for (int w = 0; w < kThreads / 32; ++w) tile += warp_counts[w];
      n_eq_taken += tile;
    }
    __syncthreads();
  }
  __syncthreads();
  // Bitonic sort of the k selected by index, padded to a power of two.
  int n2 = 1;
  while (n2 < k) n2 <<= 1;
  for (int i = k + threadIdx.x; i < n2; i += kThreads) sel_key[i] = 0u, sel_idx[i] = 0x7fffffff;
  __syncthreads();
  for (int size = 2; size <= n2; size <<= 1)
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < n2; i += kThreads) {
        const int j = i ^ stride;
        if (j > i) {
          const bool up = (i & size) == 0;  // this pair's run sorts ascending
          const bool i_first = sel_idx[i] < sel_idx[j];
          if (i_first != up) {
            const uint32_t tk = sel_key[i];
            const int32_t ti = sel_idx[i];
            sel_key[i] = sel_key[j], sel_idx[i] = sel_idx[j];
            sel_key[j] = tk, sel_idx[j] = ti;
          }
        }
      }
      __syncthreads();
    }
  int32_t* out = idx + q * top_k;
  for (int64_t j = threadIdx.x; j < top_k; j += kThreads) out[j] = j < k ? sel_idx[j] : -1;
  if (threadIdx.x == 0) nan_count[q] = nan_s;
}

}  // namespace

void topk_cuda(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count,
               void* stream) {
  p.validate();
  if (p.top_k > kTopkCudaMaxK)
    throw config_error("topk (cuda): top_k = " + std::to_string(p.top_k) + " exceeds the CUDA kernel's limit of " +
                       std::to_string(kTopkCudaMaxK) + " (shared-memory sort); use the cpu backend");
  if (p.n_queries == 0) return;
  topk_kernel<<<unsigned(p.n_queries), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(p.n_cand, p.top_k, scores,
                                                                                      lengths, idx, nan_count);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun topk_prepare_cuda(const TopkParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  return device_run_finish(run, io,
                           [p, st = R.stream, s = R.get<float>("scores"), l = R.get<int32_t>("lengths"),
                            ix = R.get<int32_t>("idx"), nc = R.get<int32_t>("nan_count")] {
                             topk_cuda(p, s, l, ix, nc, st);
                           });
}

}  // namespace v4lab::kernels
