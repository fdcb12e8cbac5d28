// test_quant_codes.cpp — specs/quant.md Q1–Q6: exhaustive decode, FP8/FP4 bit patterns and RNE ties,
// UE8M0 block scales, FP4 nibble packing, BF16 rounding — the per-element codecs of quant_math.h.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "kernels/quant/quant_math.h"

using namespace v4lab;
using namespace v4lab::kernels;

TEST_CASE("Q1 exhaustive decode and re-encode", "[quant][ref]") {
  CHECK(fp8_e4m3_to_f32(0x00) == 0.0f);
  CHECK(std::signbit(fp8_e4m3_to_f32(0x80)));
  CHECK(fp8_e4m3_to_f32(0x01) == std::ldexp(1.0f, -9));
  CHECK(fp8_e4m3_to_f32(0x08) == std::ldexp(1.0f, -6));
  CHECK(fp8_e4m3_to_f32(0x38) == 1.0f);
  CHECK(fp8_e4m3_to_f32(0x7E) == 448.0f);
  CHECK(std::isnan(fp8_e4m3_to_f32(0x7F)));
  CHECK(std::isnan(fp8_e4m3_to_f32(0xFF)));
  int finite = 0;
  for (int c = 0; c < 256; ++c) {
    const float v = fp8_e4m3_to_f32(uint8_t(c));
    if (std::isnan(v)) continue;
    ++finite;
    INFO("code " << c << " value " << v);
    CHECK(fp8_e4m3_from_f32(v) == uint8_t(c));
  }
  CHECK(finite == 254);
  const float fp4[8] = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6};
  for (int c = 0; c < 16; ++c) {
    INFO("fp4 code " << c);
    CHECK(fp4_e2m1_to_f32(uint8_t(c)) == (c & 8 ? -fp4[c & 7] : fp4[c & 7]));
    CHECK(fp4_e2m1_from_f32(fp4_e2m1_to_f32(uint8_t(c))) == uint8_t(c));
  }
  CHECK(ue8m0_to_f32(0x00) == std::ldexp(1.0f, -127));
  CHECK(ue8m0_to_f32(0x7F) == 1.0f);
  CHECK(ue8m0_to_f32(0xFE) == std::ldexp(1.0f, 127));
  CHECK(std::isnan(ue8m0_to_f32(0xFF)));
}

TEST_CASE("Q2 FP8 bit patterns, ties to even, clamping and the non-finite policy", "[quant][ref]") {
  struct Case {
    float x;
    uint8_t code;
  };
  for (Case c : {Case{1.0f, 0x38}, Case{0.5f, 0x30}, Case{-2.0f, 0xC0}, Case{3.0f, 0x44}, Case{240.0f, 0x77},
                 Case{-448.0f, 0xFE}, Case{0.3f, 0x2A}, Case{100.0f, 0x6C}, Case{1.0625f, 0x38},
                 Case{1.1875f, 0x3A}, Case{std::ldexp(1.0f, -10), 0x00}, Case{3 * std::ldexp(1.0f, -10), 0x02},
                 Case{464.0f, 0x7E}, Case{INFINITY, 0x7F}, Case{-INFINITY, 0x7F}, Case{-NAN, 0x7F}}) {
    INFO("x = " << c.x);
    CHECK(fp8_e4m3_from_f32(c.x) == c.code);
  }
}

TEST_CASE("Q3 FP4 RNE ties and signed zero", "[quant][ref]") {
  struct Case {
    float x;
    uint8_t code;
  };
  for (Case c : {Case{0.25f, 0x0}, Case{0.75f, 0x2}, Case{1.25f, 0x2}, Case{1.75f, 0x4}, Case{2.5f, 0x4},
                 Case{3.5f, 0x6}, Case{5.0f, 0x6}, Case{-5.0f, 0xE}, Case{7.0f, 0x7}, Case{0.3f, 0x1},
                 Case{-0.2f, 0x8}}) {
    INFO("x = " << c.x);
    CHECK(fp4_e2m1_from_f32(c.x) == c.code);
  }
}

