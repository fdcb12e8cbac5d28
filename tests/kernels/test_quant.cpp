// test_quant.cpp — specs/quant.md Q5 (block byte layouts), Q7 (round-trip bounds, SNR with and without
// Hadamard), Q8 (Hadamard), Q10 (bad inputs) on the quant kernels, plus the bit-level encoder twins
// of quant_math.h against the libm codecs. Q1–Q6 on the codecs are test_quant_codes.cpp; _cpu/_cuda
// against _ref through the registry are test_quant_backends.cpp; the cost formulas test_quant_cost.cpp.
#include <catch2/catch.hpp>

#include <cfloat>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/quant/quant.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

QuantFp8Params fp8p(int64_t rows, int64_t k, int block = 128, int block_rows = 1) {
  QuantFp8Params p;
  p.rows = rows, p.k = k, p.block = block, p.block_rows = block_rows, p.in_bf16 = false;
  return p;
}
QuantFp4Params fp4p(int64_t rows, int64_t k) {
  QuantFp4Params p;
  p.rows = rows, p.k = k, p.in_bf16 = false;
  return p;
}

struct Fp8Out {
  std::vector<uint8_t> codes, scales;
  std::vector<float> y;
  int64_t count = -1, dq_count = -1;
};
// Quantize (and dequantize) with _ref and _cpu; requires both to agree bit for bit.
Fp8Out fp8_both(const QuantFp8Params& p, const std::vector<float>& x) {
  Fp8Out r, c;
  const size_t ns = size_t(p.row_blocks() * p.k_blocks());
  for (Fp8Out* o : {&r, &c}) o->codes.assign(x.size(), 0xAB), o->scales.assign(ns, 0xAB), o->y.assign(x.size(), 0);
  quant_fp8_ref(p, x.data(), r.codes.data(), r.scales.data(), &r.count);
  quant_fp8_cpu(p, x.data(), c.codes.data(), c.scales.data(), &c.count);
  CHECK(r.codes == c.codes);
  CHECK(r.scales == c.scales);
  CHECK(r.count == c.count);
  dequant_fp8_ref(p, r.codes.data(), r.scales.data(), r.y.data(), &r.dq_count);
  dequant_fp8_cpu(p, r.codes.data(), r.scales.data(), c.y.data(), &c.dq_count);
  for (size_t i = 0; i < x.size(); ++i) CHECK((r.y[i] == c.y[i] || (std::isnan(r.y[i]) && std::isnan(c.y[i]))));
  CHECK(r.dq_count == c.dq_count);
  return r;
}

struct Fp4Out {
  std::vector<uint8_t> codes, scales;
  std::vector<float> y;
  int64_t count = -1, dq_count = -1;
};
Fp4Out fp4_both(const QuantFp4Params& p, const std::vector<float>& x) {
  Fp4Out r, c;
  for (Fp4Out* o : {&r, &c})
    o->codes.assign(x.size() / 2, 0xAB), o->scales.assign(size_t(p.rows * p.k_blocks()), 0xAB), o->y.assign(x.size(), 0);
  quant_fp4_ref(p, x.data(), r.codes.data(), r.scales.data(), &r.count);
  quant_fp4_cpu(p, x.data(), c.codes.data(), c.scales.data(), &c.count);
  CHECK(r.codes == c.codes);
  CHECK(r.scales == c.scales);
  CHECK(r.count == c.count);
  dequant_fp4_ref(p, r.codes.data(), r.scales.data(), r.y.data(), &r.dq_count);
  dequant_fp4_cpu(p, r.codes.data(), r.scales.data(), c.y.data(), &c.dq_count);
  for (size_t i = 0; i < x.size(); ++i) CHECK((r.y[i] == c.y[i] || (std::isnan(r.y[i]) && std::isnan(c.y[i]))));
  CHECK(r.dq_count == c.dq_count);
  return r;
}

