// mhc_cuda.cu — CUDA kernels for mHC (specs/mhc.md "Kernel notes"), the DeepSeek production split:
// kernel 1 is a split-K prenorm GEMM that also produces the sum of squares (memory-bound, ~m FLOP/B);
// kernel 2 finalizes one token per CTA: r, split + Sinkhorn (the shared V4LAB_HD template, registers
// only, unrolled for compile-time hc) and the pre-apply with 16-byte loads. hc_post is one streaming
// kernel with the residual merge fused. Split-K partials are reduced in a fixed order (deterministic).
#include <cuda_runtime.h>

#include <algorithm>
#include <type_traits>
#include <utility>

#include "kernels/cuda/check.cuh"
#include "kernels/mhc/mhc_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kVec = 8;  // BF16 elements per 16-byte load

// Tokens per CTA in kernel 1: each fn vector load then feeds TT tokens (fn is re-read from L2 once
// per tile, not per token), while TT·m accumulators stay within ~100 registers per thread.
__host__ __device__ constexpr int tile_tokens(int m) { return m <= 12 ? 8 : m <= 24 ? 4 : m <= 48 ? 2 : 1; }

// K splits: small batches would leave most SMs idle (decode: one token), so K is split until there
// are ~256 CTAs, at most 16 ways (as DeepGEMM's tests do) and never below 2048 elements per split.
// Depends only on the shape, so results do not depend on the device.
int splits_for(int64_t n_tokens, int64_t K, int m) {
  const int64_t tiles = (n_tokens + tile_tokens(m) - 1) / tile_tokens(m);
  int64_t s = (256 + tiles - 1) / std::max<int64_t>(tiles, 1);
  s = std::min<int64_t>(s, 16);
  s = std::min<int64_t>(s, std::max<int64_t>(1, K / 2048));
  return int(std::max<int64_t>(s, 1));
}

// Calls f(std::integral_constant<int, N>) for N = hc, so each hc gets its own unrolled kernels.
template <int N = 1, class F>
void with_hc(int hc, F&& f) {
  if constexpr (N <= kMhcMaxHc) {
    if (hc == N) {
      f(std::integral_constant<int, N>{});
    } else {
      with_hc<N + 1>(hc, std::forward<F>(f));
    }
  }
}

