// quant_math.h — bit-exact number formats of specs/quant.md "Formats", shared by host and device
// (V4LAB_HD): FP8 e4m3 (e4m3fn), FP4 e2m1, UE8M0 scales; round-to-nearest-even with clamping to
// ±f_max before conversion; the v4lab non-finite policy; the power-of-two block scale rule; MXFP4
// nibble packing. Every quantizer (_ref, _cpu, _cuda; the MoE experts; KV packing) encodes through
// these functions, so codes and scales agree bit for bit across backends.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/numerics.h"

namespace v4lab::kernels {

constexpr float kFp8Max = 448.0f;          // e4m3 max finite (0x7E)
constexpr float kFp4Max = 6.0f;            // e2m1 max (0x7)
constexpr uint8_t kFp8NanCode = 0x7F;      // NaN and ±Inf encode as 0x7F regardless of sign (policy)
constexpr uint8_t kUe8m0Nan = 0xFF;        // UE8M0 NaN: an MXFP4 block with a non-finite element
constexpr float kFp8AmaxFloor = 1e-4f;     // a_floor for FP8 (V4 act_quant, DeepGEMM)
constexpr float kFp4AmaxFloor = 6.0f * 0x1p-126f;  // a_floor for FP4 in the V4 reference

enum class ScaleFmt { Ue8m0 = 0, F32 = 1 };  // power-of-two (UE8M0) or FP32 scale = fl32(a / f_max)

V4LAB_HD bool quant_isfinite(float x) { return (f32_bits(x) & 0x7f800000u) != 0x7f800000u; }

// ---- decode ------------------------------------------------------------------------------------
// e4m3: E != 0 → (−1)^s (1 + m/8) 2^(E−7); E = 0 → (−1)^s (m/8) 2^−6; E = 15, m = 7 → NaN.
V4LAB_HD float fp8_e4m3_to_f32(uint8_t c) {
  const int e = (c >> 3) & 0xF, m = c & 0x7;
  if (e == 15 && m == 7) return f32_from_bits(0x7fc00000u);
  const float mag = e == 0 ? ldexpf(float(m), -9) : ldexpf(float(8 + m), e - 10);
  return (c & 0x80) ? -mag : mag;
}
// e2m1: codes 0..7 → {0, 0.5, 1, 1.5, 2, 3, 4, 6}; bit 3 is the sign.
V4LAB_HD float fp4_e2m1_to_f32(uint8_t c) {
  const int e = (c >> 1) & 0x3, m = c & 0x1;
  const float mag = e == 0 ? 0.5f * float(m) : ldexpf(float(2 + m), e - 2);
  return (c & 0x8) ? -mag : mag;
}
// UE8M0: byte k → 2^(k − 127); 0xFF is NaN (0x00 = 2^−127 is an FP32 subnormal, exact).
V4LAB_HD float ue8m0_to_f32(uint8_t k) { return k == kUe8m0Nan ? f32_from_bits(0x7fc00000u) : ldexpf(1.0f, int(k) - 127); }

// ---- encode (RNE, clamp to ±max first) ---------------------------------------------------------
// rintf rounds to nearest even in the default rounding mode, on host and device. All scalings below
// are by powers of two, hence exact, so the only rounding is the one rintf performs.
V4LAB_HD uint8_t fp8_e4m3_from_f32(float x) {
  if (!quant_isfinite(x)) return kFp8NanCode;
  const uint8_t sign = (f32_bits(x) >> 24) & 0x80;
  float a = fabsf(x);
  a = a > kFp8Max ? kFp8Max : a;
  if (a < 0x1p-6f) {  // subnormal range: steps of 2^-9; q = 8 is the smallest normal (code 0x08)
    return sign | uint8_t(rintf(a * 512.0f));
  }
  int e;
  frexpf(a, &e);  // a = f·2^e, f in [0.5, 1) → floor(log2 a) = e − 1
  e -= 1;
  int m = int(rintf((ldexpf(a, -e) - 1.0f) * 8.0f));
  if (m == 8) m = 0, e += 1;  // rounded up to the next binade (never past 448: a was clamped)
  return sign | uint8_t(((e + 7) << 3) | m);
}
V4LAB_HD uint8_t fp4_e2m1_from_f32(float x) {  // non-finite x is handled per block (scale 0xFF)
  const uint8_t sign = (f32_bits(x) >> 28) & 0x8;
  float a = fabsf(x);
  a = a > kFp4Max ? kFp4Max : a;
  if (!(a >= 1.0f)) return sign | uint8_t(rintf(a * 2.0f));  // 0, 0.5 or (rounded up) 1.0 = code 2
  int e;
  frexpf(a, &e);
  e -= 1;  // 0, 1 or 2
  int m = int(rintf((ldexpf(a, -e) - 1.0f) * 2.0f));
  if (m == 2) m = 0, e += 1;
  return sign | uint8_t(((e + 1) << 1) | m);
}

// Bit-level twins of the two encoders above (same results for every FP32 input; test_quant.cpp
// sweeps them against each other): no libm calls and no data-dependent branches, so the _cpu loops
// vectorize and the CUDA kernels stay branch-free. Normal range: round the FP32 mantissa to 3 (e4m3)
// or 1 (e2m1) bits by adding half-an-ulp−1 plus the kept LSB (RNE) and rebias the exponent; below the
// smallest normal: adding 2^14 (e4m3, ulp 2^-9) or 2^22 (e2m1, ulp 0.5) rounds to the subnormal grid
// in one FP32 add, and the integer difference of the bit patterns is the code.
V4LAB_HD uint8_t fp8_e4m3_from_f32_bits(float x) {
  const uint32_t u = f32_bits(x), au = u & 0x7fffffffu;
  const uint32_t cu = au > 0x43e00000u ? 0x43e00000u : au;  // clamp to 448
  const uint32_t qn = ((cu + 0x7ffffu + ((cu >> 20) & 1u)) >> 20) - (120u << 3);
  const uint32_t qs = f32_bits(f32_from_bits(cu) + 16384.0f) - 0x46800000u;
  const uint32_t q = (cu < 0x3c800000u ? qs : qn) | ((u >> 24) & 0x80u);  // 2^-6 = 0x3c800000
  return uint8_t(au >= 0x7f800000u ? uint32_t(kFp8NanCode) : q);
}
V4LAB_HD uint8_t fp4_e2m1_from_f32_bits(float x) {  // non-finite x gives ±6 here; blocks handle them
  const uint32_t u = f32_bits(x), au = u & 0x7fffffffu;
  const uint32_t cu = au > 0x40c00000u ? 0x40c00000u : au;  // clamp to 6
  const uint32_t qn = ((cu + 0x1fffffu + ((cu >> 22) & 1u)) >> 22) - (126u << 1);
  const uint32_t qs = f32_bits(f32_from_bits(cu) + 4194304.0f) - 0x4a800000u;
  return uint8_t((cu < 0x3f800000u ? qs : qn) | ((u >> 28) & 0x8u));
}
// e4m3 magnitude bits moved into the FP32 exponent/mantissa field give value·2^-120 (subnormals
// included, no FTZ), so one exact multiply decodes; NaN codes are selected explicitly.
V4LAB_HD float fp8_e4m3_to_f32_bits(uint8_t c) {
  const uint32_t mag = uint32_t(c & 0x7f);
  const float v = f32_from_bits(mag << 20) * 0x1p120f;
  return mag == 0x7f ? f32_from_bits(0x7fc00000u) : f32_from_bits(f32_bits(v) | (uint32_t(c & 0x80) << 24));
}

// ---- scales --------------------------------------------------------------------------------------
// UE8M0 exponent of the smallest power of two s with s·f_max ≥ a (a > 0 finite): r = a/f_max in FP64,
// e = floor(log2 r) from the exponent field, s = 2^(e + [r ≠ 2^e]) — exact (spec step 2).
V4LAB_HD int ue8m0_scale_exp(float a, float f_max) {
  const double r = double(a) / double(f_max);
  int e;
  const double f = frexp(r, &e);  // r = f·2^e, f in [0.5, 1)
  return f == 0.5 ? e - 1 : e;
}
V4LAB_HD uint8_t ue8m0_from_exp(int e) { return uint8_t(e + 127); }

// Block scale from the finite amax (already floored): UE8M0 → 2^e (and its byte), F32 → fl32(a/f_max).
struct BlockScale {
  float s;       // the scale as FP32
  float inv_s;   // 1/s, exact for powers of two (used only in UE8M0 mode)
  uint8_t byte;  // UE8M0 byte (UE8M0 mode), else 0
};
V4LAB_HD BlockScale block_scale(float amax, float f_max, ScaleFmt fmt) {
  BlockScale b;
  if (fmt == ScaleFmt::Ue8m0) {
    const int e = ue8m0_scale_exp(amax, f_max);
    b.s = ldexpf(1.0f, e);
    b.inv_s = ldexpf(1.0f, -e);
    b.byte = ue8m0_from_exp(e);
  } else {
    b.s = amax / f_max;  // IEEE division (correctly rounded), as DeepGEMM / V3 Triton
    b.inv_s = 0.0f;
    b.byte = 0;
  }
  return b;
}
// 2^e as FP32 for e in [−149, 127] from the bit pattern (normal or subnormal), no libm call.
V4LAB_HD float pow2_f32(int e) {
  return e >= -126 ? f32_from_bits(uint32_t(e + 127) << 23) : f32_from_bits(1u << uint32_t(e + 149));
}
// Twin of ue8m0_scale_exp from the FP64 bit pattern of r (the exponent field, +1 if the mantissa is
// non-zero; r is normal for every a ≥ the floors): the same exponent without frexp.
V4LAB_HD int ue8m0_scale_exp_bits(float a, float f_max) {
  const double r = double(a) / double(f_max);
#if defined(__CUDA_ARCH__)
  const uint64_t u = uint64_t(__double_as_longlong(r));
#else
  uint64_t u;
  std::memcpy(&u, &r, 8);
#endif
  const int e = int((u >> 52) & 0x7ff) - 1023;
  return (u & 0xfffffffffffffull) != 0 ? e + 1 : e;
}
// block_scale in UE8M0 mode via the two helpers above (identical result, used by the _cpu loops).
V4LAB_HD BlockScale block_scale_ue8m0_bits(float amax, float f_max) {
  const int e = ue8m0_scale_exp_bits(amax, f_max);
  BlockScale b;
  b.s = pow2_f32(e);
  b.inv_s = pow2_f32(-e);
  b.byte = ue8m0_from_exp(e);
  return b;
}
// x / s: a multiply by the exact reciprocal in UE8M0 mode, a true division in FP32-scale mode.
V4LAB_HD float scale_down(float x, const BlockScale& b, ScaleFmt fmt) {
  return fmt == ScaleFmt::Ue8m0 ? x * b.inv_s : x / b.s;
}

// ---- FP4 packing: element 2j in the low nibble, 2j+1 in the high nibble -------------------------
V4LAB_HD uint8_t fp4_pack(uint8_t even, uint8_t odd) { return uint8_t((even & 0xF) | ((odd & 0xF) << 4)); }
V4LAB_HD uint8_t fp4_lo(uint8_t byte) { return byte & 0xF; }
V4LAB_HD uint8_t fp4_hi(uint8_t byte) { return byte >> 4; }

}  // namespace v4lab::kernels
