// engram_cuda.cu — CUDA kernels of the Engram ops (specs/engram.md §11): index kernel (thread per
// token), gather + dequant (warp per row; works on a device table, a staging buffer or a UVA host
// table alike), fused gate (CTA per token and branch), causal conv (scales, taps, state). The
// per-element math is engram.h's V4LAB_HD code, so results match _cpu (bit-exact for hash/gather).
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_run.cuh"
#include "kernels/engram/engram_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr int kThreads = 256;
constexpr unsigned long long kNoError = ~0ull;

static __global__ void hash_setup_kernel(const uint64_t* primes, int R, uint64_t* offsets, uint64_t* inv) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  uint64_t acc = 0;
  for (int j = 0; j < R; ++j) offsets[j] = acc, acc += primes[j], inv[j] = engram_mod_inverse(primes[j]);
}

static __global__ void hash_kernel(const int32_t* __restrict__ tok, const int32_t* __restrict__ ctx,
                                   const int32_t* __restrict__ cmap, const uint64_t* __restrict__ mult,
                                   const uint64_t* __restrict__ primes, const uint64_t* __restrict__ offsets,
                                   const uint64_t* __restrict__ inv, int64_t T, int N, int K, int64_t V, int64_t pad_id,
                                   uint32_t* __restrict__ rows, uint64_t* __restrict__ mixes,
                                   unsigned long long* err) {
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t >= T) return;
  const int H = N - 1, R = H * K;
  const uint64_t pad = uint64_t(cmap[pad_id]);
  uint64_t x[kEngramMaxNgram] = {}, mix[kEngramMaxNgram] = {};
  for (int j = 0; j < N; ++j) {
    const int64_t i = t + H - j;  // index into [context | token_ids]
    const int32_t raw = i < H ? ctx[i] : tok[i - H];
    if (raw >= V) atomicMin(err, (unsigned long long)i);
    x[j] = raw < 0 || raw >= V ? pad : uint64_t(cmap[raw]);
  }
  engram_mix(x, mult, N, mix);
  for (int n = 0; n < H; ++n) {
    mixes[t * H + n] = mix[n];
    for (int k = 0; k < K; ++k) {
      const int j = n * K + k;
      rows[t * R + j] = uint32_t(offsets[j] + engram_mod(mix[n], primes[j], inv[j]));
    }
  }
}

template <bool kVec4>
static __global__ void gather_kernel(const uint8_t* __restrict__ table, const uint32_t* __restrict__ ids, int64_t n,
                                     int64_t D, int64_t rb, int64_t table_rows, EngramRowFormat f, EngramOutFormat of,
                                     void* __restrict__ out, unsigned long long* err) {
  const int64_t row = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= n) return;
  const uint32_t id = ids[row];
  const bool ok = int64_t(id) < table_rows;
  if (!ok && lane == 0) atomicMin(err, (unsigned long long)row);
  const uint8_t* src = table + int64_t(ok ? id : 0) * rb;
  if constexpr (kVec4) {  // FP32 → FP32, D % 4 == 0: 16-byte loads and stores
    const float4* s4 = reinterpret_cast<const float4*>(src);
    float4* o4 = reinterpret_cast<float4*>(static_cast<float*>(out) + row * D);
    for (int64_t i = lane; i < D / 4; i += 32) o4[i] = ok ? __ldg(s4 + i) : make_float4(0.f, 0.f, 0.f, 0.f);
  } else {
    for (int64_t i = lane; i < D; i += 32) {
      const float v = ok ? engram_row_value(f, src, D, i) : 0.0f;
      if (of == EngramOutFormat::F32)
        static_cast<float*>(out)[row * D + i] = v;
      else
        static_cast<uint16_t*>(out)[row * D + i] = bf16_from_f32(v);
    }
  }
}

