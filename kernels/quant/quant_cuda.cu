// quant_cuda.cu — CUDA kernels of the quant family (specs/quant.md "Kernel notes"): a 1×128 (1×64)
// block is one warp, reduced with shuffles; a 128×128 weight block one 128-thread CTA; an MXFP4 1×32
// block one warp with one element per lane. Codes and scales come from the same V4LAB_HD codecs as
// the host (quant_math.h), with explicit non-finite handling (hardware satfinite conversions would
// give ±448, which the v4lab policy forbids). The GEMMs decode 32-K slices into shared memory as FP32.
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/check.cuh"
#include "kernels/quant/quant_cuda.h"

namespace v4lab::kernels {
namespace {

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;
constexpr int kWarpsPerCta = 8;

__host__ __device__ __forceinline__ int64_t imin64(int64_t a, int64_t b) { return a < b ? a : b; }

__device__ __forceinline__ uint32_t load_bits(const void* x, bool bf16, int64_t i) {
  return bf16 ? uint32_t(static_cast<const uint16_t*>(x)[i]) << 16 : __float_as_uint(static_cast<const float*>(x)[i]);
}
__device__ __forceinline__ uint32_t warp_max_u32(uint32_t v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ int warp_sum_i32(int v) {
#pragma unroll
  for (int o = 16; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ void add_count(int64_t* count, int n) {
  if (n > 0) atomicAdd(reinterpret_cast<unsigned long long*>(count), static_cast<unsigned long long>(n));
}
__device__ __forceinline__ void put_scale(void* scales, ScaleFmt fmt, int64_t i, const BlockScale& s) {
  if (fmt == ScaleFmt::Ue8m0) {
    static_cast<uint8_t*>(scales)[i] = s.byte;
  } else {
    static_cast<float*>(scales)[i] = s.s;
  }
}
// Non-finite x → 0x7F regardless of sign (explicit branch; never a saturating hardware convert).
__device__ __forceinline__ uint8_t encode_fp8(uint32_t bits, const BlockScale& s, ScaleFmt fmt) {
  if ((bits & kAbsMask) >= kInfBits) return kFp8NanCode;
  return fp8_e4m3_from_f32_bits(scale_down(__uint_as_float(bits), s, fmt));
}

// One warp per 1×b block; grid-stride over blocks.
static __global__ void quant_fp8_act_kernel(QuantFp8Params p, const void* __restrict__ x, uint8_t* __restrict__ codes,
                                            void* __restrict__ scales, int64_t* __restrict__ count) {
  const int lane = threadIdx.x & 31;
  const int64_t kbn = p.k_blocks(), nblocks = p.rows * kbn;
  for (int64_t blk = int64_t(blockIdx.x) * kWarpsPerCta + threadIdx.x / 32; blk < nblocks;
       blk += int64_t(gridDim.x) * kWarpsPerCta) {
    const int64_t r = blk / kbn, c0 = (blk % kbn) * p.block;
    const int len = int(imin64(p.block, p.k - c0));
    const int64_t base = r * p.k + c0;
    uint32_t m = 0;
    int bad = 0;
    for (int i = lane; i < len; i += 32) {
      const uint32_t a = load_bits(x, p.in_bf16, base + i) & kAbsMask;
      if (a < kInfBits) {
        m = max(m, a);
      } else {
        ++bad;
      }
    }
    m = warp_max_u32(m);
    bad = warp_sum_i32(bad);
    const BlockScale s = block_scale(fmaxf(__uint_as_float(m), p.a_floor), kFp8Max, p.scale_fmt);
    if (lane == 0) {
      put_scale(scales, p.scale_fmt, blk, s);
      add_count(count, bad);
    }
    for (int i = lane; i < len; i += 32) codes[base + i] = encode_fp8(load_bits(x, p.in_bf16, base + i), s, p.scale_fmt);
  }
}

// One 128-thread CTA per 128×128 weight block, thread t owns column c0 + t.
static __global__ void quant_fp8_weight_kernel(QuantFp8Params p, const void* __restrict__ x,
                                               uint8_t* __restrict__ codes, void* __restrict__ scales,
                                               int64_t* __restrict__ count) {
  __shared__ uint32_t warp_m[4];
  __shared__ int warp_bad[4];
  const int64_t kbn = p.k_blocks(), rb = blockIdx.x / kbn, kb = blockIdx.x % kbn;
  const int64_t r0 = rb * 128, r1 = imin64(p.rows, r0 + 128), c = kb * 128 + threadIdx.x;
  const bool col_ok = c < p.k;
  uint32_t m = 0;
  int bad = 0;
  for (int64_t r = r0; col_ok && r < r1; ++r) {
    const uint32_t a = load_bits(x, p.in_bf16, r * p.k + c) & kAbsMask;
    if (a < kInfBits) {
      m = max(m, a);
    } else {
      ++bad;
    }
  }
  m = warp_max_u32(m);
  bad = warp_sum_i32(bad);
  if ((threadIdx.x & 31) == 0) warp_m[threadIdx.x / 32] = m, warp_bad[threadIdx.x / 32] = bad;
  __syncthreads();
  m = max(max(warp_m[0], warp_m[1]), max(warp_m[2], warp_m[3]));
  const BlockScale s = block_scale(fmaxf(__uint_as_float(m), p.a_floor), kFp8Max, p.scale_fmt);
  if (threadIdx.x == 0) {
    put_scale(scales, p.scale_fmt, blockIdx.x, s);
    add_count(count, warp_bad[0] + warp_bad[1] + warp_bad[2] + warp_bad[3]);
  }
  for (int64_t r = r0; col_ok && r < r1; ++r)
    codes[r * p.k + c] = encode_fp8(load_bits(x, p.in_bf16, r * p.k + c), s, p.scale_fmt);
}

static __global__ void dequant_fp8_kernel(QuantFp8Params p, const uint8_t* __restrict__ codes,
                                          const void* __restrict__ scales, float* __restrict__ y,
                                          int64_t* __restrict__ count) {
  const int64_t total = p.rows * p.k, kbn = p.k_blocks();
  int bad = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / p.k, c = i % p.k;
    const float v = fp8_e4m3_to_f32_bits(codes[i]) * scale_at(scales, p.scale_fmt, (r / p.block_rows) * kbn + c / p.block);
    y[i] = v;
    bad += (__float_as_uint(v) & kAbsMask) >= kInfBits;
  }
  bad = warp_sum_i32(bad);
  if ((threadIdx.x & 31) == 0) add_count(count, bad);
}

// One warp per 1×32 block, lane = element; a block with any non-finite element: scale 0xFF, codes 0.
static __global__ void quant_fp4_kernel(QuantFp4Params p, const void* __restrict__ x, uint8_t* __restrict__ codes,
                                        uint8_t* __restrict__ scales, int64_t* __restrict__ count) {
  const int lane = threadIdx.x & 31;
  const int64_t kbn = p.k_blocks(), nblocks = p.rows * kbn;
  for (int64_t blk = int64_t(blockIdx.x) * kWarpsPerCta + threadIdx.x / 32; blk < nblocks;
       blk += int64_t(gridDim.x) * kWarpsPerCta) {
    const int64_t r = blk / kbn, c0 = (blk % kbn) * 32;
    const int len = int(imin64(32, p.k - c0));
    const uint32_t bits = lane < len ? load_bits(x, p.in_bf16, r * p.k + c0 + lane) : 0u;
    const bool fin = (bits & kAbsMask) < kInfBits;
    const uint32_t bad_mask = __ballot_sync(0xffffffffu, !fin);
    const uint32_t m = warp_max_u32(fin ? bits & kAbsMask : 0u);
    uint8_t q = 0;
    uint8_t byte = 0;
    if (bad_mask == 0) {
      const BlockScale s = block_scale(fmaxf(__uint_as_float(m), p.a_floor), kFp4Max, ScaleFmt::Ue8m0);
      byte = s.byte;
      q = fp4_e2m1_from_f32_bits(__uint_as_float(bits) * s.inv_s);
    } else {
      byte = kUe8m0Nan;
    }
    const uint8_t odd = uint8_t(__shfl_down_sync(0xffffffffu, uint32_t(q), 1));
    if (lane % 2 == 0 && lane < len) codes[r * (p.k / 2) + (c0 + lane) / 2] = fp4_pack(q, odd);
    if (lane == 0) {
      scales[blk] = byte;
      add_count(count, __popc(bad_mask));
    }
  }
}

static __global__ void dequant_fp4_kernel(QuantFp4Params p, const uint8_t* __restrict__ codes,
                                          const uint8_t* __restrict__ scales, float* __restrict__ y,
                                          int64_t* __restrict__ count) {
  const int64_t bytes = p.rows * (p.k / 2), half = p.k / 2, kbn = p.k_blocks();
  int bad = 0;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < bytes; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / half, c = 2 * (i % half);
    const float s = ue8m0_to_f32(scales[r * kbn + c / 32]);
    const uint8_t b = codes[i];
    const float v0 = fp4_e2m1_to_f32(fp4_lo(b)) * s, v1 = fp4_e2m1_to_f32(fp4_hi(b)) * s;
    y[r * p.k + c] = v0;
    y[r * p.k + c + 1] = v1;
    bad += ((__float_as_uint(v0) & kAbsMask) >= kInfBits) + ((__float_as_uint(v1) & kAbsMask) >= kInfBits);
  }
  bad = warp_sum_i32(bad);
  if ((threadIdx.x & 31) == 0) add_count(count, bad);
}

// FWHT of one row in shared memory (n ≤ 4096 floats = 16 KB).
static __global__ void hadamard_smem_kernel(int64_t n, float scale, const float* __restrict__ x, float* y) {
  extern __shared__ float v[];
  const float* xr = x + int64_t(blockIdx.x) * n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v[i] = xr[i];
  __syncthreads();
  for (int64_t h = 1; h < n; h *= 2) {
    for (int64_t t = threadIdx.x; t < n / 2; t += blockDim.x) {
      const int64_t i = (t / h) * 2 * h + t % h;
      const float a = v[i], b = v[i + h];
      v[i] = a + b;
      v[i + h] = a - b;
    }
    __syncthreads();
  }
  float* yr = y + int64_t(blockIdx.x) * n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) yr[i] = v[i] * scale;
}

// One butterfly stage h over all rows in global memory; the first stage reads x, the last scales.
static __global__ void hadamard_stage_kernel(int64_t rows, int64_t n, int64_t h, float scale, const float* src,
                                             float* dst) {
  const int64_t pairs = rows * (n / 2);
  for (int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; t < pairs; t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = t / (n / 2), q = t % (n / 2);
    const int64_t i = r * n + (q / h) * 2 * h + q % h;
    const float a = src[i], b = src[i + h];
    dst[i] = (a + b) * scale;
    dst[i + h] = (a - b) * scale;
  }
}

// ---- GEMM: 64×64 tile per 256-thread CTA, 4×4 outputs per thread, K slices of 32 ----
constexpr int kTile = 64, kSlice = 32;

template <bool kFp4B>
static __global__ void __launch_bounds__(256)
    gemm_q_kernel(GemmQParams p, const uint8_t* __restrict__ a, const void* __restrict__ sa,
                  const uint8_t* __restrict__ b, const void* __restrict__ sb, void* __restrict__ c) {
  __shared__ float As[kSlice][kTile + 1];
  __shared__ float Bs[kSlice][kTile + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t m0 = int64_t(blockIdx.y) * kTile, n0 = int64_t(blockIdx.x) * kTile;
  const int64_t kbn = p.k / 128;
  float acc[4][4] = {}, P[4][4] = {};
  for (int64_t k0 = 0; k0 < p.k; k0 += kSlice) {
    for (int e = tid; e < kTile * kSlice; e += 256) {  // decode the slice: codes only, scales later
      const int row = e / kSlice, kk = e % kSlice;
      const int64_t m = m0 + row, n = n0 + row;
      As[kk][row] = m < p.m ? fp8_e4m3_to_f32_bits(a[m * p.k + k0 + kk]) : 0.0f;
      float bv = 0.0f;
      if (n < p.n) {
        if constexpr (kFp4B) {
          const uint8_t byte = b[n * (p.k / 2) + (k0 + kk) / 2];
          bv = fp4_e2m1_to_f32(kk % 2 == 0 ? fp4_lo(byte) : fp4_hi(byte));
        } else {
          bv = fp8_e4m3_to_f32_bits(b[n * p.k + k0 + kk]);
        }
      }
      Bs[kk][row] = bv;
    }
    __syncthreads();
#pragma unroll 8
    for (int kk = 0; kk < kSlice; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i], bv[i] = Bs[kk][tx * 4 + i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) P[i][j] = fmaf(av[i], bv[j], P[i][j]);
    }
    __syncthreads();
    const bool block_end = kFp4B || ((k0 + kSlice) % 128 == 0);
    if (block_end) {  // scale the finished block (FP8: 128 K; MXFP4: 32 K) into the FP32 accumulator
      const int64_t kb = k0 / 128;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int64_t m = imin64(m0 + ty * 4 + i, p.m - 1);
        const float s_a = p.m > 0 ? scale_at(sa, p.scale_fmt, m * kbn + kb) : 0.0f;
#pragma unroll
        for (int j = 0; j < 4; ++j) {
          const int64_t n = imin64(n0 + tx * 4 + j, p.n - 1);
          float s_b;
          if constexpr (kFp4B) {
            s_b = ue8m0_to_f32(static_cast<const uint8_t*>(sb)[n * (p.k / 32) + k0 / 32]);
          } else {
            s_b = scale_at(sb, p.scale_fmt, (n / 128) * kbn + kb);
          }
          acc[i][j] = fmaf(s_a * s_b, P[i][j], acc[i][j]);
          P[i][j] = 0.0f;
        }
      }
    }
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t m = m0 + ty * 4 + i, n = n0 + tx * 4 + j;
      if (m < p.m && n < p.n) {
        if (p.out_bf16) {
          static_cast<uint16_t*>(c)[m * p.n + n] = bf16_from_f32(acc[i][j]);
        } else {
          static_cast<float*>(c)[m * p.n + n] = acc[i][j];
        }
      }
    }
}

int grid_for(int64_t work, int per_cta) {
  const int64_t g = (work + per_cta - 1) / per_cta;
  return int(g < 1 ? 1 : (g > 65535 * 16 ? 65535 * 16 : g));
}
cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
void zero_count(int64_t* count, void* stream) {
  V4LAB_CUDA_CHECK(cudaMemsetAsync(count, 0, sizeof(int64_t), as_stream(stream)));
}

}  // namespace