double block_snr_db(const std::vector<float>& x, const std::vector<float>& y) {
  double s = 0, e = 0;
  for (size_t i = 0; i < x.size(); ++i) s += double(x[i]) * x[i], e += (double(x[i]) - y[i]) * (double(x[i]) - y[i]);
  return 10 * std::log10(s / std::max(e, 1e-300));
}
double amax_over_rms(const std::vector<float>& x) {
  double a = 0, s = 0;
  for (float v : x) a = std::max(a, double(std::fabs(v))), s += double(v) * v;
  return a / std::sqrt(s / double(x.size()));
}

}  // namespace

TEST_CASE("quant: bit-level encoder/decoder twins equal the libm codecs", "[quant][ref]") {
  for (int c = 0; c < 256; ++c) {
    const float a = fp8_e4m3_to_f32(uint8_t(c)), b = fp8_e4m3_to_f32_bits(uint8_t(c));
    CHECK((f32_bits(a) == f32_bits(b) || (std::isnan(a) && std::isnan(b))));
  }
  int64_t bad8 = 0, bad4 = 0;
  auto one = [&](uint32_t u) {
    const float x = f32_from_bits(u);
    bad8 += fp8_e4m3_from_f32(x) != fp8_e4m3_from_f32_bits(x);
    if (quant_isfinite(x)) bad4 += fp4_e2m1_from_f32(x) != fp4_e2m1_from_f32_bits(x);
  };
  for (uint32_t h = 0; h < 65536; ++h) one(h << 16);                                      // every BF16
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 251) one(uint32_t(u));               // strided FP32
  for (uint32_t u = 0x43e00000u - 4096; u < 0x43e00000u + 4096; ++u) one(u), one(u | 0x80000000u);  // near 448
  for (uint32_t u = 0x3c800000u - 4096; u < 0x3c800000u + 4096; ++u) one(u);              // near 2^-6
  CHECK(bad8 == 0);
  CHECK(bad4 == 0);
  // The bit-level UE8M0 scale equals block_scale for amax over every binade (and around each 2^e·f_max).
  int64_t bad_s = 0;
  for (float f_max : {kFp8Max, kFp4Max})
    for (uint32_t u = 0x00800000u; u < 0x7f800000u; u += 4093) {
      const float a = f32_from_bits(u);
      if (a < f_max * 0x1p-127f) continue;
      const BlockScale x = block_scale(a, f_max, ScaleFmt::Ue8m0), y = block_scale_ue8m0_bits(a, f_max);
      bad_s += x.byte != y.byte || f32_bits(x.s) != f32_bits(y.s) || f32_bits(x.inv_s) != f32_bits(y.inv_s);
    }
  CHECK(bad_s == 0);
}

TEST_CASE("quant Q5: FP8 1x128 two-block layout, exact bytes", "[quant][ref]") {
  std::vector<float> x(256, 0.0f);
  x[0] = 1.0f, x[1] = -0.3f, x[2] = 100.0f;  // block 0: amax 100 → s = 0.25 (0x7D)
  x[128] = 1792.0f, x[129] = -0.5f;          // block 1: amax 1792 → s = 4 (0x81)
  const Fp8Out o = fp8_both(fp8p(1, 256), x);
  CHECK(o.scales == std::vector<uint8_t>{0x7D, 0x81});
  CHECK(o.codes[0] == 0x48);
  CHECK(o.codes[1] == 0xBA);
  CHECK(o.codes[2] == 0x7C);
  CHECK(o.codes[3] == 0x00);
  CHECK(o.codes[128] == 0x7E);  // 448
  CHECK(o.codes[129] == 0xA0);  // −0.125
  CHECK(o.y[1] == -0.3125f);
  CHECK(o.y[2] == 96.0f);
  CHECK(o.y[128] == 1792.0f);
  CHECK(o.count == 0);
  CHECK(o.dq_count == 0);
}

