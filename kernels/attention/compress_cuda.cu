// compress_cuda.cu — CUDA V4 compressor, prefill form (specs/attention.md §4.2, §4.8): a tiled FP32
// projection GEMM (BF16 x and weights widened in shared memory, 32×32 tiles, 4 outputs per thread,
// z += ape) into caller scratch, then one CTA per entry for the pooling (FP32 softmax per channel), BF16,
// RMSNorm (block reduction), RoPE at j·r and the shared quant simulation (kv_layout.h, the same
// V4LAB_HD code as the host, so entries equal the host quant sim of the kernel's own normed values).
// Also the registry glue (DeviceRun).
#include <cuda_runtime.h>
#include <math_constants.h>

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "kernels/attention/attention_v4_cuda.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/cuda/check.cuh"
#include "kernels/cuda/device_run.cuh"
#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {
namespace {

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

constexpr int kTile = 32;       // tokens × rows per projection CTA
constexpr int kRowsPerThr = 4;  // block (32, 8): each thread 4 rows of one token
constexpr int kMaxPairs = 64;   // d_rope ≤ 128

struct FreqArg {
  double f[kMaxPairs];  // RoPE f'_i (YaRN), host-computed
};

struct Dims {
  int64_t n_tokens, d_model, cd, d, d_rope, ratio, pos0, first_entry;
  bool overlap, indexer, quant;
  float eps;
};

// a = W_kv·x, z = W_gate·x + ape[pos mod r]; rows [0, cd) of the combined space are W_kv, [cd, 2cd) W_gate.
static __global__ void proj_kernel(Dims q, const uint16_t* __restrict__ x, const uint16_t* __restrict__ wkv,
                                   const uint16_t* __restrict__ wg, const float* __restrict__ ape, float* a, float* z) {
  __shared__ float xs[kTile][kTile + 1], ws[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t t0 = int64_t(blockIdx.x) * kTile, r0 = int64_t(blockIdx.y) * kTile, rows = 2 * q.cd, D = q.d_model;
  float acc[kRowsPerThr] = {0.f, 0.f, 0.f, 0.f};
  for (int64_t k0 = 0; k0 < D; k0 += kTile) {
    for (int i = ty; i < kTile; i += blockDim.y) {
      const int64_t t = t0 + i, k = k0 + tx, rho = r0 + i;
      xs[i][tx] = (t < q.n_tokens && k < D) ? bf16_to_f32(x[t * D + k]) : 0.f;
      float wv = 0.f;
      if (rho < rows && k < D) wv = bf16_to_f32(rho < q.cd ? wkv[rho * D + k] : wg[(rho - q.cd) * D + k]);
      ws[i][tx] = wv;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kTile; ++kk) {
      const float xv = xs[tx][kk];
#pragma unroll
      for (int j = 0; j < kRowsPerThr; ++j) acc[j] = fmaf(ws[ty + 8 * j][kk], xv, acc[j]);
    }
    __syncthreads();
  }
  const int64_t t = t0 + tx;
  if (t >= q.n_tokens) return;
  for (int j = 0; j < kRowsPerThr; ++j) {
    const int64_t rho = r0 + ty + 8 * j;
    if (rho >= rows) continue;
    if (rho < q.cd) {
      a[t * q.cd + rho] = acc[j];
    } else {
      const int64_t ch = rho - q.cd;
      z[t * q.cd + ch] = acc[j] + ape[((q.pos0 + t) % q.ratio) * q.cd + ch];
    }
  }
}

// Block-wide sum of one double per thread (blockDim.x = 128).
__device__ double block_sum(double v, double* red) {
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s /= 2) {
    if (int(threadIdx.x) < s) red[threadIdx.x] += red[threadIdx.x + s];
    __syncthreads();
  }
  const double r = red[0];
  __syncthreads();
  return r;
}

// One CTA per entry j: pooling, BF16, RMSNorm, RoPE at (first_entry + j)·r, quant sim.
static __global__ void finish_kernel(Dims q, const float* __restrict__ a, const float* __restrict__ z,
                                     const uint16_t* __restrict__ norm, FreqArg fr, uint16_t* entries,
                                     uint16_t* normed, float* pooled) {
  extern __shared__ float sm[];
  float* cv = sm;            // [d] BF16-rounded pooled values
  float* work = sm + q.d;    // [d] quant-sim scratch
  uint16_t* nb = reinterpret_cast<uint16_t*>(sm + 2 * q.d);  // [d] normed BF16
  __shared__ double red[128];
  const int64_t j = blockIdx.x, r = q.ratio, cd = q.cd, d = q.d, off = q.overlap ? d : 0;
  const float neg_inf = -CUDART_INF_F;
  double ss = 0;
  for (int64_t ch = threadIdx.x; ch < d; ch += blockDim.x) {
    float m = neg_inf;
    // Candidates: with overlap the previous block's first-half channels (absent for j = 0), then the
    // current block's channel (second half with overlap).
    if (q.overlap && j > 0)
      for (int64_t i = 0; i < r; ++i) {
        const float v = z[((j - 1) * r + i) * cd + ch];
        m = v > m ? v : m;
      }
    for (int64_t i = 0; i < r; ++i) {
      const float v = z[(j * r + i) * cd + off + ch];
      m = v > m ? v : m;
    }
    float num = 0.f, den = 0.f;
    if (q.overlap && j > 0)
      for (int64_t i = 0; i < r; ++i) {
        const int64_t at = ((j - 1) * r + i) * cd + ch;
        const float e = expf(z[at] - m);
        den += e;
        num += e * a[at];
      }
    for (int64_t i = 0; i < r; ++i) {
      const int64_t at = (j * r + i) * cd + off + ch;
      const float e = expf(z[at] - m);
      den += e;
      num += e * a[at];
    }
    const float c = num / den;
    if (pooled) pooled[j * d + ch] = c;
    cv[ch] = bf16_round(c);
    ss += double(cv[ch]) * cv[ch];
  }
  ss = block_sum(ss, red);
  const float rs = float(rms_scale<double>(ss, double(d), double(q.eps)));
  for (int64_t ch = threadIdx.x; ch < d; ch += blockDim.x) nb[ch] = bf16_from_f32(cv[ch] * rs * bf16_to_f32(norm[ch]));
  __syncthreads();
  const int64_t pos = (q.first_entry + j) * r, roff = d - q.d_rope;
  for (int i = threadIdx.x; i < int(q.d_rope / 2); i += blockDim.x) {
    float c, s, yu, yv;
    rope_cos_sin<double>(pos, fr.f[i], c, s);
    rope_rotate_pair<float>(bf16_to_f32(nb[roff + 2 * i]), bf16_to_f32(nb[roff + 2 * i + 1]), c, s, yu, yv);
    nb[roff + 2 * i] = bf16_from_f32(yu);
    nb[roff + 2 * i + 1] = bf16_from_f32(yv);
  }
  __syncthreads();
  uint16_t* out = entries + j * d;
  for (int64_t ch = threadIdx.x; ch < d; ch += blockDim.x) normed[j * d + ch] = nb[ch];
  if (!q.quant) {
    for (int64_t ch = threadIdx.x; ch < d; ch += blockDim.x) out[ch] = nb[ch];
  } else if (q.indexer) {
    if (threadIdx.x == 0) kv_quant_sim_indexer(nb, int(d), work, out);  // 7 FWHT stages + 4 blocks: tiny
  } else {
    for (int64_t t0 = int64_t(threadIdx.x) * kKvTile; t0 < roff; t0 += int64_t(blockDim.x) * kKvTile)
      kv_quant_sim_main(nb + t0, kKvTile, 0, out + t0);  // one FP8 tile of 64 per thread
    for (int64_t ch = roff + threadIdx.x; ch < d; ch += blockDim.x) out[ch] = nb[ch];
  }
}

}  // namespace