__device__ __forceinline__ void unpack8(const uint4 q, float* v) {
  const uint32_t w[4] = {q.x, q.y, q.z, q.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    v[2 * i] = __uint_as_float(w[i] << 16);  // little-endian: low half is the even element
    v[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
  }
}

__device__ __forceinline__ uint4 pack8(const float* v) {
  uint32_t w[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) w[i] = uint32_t(bf16_from_f32(v[2 * i])) | (uint32_t(bf16_from_f32(v[2 * i + 1])) << 16);
  return make_uint4(w[0], w[1], w[2], w[3]);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Kernel 1: grid (token tiles, splits). Partial dot products fn[mm, kb:ke]·v_t and Σ v_t² for TT
// tokens -> ws[(t·S + s)·(M+1) + mm] (index M holds the sum of squares).
template <int M, int TT>
static __global__ void __launch_bounds__(kThreads)
    prenorm_gemm_kernel(const uint16_t* __restrict__ x, const float* __restrict__ fn, int64_t n_tokens, int64_t K,
                        int S, float* __restrict__ ws) {
  const int64_t t0 = int64_t(blockIdx.x) * TT;
  const int s = blockIdx.y;
  const int64_t per = ((K + S - 1) / S + kVec - 1) / kVec * kVec;  // split length, a multiple of kVec
  const int64_t kb = min(K, int64_t(s) * per), ke = min(K, kb + per);
  float acc[TT][M];
  float ss[TT];
#pragma unroll
  for (int t = 0; t < TT; ++t) {
    ss[t] = 0.f;
#pragma unroll
    for (int mm = 0; mm < M; ++mm) acc[t][mm] = 0.f;
  }
  if (K % kVec == 0) {  // rows start 16-byte aligned: vector path
    for (int64_t k = kb + int64_t(threadIdx.x) * kVec; k < ke; k += int64_t(kThreads) * kVec) {
      float v[TT][kVec];
#pragma unroll
      for (int t = 0; t < TT; ++t) {
        if (t0 + t < n_tokens) {
          unpack8(__ldg(reinterpret_cast<const uint4*>(x + (t0 + t) * K + k)), v[t]);
        } else {
#pragma unroll
          for (int e = 0; e < kVec; ++e) v[t][e] = 0.f;
        }
#pragma unroll
        for (int e = 0; e < kVec; ++e) ss[t] = fmaf(v[t][e], v[t][e], ss[t]);
      }
#pragma unroll
      for (int mm = 0; mm < M; ++mm) {
        const float4* fp = reinterpret_cast<const float4*>(fn + int64_t(mm) * K + k);
        const float4 a = __ldg(fp), b = __ldg(fp + 1);
        const float f[kVec] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int t = 0; t < TT; ++t)
#pragma unroll
          for (int e = 0; e < kVec; ++e) acc[t][mm] = fmaf(f[e], v[t][e], acc[t][mm]);
      }
    }
  } else {  // odd row length (tiny d or hc·d not a multiple of 8): scalar path
    for (int64_t k = kb + threadIdx.x; k < ke; k += kThreads) {
      float v[TT];
#pragma unroll
      for (int t = 0; t < TT; ++t) {
        v[t] = t0 + t < n_tokens ? bf16_to_f32(x[(t0 + t) * K + k]) : 0.f;
        ss[t] = fmaf(v[t], v[t], ss[t]);
      }
#pragma unroll
      for (int mm = 0; mm < M; ++mm) {
        const float f = __ldg(fn + int64_t(mm) * K + k);
#pragma unroll
        for (int t = 0; t < TT; ++t) acc[t][mm] = fmaf(f, v[t], acc[t][mm]);
      }
    }
  }
  // Block reduction in a fixed order: shuffle tree inside each warp, then warps 0..7 in sequence.
  constexpr int kVals = TT * (M + 1);
  __shared__ float red[kWarps][kVals];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int t = 0; t < TT; ++t) {
#pragma unroll
    for (int mm = 0; mm < M; ++mm) {
      const float r = warp_sum(acc[t][mm]);
      if (lane == 0) red[warp][t * (M + 1) + mm] = r;
    }
    const float r = warp_sum(ss[t]);
    if (lane == 0) red[warp][t * (M + 1) + M] = r;
  }
  __syncthreads();
  for (int i = threadIdx.x; i < kVals; i += kThreads) {
    float sum = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) sum += red[w][i];
    const int t = i / (M + 1), mm = i % (M + 1);
    if (t0 + t < n_tokens) ws[((t0 + t) * S + s) * (M + 1) + mm] = sum;
  }
}