TEST_CASE("quant Q5: FP8 1x64 tiles, 128x128 weight blocks and FP32 scales, exact bytes", "[quant][ref]") {
  std::vector<float> x(128, 0.0f);
  x[0] = 448.0f, x[64] = 1.0f;  // 1×64: scales 0x7F, 0x77
  const Fp8Out a = fp8_both(fp8p(1, 128, 64), x);
  CHECK(a.scales == std::vector<uint8_t>{0x7F, 0x77});
  CHECK(a.codes[0] == 0x7E);
  CHECK(a.codes[64] == 0x78);  // 1/2^-8 = 256

  // Weight [130, 256]: scales [2, 2]; one element per block sets its amax; row 129 is in row block 1.
  std::vector<float> w(130 * 256, 0.0f);
  w[5 * 256 + 3] = 448.0f;          // block (0,0): 2^0 → 0x7F
  w[127 * 256 + 200] = -3584.0f;    // block (0,1): 2^3 → 0x82
  w[128 * 256 + 0] = 0.875f;        // block (1,0): 0.875/448 = 2^-9 → 0x76
  w[129 * 256 + 255] = 1e-5f;       // block (1,1): floor 1e-4 → 2^-22 → 0x69
  const Fp8Out b = fp8_both(fp8p(130, 256, 128, 128), w);
  CHECK(b.scales == std::vector<uint8_t>{0x7F, 0x82, 0x76, 0x69});
  CHECK(b.codes[127 * 256 + 200] == 0xFE);
  CHECK(b.codes[128 * 256] == 0x7E);

  QuantFp8Params f = fp8p(1, 128);
  f.scale_fmt = ScaleFmt::F32;
  std::vector<float> xf(128, 0.0f), sf(1), yf(128);
  std::vector<uint8_t> cf(128);
  xf[0] = 100.0f, xf[1] = -50.0f;
  int64_t cnt = -1;
  quant_fp8_ref(f, xf.data(), cf.data(), sf.data(), &cnt);
  CHECK(sf[0] == 100.0f / 448.0f);
  CHECK(cf[0] == 0x7E);
  std::vector<float> sf2(1);
  std::vector<uint8_t> cf2(128);
  quant_fp8_cpu(f, xf.data(), cf2.data(), sf2.data(), &cnt);
  CHECK(cf2 == cf);
  CHECK(sf2[0] == sf[0]);
}

TEST_CASE("quant Q5: MXFP4 two-block layout, nibble order and exact bytes", "[quant][ref]") {
  std::vector<float> x(64, 0.0f);
  x[0] = 0.1f, x[1] = -0.7f, x[2] = 2.9f, x[3] = 5.0f;  // block 0: amax 5 → s = 1 (0x7F)
  x[32] = 2.0f, x[33] = -12.0f;                         // block 1: amax 12 → s = 2 (0x80)
  const Fp4Out o = fp4_both(fp4p(1, 64), x);
  CHECK(o.scales == std::vector<uint8_t>{0x7F, 0x80});
  CHECK(o.codes[0] == 0x90);
  CHECK(o.codes[1] == 0x65);
  CHECK(o.codes[2] == 0x00);
  CHECK(o.codes[16] == 0xF2);  // [1.0, −6.0]·2: element 32 low nibble, 33 high
  CHECK(o.y[32] == 2.0f);
  CHECK(o.y[33] == -12.0f);
  CHECK(o.y[3] == 4.0f);  // 5 is a tie between 4 and 6 → even mantissa: 4
}

