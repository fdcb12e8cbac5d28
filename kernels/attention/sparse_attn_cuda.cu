// sparse_attn_cuda.cu — CUDA V4 sparse attention core (sparse_attn.h; specs/attention.md §4.2, §4.8):
// one CTA per (query, head); warps compute the logits of the valid entries into shared memory
// (invalid entries are never loaded: their weight is 0, not 0 × NaN), one block-wide max including
// the sink, P rounded to BF16 (flag), P·V with threads over d_head, inverse RoPE from a host-built
// FP32 cos/sin table. A correctness-first kernel (no tensor cores; the head-shared CTA is future work).
#include <cuda_runtime.h>

#include <cmath>
#include <vector>

#include "kernels/attention/attention_core_cuda.h"
#include "kernels/cuda/device_run.cuh"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;

__device__ float block_reduce(float v, bool is_max, float* red) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? (w > v ? w : v) : v + w;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();
  if (lane == 0) red[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / 32 ? red[lane] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? (w > v ? w : v) : v + w;
    }
    if (lane == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

struct Args {
  int64_t n_heads, d_head, n_kv, n_cmp, n_win, n_sel;
  int d_rope;
  float scale;
  bool p_bf16;
};

static __global__ void sparse_attn_kernel(Args a, const uint16_t* __restrict__ q, const uint16_t* __restrict__ kv,
                                          const uint16_t* __restrict__ cmp, const int32_t* __restrict__ win_idx,
                                          const int32_t* __restrict__ sel_idx, const float* __restrict__ sink,
                                          const float* __restrict__ cos_sin, uint16_t* __restrict__ o,
                                          float* __restrict__ lse) {
  extern __shared__ float logit[];  // [n_win + n_sel]
  __shared__ float red[32];
  const int64_t i = blockIdx.y, h = blockIdx.x, D = a.d_head, E = a.n_win + a.n_sel;
  const uint16_t* qh = q + (i * a.n_heads + h) * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  auto row_of = [&](int64_t e) -> const uint16_t* {
    if (e < a.n_win) {
      const int32_t s = win_idx[i * a.n_win + e];
      return s >= 0 && s < a.n_kv ? kv + int64_t(s) * D : nullptr;
    }
    const int32_t s = sel_idx[i * a.n_sel + (e - a.n_win)];
    return s >= 0 && s < a.n_cmp ? cmp + int64_t(s) * D : nullptr;
  };
  for (int64_t e = warp; e < E; e += kThreads / 32) {
    const uint16_t* r = row_of(e);
    float d = 0;
    if (r)
      for (int64_t c = lane; c < D; c += 32) d += bf16_to_f32(qh[c]) * bf16_to_f32(r[c]);
    for (int off = 16; off > 0; off >>= 1) d += __shfl_xor_sync(0xffffffffu, d, off);
    if (lane == 0) logit[e] = r ? d * a.scale : -INFINITY;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int64_t e = threadIdx.x; e < E; e += kThreads) m = logit[e] > m ? logit[e] : m;
  const float m_l = block_reduce(m, true, red);
  const float z = sink[h], M = z > m_l ? z : m_l;
  float s_l = 0, s = 0;
  for (int64_t e = threadIdx.x; e < E; e += kThreads) {
    const float l = logit[e];
    if (l == -INFINITY) continue;
    s_l += expf(l - m_l);
    const float w = expf(l - M);
    s += w;
    logit[e] = a.p_bf16 ? bf16_round(w) : w;
  }
  for (int64_t e = threadIdx.x; e < E; e += kThreads)
    if (logit[e] == -INFINITY) logit[e] = 0.0f;
  const float sum_l = block_reduce(s_l, false, red);
  const float sum = block_reduce(s, false, red);
  const float ez = z >= M ? 1.0f : expf(z - M);
  const float den = sum + ez;
  const float inv = M == INFINITY ? 0.0f : (den > 0 || den != den ? 1.0f / den : 0.0f);
  if (threadIdx.x == 0) lse[i * a.n_heads + h] = m_l == -INFINITY ? -INFINITY : m_l + logf(sum_l);
  // P·V: thread c accumulates column c (and its rope partner) over the valid rows.
  const int64_t off = D - a.d_rope;
  for (int64_t c = threadIdx.x; c < D; c += kThreads) {
    if (c >= off && ((c - off) & 1)) continue;  // odd rope columns are done with their even partner
    const bool rope = c >= off;
    float acc0 = 0, acc1 = 0;
    for (int64_t e = 0; e < E; ++e) {
      const uint16_t* r = row_of(e);
      if (!r) continue;
      acc0 += logit[e] * bf16_to_f32(r[c]);
      if (rope) acc1 += logit[e] * bf16_to_f32(r[c + 1]);
    }
    acc0 = inv == 0.0f ? 0.0f : acc0 * inv;
    acc1 = inv == 0.0f ? 0.0f : acc1 * inv;
    uint16_t* dst = o + (i * a.n_heads + h) * D;
    if (rope) {
      const int k = int((c - off) / 2);
      const float cs = cos_sin[(i * (a.d_rope / 2) + k) * 2], sn = -cos_sin[(i * (a.d_rope / 2) + k) * 2 + 1];
      dst[c] = bf16_from_f32(acc0 * cs - acc1 * sn);
      dst[c + 1] = bf16_from_f32(acc0 * sn + acc1 * cs);
    } else {
      dst[c] = bf16_from_f32(acc0);
    }
  }
}

}  // namespace