// Fixed-order block sum of three values (warp shuffles, then warp 0 over the warp partials).
__device__ void block_sum3(float& a, float& b, float& c) {
  __shared__ float sh[3][kThreads / 32];
  for (int o = 16; o > 0; o /= 2) {
    a += __shfl_xor_sync(0xffffffffu, a, o);
    b += __shfl_xor_sync(0xffffffffu, b, o);
    c += __shfl_xor_sync(0xffffffffu, c, o);
  }
  const int w = threadIdx.x / 32, l = threadIdx.x % 32;
  if (l == 0) sh[0][w] = a, sh[1][w] = b, sh[2][w] = c;
  __syncthreads();
  if (w == 0) {
    a = l < kThreads / 32 ? sh[0][l] : 0.f;
    b = l < kThreads / 32 ? sh[1][l] : 0.f;
    c = l < kThreads / 32 ? sh[2][l] : 0.f;
    for (int o = 16; o > 0; o /= 2) {
      a += __shfl_xor_sync(0xffffffffu, a, o);
      b += __shfl_xor_sync(0xffffffffu, b, o);
      c += __shfl_xor_sync(0xffffffffu, c, o);
    }
    if (l == 0) sh[0][0] = a, sh[1][0] = b, sh[2][0] = c;
  }
  __syncthreads();
  a = sh[0][0], b = sh[1][0], c = sh[2][0];
}

static __global__ void __launch_bounds__(kThreads)
    gate_kernel(const uint16_t* __restrict__ h, const float* __restrict__ key, const float* __restrict__ value,
                const float* __restrict__ wq, const float* __restrict__ wk, int M, int64_t d, float eps,
                GateSignZero mode, float* __restrict__ score, float* __restrict__ alpha, float* __restrict__ vg) {
  const int64_t tm = blockIdx.x, t = tm / M, m = tm % M, base = tm * d;
  float sq = 0.f, sk = 0.f, dot = 0.f;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) {
    const float q = bf16_to_f32(h[base + i]), k = key[base + i];
    sq += q * q;
    sk += k * k;
    dot += (q * wq[m * d + i]) * (k * wk[m * d + i]);
  }
  block_sum3(sq, sk, dot);
  const float inv_d = 1.0f / float(d);
  const float rq = 1.0f / sqrtf(sq * inv_d + eps), rk = 1.0f / sqrtf(sk * inv_d + eps);
  const float s = dot * rq * rk * float(1.0 / sqrt(double(d)));
  const float a = engram_alpha_store(engram_sigmoid(engram_signed_sqrt(s, mode)));
  if (threadIdx.x == 0) score[tm] = s, alpha[tm] = a;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) vg[base + i] = a * value[t * d + i];
}

static __global__ void __launch_bounds__(kThreads)
    conv_scale_kernel(const float* __restrict__ vg, int64_t d, float eps, float* __restrict__ r) {
  const int64_t tm = blockIdx.x;
  float ss = 0.f, z1 = 0.f, z2 = 0.f;
  for (int64_t i = threadIdx.x; i < d; i += kThreads) ss += vg[tm * d + i] * vg[tm * d + i];
  block_sum3(ss, z1, z2);
  if (threadIdx.x == 0) r[tm] = 1.0f / sqrtf(ss / float(d) + eps);
}

// x̂ at position pos (≥ −L) and channel c.
__device__ __forceinline__ float conv_xhat(const float* vg, const float* r, const float* nw, const float* state,
                                           int64_t pos, int64_t c, int64_t C, int64_t d, int64_t L) {
  if (pos < 0) return state[(L + pos) * C + c];
  return vg[pos * C + c] * r[pos * (C / d) + c / d] * nw[c];
}

static __global__ void conv_kernel(const float* __restrict__ vg, const float* __restrict__ nw,
                                   const float* __restrict__ cw, const float* __restrict__ state,
                                   const float* __restrict__ r, int64_t T, int64_t C, int64_t d, int w, int dl,
                                   bool residual, float* __restrict__ y) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= T * C) return;
  const int64_t t = e / C, c = e % C, L = int64_t(w - 1) * dl;
  float acc = 0.f;
  for (int j = 0; j < w; ++j) acc += cw[c * w + (w - 1 - j)] * conv_xhat(vg, r, nw, state, t - int64_t(j) * dl, c, C, d, L);
  y[e] = engram_silu(acc) + (residual ? vg[e] : 0.f);
}

static __global__ void conv_state_kernel(const float* __restrict__ vg, const float* __restrict__ nw,
                                         const float* __restrict__ state, const float* __restrict__ r, int64_t T,
                                         int64_t C, int64_t d, int64_t L, float* __restrict__ state_out) {
  const int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e >= L * C) return;
  state_out[e] = conv_xhat(vg, r, nw, state, T - L + e / C, e % C, C, d, L);
}