TEST_CASE("quant Q7: round-trip bounds on Gaussian, Laplace and outlier blocks, SNR with Hadamard", "[quant][ref]") {
  Rng rng(7);
  const int rows = 64, K = 128;
  for (int dist = 0; dist < 3; ++dist) {
    std::vector<float> x(size_t(rows) * K);
    for (auto& v : x) {
      if (dist == 1) {
        const double u = rng.uniform() - 0.5;
        v = float(-std::copysign(1.0, u) * std::log(1 - 2 * std::fabs(u)));
      } else {
        v = float(rng.normal());
      }
    }
    if (dist == 2)
      for (int r = 0; r < rows; ++r) x[size_t(r) * K + (r * 7) % K] *= 100.0f;
    const Fp8Out q8 = fp8_both(fp8p(rows, K), x);
    const Fp4Out q4 = fp4_both(fp4p(rows, K), x);
    int64_t v8 = 0, v4 = 0;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < K; ++c) {
        const size_t i = size_t(r) * K + c;
        const double s8 = ue8m0_to_f32(q8.scales[r]), s4 = ue8m0_to_f32(q4.scales[r * 4 + c / 32]);
        const double e8 = std::fabs(double(x[i]) - q8.y[i]), e4 = std::fabs(double(x[i]) - q4.y[i]);
        v8 += e8 > std::max(0x1p-4 * std::fabs(x[i]), 0x1p-10 * s8);
        v4 += e4 > 0.25 * std::max(double(std::fabs(x[i])), s4);
      }
    CHECK(v8 == 0);
    CHECK(v4 == 0);

    // SNR with and without the rotation (reported), amax/rms lowered by it on outlier blocks (asserted).
    HadamardParams hp;
    hp.rows = rows, hp.n = K;
    std::vector<float> hx(x.size()), back(x.size());
    hadamard_ref(hp, x.data(), hx.data());
    const Fp8Out h8 = fp8_both(fp8p(rows, K), hx);
    const Fp4Out h4 = fp4_both(fp4p(rows, K), hx);
    std::vector<float> y8(x.size()), y4(x.size());
    hadamard_ref(hp, h8.y.data(), y8.data());
    hadamard_ref(hp, h4.y.data(), y4.data());
    const char* names[] = {"gaussian", "laplace", "x100 outlier"};
    INFO(names[dist] << ": FP8 SNR " << block_snr_db(x, q8.y) << " dB plain, " << block_snr_db(x, y8)
                     << " dB with Hadamard; FP4 " << block_snr_db(x, q4.y) << " / " << block_snr_db(x, y4) << " dB");
    WARN(names[dist] << ": FP8 SNR " << block_snr_db(x, q8.y) << " / " << block_snr_db(x, y8) << " dB (plain / Hadamard)"
                     << "; FP4 " << block_snr_db(x, q4.y) << " / " << block_snr_db(x, y4) << " dB");
    CHECK(block_snr_db(x, q8.y) > 25.0);
    if (dist == 2) {
      std::vector<float> row(x.begin(), x.begin() + K), hrow(hx.begin(), hx.begin() + K);
      CHECK(amax_over_rms(hrow) < 0.5 * amax_over_rms(row));
    }
  }
}

TEST_CASE("quant Q8: Hadamard H·H = I, norm, H_4 and e_0, bad n", "[quant][ref][cpu]") {
  for (auto fn : {hadamard_ref, hadamard_cpu}) {
    for (int64_t n = 1; n <= 256; n *= 2) {
      HadamardParams p;
      p.rows = n, p.n = n;
      std::vector<float> eye(size_t(n * n), 0.0f), h(eye.size()), hh(eye.size());
      for (int64_t i = 0; i < n; ++i) eye[i * n + i] = 1.0f;
      fn(p, eye.data(), h.data());
      fn(p, h.data(), hh.data());
      double err = 0;
      for (int64_t i = 0; i < n * n; ++i) err = std::max(err, std::fabs(double(hh[i]) - eye[i]));
      CHECK(err <= 1e-6);
      for (int64_t i = 0; i < n; ++i) CHECK(std::fabs(h[i] - 1.0 / std::sqrt(double(n))) <= 1e-7);  // H·e_0
      for (int64_t i = 0; n > 1 && i < n; ++i)  // Sylvester order: entry (1, j) is (−1)^popcount(1&j)
        CHECK(std::fabs(h[n + i] - ((i & 1) ? -1.0 : 1.0) / std::sqrt(double(n))) <= 1e-7);
    }
    HadamardParams p4;
    p4.rows = 1, p4.n = 4;
    std::vector<float> v{1, 2, 3, 4}, y(4);
    fn(p4, v.data(), y.data());
    CHECK(y == std::vector<float>{5, -1, -2, 0});
    Rng rng(3);
    HadamardParams pn;
    pn.rows = 3, pn.n = 4096;
    std::vector<float> x(3 * 4096), hx(x.size());
    for (auto& e : x) e = float(rng.normal());
    fn(pn, x.data(), hx.data());
    for (int r = 0; r < 3; ++r) {
      double a = 0, b = 0;
      for (int i = 0; i < 4096; ++i) a += double(x[r * 4096 + i]) * x[r * 4096 + i], b += double(hx[r * 4096 + i]) * hx[r * 4096 + i];
      CHECK(std::fabs(std::sqrt(b) / std::sqrt(a) - 1) <= 1e-6);
    }
    HadamardParams bad;
    bad.rows = 1, bad.n = 12;
    CHECK_THROWS_AS(fn(bad, x.data(), hx.data()), Error);
    bad.n = 3;
    CHECK_THROWS_AS(fn(bad, x.data(), hx.data()), Error);
  }
}

