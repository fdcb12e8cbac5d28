// moe_cuda.cu — CUDA kernels of the MoE family (specs/moe.md "Kernel notes"). Router: one warp per
// (token, expert) logit with FP64 accumulation (the logits every backend shares), then one thread per
// token runs the shared moe_gate_token (scoring, top-k, weights). Permute: a one-CTA counting sort
// (deterministic, stable) and a row gather. Experts: FP8 1×128 activation blocks, a grouped GEMM with
// one warp per output feature that decodes BF16 / FP8 / MXFP4 weights on the fly and serves up to 8
// rows per pass, SwiGLU + clamp + routing weight, re-quantization, GEMM2. Combine: fixed-order FP32
// sums per token (no atomics: deterministic).
#include <cuda_runtime.h>

#include <algorithm>

#include "core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/moe/moe_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kRowsPerPass = 8;  // rows of one expert served by each decoded weight element

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

int blocks_for(int64_t n, int per) { return int(std::max<int64_t>(1, (n + per - 1) / per)); }

// ---------------------------------------------------------------------------------------------
// Router
// ---------------------------------------------------------------------------------------------
static __global__ void __launch_bounds__(kThreads)
    router_logits_kernel(const uint16_t* __restrict__ x, const uint16_t* __restrict__ w_g, int64_t d, int E,
                         float* __restrict__ z) {
  const int64_t t = blockIdx.x;
  const int e = blockIdx.y * kWarps + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (e >= E) return;
  double acc = 0;
  for (int64_t c = lane; c < d; c += 32)
    acc += double(bf16_to_f32(x[t * d + c])) * double(bf16_to_f32(w_g[int64_t(e) * d + c]));
  acc = warp_sum(acc);
  if (lane == 0) z[t * E + e] = float(acc);
}

static __global__ void router_finish_kernel(MoeParams p, const float* __restrict__ z, const float* __restrict__ bias,
                                            const int32_t* __restrict__ token_ids, const int32_t* __restrict__ tid2eid,
                                            int32_t* topk_idx, float* topk_w, float* scores, int32_t* flags) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= p.n_tokens) return;
  const int E = p.n_experts, k = p.top_k;
  const int32_t* hash_row = nullptr;
  if (p.hash) {
    const int32_t id = token_ids[t];
    if (id < 0 || id >= p.vocab) {  // the host rejects this before launch; never read out of bounds
      for (int j = 0; j < k; ++j) topk_idx[t * k + j] = -1, topk_w[t * k + j] = 0.0f;
      flags[t] = kMoeFlagBadToken;
      return;
    }
    hash_row = tid2eid + int64_t(id) * k;
  }
  const float* b = p.use_bias && !p.hash ? bias : nullptr;
  flags[t] = moe_gate_token(z + t * E, E, k, p.scoring, b, p.n_group, p.topk_group, p.route_scale, hash_row,
                            scores + t * E, topk_idx + t * k, topk_w + t * k);
}

// ---------------------------------------------------------------------------------------------
// Permute
// ---------------------------------------------------------------------------------------------
static __global__ void __launch_bounds__(kThreads)
    permute_sort_kernel(const int32_t* __restrict__ idx, int64_t R, int E, int32_t* offsets, int32_t* row_map) {
  __shared__ int32_t start[kMoeMaxExperts + 1];
  for (int e = threadIdx.x; e < E; e += blockDim.x) {
    int32_t n = 0;
    for (int64_t i = 0; i < R; ++i) n += idx[i] == e;
    start[e + 1] = n;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    start[0] = 0;
    for (int e = 0; e < E; ++e) start[e + 1] += start[e];
    for (int e = 0; e <= E; ++e) offsets[e] = start[e];
  }
  __syncthreads();
  for (int e = threadIdx.x; e < E; e += blockDim.x) {  // each expert's rows in (token, slot) order
    int32_t pos = start[e];
    for (int64_t i = 0; i < R; ++i)
      if (idx[i] == e) row_map[pos++] = int32_t(i);
  }
}

static __global__ void permute_gather_kernel(const uint16_t* __restrict__ x, const int32_t* __restrict__ row_map,
                                             int64_t d, int k, uint16_t* __restrict__ x_perm) {
  const int64_t r = blockIdx.x;
  const uint16_t* src = x + int64_t(row_map[r] / k) * d;
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) x_perm[r * d + c] = src[c];
}

// ---------------------------------------------------------------------------------------------
// Experts
// ---------------------------------------------------------------------------------------------
// Activations into a GEMM, one thread per 128-block (or per element without quantization).
template <class In>
__device__ __forceinline__ float to_f32(In v);
template <>
__device__ __forceinline__ float to_f32<uint16_t>(uint16_t v) {
  return bf16_to_f32(v);
}
template <>
__device__ __forceinline__ float to_f32<float>(float v) {
  return v;
}

