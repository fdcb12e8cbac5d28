// test_attention_o_grouped.cpp — V4 grouped output projection attn_o_grouped (kernels/attention/
// o_grouped.h; specs/attention.md §4.2 "Output", §4.9 "Grouped O ≡ dense block-diagonal W_oa", §6):
// _cpu vs _ref on random, odd and V4-Flash/Pro shapes; o_groups = 1 equals a plain projection;
// grouped equals the block-diagonal dense product; NaN stays in its group; invalid configs; the cost
// formulas (§4.7 W_oa row) and their agreement with the gemm_fp8 entry the cost model uses for wo_a.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "core/ops/attention_o_cost.h"
#include "kernels/attention/o_grouped.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

KernelIO make(const ParamMap& pm, uint64_t seed = 3) { return find_kernels("attn_o_grouped")->make_io(pm, seed); }

void run(OGroupedFn fn, const OGroupedParams& p, KernelIO& io) {
  fn(p, io.in("o").data<uint16_t>(), io.in("w_codes").data<uint8_t>(), io.in("w_scale").data<uint8_t>(),
     io.out("y").data<uint16_t>());
}

// FP64 y[t, n] = Σ_c W[n, c]·a[t, c] over the whole [T, H·D] row with a dense [G·R, H·D] weight that is
// block-diagonal: row g·R + r holds W_oa,g's row in columns [g·D_in, (g+1)·D_in), zeros elsewhere.
std::vector<double> dense_block_diagonal(const OGroupedParams& p, const KernelIO& io) {
  const int64_t T = p.n_tokens, HD = p.n_heads * p.d_head, Din = p.d_in(), R = p.o_rank, G = p.o_groups;
  std::vector<double> W(size_t(G * R * HD), 0.0), y(size_t(T * G * R), 0.0);
  const uint8_t *wc = io.in("w_codes").data<uint8_t>(), *ws = io.in("w_scale").data<uint8_t>();
  for (int64_t g = 0; g < G; ++g)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < Din; ++c)
        W[size_t((g * R + r) * HD + g * Din + c)] =
            double(fp8_e4m3_to_f32(wc[(g * R + r) * Din + c])) *
            double(ue8m0_to_f32(ws[o_grouped_scale_index(g, r, c, p.r_blocks(), p.k_blocks())]));
  const uint16_t* o = io.in("o").data<uint16_t>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t n = 0; n < G * R; ++n) {
      double acc = 0;
      for (int64_t c = 0; c < HD; ++c) acc += W[size_t(n * HD + c)] * double(bf16_to_f32(o[t * HD + c]));
      y[size_t(t * G * R + n)] = acc;
    }
  return y;
}

}  // namespace

TEST_CASE("attn_o_grouped: _cpu matches _ref (random, odd, V4 shapes)", "[attention][ref][cpu]") {
  struct Case {
    ParamMap over;
    const char* what;
  };
  const std::vector<Case> cases = {
      {{{"n_tokens", 3}, {"n_heads", 8}, {"d_head", 64}, {"o_groups", 2}, {"o_rank", 256}}, "random, D_in 256"},
      {{{"n_tokens", 13}, {"n_heads", 6}, {"d_head", 40}, {"o_groups", 3}, {"o_rank", 100}}, "odd: D_in 80, R 100 (partial blocks)"},
      {{{"n_tokens", 31}, {"n_heads", 9}, {"d_head", 50}, {"o_groups", 3}, {"o_rank", 257}}, "odd: D_in 150, R 257"},
      {{{"n_tokens", 1}, {"n_heads", 5}, {"d_head", 33}, {"o_groups", 5}, {"o_rank", 31}, {"act_fp8", 0}}, "odd, BF16 act"},
      {{{"n_tokens", 70}, {"n_heads", 4}, {"d_head", 64}, {"o_groups", 2}, {"o_rank", 64}}, "prefill path (T > 64)"},
      {{{"n_tokens", 70}, {"n_heads", 4}, {"d_head", 64}, {"o_groups", 2}, {"o_rank", 64}, {"act_fp8", 0}}, "prefill, BF16 act"},
      {{{"n_tokens", 1}, {"n_heads", 64}, {"d_head", 512}, {"o_groups", 8}, {"o_rank", 1024}}, "V4-Flash decode"},
      {{{"n_tokens", 1}, {"n_heads", 128}, {"d_head", 512}, {"o_groups", 16}, {"o_rank", 1024}}, "V4-Pro decode"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    test::require_all_pass(test::compare("attn_o_grouped", Backend::Cpu, test::params("attn_o_grouped", c.over), 11));
  }
}

TEST_CASE("attn_o_grouped: o_groups = 1 is a plain projection, grouped = block-diagonal dense", "[attention][ref][cpu]") {
  for (int64_t G : {1, 4}) {
    INFO("o_groups = " << G);
    const ParamMap pm = test::params("attn_o_grouped", {{"n_tokens", 5}, {"n_heads", 8}, {"d_head", 32}, {"o_groups", G},
                                                        {"o_rank", 48}, {"act_fp8", 0}});
    const OGroupedParams p = o_grouped_params_from(pm);
    KernelIO io = make(pm);
    const std::vector<double> want = dense_block_diagonal(p, io);  // G = 1: y = W_oa·o, one [R, H·D] matrix
    for (OGroupedFn fn : {OGroupedFn(o_grouped_ref), OGroupedFn(o_grouped_cpu)}) {
      run(fn, p, io);
      for (size_t k = 0; k < want.size(); ++k) {
        const double got = io.out("y").get(int64_t(k));
        REQUIRE(std::fabs(got - want[k]) <= std::ldexp(std::fabs(want[k]), -8) + 1e-6);  // BF16 output rounding
      }
    }
  }
}

TEST_CASE("attn_o_grouped: FP8 activations round-trip per 1x128 block of each group", "[attention][ref][cpu]") {
  // One group's activations scaled by 2^10 change only that group's scale: y of other groups is
  // bit-identical, the scaled group's y scales by exactly 2^10 (power-of-two scales are exact).
  const ParamMap pm = test::params("attn_o_grouped", {{"n_tokens", 2}, {"n_heads", 4}, {"d_head", 64}, {"o_groups", 2},
                                                      {"o_rank", 32}});
  const OGroupedParams p = o_grouped_params_from(pm);
  for (OGroupedFn fn : {OGroupedFn(o_grouped_ref), OGroupedFn(o_grouped_cpu)}) {
    KernelIO a = make(pm), b = make(pm);
    uint16_t* ob = b.in("o").data<uint16_t>();
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t c = 0; c < 128; ++c) {  // group 1 = columns [128, 256)
        uint16_t& v = ob[t * 256 + 128 + c];
        v = bf16_from_f32(std::ldexp(bf16_to_f32(v), 10));
      }
    run(fn, p, a);
    run(fn, p, b);
    for (int64_t t = 0; t < 2; ++t)
      for (int64_t n = 0; n < 64; ++n) {
        const float ya = bf16_to_f32(a.out("y").data<uint16_t>()[t * 64 + n]);
        const float yb = bf16_to_f32(b.out("y").data<uint16_t>()[t * 64 + n]);
        if (n < 32) CHECK(yb == ya);
        else CHECK(yb == std::ldexp(ya, 10));
      }
  }
}

