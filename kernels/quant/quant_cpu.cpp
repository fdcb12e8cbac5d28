// quant_cpu.cpp — optimized host quant kernels (_cpu), specs/quant.md "Kernel notes".
// Quantizers: one pass for the block amax (integer max over |x| bit patterns, which orders finite
// non-negative floats like their values) and one for the codes, with the branch-free bit-level
// encoders of quant_math.h, so the loops vectorize (OpenMP simd) and the codes and scales equal
// _ref's bit for bit. GEMMs: codes decoded once to FP32 with their scales folded in (exact for
// power-of-two scales), then an Eigen SGEMM (OpenMP threads); the FP32 summation order differs from
// the per-block FP32 accumulation of the spec only by rounding, within |Δ| ≤ 1e-5·Σ|terms|.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "kernels/quant/quant.h"

// GCC 12 reports false -Wmaybe-uninitialized inside its own AVX-512 intrinsics as Eigen instantiates
// them (-march=native); the diagnostic is located in those headers, so it is silenced there only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop

namespace v4lab::kernels {
namespace {

constexpr uint32_t kAbsMask = 0x7fffffffu;
constexpr uint32_t kInfBits = 0x7f800000u;

// FP32 bits of element i of x (BF16 widened by a shift).
template <bool kBf16>
inline uint32_t x_bits(const void* x, int64_t i) {
  if constexpr (kBf16) {
    return uint32_t(static_cast<const uint16_t*>(x)[i]) << 16;
  } else {
    return f32_bits(static_cast<const float*>(x)[i]);
  }
}

// Max of |x| over the finite elements of [i0, i0+len) as FP32 bits, and the non-finite count.
template <bool kBf16>
inline uint32_t amax_bits(const void* x, int64_t i0, int64_t len, int64_t* bad) {
  uint32_t m = 0;
  int64_t nb = 0;
#pragma omp simd reduction(max : m) reduction(+ : nb)
  for (int64_t i = 0; i < len; ++i) {
    const uint32_t a = x_bits<kBf16>(x, i0 + i) & kAbsMask;
    const bool fin = a < kInfBits;
    m = std::max(m, fin ? a : 0u);
    nb += fin ? 0 : 1;
  }
  *bad += nb;
  return m;
}

template <bool kBf16>
inline void encode_fp8(const void* x, int64_t i0, int64_t len, const BlockScale& s, ScaleFmt fmt, uint8_t* out) {
  if (fmt == ScaleFmt::Ue8m0) {
    const float inv = s.inv_s;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) out[i] = fp8_e4m3_from_f32_bits(f32_from_bits(x_bits<kBf16>(x, i0 + i)) * inv);
  } else {
    const float sc = s.s;
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) out[i] = fp8_e4m3_from_f32_bits(f32_from_bits(x_bits<kBf16>(x, i0 + i)) / sc);
  }
}

inline void store_scale(void* scales, ScaleFmt fmt, int64_t i, const BlockScale& s) {
  if (fmt == ScaleFmt::Ue8m0) {
    static_cast<uint8_t*>(scales)[i] = s.byte;
  } else {
    static_cast<float*>(scales)[i] = s.s;
  }
}

template <bool kBf16>
void quant_fp8_rows(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite) {
  const int64_t kbn = p.k_blocks(), rbn = p.row_blocks();
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t rb = 0; rb < rbn; ++rb) {
    const int64_t r0 = rb * p.block_rows, r1 = std::min(p.rows, r0 + p.block_rows);
    std::vector<uint32_t> amax(static_cast<size_t>(kbn), 0u);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t kb = 0; kb < kbn; ++kb) {
        const int64_t c0 = kb * p.block, len = std::min<int64_t>(p.block, p.k - c0);
        amax[kb] = std::max(amax[kb], amax_bits<kBf16>(x, r * p.k + c0, len, &count));
      }
    std::vector<BlockScale> sc(static_cast<size_t>(kbn));
    for (int64_t kb = 0; kb < kbn; ++kb) {
      const float a = std::max(f32_from_bits(amax[kb]), p.a_floor);
      sc[kb] = p.scale_fmt == ScaleFmt::Ue8m0 ? block_scale_ue8m0_bits(a, kFp8Max) : block_scale(a, kFp8Max, p.scale_fmt);
      store_scale(scales, p.scale_fmt, rb * kbn + kb, sc[kb]);
    }
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t kb = 0; kb < kbn; ++kb) {
        const int64_t c0 = kb * p.block, len = std::min<int64_t>(p.block, p.k - c0);
        encode_fp8<kBf16>(x, r * p.k + c0, len, sc[kb], p.scale_fmt, codes + r * p.k + c0);
      }
  }
  *nonfinite = count;
}

