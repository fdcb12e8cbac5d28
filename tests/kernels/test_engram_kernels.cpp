// test_engram_kernels.cpp — specs/engram.md §4–§5/§12 for engram_gather, engram_gate, engram_conv:
// _cpu (and _cuda) vs _ref on odd sizes (1, 13, 31, 257) and real geometries; exact FP8 row decode
// per quant.md; out-of-bounds ids and too-large tables are errors with the amounts; gate range and
// the s = 0 cases; conv causality, impulse response, zero weights, decode state = prefill.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/engram/engram.h"
#include "kernels/engram/host_memory.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;
using v4lab::test::compare;
using v4lab::test::params;
using v4lab::test::require_all_pass;

namespace {

using ConvFn = void (*)(const EngramConvParams&, const float*, const float*, const float*, const float*, float*,
                        float*);

struct ConvCase {
  EngramConvParams p;
  std::vector<float> x, nw, cw, state, y, state_out;
  explicit ConvCase(EngramConvParams q) : p(q) {
    const int64_t C = p.channels();
    x.assign(size_t(p.n_tokens * C), 0.f), nw.assign(size_t(C), 1.f), cw.assign(size_t(C * p.conv_kernel), 0.f);
    state.assign(size_t(p.history() * C), 0.f), y.assign(x.size(), 0.f), state_out.assign(state.size(), 0.f);
  }
  void run(ConvFn fn) { fn(p, x.data(), nw.data(), cw.data(), state.data(), y.data(), state_out.data()); }
};

}  // namespace

TEST_CASE("engram gather: _cpu equals _ref exactly (F32/BF16/FP8 rows, F32/BF16 out)", "[engram][cpu]") {
  for (int64_t T : {1, 13, 31, 257})
    for (int rd : {0, 1, 2})
      for (int od : {0, 1}) {
        INFO("T = " << T << ", row_dtype = " << rd << ", out_dtype = " << od);
        const ParamMap pm = params("engram_gather", {{"n_tokens", double(T)}, {"table_rows", 5003},
                                                     {"row_dtype", double(rd)}, {"out_dtype", double(od)}});
        require_all_pass(compare("engram_gather", Backend::Cpu, pm, uint64_t(T)));
      }
  // Real geometries: 27B (BF16 rows, D = 80), V4.1-like (FP8 rows, D = 256, R = 24).
  require_all_pass(compare("engram_gather", Backend::Cpu,
                           params("engram_gather", {{"n_tokens", 64}, {"head_dim", 80}, {"row_dtype", 1},
                                                    {"table_rows", 100003}}), 1));
  require_all_pass(compare("engram_gather", Backend::Cpu,
                           params("engram_gather", {{"n_tokens", 64}, {"max_ngram", 4}, {"head_dim", 256},
                                                    {"row_dtype", 2}, {"out_dtype", 1}, {"table_rows", 20011}}), 2));
}

TEST_CASE("engram gather: FP8 rows decode exactly per quant.md (264 B rows at D = 256)", "[engram][ref][cpu]") {
  EngramGatherParams p;
  p.n_tokens = 1, p.rows_per_token = 2, p.head_dim = 256, p.table_rows = 3, p.row_format = EngramRowFormat::FP8;
  REQUIRE(p.row_bytes() == 264);
  std::vector<uint8_t> table(size_t(3 * 264), 0);
  uint8_t* row = table.data() + 2 * 264;
  const uint8_t codes[] = {0x38, 0x30, 0xC0, 0x44, 0x7E, 0x01, 0x80, 0x48, 0xBA, 0x7C};
  for (int i = 0; i < 10; ++i) row[i] = codes[i];
  for (int b = 0; b < 8; ++b) row[256 + b] = uint8_t(0x7F + b - 2);  // scales 2^(b−2)
  row[32] = 0x38, row[255] = 0x7E;
  const uint32_t ids[2] = {2, 0};
  for (auto fn : {engram_gather_ref, engram_gather_cpu}) {
    std::vector<float> out(512, -1.f);
    fn(p, table.data(), ids, out.data());
    const float want[] = {1.0f, 0.5f, -2.0f, 3.0f, 448.0f, 0x1p-9f, -0.0f, 4.0f, -1.25f, 384.0f};  // ×0.25: quant.md Q5 (1, −0.3125, 96)
    for (int i = 0; i < 10; ++i) CHECK(out[i] == want[i] * 0.25f);  // block 0 scale 2^-2
    CHECK(std::signbit(out[6]));
    CHECK(out[32] == 0.5f);           // block 1 scale 2^-1
    CHECK(out[255] == 448.0f * 32);   // block 7 scale 2^5
    for (int i = 256; i < 512; ++i) CHECK(out[i] == 0.0f);  // row 0: all codes 0
  }
}

