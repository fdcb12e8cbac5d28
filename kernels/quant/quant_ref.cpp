// quant_ref.cpp — the scalar specification (_ref) of the quant family (specs/quant.md "Canonical
// block quantizer" steps 1–4, "Non-finite policy", "FP4 packing", "Hadamard rotation", "Precision").
// Plain loops, no threads, the libm-based codecs of quant_math.h; the GEMMs sum each block exactly
// in FP64 and accumulate the scaled blocks in FP32 (spec Precision, "v4lab's CPU reference").
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/quant/quant.h"

namespace v4lab::kernels {
namespace {

float load_x(const void* x, bool bf16, int64_t i) {
  return bf16 ? bf16_to_f32(static_cast<const uint16_t*>(x)[i]) : static_cast<const float*>(x)[i];
}

void store_c(void* c, bool bf16, int64_t i, float v) {
  if (bf16) {
    static_cast<uint16_t*>(c)[i] = bf16_from_f32(v);
  } else {
    static_cast<float*>(c)[i] = v;
  }
}

}  // namespace

// Steps 1–3 per block of block_rows × block elements (the last ones may be partial: zero padding
// cannot change a floored amax, so the padded elements are simply not visited).
void quant_fp8_ref(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite) {
  p.validate();
  int64_t count = 0;
  for (int64_t rb = 0; rb < p.row_blocks() && p.k > 0; ++rb) {
    const int64_t r0 = rb * p.block_rows, r1 = std::min(p.rows, r0 + p.block_rows);
    for (int64_t kb = 0; kb < p.k_blocks(); ++kb) {
      const int64_t c0 = kb * p.block, c1 = std::min(p.k, c0 + p.block);
      float amax = 0.0f;  // step 1: finite elements only
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) {
          const float v = load_x(x, p.in_bf16, r * p.k + c);
          if (std::isfinite(v)) amax = std::max(amax, std::fabs(v));
        }
      amax = std::max(amax, p.a_floor);
      const BlockScale s = block_scale(amax, kFp8Max, p.scale_fmt);  // step 2
      const int64_t si = rb * p.k_blocks() + kb;
      if (p.scale_fmt == ScaleFmt::Ue8m0) {
        static_cast<uint8_t*>(scales)[si] = s.byte;
      } else {
        static_cast<float*>(scales)[si] = s.s;
      }
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) {  // step 3: non-finite → 0x7F inside the encoder
          const float v = load_x(x, p.in_bf16, r * p.k + c);
          count += std::isfinite(v) ? 0 : 1;
          codes[r * p.k + c] = fp8_e4m3_from_f32(scale_down(v, s, p.scale_fmt));
        }
    }
  }
  *nonfinite = count;
}

// Step 4: x̂ = decode(q)·s in FP32; NaN codes and overflow to ±Inf are kept and counted.
void dequant_fp8_ref(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite) {
  p.validate();
  int64_t count = 0;
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.k; ++c) {
      const float s = scale_at(scales, p.scale_fmt, (r / p.block_rows) * p.k_blocks() + c / p.block);
      const float v = fp8_e4m3_to_f32(codes[r * p.k + c]) * s;
      y[r * p.k + c] = v;
      count += std::isfinite(v) ? 0 : 1;
    }
  *nonfinite = count;
}

// MXFP4: 1×32 UE8M0 blocks; a block with any non-finite element gets scale 0xFF and codes 0.
void quant_fp4_ref(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite) {
  p.validate();
  int64_t count = 0;
  const int64_t kb_n = p.k_blocks(), row_bytes = p.k / 2;
  for (int64_t r = 0; r < p.rows && p.k > 0; ++r)
    for (int64_t kb = 0; kb < kb_n; ++kb) {
      const int64_t c0 = kb * QuantFp4Params::kBlock, c1 = std::min(p.k, c0 + QuantFp4Params::kBlock);
      float amax = 0.0f;
      int bad = 0;
      for (int64_t c = c0; c < c1; ++c) {
        const float v = load_x(x, p.in_bf16, r * p.k + c);
        if (std::isfinite(v)) {
          amax = std::max(amax, std::fabs(v));
        } else {
          ++bad;
        }
      }
      count += bad;
      uint8_t* out = codes + r * row_bytes + c0 / 2;
      if (bad > 0) {
        scales[r * kb_n + kb] = kUe8m0Nan;
        for (int64_t c = c0; c < c1; c += 2) out[(c - c0) / 2] = 0;
        continue;
      }
      const BlockScale s = block_scale(std::max(amax, p.a_floor), kFp4Max, ScaleFmt::Ue8m0);
      scales[r * kb_n + kb] = s.byte;
      for (int64_t c = c0; c < c1; c += 2) {  // element 2j → low nibble, 2j+1 → high nibble
        const uint8_t even = fp4_e2m1_from_f32(load_x(x, p.in_bf16, r * p.k + c) * s.inv_s);
        const uint8_t odd = fp4_e2m1_from_f32(load_x(x, p.in_bf16, r * p.k + c + 1) * s.inv_s);
        out[(c - c0) / 2] = fp4_pack(even, odd);
      }
    }
  *nonfinite = count;
}