TEST_CASE("attn_o_grouped: a NaN activation poisons only its token and group", "[attention][ref][cpu]") {
  const ParamMap pm = test::params("attn_o_grouped", {{"n_tokens", 3}, {"n_heads", 6}, {"d_head", 64}, {"o_groups", 3},
                                                      {"o_rank", 40}});
  const OGroupedParams p = o_grouped_params_from(pm);
  for (OGroupedFn fn : {OGroupedFn(o_grouped_ref), OGroupedFn(o_grouped_cpu)}) {
    KernelIO io = make(pm);
    io.in("o").data<uint16_t>()[1 * 384 + 128 + 5] = 0x7fc0;  // token 1, group 1 (columns 128..255)
    run(fn, p, io);
    for (int64_t t = 0; t < 3; ++t)
      for (int64_t n = 0; n < 120; ++n) {
        const bool poisoned = t == 1 && n / 40 == 1;
        CHECK(std::isnan(io.out("y").get(t * 120 + n)) == poisoned);
      }
  }
}

TEST_CASE("attn_o_grouped: invalid configurations name the field", "[attention][cpu]") {
  OGroupedParams p;
  p.n_heads = 64, p.o_groups = 7;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("o_groups = 7") && Catch::Contains("divide n_heads = 64"));
  p.o_groups = 0;
  CHECK_THROWS_AS(p.validate(), v4lab::Error);
  p.o_groups = 8, p.o_rank = 0;
  CHECK_THROWS_WITH(p.validate(), Catch::Contains("o_rank = 0"));
  CHECK_THROWS_AS(find_kernels("attn_o_grouped")->make_io(test::params("attn_o_grouped", {{"o_groups", 3}}), 1), v4lab::Error);
  OGroupedParams empty;
  empty.n_tokens = 0;
  o_grouped_cpu(empty, nullptr, nullptr, nullptr, nullptr);  // T = 0: no work, no access
}

TEST_CASE("attn_o_grouped: cost formulas (§4.7) and agreement with the gemm_fp8 wo_a node", "[attention][sim]") {
  OGroupedShape flash;  // defaults: V4-Flash, one token
  CHECK(o_grouped_gemm_flops(flash) == 2.0 * 64 * 512 * 1024);  // 67.11 MFLOP/token
  OGroupedShape pro = flash;
  pro.n_heads = 128, pro.o_groups = 16;
  CHECK(o_grouped_gemm_flops(pro) == Approx(134.22e6).epsilon(1e-4));
  CHECK(o_grouped_weight_bytes(flash) == 8192.0 * 4096 + 8 * 8 * 32);  // [8192, 4096] FP8 + 128×128 UE8M0
  // The catalogue entry = o_groups × gemm_fp8 [T, D_in] × [R, D_in] + the fused 1×128 quantization.
  const OpDef& og = get_op("attn_o_grouped");
  const OpDef& gm = get_op("gemm_fp8");
  for (double T : {1.0, 4096.0}) {
    const OpWork w = og.work(resolve_params(og, {{"n_tokens", T}}));
    const OpWork g = gm.work(resolve_params(gm, {{"n_tokens", T}, {"k", 4096}, {"n", 1024}}));
    const double quant = 4.0 * T * 64 * 512 + 2.0 * T * 64 * 512 / 128;
    CHECK(w.flops == Approx(8 * g.flops + quant).epsilon(1e-12));
    CHECK(w.bytes_mem > 8192.0 * 4096);
  }
  CHECK(og.work(resolve_params(og, {{"act_fp8", 0}})).flops == o_grouped_gemm_flops(flash));
}

TEST_CASE("attn_o_grouped: _cuda matches _ref", "[attention][cuda]") {
  if (!test::cuda_or_skip()) return;
  for (const ParamMap& over : {ParamMap{{"n_tokens", 13}, {"n_heads", 6}, {"d_head", 40}, {"o_groups", 3}, {"o_rank", 100}},
                               ParamMap{{"n_tokens", 2}, {"n_heads", 64}, {"d_head", 512}, {"o_groups", 8}, {"o_rank", 1024}}})
    test::require_all_pass(test::compare("attn_o_grouped", Backend::Cuda, test::params("attn_o_grouped", over), 5));
}