TEST_CASE("quant Q10: zero-size, K not divisible, padding and bad params", "[quant][ref][cpu]") {
  std::vector<float> x(256, 1.0f);
  std::vector<uint8_t> codes(256, 0xAB), scales(4, 0xAB);
  int64_t cnt = -1;
  for (auto fn : {quant_fp8_ref, quant_fp8_cpu}) {
    fn(fp8p(0, 128), x.data(), codes.data(), scales.data(), &cnt);
    CHECK(cnt == 0);
    fn(fp8p(3, 0), x.data(), codes.data(), scales.data(), &cnt);
    CHECK(scales == std::vector<uint8_t>(4, 0xAB));
    CHECK(codes == std::vector<uint8_t>(256, 0xAB));
    CHECK_THROWS_AS(fn(fp8p(1, 100), x.data(), codes.data(), scales.data(), &cnt), Error);
  }
  for (auto fn : {quant_fp4_ref, quant_fp4_cpu}) {
    fn(fp4p(0, 64), x.data(), codes.data(), scales.data(), &cnt);
    CHECK(scales == std::vector<uint8_t>(4, 0xAB));
    CHECK_THROWS_AS(fn(fp4p(1, 48), x.data(), codes.data(), scales.data(), &cnt), Error);
  }
  // pad = 1: K = 200 gives two blocks, the second of 72 elements; same codes as explicit zero padding.
  std::vector<float> xp(256, 0.0f);
  for (int i = 0; i < 200; ++i) xp[i] = float(i) - 100.5f;
  QuantFp8Params pp = fp8p(1, 200);
  pp.pad = true;
  const Fp8Out padded = fp8_both(pp, std::vector<float>(xp.begin(), xp.begin() + 200));
  const Fp8Out full = fp8_both(fp8p(1, 256), xp);
  CHECK(padded.scales == full.scales);
  CHECK(std::equal(padded.codes.begin(), padded.codes.end(), full.codes.begin()));

  QuantFp8Params b = fp8p(1, 128, 100);
  CHECK_THROWS_AS(b.validate(), Error);
  b = fp8p(1, 128, 64, 128);
  CHECK_THROWS_AS(b.validate(), Error);
  b = fp8p(1, 128);
  b.a_floor = 0.0f;
  CHECK_THROWS_AS(b.validate(), Error);
  GemmQParams g;
  g.m = 1, g.k = 100;
  CHECK_THROWS_AS(g.validate(), Error);
  try {
    fp8p(1, 100).validate();
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("k = 100") != std::string::npos);
  }
}