void dequant_fp4_ref(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                     int64_t* nonfinite) {
  p.validate();
  int64_t count = 0;
  for (int64_t r = 0; r < p.rows; ++r)
    for (int64_t c = 0; c < p.k; ++c) {
      const uint8_t byte = codes[r * (p.k / 2) + c / 2];
      const uint8_t q = (c % 2 == 0) ? fp4_lo(byte) : fp4_hi(byte);
      const float v = fp4_e2m1_to_f32(q) * ue8m0_to_f32(scales[r * p.k_blocks() + c / QuantFp4Params::kBlock]);
      y[r * p.k + c] = v;
      count += std::isfinite(v) ? 0 : 1;
    }
  *nonfinite = count;
}

// Fast Walsh–Hadamard transform in FP64: log2 n stages of (a+b, a−b) in Sylvester order, then one
// scale by 1/sqrt(n), rounded once to FP32.
void hadamard_ref(const HadamardParams& p, const float* x, float* y) {
  p.validate();
  std::vector<double> v(size_t(p.n));
  const double scale = 1.0 / std::sqrt(double(p.n));
  for (int64_t r = 0; r < p.rows; ++r) {
    for (int64_t i = 0; i < p.n; ++i) v[i] = x[r * p.n + i];
    for (int64_t h = 1; h < p.n; h *= 2)
      for (int64_t i = 0; i < p.n; i += 2 * h)
        for (int64_t j = i; j < i + h; ++j) {
          const double a = v[j], b = v[j + h];
          v[j] = a + b;
          v[j + h] = a - b;
        }
    for (int64_t i = 0; i < p.n; ++i) y[r * p.n + i] = float(v[i] * scale);
  }
}

// C[m,n] = Σ_kb s_a[m,kb]·s_b[n/128,kb]·P_kb: P_kb exact in FP64 (code products have ≤ 8 significant
// bits, a 128-term sum of them fits in 53), scaled in FP64 and rounded once, accumulated in FP32.
void gemm_fp8_ref(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c) {
  p.validate();
  const int64_t kbn = p.k / 128;
  std::vector<double> bd(size_t(p.n * p.k)), ad(size_t(p.k));
  for (int64_t i = 0; i < p.n * p.k; ++i) bd[i] = fp8_e4m3_to_f32(b[i]);
  for (int64_t m = 0; m < p.m; ++m) {
    for (int64_t k = 0; k < p.k; ++k) ad[k] = fp8_e4m3_to_f32(a[m * p.k + k]);
    for (int64_t n = 0; n < p.n; ++n) {
      float acc = 0.0f;
      for (int64_t kb = 0; kb < kbn; ++kb) {
        double P = 0;
        for (int64_t k = kb * 128; k < kb * 128 + 128; ++k) P += ad[k] * bd[n * p.k + k];
        const double s = double(scale_at(sa, p.scale_fmt, m * kbn + kb)) *
                         double(scale_at(sb, p.scale_fmt, (n / 128) * kbn + kb));
        acc += float(s * P);
      }
      store_c(c, p.out_bf16, m * p.n + n, acc);
    }
  }
}

// FP8 × MXFP4: both scales per 32-K sub-block (s_a per 128, s_b per 32), same accumulation.
void gemm_fp8_fp4_ref(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                      void* c) {
  p.validate();
  const int64_t kbn = p.k / 128, k32 = p.k / 32;
  std::vector<double> bd(size_t(p.n * p.k)), ad(size_t(p.k));
  for (int64_t i = 0; i < p.n * p.k; ++i) {
    const uint8_t byte = b[i / 2];
    bd[i] = fp4_e2m1_to_f32(i % 2 == 0 ? fp4_lo(byte) : fp4_hi(byte));
  }
  for (int64_t m = 0; m < p.m; ++m) {
    for (int64_t k = 0; k < p.k; ++k) ad[k] = fp8_e4m3_to_f32(a[m * p.k + k]);
    for (int64_t n = 0; n < p.n; ++n) {
      float acc = 0.0f;
      for (int64_t j = 0; j < k32; ++j) {
        double P = 0;
        for (int64_t k = j * 32; k < j * 32 + 32; ++k) P += ad[k] * bd[n * p.k + k];
        const double s = double(scale_at(sa, p.scale_fmt, m * kbn + j / 4)) * double(ue8m0_to_f32(sb[n * k32 + j]));
        acc += float(s * P);
      }
      store_c(c, p.out_bf16, m * p.n + n, acc);
    }
  }
}

}  // namespace v4lab::kernels