void quant_fp8_cuda(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite,
                    void* stream) {
  p.validate();
  zero_count(nonfinite, stream);
  if (p.rows == 0 || p.k == 0) return;
  if (p.block_rows == 128) {
    quant_fp8_weight_kernel<<<unsigned(p.row_blocks() * p.k_blocks()), 128, 0, as_stream(stream)>>>(p, x, codes, scales,
                                                                                                   nonfinite);
  } else {
    quant_fp8_act_kernel<<<grid_for(p.rows * p.k_blocks(), kWarpsPerCta), 32 * kWarpsPerCta, 0, as_stream(stream)>>>(
        p, x, codes, scales, nonfinite);
  }
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void dequant_fp8_cuda(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite,
                      void* stream) {
  p.validate();
  zero_count(nonfinite, stream);
  if (p.rows == 0 || p.k == 0) return;
  dequant_fp8_kernel<<<grid_for(p.rows * p.k, 256 * 8), 256, 0, as_stream(stream)>>>(p, codes, scales, y, nonfinite);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void quant_fp4_cuda(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite,
                    void* stream) {
  p.validate();
  zero_count(nonfinite, stream);
  if (p.rows == 0 || p.k == 0) return;
  quant_fp4_kernel<<<grid_for(p.rows * p.k_blocks(), kWarpsPerCta), 32 * kWarpsPerCta, 0, as_stream(stream)>>>(
      p, x, codes, scales, nonfinite);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void dequant_fp4_cuda(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                      int64_t* nonfinite, void* stream) {
  p.validate();
  zero_count(nonfinite, stream);
  if (p.rows == 0 || p.k == 0) return;
  dequant_fp4_kernel<<<grid_for(p.rows * p.k / 2, 256 * 8), 256, 0, as_stream(stream)>>>(p, codes, scales, y, nonfinite);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void hadamard_cuda(const HadamardParams& p, const float* x, float* y, void* stream) {
  p.validate();
  if (p.rows == 0) return;
  const float scale = float(1.0 / sqrt(double(p.n)));
  if (p.n <= 4096) {
    const int threads = int(p.n / 2 < 32 ? 32 : (p.n / 2 > 256 ? 256 : p.n / 2));
    hadamard_smem_kernel<<<unsigned(p.rows), threads, size_t(p.n) * sizeof(float), as_stream(stream)>>>(p.n, scale, x,
                                                                                                     y);
    V4LAB_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const int grid = grid_for(p.rows * p.n / 2, 256 * 4);
  for (int64_t h = 1; h < p.n; h *= 2) {
    hadamard_stage_kernel<<<grid, 256, 0, as_stream(stream)>>>(p.rows, p.n, h, 2 * h == p.n ? scale : 1.0f,
                                                               h == 1 ? x : y, y);
    V4LAB_CUDA_CHECK(cudaGetLastError());
  }
}

void gemm_fp8_cuda(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c,
                   void* stream) {
  p.validate();
  if (p.m == 0 || p.n == 0) return;
  const dim3 grid(unsigned((p.n + kTile - 1) / kTile), unsigned((p.m + kTile - 1) / kTile));
  gemm_q_kernel<false><<<grid, 256, 0, as_stream(stream)>>>(p, a, sa, b, sb, c);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

void gemm_fp8_fp4_cuda(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                       void* c, void* stream) {
  p.validate();
  if (p.m == 0 || p.n == 0) return;
  const dim3 grid(unsigned((p.n + kTile - 1) / kTile), unsigned((p.m + kTile - 1) / kTile));
  gemm_q_kernel<true><<<grid, 256, 0, as_stream(stream)>>>(p, a, sa, b, sb, c);
  V4LAB_CUDA_CHECK(cudaGetLastError());
}

}  // namespace v4lab::kernels
