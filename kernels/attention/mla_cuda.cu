// mla_cuda.cu — CUDA MLA decode (mla.h; specs/attention.md §2): kernel 1 builds q̃ (absorbed) or q
// (naive) in FP32 per (query, head); kernel 2, one CTA per (query, head), writes the logits to the
// workspace (naive: W_UK·c_kv per token on the fly), normalizes, accumulates ô (absorbed, then W_UV)
// or v (naive). Correctness-first (no split-KV, no tensor cores); FP32 accumulate.
#include <cuda_runtime.h>

#include "kernels/attention/attention_core_cuda.h"
#include "kernels/cuda/device_run.cuh"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;

struct Args {
  int64_t n_q, n_ctx, H, d_nope, d_rope, R, d_v, top_k;
  bool absorbed;
  float scale;
};

__device__ float block_sum(float v, float* red, bool is_max = false) {
  for (int o = 16; o > 0; o >>= 1) {
    const float w = __shfl_xor_sync(0xffffffffu, v, o);
    v = is_max ? fmaxf(v, w) : v + w;
  }
  __syncthreads();
  if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < kThreads / 32 ? red[threadIdx.x] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? fmaxf(v, w) : v + w;
    }
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

__device__ int64_t token_of(const Args& a, int64_t i, int64_t e, const int32_t* pos, const int32_t* idx) {
  if (a.top_k > 0) {
    const int32_t s = idx[i * a.top_k + e];
    return s >= 0 && s < a.n_ctx ? s : -1;
  }
  const int64_t last = pos[i] < a.n_ctx - 1 ? pos[i] : a.n_ctx - 1;
  return e <= last ? e : -1;
}

static __global__ void mla_prologue(Args a, const uint16_t* __restrict__ q, const uint16_t* __restrict__ w,
                                    float* __restrict__ qt) {
  const int64_t i = blockIdx.y, h = blockIdx.x, Dc = a.R + a.d_rope, Dq = a.d_nope + a.d_rope, Wr = a.d_nope + a.d_v;
  const uint16_t* qh = q + (i * a.H + h) * Dq;
  float* out = qt + (i * a.H + h) * (a.absorbed ? Dc : Dq);
  if (!a.absorbed) {
    for (int64_t c = threadIdx.x; c < Dq; c += kThreads) out[c] = bf16_to_f32(qh[c]);
    return;
  }
  for (int64_t c = threadIdx.x; c < a.R; c += kThreads) {
    float acc = 0;
    for (int64_t r = 0; r < a.d_nope; ++r) acc += bf16_to_f32(qh[r]) * bf16_to_f32(w[(h * Wr + r) * a.R + c]);
    out[c] = acc;
  }
  for (int64_t r = threadIdx.x; r < a.d_rope; r += kThreads) out[a.R + r] = bf16_to_f32(qh[a.d_nope + r]);
}