template <bool kBf16>
void quant_fp4_rows(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite) {
  const int64_t kbn = p.k_blocks(), row_bytes = p.k / 2;
  constexpr int kB = QuantFp4Params::kBlock;
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t kb = 0; kb < kbn; ++kb) {
      const int64_t c0 = kb * kB, len = std::min<int64_t>(kB, p.k - c0);
      int64_t bad = 0;
      const uint32_t m = amax_bits<kBf16>(x, r * p.k + c0, len, &bad);
      uint8_t* out = codes + r * row_bytes + c0 / 2;
      count += bad;
      if (bad > 0) {  // policy: NaN scale, zero codes
        scales[r * kbn + kb] = kUe8m0Nan;
        for (int64_t j = 0; j < len / 2; ++j) out[j] = 0;
        continue;
      }
      const BlockScale s = block_scale_ue8m0_bits(std::max(f32_from_bits(m), p.a_floor), kFp4Max);
      scales[r * kbn + kb] = s.byte;
      const float inv = s.inv_s;
      const int64_t i0 = r * p.k + c0;
      uint8_t q[kB] = {};  // contiguous encode (vectorizes), then pack the pairs
#pragma omp simd
      for (int64_t j = 0; j < len; ++j) q[j] = fp4_e2m1_from_f32_bits(f32_from_bits(x_bits<kBf16>(x, i0 + j)) * inv);
      for (int64_t j = 0; j < len / 2; ++j) out[j] = fp4_pack(q[2 * j], q[2 * j + 1]);
    }
  *nonfinite = count;
}

// Decoded FP4 byte: the two values (low nibble first), for one table lookup per byte.
struct Fp4Pair {
  float v[2];
};
const Fp4Pair* fp4_pair_table() {
  static const std::vector<Fp4Pair> t = [] {
    std::vector<Fp4Pair> r(256);
    for (int b = 0; b < 256; ++b) r[b] = {{fp4_e2m1_to_f32(fp4_lo(uint8_t(b))), fp4_e2m1_to_f32(fp4_hi(uint8_t(b)))}};
    return r;
  }();
  return t.data();
}

// out[i] = decode(codes[i])·s for one block (the same two FP32 roundings-free steps as _ref).
inline int64_t decode_fp8(const uint8_t* codes, int64_t len, float s, float* out) {
  int64_t bad = 0;
#pragma omp simd reduction(+ : bad)
  for (int64_t i = 0; i < len; ++i) {
    const float v = fp8_e4m3_to_f32_bits(codes[i]) * s;
    out[i] = v;
    bad += (f32_bits(v) & kAbsMask) >= kInfBits ? 1 : 0;
  }
  return bad;
}

inline int64_t decode_fp4(const uint8_t* codes, int64_t len, float s, float* out) {  // len even
  const Fp4Pair* t = fp4_pair_table();
  int64_t bad = 0;
  for (int64_t j = 0; j < len / 2; ++j) {
    const Fp4Pair& q = t[codes[j]];
    out[2 * j] = q.v[0] * s;
    out[2 * j + 1] = q.v[1] * s;
    bad += ((f32_bits(out[2 * j]) & kAbsMask) >= kInfBits) + ((f32_bits(out[2 * j + 1]) & kAbsMask) >= kInfBits);
  }
  return bad;
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// C = A·Bᵀ over the decoded, scaled FP32 operands; BF16 output rounded once from FP32.
void gemm_decoded(const GemmQParams& p, const float* af, const float* bf, void* c) {
  if (p.m == 0 || p.n == 0) return;
  Eigen::Map<const RowMat> A(af, p.m, p.k), B(bf, p.n, p.k);
  if (!p.out_bf16) {
    Eigen::Map<RowMat> C(static_cast<float*>(c), p.m, p.n);
    C.noalias() = A * B.transpose();
    return;
  }
  std::unique_ptr<float[]> cf(new float[size_t(p.m * p.n)]);
  Eigen::Map<RowMat> C(cf.get(), p.m, p.n);
  C.noalias() = A * B.transpose();
  uint16_t* out = static_cast<uint16_t*>(c);
  const int64_t total = p.m * p.n;
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < total; ++i) out[i] = bf16_from_f32(cf[i]);
}