void compress_cuda(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o,
                   float* a, float* z, void* stream) {
  p.validate();
  if (p.streaming) throw config_error("attn_compress: compress_cuda is the prefill form (streaming = 0)", "streaming");
  if (p.d_rope / 2 > kMaxPairs) throw config_error("attn_compress: compress_cuda supports d_rope <= 128", "d_rope");
  const int64_t ne = p.n_entries();
  if (ne == 0) return;
  Dims q{ne * p.ratio, p.d_model, p.cd(), p.d, p.d_rope, p.ratio, p.pos0, p.first_entry(),
         p.overlap(), p.indexer, p.quant, float(p.eps)};
  RopeParams rp;
  rp.n_heads = 1, rp.d_head = std::max<int64_t>(p.d, 2), rp.d_rope = int(std::max<int64_t>(p.d_rope, 2));
  rp.theta = p.theta, rp.yarn_factor = p.yarn_factor, rp.yarn_orig_len = p.yarn_orig_len;
  rp.beta_fast = p.beta_fast, rp.beta_slow = p.beta_slow;
  const RopeFreqs freqs(rp);
  FreqArg fr{};
  for (int i = 0; i < rp.half() && i < kMaxPairs; ++i) fr.f[i] = freqs.f64[size_t(i)];
  const dim3 grid(unsigned((q.n_tokens + kTile - 1) / kTile), unsigned((2 * q.cd + kTile - 1) / kTile));
  proj_kernel<<<grid, dim3(kTile, 8), 0, as_stream(stream)>>>(q, x, w.w_kv, w.w_gate, w.ape, a, z);
  V4LAB_CUDA_CHECK(cudaGetLastError());
  const size_t smem = size_t(p.d) * (4 + 4 + 2);
  finish_kernel<<<unsigned(ne), 128, smem, as_stream(stream)>>>(q, a, z, w.norm, fr, o.entries, o.normed, o.pooled);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

PreparedRun compress_prepare_cuda(const CompressParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  DeviceRun& R = *run;
  const size_t scratch = size_t(p.n_entries() * p.ratio * p.cd()) * sizeof(float);
  float* a = static_cast<float*>(R.alloc(scratch));
  float* z = static_cast<float*>(R.alloc(scratch));
  const CompressWeights w{R.get<uint16_t>("w_kv"), R.get<uint16_t>("w_gate"), R.get<float>("ape"),
                          R.get<uint16_t>("norm")};
  const CompressOut o{R.get<uint16_t>("entries"), R.get<uint16_t>("normed"), R.get<float>("pooled")};
  std::function<void()> body = [p, x = R.get<uint16_t>("x"), w, o, a, z, st = R.stream] {
    compress_cuda(p, x, w, o, a, z, st);
  };
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