// Kernel 2: one CTA per token. Reduce the S partials (fixed order), r = 1/sqrt(Σv²/K + eps), mixes,
// then thread 0 runs the split (+ Sinkhorn for hc_pre) from registers, and all threads apply pre.
template <int HC, bool kHead>
static __global__ void __launch_bounds__(kThreads)
    prenorm_finalize_kernel(const uint16_t* __restrict__ x, const float* __restrict__ ws, int S, int64_t d,
                            const float* __restrict__ base, const float* __restrict__ scale, int iters, float hc_eps,
                            float norm_eps, SinkhornVariant variant, uint16_t* __restrict__ y, float* __restrict__ pre,
                            float* __restrict__ post, float* __restrict__ comb, float* __restrict__ mixes) {
  constexpr int M = kHead ? HC : (2 + HC) * HC;
  const int64_t t = blockIdx.x;
  const int64_t K = HC * d;
  __shared__ float red[M + 1];
  __shared__ float pre_s[HC];
  for (int i = threadIdx.x; i <= M; i += kThreads) {
    float sum = 0.f;
    for (int s = 0; s < S; ++s) sum += ws[(t * S + s) * (M + 1) + i];
    red[i] = sum;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    const float inv_k = 1.0f / float(K);
    const float r = 1.0f / sqrtf(red[M] * inv_k + norm_eps);
    float mix[M];
#pragma unroll
    for (int mm = 0; mm < M; ++mm) {
      mix[mm] = red[mm] * r;
      mixes[t * M + mm] = mix[mm];
    }
    float pr[HC];
    if constexpr (kHead) {
      mhc_head_split<float>(mix, base, scale, HC, hc_eps, pr);
    } else {
      float po[HC], cb[HC * HC];
      mhc_split_sinkhorn_n<float, HC>(mix, base, scale, iters, hc_eps, variant, pr, po, cb);
#pragma unroll
      for (int i = 0; i < HC; ++i) post[t * HC + i] = po[i];
#pragma unroll
      for (int i = 0; i < HC * HC; ++i) comb[t * HC * HC + i] = cb[i];
    }
#pragma unroll
    for (int i = 0; i < HC; ++i) {
      pre[t * HC + i] = pr[i];
      pre_s[i] = pr[i];
    }
  }
  __syncthreads();
  const uint16_t* xt = x + t * K;
  if (d % kVec == 0) {
    for (int64_t c = int64_t(threadIdx.x) * kVec; c < d; c += int64_t(kThreads) * kVec) {
      float a[kVec], v[kVec];
      unpack8(__ldg(reinterpret_cast<const uint4*>(xt + c)), v);
#pragma unroll
      for (int e = 0; e < kVec; ++e) a[e] = pre_s[0] * v[e];
#pragma unroll
      for (int i = 1; i < HC; ++i) {
        unpack8(__ldg(reinterpret_cast<const uint4*>(xt + i * d + c)), v);
#pragma unroll
        for (int e = 0; e < kVec; ++e) a[e] = fmaf(pre_s[i], v[e], a[e]);
      }
      *reinterpret_cast<uint4*>(y + t * d + c) = pack8(a);
    }
  } else {
    for (int64_t c = threadIdx.x; c < d; c += kThreads) {
      float a = pre_s[0] * bf16_to_f32(xt[c]);
#pragma unroll
      for (int i = 1; i < HC; ++i) a = fmaf(pre_s[i], bf16_to_f32(xt[i * d + c]), a);
      y[t * d + c] = bf16_from_f32(a);
    }
  }
}

// hc_post: grid (tokens, column blocks). X'_j = post_j·F + Σ_i comb[i][j]·X_i (column j of comb).
template <int HC>
static __global__ void __launch_bounds__(kThreads)
    post_kernel(const uint16_t* __restrict__ f, const uint16_t* __restrict__ x, const float* __restrict__ post,
                const float* __restrict__ comb, int64_t d, uint16_t* __restrict__ out) {
  const int64_t t = blockIdx.x;
  const int64_t K = HC * d;
  __shared__ float cs[HC * HC];
  __shared__ float ps[HC];
  if (threadIdx.x < HC * HC) cs[threadIdx.x] = comb[t * HC * HC + threadIdx.x];
  if (threadIdx.x < HC) ps[threadIdx.x] = post[t * HC + threadIdx.x];
  __syncthreads();
  const uint16_t* xt = x + t * K;
  uint16_t* ot = out + t * K;
  if (d % kVec == 0) {
    const int64_t stride = int64_t(gridDim.y) * kThreads * kVec;
    for (int64_t c = (int64_t(blockIdx.y) * kThreads + threadIdx.x) * kVec; c < d; c += stride) {
      float fv[kVec], xv[HC][kVec];
      unpack8(__ldg(reinterpret_cast<const uint4*>(f + t * d + c)), fv);
#pragma unroll
      for (int i = 0; i < HC; ++i) unpack8(__ldg(reinterpret_cast<const uint4*>(xt + i * d + c)), xv[i]);
#pragma unroll
      for (int j = 0; j < HC; ++j) {
        float a[kVec];
#pragma unroll
        for (int e = 0; e < kVec; ++e) a[e] = ps[j] * fv[e];
#pragma unroll
        for (int i = 0; i < HC; ++i)
#pragma unroll
          for (int e = 0; e < kVec; ++e) a[e] = fmaf(cs[i * HC + j], xv[i][e], a[e]);
        *reinterpret_cast<uint4*>(ot + j * d + c) = pack8(a);
      }
    }
  } else {
    const int64_t stride = int64_t(gridDim.y) * kThreads;
    for (int64_t c = int64_t(blockIdx.y) * kThreads + threadIdx.x; c < d; c += stride) {
      const float fv = bf16_to_f32(f[t * d + c]);
      float xv[HC];
#pragma unroll
      for (int i = 0; i < HC; ++i) xv[i] = bf16_to_f32(xt[i * d + c]);
#pragma unroll
      for (int j = 0; j < HC; ++j) {
        float a = ps[j] * fv;
#pragma unroll
        for (int i = 0; i < HC; ++i) a = fmaf(cs[i * HC + j], xv[i], a);
        ot[j * d + c] = bf16_from_f32(a);
      }
    }
  }
}