// A (FP8 1×128) decoded with its scales into af [M, K].
void decode_a(const GemmQParams& p, const uint8_t* a, const void* sa, float* af) {
  const int64_t kbn = p.k / 128;
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < p.m; ++m)
    for (int64_t kb = 0; kb < kbn; ++kb)
      decode_fp8(a + m * p.k + kb * 128, 128, scale_at(sa, p.scale_fmt, m * kbn + kb), af + m * p.k + kb * 128);
}

}  // namespace

void quant_fp8_cpu(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite) {
  p.validate();
  *nonfinite = 0;
  if (p.rows == 0 || p.k == 0) return;
  if (p.in_bf16) {
    quant_fp8_rows<true>(p, x, codes, scales, nonfinite);
  } else {
    quant_fp8_rows<false>(p, x, codes, scales, nonfinite);
  }
}

void dequant_fp8_cpu(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite) {
  p.validate();
  const int64_t kbn = p.k_blocks();
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t kb = 0; kb < kbn; ++kb) {
      const int64_t c0 = kb * p.block, len = std::min<int64_t>(p.block, p.k - c0);
      const float s = scale_at(scales, p.scale_fmt, (r / p.block_rows) * kbn + kb);
      count += decode_fp8(codes + r * p.k + c0, len, s, y + r * p.k + c0);
    }
  *nonfinite = count;
}

void quant_fp4_cpu(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite) {
  p.validate();
  *nonfinite = 0;
  if (p.rows == 0 || p.k == 0) return;
  if (p.in_bf16) {
    quant_fp4_rows<true>(p, x, codes, scales, nonfinite);
  } else {
    quant_fp4_rows<false>(p, x, codes, scales, nonfinite);
  }
}

void dequant_fp4_cpu(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                     int64_t* nonfinite) {
  p.validate();
  const int64_t kbn = p.k_blocks();
  constexpr int kB = QuantFp4Params::kBlock;
  int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t kb = 0; kb < kbn; ++kb) {
      const int64_t c0 = kb * kB, len = std::min<int64_t>(kB, p.k - c0);
      count += decode_fp4(codes + r * (p.k / 2) + c0 / 2, len, ue8m0_to_f32(scales[r * kbn + kb]), y + r * p.k + c0);
    }
  *nonfinite = count;
}

// FP32 FWHT per row, in place in y: stage h pairs (j, j+h) within blocks of 2h (Sylvester order).
namespace {

// Butterfly stages h = h0, 2·h0, ... < n of one row in FP32 (the reference's stage order), then the
// 1/sqrt(n) scale.
void hadamard_stages(float* v, int64_t n, int64_t h0, float scale) {
  for (int64_t h = h0; h < n; h *= 2)
    for (int64_t i = 0; i < n; i += 2 * h) {
      float* lo = v + i;
      float* hi = v + i + h;
#pragma omp simd
      for (int64_t j = 0; j < h; ++j) {
        const float a = lo[j], b = hi[j];
        lo[j] = a + b;
        hi[j] = a - b;
      }
    }
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) v[i] *= scale;
}

// Rows of n ≥ 16: the four narrow stages (h = 1, 2, 4, 8) run inside each 16-float vector with
// shuffles — stage h computes lo = a + b, hi = a + (−1)·b = a − b for every pair, exactly the scalar
// butterfly's operations — and the wide stages (h ≥ 16) are contiguous vector loops as before.
typedef float V16 __attribute__((vector_size(64)));
// x permuted by constant lane indices (__builtin_shufflevector: gcc ≥ 12 and clang alike).
template <int... I>
inline V16 perm(V16 x) {
  return __builtin_shufflevector(x, x, I...);
}
void hadamard_row_v16(float* v, int64_t n, float scale) {
  static const V16 sign[4] = {{1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1},
                              {1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1},
                              {1, 1, 1, 1, -1, -1, -1, -1, 1, 1, 1, 1, -1, -1, -1, -1},
                              {1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1}};
  for (int64_t c = 0; c < n; c += 16) {
    V16 x;
    std::memcpy(&x, v + c, sizeof x);
    // Stage h = 1, 2, 4, 8: every lane gets (its pair's low element) + sign · (its pair's high element).
    x = perm<0, 0, 2, 2, 4, 4, 6, 6, 8, 8, 10, 10, 12, 12, 14, 14>(x) +
        perm<1, 1, 3, 3, 5, 5, 7, 7, 9, 9, 11, 11, 13, 13, 15, 15>(x) * sign[0];
    x = perm<0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13>(x) +
        perm<2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15>(x) * sign[1];
    x = perm<0, 1, 2, 3, 0, 1, 2, 3, 8, 9, 10, 11, 8, 9, 10, 11>(x) +
        perm<4, 5, 6, 7, 4, 5, 6, 7, 12, 13, 14, 15, 12, 13, 14, 15>(x) * sign[2];
    x = perm<0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7>(x) +
        perm<8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15>(x) * sign[3];
    std::memcpy(v + c, &x, sizeof x);
  }
  hadamard_stages(v, n, 16, scale);
}

}  // namespace