TEST_CASE("Q4 UE8M0 block scales from amax", "[quant][ref]") {
  CHECK(block_scale(448.0f, kFp8Max, ScaleFmt::Ue8m0).byte == 0x7F);
  CHECK(block_scale(std::nextafter(448.0f, 1e9f), kFp8Max, ScaleFmt::Ue8m0).byte == 0x80);
  CHECK(block_scale(1.0f, kFp8Max, ScaleFmt::Ue8m0).byte == 0x77);
  CHECK(block_scale(kFp8AmaxFloor, kFp8Max, ScaleFmt::Ue8m0).byte == 0x69);
  CHECK(block_scale(6.0f, kFp4Max, ScaleFmt::Ue8m0).byte == 0x7F);
  CHECK(block_scale(1.0f, kFp4Max, ScaleFmt::Ue8m0).byte == 0x7D);
  CHECK(block_scale(kFp4AmaxFloor, kFp4Max, ScaleFmt::Ue8m0).byte == 0x01);
  CHECK(block_scale(3e38f, kFp8Max, ScaleFmt::Ue8m0).byte == 0xF7);
  CHECK(block_scale(FLT_MAX, kFp8Max, ScaleFmt::Ue8m0).byte == 0xF7);
  // Every scale is the smallest power of two with s·f_max ≥ a, so a/s lies in (f_max/2, f_max].
  for (float a = 1e-3f; a < 1e30f; a *= 1.37f) {
    const BlockScale b = block_scale(a, kFp8Max, ScaleFmt::Ue8m0);
    INFO("a = " << a);
    CHECK(a / b.s <= kFp8Max);
    CHECK(a / b.s > kFp8Max / 2);
  }
  CHECK(block_scale(100.0f, kFp8Max, ScaleFmt::F32).s == 100.0f / 448.0f);
}

TEST_CASE("Q5 FP4 packing (low nibble first) and the spec's end-to-end blocks", "[quant][ref]") {
  CHECK(fp4_pack(fp4_e2m1_from_f32(1.0f), fp4_e2m1_from_f32(-6.0f)) == 0xF2);
  CHECK(fp4_pack(fp4_e2m1_from_f32(0.5f), fp4_e2m1_from_f32(3.0f)) == 0x51);
  CHECK(fp4_e2m1_to_f32(fp4_lo(0x7F)) == -6.0f);
  CHECK(fp4_e2m1_to_f32(fp4_hi(0x7F)) == 6.0f);
  {  // FP4 block [0.1, −0.7, 2.9, 5.0] (amax 5): s = 1, bytes 0x90 0x65
    const BlockScale b = block_scale(5.0f, kFp4Max, ScaleFmt::Ue8m0);
    CHECK(b.s == 1.0f);
    const float x[4] = {0.1f, -0.7f, 2.9f, 5.0f};
    uint8_t q[4];
    for (int i = 0; i < 4; ++i) q[i] = fp4_e2m1_from_f32(scale_down(x[i], b, ScaleFmt::Ue8m0));
    CHECK(fp4_pack(q[0], q[1]) == 0x90);
    CHECK(fp4_pack(q[2], q[3]) == 0x65);
  }
  {  // FP8 block [1.0, −0.3, 100] (amax 100): s = 0.25 (0x7D), codes 0x48 0xBA 0x7C
    const BlockScale b = block_scale(100.0f, kFp8Max, ScaleFmt::Ue8m0);
    CHECK(b.byte == 0x7D);
    CHECK(fp8_e4m3_from_f32(scale_down(1.0f, b, ScaleFmt::Ue8m0)) == 0x48);
    CHECK(fp8_e4m3_from_f32(scale_down(-0.3f, b, ScaleFmt::Ue8m0)) == 0xBA);
    CHECK(fp8_e4m3_from_f32(scale_down(100.0f, b, ScaleFmt::Ue8m0)) == 0x7C);
    CHECK(fp8_e4m3_to_f32(0xBA) * b.s == -0.3125f);
  }
}

TEST_CASE("Q6 BF16 rounding from FP32 bits", "[quant][ref]") {
  CHECK(bf16_from_f32(f32_from_bits(0x3F808000u)) == 0x3F80);
  CHECK(bf16_from_f32(f32_from_bits(0x3F818000u)) == 0x3F82);
  CHECK(bf16_from_f32(f32_from_bits(0x3F80C000u)) == 0x3F81);
  CHECK(bf16_from_f32(f32_from_bits(0x7F7FFFFFu)) == 0x7F80);
  CHECK(bf16_from_f32(f32_from_bits(0x7F800001u)) == 0x7FC0);
  CHECK(bf16_from_f32(f32_from_bits(0x40490FDBu)) == 0x4049);
  CHECK(bf16_from_f32(f32_from_bits(0x00000001u)) == 0x0000);
}