void sparse_attn_cuda(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                      const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* /*pos*/,
                      const float* cos_sin, uint16_t* o, float* lse, void* stream) {
  p.validate();
  if (p.n_win + p.n_sel > kSparseAttnCudaMaxEntries)
    throw config_error("attn_sparse (cuda): n_win + n_sel = " + std::to_string(p.n_win + p.n_sel) + " exceeds " +
                       std::to_string(kSparseAttnCudaMaxEntries));
  if (p.n_q == 0) return;
  Args a{p.n_heads, p.d_head, p.n_kv, p.n_cmp, p.n_win, p.n_sel, p.d_rope, float(p.softmax_scale()), p.p_bf16};
  const dim3 grid(unsigned(p.n_heads), unsigned(p.n_q));
  const size_t shmem = size_t(p.n_win + p.n_sel) * sizeof(float);
  sparse_attn_kernel<<<grid, kThreads, shmem, static_cast<cudaStream_t>(stream)>>>(a, q, kv, cmp, win_idx, sel_idx,
                                                                                    sink, cos_sin, o, lse);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun sparse_attn_prepare_cuda(const SparseAttnParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  // Inverse-RoPE table per query (host-built from pos, the numerics family's FP64 angles).
  const int64_t half = p.d_rope / 2;
  std::vector<float> cs(size_t(std::max<int64_t>(1, p.n_q * half * 2)));
  const RopeFreqs fr(p.rope);
  std::vector<float> row(size_t(std::max<int64_t>(2, p.d_rope)));
  for (int64_t i = 0; i < p.n_q && half > 0; ++i) {
    fr.row(p.rope, io.in("pos").data<int32_t>()[i], row.data());
    std::copy_n(row.data(), 2 * half, cs.data() + i * 2 * half);
  }
  float* d_cs = static_cast<float*>(run->alloc(cs.size() * sizeof(float)));
  V4LAB_CUDA_CHECK(cudaMemcpy(d_cs, cs.data(), cs.size() * sizeof(float), cudaMemcpyHostToDevice));
  const DeviceRun& R = *run;
  return device_run_finish(run, io, [p, st = R.stream, &R, d_cs] {
    sparse_attn_cuda(p, R.get<uint16_t>("q"), R.get<uint16_t>("kv"), R.get<uint16_t>("cmp"), R.get<int32_t>("win_idx"),
                     R.get<int32_t>("sel_idx"), R.get<float>("sink"), R.get<int32_t>("pos"), d_cs, R.get<uint16_t>("o"),
                     R.get<float>("lse"), st);
  });
}

}  // namespace v4lab::kernels