unsigned grid_for(int64_t n, int per) { return unsigned((n + per - 1) / per); }

uint64_t read_error_word(const void* ws_word, cudaStream_t st) {
  unsigned long long v = kNoError;
  V4LAB_CUDA_CHECK(cudaMemcpyAsync(&v, ws_word, sizeof v, cudaMemcpyDeviceToHost, st));
  V4LAB_CUDA_CHECK(cudaStreamSynchronize(st));
  return v;
}

}  // namespace

size_t engram_hash_cuda_workspace_bytes(const EngramHashParams& p) { return 8 * size_t(p.rows_per_token()) + 8; }

void engram_hash_cuda(const EngramHashParams& p, const int32_t* tok, const int32_t* ctx, const int32_t* cmap,
                      const uint64_t* mult, const uint64_t* primes, uint32_t* rows, uint64_t* offsets, uint64_t* mixes,
                      void* workspace, void* stream) {
  p.validate();
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  const int R = p.rows_per_token();
  uint64_t* inv = static_cast<uint64_t*>(workspace);
  auto* err = reinterpret_cast<unsigned long long*>(inv + R);
  V4LAB_CUDA_CHECK(cudaMemsetAsync(err, 0xFF, 8, st));
  hash_setup_kernel<<<1, 1, 0, st>>>(primes, R, offsets, inv);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  if (p.n_tokens == 0) return;
  hash_kernel<<<grid_for(p.n_tokens, kThreads), kThreads, 0, st>>>(tok, ctx, cmap, mult, primes, offsets, inv,
                                                                   p.n_tokens, p.max_ngram, p.heads, p.raw_vocab,
                                                                   p.pad_id, rows, mixes, err);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

size_t engram_gather_cuda_workspace_bytes(const EngramGatherParams&) { return 8; }

void engram_gather_cuda(const EngramGatherParams& p, const void* table, const uint32_t* ids, void* out,
                        void* workspace, void* stream) {
  p.validate();
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  auto* err = static_cast<unsigned long long*>(workspace);
  V4LAB_CUDA_CHECK(cudaMemsetAsync(err, 0xFF, 8, st));
  const int64_t n = p.n_tokens * p.rows_per_token;
  if (n == 0) return;
  const unsigned grid = grid_for(n * 32, kThreads);
  const bool vec4 = p.row_format == EngramRowFormat::F32 && p.out_format == EngramOutFormat::F32 &&
                    p.head_dim % 4 == 0 && (reinterpret_cast<uintptr_t>(table) % 16) == 0;
  const uint8_t* tb = static_cast<const uint8_t*>(table);
  if (vec4)
    gather_kernel<true><<<grid, kThreads, 0, st>>>(tb, ids, n, p.head_dim, p.row_bytes(), p.table_rows, p.row_format,
                                                    p.out_format, out, err);
  else
    gather_kernel<false><<<grid, kThreads, 0, st>>>(tb, ids, n, p.head_dim, p.row_bytes(), p.table_rows,
                                                     p.row_format, p.out_format, out, err);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void engram_gate_cuda(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                      const float* wq, const float* wk, float* score, float* alpha, float* vg, void* stream) {
  p.validate();
  if (p.n_tokens == 0) return;
  gate_kernel<<<unsigned(p.n_tokens * p.hc), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
      h, key, value, wq, wk, p.hc, p.d_model, float(p.gate_norm_eps), p.sign_zero, score, alpha, vg);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

size_t engram_conv_cuda_workspace_bytes(const EngramConvParams& p) { return 4 * size_t(p.n_tokens * p.hc) + 4; }

void engram_conv_cuda(const EngramConvParams& p, const float* vg, const float* nw, const float* cw,
                      const float* state, float* y, float* state_out, void* workspace, void* stream) {
  p.validate();
  cudaStream_t st = static_cast<cudaStream_t>(stream);
  float* r = static_cast<float*>(workspace);
  const int64_t C = p.channels(), L = p.history();
  if (p.n_tokens > 0) {
    conv_scale_kernel<<<unsigned(p.n_tokens * p.hc), kThreads, 0, st>>>(vg, p.d_model, float(p.conv_norm_eps), r);
    V4LAB_CUDA_CHECK(cudaGetLastError());
    conv_kernel<<<grid_for(p.n_tokens * C, kThreads), kThreads, 0, st>>>(
        vg, nw, cw, state, r, p.n_tokens, C, p.d_model, p.conv_kernel, p.conv_dilation, p.add_residual, y);
    V4LAB_CUDA_CHECK(cudaGetLastError());
  }
  if (L * C > 0) {
    conv_state_kernel<<<grid_for(L * C, kThreads), kThreads, 0, st>>>(vg, nw, state, r, p.n_tokens, C, p.d_model, L,
                                                                      state_out);
    V4LAB_CUDA_CHECK(cudaGetLastError());
  }
}

PreparedRun engram_prepare_cuda(EngramOp op, const ParamMap& pm, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& D = *run;
  std::function<void()> body;
  switch (op) {
    case EngramOp::Hash: {
      const EngramHashParams p = engram_hash_params_from(pm);
      uint64_t total = 0;
      for (int64_t j = 0; j < io.in("primes").numel(); ++j) total += io.in("primes").data<uint64_t>()[j];
      if (total > uint64_t(UINT32_MAX) + 1)
        throw config_error("engram_hash: table of " + std::to_string(total) + " rows does not fit u32 row ids");
      void* ws = run->alloc(engram_hash_cuda_workspace_bytes(p));
      const int64_t H = p.max_ngram - 1;
      body = [p, ws, H, &io, st = D.stream, tok = D.get<int32_t>("token_ids"), ctx = D.get<int32_t>("context"),
              cm = D.get<int32_t>("canonical_map"), mu = D.get<uint64_t>("multipliers"), pr = D.get<uint64_t>("primes"),
              rows = D.get<uint32_t>("row_ids"), off = D.get<uint64_t>("offsets"), mix = D.get<uint64_t>("mixes")] {
        engram_hash_cuda(p, tok, ctx, cm, mu, pr, rows, off, mix, ws, st);
        const uint64_t bad = read_error_word(static_cast<uint64_t*>(ws) + p.rows_per_token(), st);
        if (bad != kNoError) {
          const int64_t i = int64_t(bad);
          const int32_t raw = i < H ? io.in("context").data<int32_t>()[i] : io.in("token_ids").data<int32_t>()[i - H];
          throw config_error("engram_hash (cuda): raw id " + std::to_string(raw) + " at position " +
                             std::to_string(i - H) + " >= raw_vocab = " + std::to_string(p.raw_vocab));
        }
      };
      break;
    }
    case EngramOp::Gather: {
      const EngramGatherParams p = engram_gather_params_from(pm);
      void* ws = run->alloc(engram_gather_cuda_workspace_bytes(p));
      body = [p, ws, &io, st = D.stream, tab = D.by_name.at("table"), ids = D.get<uint32_t>("row_ids"),
              out = D.by_name.at("out")] {
        engram_gather_cuda(p, tab, ids, out, ws, st);
        const uint64_t bad = read_error_word(ws, st);
        if (bad != kNoError)
          throw config_error("engram_gather (cuda): row id " +
                             std::to_string(io.in("row_ids").data<uint32_t>()[bad]) + " (token " +
                             std::to_string(bad / p.rows_per_token) + ", slot " +
                             std::to_string(bad % p.rows_per_token) + ") >= table_rows = " +
                             std::to_string(p.table_rows));
      };
      break;
    }
    case EngramOp::Gate: {
      const EngramGateParams p = engram_gate_params_from(pm);
      body = [p, st = D.stream, h = D.get<uint16_t>("h"), k = D.get<float>("key"), v = D.get<float>("value"),
              wq = D.get<float>("q_norm_w"), wk = D.get<float>("k_norm_w"), s = D.get<float>("score"),
              a = D.get<float>("alpha"), vg = D.get<float>("v_gated")] {
        engram_gate_cuda(p, h, k, v, wq, wk, s, a, vg, st);
      };
      break;
    }
    case EngramOp::Conv: {
      const EngramConvParams p = engram_conv_params_from(pm);
      void* ws = run->alloc(engram_conv_cuda_workspace_bytes(p));
      body = [p, ws, st = D.stream, x = D.get<float>("v_gated"), nw = D.get<float>("norm_w"),
              cw = D.get<float>("conv_w"), sta = D.get<float>("state"), y = D.get<float>("y"),
              so = D.get<float>("state_out")] { engram_conv_cuda(p, x, nw, cw, sta, y, so, ws, st); };
      break;
    }
  }
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