TEST_CASE("engram gather: out-of-bounds ids and too-large tables are errors", "[engram][ref][cpu]") {
  EngramGatherParams p;
  p.n_tokens = 2, p.rows_per_token = 2, p.head_dim = 4, p.table_rows = 10;
  std::vector<float> table(40, 1.f), out(16);
  const uint32_t ids[4] = {0, 9, 3, 10};
  for (auto fn : {engram_gather_ref, engram_gather_cpu}) {
    try {
      fn(p, table.data(), ids, out.data());
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("row id 10") && Catch::Contains("token 1, slot 1") &&
                               Catch::Contains("table_rows = 10"));
    }
  }
  // The reusable guard: amounts in the message, injected and real MemAvailable.
  try {
    require_host_memory(5e9, "engram table", "1000 rows x 264 B/row", 1000000000ull);
    FAIL("no error");
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains("needs 5.000 GB") && Catch::Contains("only 1.000 GB") &&
                             Catch::Contains("264 B/row"));
  }
  CHECK_NOTHROW(require_host_memory(1e3, "tiny", "", 1000000ull));
  if (host_mem_available_bytes() > 0) {
    // 2^32 FP32 rows of 4096 values: 70 TB, beyond any host here; refused before allocating.
    const ParamMap pm = params("engram_gather", {{"table_rows", 4294967296.0}, {"head_dim", 4096}});
    try {
      find_kernels("engram_gather")->make_io(pm, 1);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("MemAvailable") && Catch::Contains("4294967296 rows x 16384 B/row"));
    }
  }
}

TEST_CASE("engram gate: _cpu vs _ref, alpha in (0, 1), s = 0 conventions", "[engram][cpu]") {
  for (int64_t T : {1, 13, 31})
    for (int64_t d : {1, 13, 257}) {
      INFO("T = " << T << ", d = " << d);
      require_all_pass(compare("engram_gate", Backend::Cpu,
                               params("engram_gate", {{"n_tokens", double(T)}, {"d_model", double(d)}}), 7));
    }
  require_all_pass(compare("engram_gate", Backend::Cpu,
                           params("engram_gate", {{"n_tokens", 8}, {"d_model", 5120}, {"sign_zero", 1}}), 8));
  require_all_pass(compare("engram_gate", Backend::Cpu,
                           params("engram_gate", {{"n_tokens", 16}, {"d_model", 2560}, {"hc", 1}}), 9));
  // Range: α ∈ (0, 1), and with unit norm weights |s| ≤ √d so α ∈ [σ(−d^¼), σ(d^¼)].
  const ParamMap pm = params("engram_gate", {{"n_tokens", 64}, {"d_model", 5120}});
  KernelIO io = find_kernels("engram_gate")->make_io(pm, 3);
  for (const char* w : {"q_norm_w", "k_norm_w"})
    for (int64_t i = 0; i < io.in(w).numel(); ++i) io.in(w).data<float>()[i] = 1.0f;
  find_kernels("engram_gate")->prepare.at(Backend::Cpu)(pm, io).launch();
  const double lo = 1 / (1 + std::exp(std::pow(5120.0, 0.25))), hi = 1 - lo;
  for (int64_t i = 0; i < io.out("alpha").numel(); ++i) {
    const float a = io.out("alpha").data<float>()[i];
    REQUIRE(a > 0.0f);
    REQUIRE(a < 1.0f);
    REQUIRE(a >= lo - 1e-7);
    REQUIRE(a <= hi + 1e-7);
  }
  // s = 0 (key = 0): sign0 → α = 0.5; copysign → σ(+0.001). Huge scores stay strictly inside (0, 1).
  EngramGateParams p;
  p.n_tokens = 1, p.hc = 2, p.d_model = 4;
  std::vector<uint16_t> h(8, bf16_from_f32(1.0f));
  std::vector<float> key(8, 0.f), value = {1, 2, 3, 4}, w(8, 1.f), s(2), a(2), vg(8);
  for (auto fn : {engram_gate_ref, engram_gate_cpu}) {
    p.sign_zero = GateSignZero::Sign0;
    fn(p, h.data(), key.data(), value.data(), w.data(), w.data(), s.data(), a.data(), vg.data());
    CHECK(a[0] == 0.5f);
    CHECK(vg[3] == 2.0f);
    p.sign_zero = GateSignZero::Copysign;
    fn(p, h.data(), key.data(), value.data(), w.data(), w.data(), s.data(), a.data(), vg.data());
    CHECK(a[0] == Approx(1 / (1 + std::exp(-0.001))).epsilon(1e-6));
    std::vector<float> big(8, 1e6f);
    std::vector<float> kk(8, 1.f);
    fn(p, h.data(), kk.data(), value.data(), big.data(), big.data(), s.data(), a.data(), vg.data());
    CHECK(a[0] < 1.0f);
    CHECK(a[0] > 0.999f);
  }
  CHECK(engram_signed_sqrt(-0.0, GateSignZero::Copysign) == Approx(-0.001));
  CHECK(engram_signed_sqrt(0.25, GateSignZero::Sign0) == 0.5);
  CHECK(engram_signed_sqrt(-1e-9, GateSignZero::Sign0) == Approx(-0.001));
}