template <int HC, bool kHead>
void launch_prenorm(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                    uint16_t* y, float* pre, float* post, float* comb, float* mixes, float* ws, cudaStream_t st) {
  constexpr int M = kHead ? HC : (2 + HC) * HC;
  constexpr int TT = tile_tokens(M);
  const int64_t K = p.k();
  const int S = splits_for(p.n_tokens, K, M);
  const dim3 g1(unsigned((p.n_tokens + TT - 1) / TT), unsigned(S));
  prenorm_gemm_kernel<M, TT><<<g1, kThreads, 0, st>>>(x, fn, p.n_tokens, K, S, ws);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  prenorm_finalize_kernel<HC, kHead>
      <<<unsigned(p.n_tokens), kThreads, 0, st>>>(x, ws, S, p.d_model, base, scale, p.iters, float(p.hc_eps),
                                                  float(p.norm_eps), p.sinkhorn, y, pre, post, comb, mixes);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

template <bool kHead>
void dispatch_prenorm(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                      uint16_t* y, float* pre, float* post, float* comb, float* mixes, float* ws, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;  // nothing to do; a zero-sized grid would be a launch error
  const auto st = static_cast<cudaStream_t>(stream);
  with_hc(p.hc, [&](auto hc) {
    launch_prenorm<decltype(hc)::value, kHead>(p, x, fn, base, scale, y, pre, post, comb, mixes, ws, st);
  });
}

size_t prenorm_workspace_bytes(const MhcParams& p, int m) {
  p.validate();
  return size_t(p.n_tokens) * size_t(splits_for(p.n_tokens, p.k(), m)) * size_t(m + 1) * sizeof(float);
}

}  // namespace

size_t mhc_pre_cuda_workspace_bytes(const MhcParams& p) { return prenorm_workspace_bytes(p, p.m()); }
size_t mhc_head_cuda_workspace_bytes(const MhcParams& p) { return prenorm_workspace_bytes(p, p.hc); }

void mhc_pre_cuda(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* post, float* comb, float* mixes, float* workspace, void* stream) {
  dispatch_prenorm<false>(p, x, fn, base, scale, y, pre, post, comb, mixes, workspace, stream);
}

void mhc_head_cuda(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                   uint16_t* y, float* pre, float* mixes, float* workspace, void* stream) {
  dispatch_prenorm<true>(p, x, fn, base, scale, y, pre, nullptr, nullptr, mixes, workspace, stream);
}

void mhc_post_cuda(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                   uint16_t* x_out, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  const auto st = static_cast<cudaStream_t>(stream);
  const int64_t per_block = p.d_model % kVec == 0 ? int64_t(kThreads) * kVec : kThreads;
  const dim3 grid(unsigned(p.n_tokens), unsigned(std::min<int64_t>((p.d_model + per_block - 1) / per_block, 65535)));
  with_hc(p.hc, [&](auto hc) {
    post_kernel<decltype(hc)::value><<<grid, kThreads, 0, st>>>(f, x, post, comb, p.d_model, x_out);
  });
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace v4lab::kernels