TEST_CASE("quant Q10: non-finite inputs, the top of the range, subnormals", "[quant][ref][cpu]") {
  const float inf = INFINITY, nan = NAN;
  std::vector<float> x(256, 0.5f);
  x[3] = nan, x[4] = -nan, x[5] = inf, x[6] = -inf;  // block 0: four non-finite; amax 0.5
  x[128] = 3e38f;                                     // block 1: s = 2^120, code 0x76
  const Fp8Out o = fp8_both(fp8p(1, 256), x);
  CHECK(o.count == 4);
  for (int i = 3; i <= 6; ++i) CHECK(o.codes[i] == kFp8NanCode);
  CHECK(o.scales[0] == ue8m0_from_exp(ue8m0_scale_exp(0.5f, kFp8Max)));
  CHECK(o.scales[1] == 0xF7);
  CHECK(o.codes[128] == 0x76);
  CHECK(std::isfinite(o.y[128]));
  CHECK(o.dq_count == 4);  // the NaN codes decode to NaN

  std::vector<float> m(128, 0.0f);
  m[0] = FLT_MAX, m[1] = -1e-40f, m[2] = 0x1p-133f;  // a = FLT_MAX: 0xF7, code 0x78, decode +Inf
  const Fp8Out t = fp8_both(fp8p(1, 128), m);
  CHECK(t.scales[0] == 0xF7);
  CHECK(t.codes[0] == 0x78);
  CHECK(t.y[0] == inf);
  CHECK(t.dq_count == 1);
  CHECK(t.count == 0);

  // Subnormal block (amax below the floor) and midpoints: s = 2^-22; 2^-31 is 2^-9·s (code 0x01),
  // 3·2^-32 is a tie between codes 1 and 2 → even (0x02); 2^-32 a tie between 0 and 1 → 0.
  std::vector<float> s(128, 0.0f);
  s[0] = 0x1p-31f, s[1] = 3 * 0x1p-32f, s[2] = 0x1p-32f, s[3] = -1e-45f;
  const Fp8Out u = fp8_both(fp8p(1, 128), s);
  CHECK(u.scales[0] == 0x69);
  CHECK(u.codes[0] == 0x01);
  CHECK(u.codes[1] == 0x02);
  CHECK(u.codes[2] == 0x00);
  CHECK(u.codes[3] == 0x80);

  // MXFP4: a non-finite element poisons its block only (scale 0xFF, codes 0, decodes to NaN).
  std::vector<float> f(64, 1.0f);
  f[7] = -nan, f[9] = inf;
  const Fp4Out q = fp4_both(fp4p(1, 64), f);
  CHECK(q.count == 2);
  CHECK(q.scales[0] == kUe8m0Nan);
  CHECK(q.scales[1] != kUe8m0Nan);
  for (int j = 0; j < 16; ++j) CHECK(q.codes[j] == 0);
  CHECK(q.dq_count == 32);
  CHECK(q.y[40] == 1.0f);
}

TEST_CASE("quant: GEMM hand case and the FP64 oracle", "[quant][ref][cpu]") {
  // A = [1, 2, 0, ...] with s_a = 2^-8 (0x77); B rows: [3, 0.5, ...] s_b = 2^2 (0x81), second row −1·s_b.
  GemmQParams p;
  p.m = 1, p.k = 128, p.n = 2, p.out_bf16 = false;
  std::vector<uint8_t> a(128, 0), b(256, 0), sa{0x77}, sb{0x81};
  a[0] = fp8_e4m3_from_f32(1.0f), a[1] = fp8_e4m3_from_f32(2.0f);
  b[0] = fp8_e4m3_from_f32(3.0f), b[1] = fp8_e4m3_from_f32(0.5f), b[128] = fp8_e4m3_from_f32(-1.0f);
  for (auto fn : {gemm_fp8_ref, gemm_fp8_cpu}) {
    std::vector<float> c(2, -1.0f);
    fn(p, a.data(), sa.data(), b.data(), sb.data(), c.data());
    CHECK(c[0] == (1 * 3 + 2 * 0.5f) * 0x1p-8f * 4.0f);
    CHECK(c[1] == -1 * 0x1p-8f * 4.0f);
  }
  // FP8 × MXFP4: codes 0x2 (1.0) and 0xF (−6.0); B scales per 32 K differ (2^0 for k < 32, 2^1 after).
  std::vector<uint8_t> b4(2 * 64, 0), sb4(2 * 4, 0x7F);
  a[32] = fp8_e4m3_from_f32(1.0f);
  b4[0] = 0xF2;        // row 0: k=0 → 1.0, k=1 → −6.0
  b4[16] = 0x02;       // row 0: k=32 → 1.0
  sb4[1] = 0x80;       // row 0, k in [32, 64): s_b = 2
  for (auto fn : {gemm_fp8_fp4_ref, gemm_fp8_fp4_cpu}) {
    std::vector<float> c(2, -1.0f);
    fn(p, a.data(), sa.data(), b4.data(), sb4.data(), c.data());
    CHECK(c[0] == (1 * 1 - 2 * 6 + 1 * 2) * 0x1p-8f);
    CHECK(c[1] == 0.0f);
  }
}