static __global__ void mla_attend(Args a, const uint16_t* __restrict__ cache, const uint16_t* __restrict__ w,
                                  const int32_t* __restrict__ pos, const int32_t* __restrict__ idx,
                                  const float* __restrict__ qt, float* __restrict__ logits, float* __restrict__ o,
                                  float* __restrict__ lse) {
  extern __shared__ float sh[];  // absorbed: ô [R]; naive: k/v scratch [max(d_nope, d_v)]
  __shared__ float red[32];
  const int64_t i = blockIdx.y, h = blockIdx.x, Dc = a.R + a.d_rope, Dq = a.d_nope + a.d_rope, Wr = a.d_nope + a.d_v;
  const int64_t n = a.top_k > 0 ? a.top_k : a.n_ctx;
  const float* qh = qt + (i * a.H + h) * (a.absorbed ? Dc : Dq);
  float* l = logits + (i * a.H + h) * n;
  const uint16_t* wk = w + h * Wr * a.R;
  const uint16_t* wv = wk + a.d_nope * a.R;
  for (int64_t e = 0; e < n; ++e) {
    const int64_t s = token_of(a, i, e, pos, idx);
    if (s < 0) {
      if (threadIdx.x == 0) l[e] = -INFINITY;
      continue;
    }
    const uint16_t* kr = cache + s * Dc;
    float d = 0;
    if (a.absorbed) {
      for (int64_t c = threadIdx.x; c < Dc; c += kThreads) d += qh[c] * bf16_to_f32(kr[c]);
    } else {
      for (int64_t r = threadIdx.x; r < a.d_nope; r += kThreads) {
        float k = 0;
        for (int64_t c = 0; c < a.R; ++c) k += bf16_to_f32(wk[r * a.R + c]) * bf16_to_f32(kr[c]);
        d += qh[r] * k;
      }
      for (int64_t r = threadIdx.x; r < a.d_rope; r += kThreads) d += qh[a.d_nope + r] * bf16_to_f32(kr[a.R + r]);
    }
    d = block_sum(d, red);
    if (threadIdx.x == 0) l[e] = a.scale * d;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int64_t e = threadIdx.x; e < n; e += kThreads) m = fmaxf(m, l[e]);
  const float M = block_sum(m, red, true);
  float s = 0;
  for (int64_t e = threadIdx.x; e < n; e += kThreads) s += l[e] == -INFINITY ? 0.0f : expf(l[e] - M);
  const float sum = block_sum(s, red);
  const float inv = sum > 0 ? 1.0f / sum : 0.0f;
  if (threadIdx.x == 0) lse[i * a.H + h] = M == -INFINITY ? -INFINITY : M + logf(sum);
  float* oh = o + (i * a.H + h) * a.d_v;
  if (a.absorbed) {
    for (int64_t c = threadIdx.x; c < a.R; c += kThreads) {
      float acc = 0;
      for (int64_t e = 0; e < n; ++e) {
        const int64_t t = token_of(a, i, e, pos, idx);
        if (t >= 0) acc += expf(l[e] - M) * bf16_to_f32(cache[t * Dc + c]);
      }
      sh[c] = acc * inv;
    }
    __syncthreads();
    for (int64_t r = threadIdx.x; r < a.d_v; r += kThreads) {
      float acc = 0;
      for (int64_t c = 0; c < a.R; ++c) acc += bf16_to_f32(wv[r * a.R + c]) * sh[c];
      oh[r] = acc;
    }
  } else {
    for (int64_t r = threadIdx.x; r < a.d_v; r += kThreads) {
      float acc = 0;
      for (int64_t e = 0; e < n; ++e) {
        const int64_t t = token_of(a, i, e, pos, idx);
        if (t < 0) continue;
        float v = 0;
        for (int64_t c = 0; c < a.R; ++c) v += bf16_to_f32(wv[r * a.R + c]) * bf16_to_f32(cache[t * Dc + c]);
        acc += expf(l[e] - M) * v;
      }
      oh[r] = acc * inv;
    }
  }
}

}  // namespace

int64_t mla_cuda_workspace_floats(const MlaParams& p) {
  const int64_t n = p.top_k > 0 ? p.top_k : p.n_ctx;
  return p.n_q * p.n_heads * (p.d_cache() > p.d_qk() ? p.d_cache() : p.d_qk()) + p.n_q * p.n_heads * n;
}

void mla_decode_cuda(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                     const int32_t* pos, const int32_t* idx, float* o, float* lse, float* ws, void* stream) {
  p.validate();
  if (p.n_q == 0) return;
  const Args a{p.n_q, p.n_ctx, p.n_heads, p.d_nope, p.d_rope, p.kv_rank, p.d_v, p.top_k,
               p.form == MlaForm::Absorbed, float(p.softmax_scale())};
  const dim3 grid(unsigned(p.n_heads), unsigned(p.n_q));
  auto st = static_cast<cudaStream_t>(stream);
  float* qt = ws;
  float* logits = ws + p.n_q * p.n_heads * (p.d_cache() > p.d_qk() ? p.d_cache() : p.d_qk());
  mla_prologue<<<grid, kThreads, 0, st>>>(a, q, w_kvb, qt);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  mla_attend<<<grid, kThreads, size_t(p.kv_rank) * sizeof(float), st>>>(a, cache, w_kvb, pos, idx, qt, logits, o, lse);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun mla_prepare_cuda(const MlaParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  float* ws = static_cast<float*>(run->alloc(size_t(mla_cuda_workspace_floats(p)) * sizeof(float)));
  const DeviceRun& R = *run;
  return device_run_finish(run, io, [p, &R, ws] {
    mla_decode_cuda(p, R.get<uint16_t>("q"), R.get<uint16_t>("cache"), R.get<uint16_t>("w_kvb"), R.get<int32_t>("pos"),
                    R.get<int32_t>("idx"), R.get<float>("o"), R.get<float>("lse"), ws, R.stream);
  });
}

}  // namespace v4lab::kernels