template <class In>
static __global__ void act_quant_kernel(const In* __restrict__ in, int64_t rows, int64_t K, bool quantize,
                                        float* __restrict__ out) {
  const int64_t nb = quantize ? K / 128 : K;
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * nb) return;
  if (!quantize) {
    out[i] = to_f32(in[i]);
    return;
  }
  float v[128];
  const int64_t base = (i / nb) * K + (i % nb) * 128;
  for (int c = 0; c < 128; ++c) v[c] = to_f32(in[base + c]);
  moe_fp8_act_block(v, 128, out + base);
}

// Weight element (e, n, c) of an [E, out, in] stack, decoded (exact).
__device__ __forceinline__ float weight_at(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e,
                                           int64_t n, int64_t c) {
  const int64_t row = int64_t(e) * out + n;
  if (dt == ExpertDtype::BF16) return bf16_to_f32(static_cast<const uint16_t*>(w.codes)[row * in + c]);
  if (dt == ExpertDtype::FP8) {
    const int64_t so = (out + 127) / 128, si = (in + 127) / 128;
    return fp8_e4m3_to_f32(static_cast<const uint8_t*>(w.codes)[row * in + c]) *
           ue8m0_to_f32(w.scales[(int64_t(e) * so + n / 128) * si + c / 128]);
  }
  const uint8_t b = static_cast<const uint8_t*>(w.codes)[row * (in / 2) + c / 2];
  return fp4_e2m1_to_f32((c & 1) ? fp4_hi(b) : fp4_lo(b)) * ue8m0_to_f32(w.scales[row * (in / 32) + c / 32]);
}

// OUT[r, n] = Σ_c A[r, c]·W_e[n, c] for the rows of expert e = blockIdx.y; one warp per feature n.
// post_scale: multiply row r by w_perm[r] (V3 placement after W2).
static __global__ void __launch_bounds__(kThreads)
    expert_gemm_kernel(MoeWeight w, ExpertDtype dt, int64_t out, int64_t in, const int32_t* __restrict__ offsets,
                       int64_t rows, const float* __restrict__ A, float* __restrict__ OUT,
                       const float* __restrict__ post_scale) {
  const int e = blockIdx.y;
  const int64_t n = int64_t(blockIdx.x) * kWarps + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (n >= out) return;
  const int64_t r0 = offsets ? offsets[e] : 0, r1 = offsets ? offsets[e + 1] : rows;
  for (int64_t rb = r0; rb < r1; rb += kRowsPerPass) {
    const int nr = int(r1 - rb < kRowsPerPass ? r1 - rb : int64_t(kRowsPerPass));
    float acc[kRowsPerPass] = {};
    for (int64_t c = lane; c < in; c += 32) {
      const float wv = weight_at(w, dt, out, in, e, n, c);
#pragma unroll
      for (int i = 0; i < kRowsPerPass; ++i)
        if (i < nr) acc[i] += wv * A[(rb + i) * in + c];
    }
#pragma unroll
    for (int i = 0; i < kRowsPerPass; ++i) {
      const float s = warp_sum(acc[i]);
      if (lane == 0 && i < nr) OUT[(rb + i) * out + n] = post_scale ? post_scale[rb + i] * s : s;
    }
  }
}

static __global__ void swiglu_kernel(const float* __restrict__ g, const float* __restrict__ u, int64_t rows,
                                     int64_t f, float limit, const float* __restrict__ w_perm, float* __restrict__ h) {
  const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= rows * f) return;
  const float wt = w_perm ? w_perm[i / f] : 1.0f;
  h[i] = wt * swiglu_f32(g[i], u[i], limit);
}

// ---------------------------------------------------------------------------------------------
// Combine
// ---------------------------------------------------------------------------------------------
static __global__ void invert_kernel(const int32_t* __restrict__ row_map, int64_t R, int32_t* __restrict__ inv) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < R) inv[row_map[r]] = int32_t(r);
}

static __global__ void combine_kernel(const float* __restrict__ y_e, const int32_t* __restrict__ inv,
                                      const int32_t* __restrict__ topk_idx, const float* __restrict__ y_s, int k,
                                      int64_t d, uint16_t* __restrict__ y) {
  const int64_t t = blockIdx.x;
  int order[kMoeMaxTopK];
  for (int j = 0; j < k; ++j) {  // insertion sort by (expert id, slot), as _ref's stable sort
    int pos = j;
    while (pos > 0 && topk_idx[t * k + order[pos - 1]] > topk_idx[t * k + j]) order[pos] = order[pos - 1], --pos;
    order[pos] = j;
  }
  for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < k; ++j) acc += y_e[int64_t(inv[t * k + order[j]]) * d + c];
    y[t * d + c] = bf16_from_f32(acc + y_s[t * d + c]);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Launchers