TEST_CASE("engram conv: _cpu vs _ref on odd and real shapes", "[engram][cpu]") {
  for (int64_t T : {1, 13, 31, 257})
    for (int64_t d : {1, 13, 257}) {
      INFO("T = " << T << ", d = " << d);
      require_all_pass(compare("engram_conv", Backend::Cpu,
                               params("engram_conv", {{"n_tokens", double(T)}, {"d_model", double(d)}}), 4));
    }
  require_all_pass(compare("engram_conv", Backend::Cpu,
                           params("engram_conv", {{"n_tokens", 32}, {"d_model", 5120}, {"conv_dilation", 4}}), 5));
  require_all_pass(compare("engram_conv", Backend::Cpu,
                           params("engram_conv", {{"n_tokens", 32}, {"d_model", 2560}, {"add_residual", 0}}), 6));
}

TEST_CASE("engram conv: causality, impulse taps, zero weights, decode state = prefill", "[engram][ref][cpu]") {
  EngramConvParams p;
  p.n_tokens = 40, p.hc = 2, p.d_model = 5, p.conv_kernel = 4, p.conv_dilation = 3;
  const int64_t C = p.channels();
  for (ConvFn fn : {engram_conv_ref, engram_conv_cpu}) {
    ConvCase a(p);
    Rng rng(1);
    for (auto& v : a.x) v = float(rng.normal());
    for (auto& v : a.cw) v = float(rng.normal() * 0.3);
    a.run(fn);
    // A change at t0 affects no output before t0.
    ConvCase b = a;
    const int64_t t0 = 17;
    for (int64_t c = 0; c < C; ++c) b.x[size_t(t0 * C + c)] += 1.0f;
    b.run(fn);
    for (int64_t i = 0; i < t0 * C; ++i) REQUIRE(b.y[size_t(i)] == a.y[size_t(i)]);
    bool changed = false;
    for (int64_t c = 0; c < C; ++c) changed |= b.y[size_t(t0 * C + c)] != a.y[size_t(t0 * C + c)];
    CHECK(changed);
    // Zero conv weights: y = SiLU(0) + Ṽ = Ṽ.
    ConvCase z = a;
    std::fill(z.cw.begin(), z.cw.end(), 0.f);
    z.run(fn);
    CHECK(z.y == z.x);
    // Impulse (residual off): only t0, t0+δ, t0+2δ, t0+3δ respond; tap j at t0 + jδ is W[c, w−1−j].
    ConvCase im(p);
    im.p.add_residual = false;
    for (int m = 0; m < p.hc; ++m) im.x[size_t(t0 * C + m * p.d_model)] = 1.0f;  // RMSNorm → √d at channel 0
    for (int64_t c = 0; c < C; ++c)
      for (int j = 0; j < 4; ++j) im.cw[size_t(c * 4 + j)] = 0.1f * float(j + 1);
    im.run(fn);
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      const float yt = im.y[size_t(t * C)];
      const int64_t k = t - t0;
      if (k >= 0 && k % 3 == 0 && k / 3 < 4) {
        const double xh = std::sqrt(5.0 / (1 + 5 * 1e-5));
        const double acc = 0.1 * (4 - k / 3) * xh;
        CHECK(yt == Approx(acc / (1 + std::exp(-acc))).epsilon(1e-5));
      } else {
        CHECK(yt == 0.0f);
      }
    }
    // Decode: one token at a time with the carried state equals the prefill.
    ConvCase full = a;
    std::vector<float> state(size_t(p.history() * C), 0.f);
    EngramConvParams q = p;
    q.n_tokens = 1;
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      std::vector<float> y1(static_cast<size_t>(C)), so(state.size());
      fn(q, a.x.data() + t * C, a.nw.data(), a.cw.data(), state.data(), y1.data(), so.data());
      for (int64_t c = 0; c < C; ++c) REQUIRE(y1[size_t(c)] == Approx(full.y[size_t(t * C + c)]).margin(1e-6));
      state = so;
    }
    for (size_t i = 0; i < state.size(); ++i) CHECK(state[i] == Approx(full.state_out[i]).margin(1e-6));
  }
}

TEST_CASE("engram gather/gate/conv: _cuda equals _ref", "[engram][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  for (int rd : {0, 1, 2})
    require_all_pass(compare("engram_gather", Backend::Cuda,
                             params("engram_gather", {{"n_tokens", 31}, {"head_dim", 256}, {"row_dtype", double(rd)},
                                                      {"out_dtype", double(rd == 2)}, {"table_rows", 20011}}), 1));
  for (int64_t d : {13, 1024, 5120}) {
    require_all_pass(compare("engram_gate", Backend::Cuda, params("engram_gate", {{"n_tokens", 13}, {"d_model", double(d)}}), 2));
    require_all_pass(compare("engram_conv", Backend::Cuda, params("engram_conv", {{"n_tokens", 31}, {"d_model", double(d)}}), 3));
  }
}