void hadamard_cpu(const HadamardParams& p, const float* x, float* y) {
  p.validate();
  const float scale = float(1.0 / std::sqrt(double(p.n)));
  const int64_t n = p.n;
#pragma omp parallel for schedule(static) if (p.rows * n >= (1 << 16))
  for (int64_t r = 0; r < p.rows; ++r) {
    float* v = y + r * n;
    if (v != x + r * n) std::copy(x + r * n, x + (r + 1) * n, v);
    if (n >= 16) {
      hadamard_row_v16(v, n, scale);
    } else {
      hadamard_stages(v, n, 1, scale);
    }
  }
}

namespace {

// Decode-shaped GEMMs (small M): B is streamed in tiles of kTileRows rows, each decoded into an
// L2-resident FP32 tile and multiplied at once (C[:, tile] = A·tileᵀ), so B is read once from memory
// as codes and never written back as FP32. Large M decodes B whole and runs one Eigen GEMM, which
// blocks for the caches itself.
constexpr int64_t kSmallM = 64, kTileRows = 32;

template <class DecodeRow>
void gemm_q(const GemmQParams& p, const float* af, DecodeRow&& decode_row, void* c) {
  if (p.m == 0 || p.n == 0) return;
  if (p.m > kSmallM) {
    std::unique_ptr<float[]> bf(new float[size_t(p.n * p.k) + 1]);
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < p.n; ++n) decode_row(n, bf.get() + n * p.k);
    gemm_decoded(p, af, bf.get(), c);
    return;
  }
  const int64_t tiles = (p.n + kTileRows - 1) / kTileRows;
  Eigen::Map<const RowMat> A(af, p.m, p.k);
#pragma omp parallel
  {
    std::unique_ptr<float[]> tile(new float[size_t(kTileRows * p.k)]);
    RowMat ct(p.m, kTileRows);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t n0 = t * kTileRows, nr = std::min(kTileRows, p.n - n0);
      for (int64_t r = 0; r < nr; ++r) decode_row(n0 + r, tile.get() + r * p.k);
      Eigen::Map<const RowMat> B(tile.get(), nr, p.k);
      ct.leftCols(nr).noalias() = A * B.transpose();
      for (int64_t m = 0; m < p.m; ++m)
        for (int64_t r = 0; r < nr; ++r) {
          const float v = ct(m, r);
          if (p.out_bf16) {
            static_cast<uint16_t*>(c)[m * p.n + n0 + r] = bf16_from_f32(v);
          } else {
            static_cast<float*>(c)[m * p.n + n0 + r] = v;
          }
        }
    }
  }
}

}  // namespace

void gemm_fp8_cpu(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c) {
  p.validate();
  const int64_t kbn = p.k / 128;
  std::unique_ptr<float[]> af(new float[size_t(p.m * p.k) + 1]);
  decode_a(p, a, sa, af.get());
  gemm_q(p, af.get(), [&](int64_t n, float* dst) {
    for (int64_t kb = 0; kb < kbn; ++kb)
      decode_fp8(b + n * p.k + kb * 128, 128, scale_at(sb, p.scale_fmt, (n / 128) * kbn + kb), dst + kb * 128);
  }, c);
}

void gemm_fp8_fp4_cpu(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                      void* c) {
  p.validate();
  const int64_t k32 = p.k / 32;
  std::unique_ptr<float[]> af(new float[size_t(p.m * p.k) + 1]);
  decode_a(p, a, sa, af.get());
  gemm_q(p, af.get(), [&](int64_t n, float* dst) {
    for (int64_t j = 0; j < k32; ++j)
      decode_fp4(b + n * (p.k / 2) + j * 16, 32, ue8m0_to_f32(sb[n * k32 + j]), dst + j * 32);
  }, c);
}

}  // namespace v4lab::kernels