// ---------------------------------------------------------------------------------------------
size_t moe_gate_cuda_workspace_bytes(const MoeParams& p) { return sizeof(float) * size_t(p.n_tokens * p.n_experts); }

void moe_gate_cuda(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                   const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                   int32_t* flags, void* workspace, void* stream) {
  p.validate(MoeOp::Gate);
  if (p.n_tokens == 0) return;
  if (!workspace) throw config_error("moe_gate_cuda: workspace of moe_gate_cuda_workspace_bytes(p) is required");
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  float* z = static_cast<float*>(workspace);
  router_logits_kernel<<<dim3(unsigned(p.n_tokens), unsigned(blocks_for(p.n_experts, kWarps))), kThreads, 0, st>>>(
      x, w_g, p.d_model, p.n_experts, z);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  router_finish_kernel<<<blocks_for(p.n_tokens, 128), 128, 0, st>>>(p, z, bias, token_ids, tid2eid, topk_idx, topk_w,
                                                                     scores, flags);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void moe_permute_cuda(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                      int32_t* row_map, uint16_t* x_perm, void* stream) {
  p.validate(MoeOp::Permute);
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  permute_sort_kernel<<<1, kThreads, 0, st>>>(topk_idx, p.rows(), p.n_experts, offsets, row_map);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  if (p.rows() == 0) return;
  permute_gather_kernel<<<unsigned(p.rows()), kThreads, 0, st>>>(x, row_map, p.d_model, p.top_k, x_perm);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

// Workspace: A1 [rows, d] (quantized x), G and U [rows, f], A2 [rows, f] (quantized (w·)h).
size_t moe_experts_cuda_workspace_bytes(const MoeParams& p, int64_t rows) {
  return sizeof(float) * size_t(rows * (p.d_model + 3 * p.d_expert));
}

void moe_experts_cuda(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                      const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e,
                      void* workspace, void* stream) {
  p.validate(offsets ? MoeOp::Experts : MoeOp::Shared);
  if (rows == 0) return;
  if (!workspace) throw config_error("moe_experts_cuda: workspace of moe_experts_cuda_workspace_bytes() is required");
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  const int64_t d = p.d_model, f = p.d_expert;
  const bool q = p.expert_dtype != ExpertDtype::BF16;
  const unsigned E = offsets ? unsigned(p.n_experts) : 1u;
  float* a1 = static_cast<float*>(workspace);
  float* g = a1 + rows * d;
  float* u = g + rows * f;
  float* a2 = u + rows * f;
  act_quant_kernel<uint16_t><<<blocks_for(rows * (q ? d / 128 : d), 128), 128, 0, st>>>(x_perm, rows, d, q, a1);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  const dim3 grid1(unsigned(blocks_for(f, kWarps)), E), grid2(unsigned(blocks_for(d, kWarps)), E);
  expert_gemm_kernel<<<grid1, kThreads, 0, st>>>(w1, p.expert_dtype, f, d, offsets, rows, a1, g, nullptr);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  expert_gemm_kernel<<<grid1, kThreads, 0, st>>>(w3, p.expert_dtype, f, d, offsets, rows, a1, u, nullptr);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  swiglu_kernel<<<blocks_for(rows * f, kThreads), kThreads, 0, st>>>(g, u, rows, f, p.limit,
                                                                      p.weight_before_down ? w_perm : nullptr, g);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  act_quant_kernel<float><<<blocks_for(rows * (q ? f / 128 : f), 128), 128, 0, st>>>(g, rows, f, q, a2);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  expert_gemm_kernel<<<grid2, kThreads, 0, st>>>(w2, p.expert_dtype, d, f, offsets, rows, a2, y_e,
                                                 p.weight_before_down ? nullptr : w_perm);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

size_t moe_combine_cuda_workspace_bytes(const MoeParams& p) { return sizeof(int32_t) * size_t(p.rows()); }

void moe_combine_cuda(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                      const float* y_s, uint16_t* y, void* workspace, void* stream) {
  p.validate(MoeOp::Combine);
  if (p.n_tokens == 0) return;
  if (!workspace) throw config_error("moe_combine_cuda: workspace of moe_combine_cuda_workspace_bytes(p) is required");
  const cudaStream_t st = static_cast<cudaStream_t>(stream);
  int32_t* inv = static_cast<int32_t*>(workspace);
  invert_kernel<<<blocks_for(p.rows(), kThreads), kThreads, 0, st>>>(row_map, p.rows(), inv);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  combine_kernel<<<unsigned(p.n_tokens), kThreads, 0, st>>>(y_e, inv, topk_idx, y_s, p.top_k, p.d_model, y);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace v4lab::kernels
