// test_moe.cpp — specs/moe.md "Tests" for the MoE kernels, _ref against hand-computed cases and the
// shared per-element math (scoring, top-k order, group-limited selection, hash routing, weights and
// the zero-denominator guard, clamp, FP8 activation blocks, permute, combine order) plus invalid
// parameters. _cpu / _cuda against _ref: test_moe_backends.cpp; cost: tests/core/test_moe_cost.cpp.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/moe/moe.h"
#include "kernels/moe/moe_verify.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

// Router with W_g = I (d = E), so z_e = x_e exactly (BF16-exact inputs).
struct IdentityGate {
  MoeParams p;
  std::vector<uint16_t> x, wg;
  std::vector<float> bias;
  std::vector<int32_t> ids, tab, idx, flags;
  std::vector<float> w, s;
  IdentityGate(MoeParams q, const std::vector<float>& z) : p(q) {
    p.d_model = p.n_experts;
    p.n_tokens = 1;
    for (float v : z) x.push_back(bf16_from_f32(v));
    wg.assign(size_t(p.n_experts * p.n_experts), 0);
    for (int e = 0; e < p.n_experts; ++e) wg[size_t(e * p.n_experts + e)] = bf16_from_f32(1.0f);
    bias.assign(size_t(p.n_experts), 0.0f);
    ids = {0};
    tab.assign(size_t(p.vocab * p.top_k), 0);
    idx.assign(size_t(p.top_k), -1), flags = {0}, w.assign(size_t(p.top_k), 0), s.assign(size_t(p.n_experts), 0);
  }
  void run() {
    moe_gate_ref(p, x.data(), wg.data(), bias.data(), ids.data(), tab.data(), idx.data(), w.data(), s.data(),
                 flags.data());
  }
};

bool contains(const std::vector<int32_t>& v, int e) { return std::find(v.begin(), v.end(), e) != v.end(); }

template <class F>
std::string config_error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    return e.what();
  }
  FAIL("expected a config_error");
  return {};
}

}  // namespace

TEST_CASE("moe sqrtsoftplus: s(0) = sqrt(ln 2), the z > 20 branch, the subnormal tail", "[moe][ref]") {
  CHECK(moe_score(0.0f, MoeScoring::SqrtSoftplus) == Approx(0.832555).margin(1e-6));
  CHECK(moe_score(30.0f, MoeScoring::SqrtSoftplus) == std::sqrt(30.0f));  // softplus(z) = z above 20
  CHECK(moe_softplus(20.5f) == 20.5f);
  CHECK(moe_softplus(20.0f) == Approx(20.0).epsilon(1e-7));  // log1p branch at the edge
  const float tail = moe_score(-100.0f, MoeScoring::SqrtSoftplus);  // softplus ≈ 3.7e-44 (subnormal)
  CHECK(tail > 0.0f);
  CHECK(tail == Approx(std::sqrt(std::exp(-100.0))).epsilon(0.05));
  for (float z : {-30.0f, -5.0f, 0.5f, 3.0f, 19.9f, 25.0f}) CHECK(moe_score(z, MoeScoring::SqrtSoftplus) >= 0.0f);
  CHECK(moe_score(0.0f, MoeScoring::Sigmoid) == 0.5f);
}

TEST_CASE("moe top-k order: larger first, lower id on ties, NaN last", "[moe][ref]") {
  const float u[6] = {0.5f, NAN, 0.7f, 0.5f, 0.7f, -INFINITY};
  int idx[6];
  moe_topk(MoeArrayValue{u}, 6, 6, idx);
  const int want[6] = {2, 4, 0, 3, 5, 1};
  for (int j = 0; j < 6; ++j) CHECK(idx[j] == want[j]);
  const float tied[4] = {1, 1, 1, 1};
  moe_topk(MoeArrayValue{tied}, 4, 2, idx);
  CHECK(idx[0] == 0);
  CHECK(idx[1] == 1);
}

TEST_CASE("moe group-limited: the best expert in a losing group is not selected", "[moe][ref]") {
  // 8 experts, 4 groups of 2, keep 2 groups, top 2. Group top-2 sums: 0.95, 1.15, 1.02, 0.5.
  const float s[8] = {0.95f, 0.0f, 0.6f, 0.55f, 0.5f, 0.52f, 0.2f, 0.3f};
  const float zero_bias[8] = {};
  const uint64_t kept = moe_kept_groups(s, zero_bias, 8, 4, 2);
  CHECK(kept == 0b0110u);
  int idx[2];
  moe_topk(MoeSelectValue{s, zero_bias, kept, 2}, 8, 2, idx);
  CHECK(idx[0] == 2);
  CHECK(idx[1] == 3);
  // Without bias the group score is the max s: groups 0 (0.95) and 1 (0.6) win; expert 0 is picked.
  CHECK(moe_kept_groups(s, nullptr, 8, 4, 2) == 0b0011u);

  // End to end through moe_gate_ref (sigmoid, W_g = I): the same ranking of s.
  MoeParams p;
  p.n_experts = 8, p.top_k = 2, p.n_group = 4, p.topk_group = 2, p.scoring = MoeScoring::Sigmoid;
  p.route_scale = 2.5f;
  std::vector<float> z;
  for (float v : s) z.push_back(bf16_round(std::log(std::max(v, 0.01f) / (1 - std::max(v, 0.01f)))));
  IdentityGate g(p, z);
  g.run();
  CHECK(!contains(g.idx, 0));
  CHECK(contains(g.idx, 2));
  CHECK(contains(g.idx, 3));
  CHECK(g.w[0] + g.w[1] == Approx(2.5).epsilon(1e-6));
}

TEST_CASE("moe hash routing keeps the table row, ignores the bias, normalizes the weights", "[moe][ref]") {
  MoeParams p;
  p.n_experts = 8, p.top_k = 3, p.hash = true, p.vocab = 4, p.route_scale = 1.5f;
  IdentityGate g(p, {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f});
  g.tab = {0, 1, 2, 5, 1, 3, 7, 6, 4, 2, 3, 4};
  g.ids = {1};
  for (auto& b : g.bias) b = 100.0f;  // would dominate selection if used
  g.run();
  CHECK(g.idx == std::vector<int32_t>({5, 1, 3}));
  double sum = 0;
  for (float v : g.w) sum += v;
  CHECK(sum == Approx(1.5).epsilon(1e-6));
  CHECK(g.w[0] == Approx(1.5 * g.s[5] / (g.s[5] + g.s[1] + g.s[3])).epsilon(1e-6));
}

TEST_CASE("moe weights: softmax is not renormalized, sigmoid/sqrtsoftplus sum to route_scale", "[moe][ref]") {
  MoeParams p;
  p.n_experts = 8, p.top_k = 2, p.scoring = MoeScoring::Softmax, p.route_scale = 2.0f;
  IdentityGate g(p, {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f, 0.25f, -2.0f});
  g.run();
  CHECK(g.idx == std::vector<int32_t>({4, 1}));
  CHECK(g.w[0] == Approx(2.0 * g.s[4]).epsilon(1e-6));
  CHECK(g.w[0] + g.w[1] < 2.0f);

  // sqrtsoftplus with a bias that forces a low-s expert in: it is weighted by its unbiased s.
  MoeParams q;
  q.n_experts = 8, q.top_k = 3, q.scoring = MoeScoring::SqrtSoftplus, q.route_scale = 1.5f;
  IdentityGate h(q, {1.0f, 2.0f, 0.5f, -4.0f, 3.0f, 0.0f, 0.25f, -2.0f});
  h.bias[3] = 10.0f;
  h.run();
  REQUIRE(contains(h.idx, 3));
  double sum = 0;
  for (int j = 0; j < 3; ++j) {
    CHECK(h.w[size_t(j)] >= 0.0f);
    sum += h.w[size_t(j)];
  }
  CHECK(sum == Approx(1.5).epsilon(1e-6));
  const double s3 = std::sqrt(std::log1p(std::exp(double(-4.0f))));
  const double den = double(h.s[4]) + double(h.s[1]) + s3;
  const size_t pos3 = size_t(std::find(h.idx.begin(), h.idx.end(), 3) - h.idx.begin());
  CHECK(h.w[pos3] == Approx(1.5 * s3 / den).epsilon(1e-6));
  CHECK(h.flags[0] == 0);
}

TEST_CASE("moe weights: zero denominator is guarded and flagged", "[moe][ref]") {
  const float s0[3] = {0.0f, 0.0f, 0.0f};
  float w[3] = {1, 1, 1};
  CHECK(moe_route_weights(s0, 3, MoeScoring::SqrtSoftplus, 1.5f, w) == kMoeFlagZeroDen);
  for (float v : w) CHECK(v == 0.0f);
  const float tiny[2] = {1e-22f, 1e-22f};  // subnormal-range sqrtsoftplus tail: still a valid split
  CHECK(moe_route_weights(tiny, 2, MoeScoring::Sigmoid, 1.0f, w) == 0);
  CHECK(w[0] == Approx(1e-22f / (2e-22f + 1e-20f)).epsilon(1e-5));
  const float bad[2] = {NAN, 0.5f};
  CHECK((moe_route_weights(bad, 2, MoeScoring::Sigmoid, 1.0f, w) & kMoeFlagNonFinite) != 0);
}

TEST_CASE("moe clamp: u on both sides, g only above, none at limit 0", "[moe][ref]") {
  CHECK(swiglu_f32(50.0f, 1.0f, 10.0f) == silu_f32(10.0f));
  CHECK(swiglu_f32(1.0f, 50.0f, 10.0f) == silu_f32(1.0f) * 10.0f);
  CHECK(swiglu_f32(1.0f, -50.0f, 10.0f) == silu_f32(1.0f) * -10.0f);
  CHECK(swiglu_f32(-50.0f, 1.0f, 10.0f) == silu_f32(-50.0f));  // ≈ −9.6e-21, not clamped
  CHECK(swiglu_f32(-50.0f, 1.0f, 10.0f) == Approx(-9.64e-21).epsilon(0.01));
  CHECK(swiglu_f32(50.0f, 50.0f, 0.0f) == silu_f32(50.0f) * 50.0f);
  // The shared expert never clamps, whatever limit the caller passes.
  CHECK(moe_params_from(MoeOp::Shared, {{"limit", 10.0}}).limit == 0.0f);
}

TEST_CASE("moe experts _ref: hand-computed SwiGLU expert, V4 and V3 weight placement", "[moe][ref]") {
  MoeParams p;
  p.n_experts = 1, p.top_k = 1, p.n_tokens = 1, p.d_model = 2, p.d_expert = 1;
  p.expert_dtype = ExpertDtype::BF16, p.limit = 0.0f;
  const uint16_t w1[2] = {bf16_from_f32(1), bf16_from_f32(0)}, w3[2] = {bf16_from_f32(0), bf16_from_f32(1)};
  const uint16_t w2[2] = {bf16_from_f32(1), bf16_from_f32(2)};
  const uint16_t x[2] = {bf16_from_f32(2), bf16_from_f32(3)};
  const int32_t off[2] = {0, 1};
  const float wt = 0.5f;
  const float h = silu_f32(2.0f) * 3.0f;
  for (bool before : {true, false}) {
    p.weight_before_down = before;
    float y[2] = {0, 0};
    moe_experts_ref(p, 1, off, x, &wt, {w1, nullptr}, {w3, nullptr}, {w2, nullptr}, y);
    CHECK(y[0] == Approx(0.5 * h).epsilon(1e-6));
    CHECK(y[1] == Approx(1.0 * h).epsilon(1e-6));
  }
  p.limit = 2.5f;  // g = 2 unclamped, u = 3 -> 2.5
  float y[2];
  moe_experts_ref(p, 1, off, x, &wt, {w1, nullptr}, {w3, nullptr}, {w2, nullptr}, y);
  CHECK(y[1] == Approx(0.5 * 2 * silu_f32(2.0f) * 2.5f).epsilon(1e-6));
}

TEST_CASE("moe FP8 1x128 activation block (quant.md Q5)", "[moe][ref]") {
  std::vector<float> x(128, 0.0f), q(128);
  x[0] = 1.0f, x[1] = -0.3f, x[2] = 100.0f;
  moe_fp8_act_block(x.data(), 128, q.data());
  CHECK(q[0] == 1.0f);
  CHECK(q[1] == -0.3125f);
  CHECK(q[2] == 96.0f);
  x[3] = NAN;
  moe_fp8_act_block(x.data(), 128, q.data());
  CHECK(std::isnan(q[3]));
  CHECK(q[2] == 96.0f);  // the amax ignores NaN
}

TEST_CASE("moe permute _ref: counting sort stable by (token, slot)", "[moe][ref]") {
  MoeParams p;
  p.n_tokens = 3, p.top_k = 2, p.n_experts = 4, p.d_model = 2;
  const int32_t idx[6] = {2, 0, 0, 3, 2, 1};
  const uint16_t x[6] = {1, 2, 3, 4, 5, 6};
  int32_t off[5], rm[6];
  uint16_t xp[12];
  moe_permute_ref(p, idx, x, off, rm, xp);
  CHECK(std::vector<int32_t>(off, off + 5) == std::vector<int32_t>({0, 2, 3, 5, 6}));
  CHECK(std::vector<int32_t>(rm, rm + 6) == std::vector<int32_t>({1, 2, 5, 0, 4, 3}));
  CHECK(xp[0] == 1);  // row 0 = token 0
  CHECK(xp[2] == 3);  // row 1 = token 1
  CHECK(xp[4] == 5);  // row 2 = token 2
}

TEST_CASE("moe combine _ref: ascending expert id, then the shared expert, one rounding", "[moe][ref]") {
  MoeParams p;
  p.n_tokens = 1, p.top_k = 3, p.n_experts = 16, p.d_model = 1;
  // Slots name experts 5, 9, 2. Ascending (2, 5, 9): 2^24 + 1 = 2^24 (tie to even), − 2^24 = 0, + 0.5.
  // Slot order would give 1 − 2^24 + 2^24 + 0.5 = 1.5.
  const int32_t idx[3] = {5, 9, 2};
  const int32_t row_map[3] = {2, 0, 1};  // permuted rows sorted by expert: slot 2 (e2), 0 (e5), 1 (e9)
  const float y_e[3] = {16777216.0f, 1.0f, -16777216.0f};
  const float y_s[1] = {0.5f};
  uint16_t y[1];
  moe_combine_ref(p, y_e, row_map, idx, y_s, y);
  CHECK(bf16_to_f32(y[0]) == 0.5f);
  moe_combine_cpu(p, y_e, row_map, idx, y_s, y);
  CHECK(bf16_to_f32(y[0]) == 0.5f);
}

TEST_CASE("moe invalid params and inputs are config errors naming field, value and range", "[moe][ref]") {
  using v4lab::test::params;
  auto gate = [](const ParamMap& o) { moe_params_from(MoeOp::Gate, params("moe_gate", o)).validate(MoeOp::Gate); };
  std::string m = config_error_message([&] { gate({{"n_experts", 8}, {"top_k", 9}}); });
  CHECK(m.find("top_k = 9") != std::string::npos);
  CHECK(m.find("n_experts = 8") != std::string::npos);
  m = config_error_message([&] { gate({{"n_experts", 12}, {"top_k", 2}, {"n_group", 5}, {"topk_group", 1}}); });
  CHECK(m.find("n_group = 5") != std::string::npos);
  m = config_error_message([&] { gate({{"n_experts", 16}, {"top_k", 8}, {"n_group", 8}, {"topk_group", 2}}); });
  CHECK(m.find("topk_group = 2") != std::string::npos);
  m = config_error_message([&] { gate({{"n_experts", 16}, {"top_k", 2}, {"n_group", 4}, {"topk_group", 5}}); });
  CHECK(m.find("topk_group") != std::string::npos);
  config_error_message([&] { params("moe_gate", {{"top_k", 0}}); });      // below the catalogue range
  config_error_message([&] { params("moe_experts", {{"d_model", 0}}); });  // zero size
  m = config_error_message([&] {
    moe_params_from(MoeOp::Experts, params("moe_experts", {{"d_model", 200}, {"expert_dtype", 1}}))
        .validate(MoeOp::Experts);
  });
  CHECK(m.find("d_model = 200") != std::string::npos);
  // k = E selects every expert.
  gate({{"n_experts", 8}, {"top_k", 8}});

  // Mismatched shapes and bad index contents through the registry's prepare.
  const OpKernels* k = find_kernels("moe_permute");
  REQUIRE(k != nullptr);
  const ParamMap pm = params("moe_permute", {{"n_tokens", 4}, {"d_model", 8}, {"n_experts", 8}, {"top_k", 2}});
  KernelIO io = k->make_io(pm, 1);
  io.in("topk_idx").data<int32_t>()[3] = 8;
  m = config_error_message([&] { k->prepare.at(Backend::Cpu)(pm, io); });
  CHECK(m.find("topk_idx[1, 1] = 8") != std::string::npos);
  io.inputs[1] = Tensor("x", DType::BF16, {4, 9});
  m = config_error_message([&] { k->prepare.at(Backend::Ref)(pm, io); });
  CHECK(m.find("'x'") != std::string::npos);

  const OpKernels* g = find_kernels("moe_gate");
  const ParamMap gp = params("moe_gate", {{"n_tokens", 3}, {"d_model", 16}, {"n_experts", 8}, {"top_k", 2},
                                          {"hash", 1}, {"vocab", 5}});
  KernelIO gio = g->make_io(gp, 2);
  gio.in("token_ids").data<int32_t>()[2] = 5;
  m = config_error_message([&] { g->prepare.at(Backend::Cpu)(gp, gio); });
  CHECK(m.find("token_ids[2] = 5") != std::string::npos);
  gio.in("token_ids").data<int32_t>()[2] = 0;
  int32_t* tab = gio.in("tid2eid").data<int32_t>();
  tab[1] = tab[0];
  m = config_error_message([&] { g->prepare.at(Backend::Cpu)(gp, gio); });
  CHECK(m.find("twice") != std::string::npos);
}

TEST_CASE("moe n_tokens = 0: empty outputs, no launch work", "[moe][ref][cpu]") {
  for (const char* op : {"moe_gate", "moe_permute", "moe_experts", "moe_shared", "moe_combine"}) {
    ParamMap o = {{"n_tokens", 0}, {"d_model", 256}};
    if (std::string(op) == "moe_experts" || std::string(op) == "moe_shared") o["d_expert"] = 128;
    const ParamMap pm = v4lab::test::params(op, o);
    const OpKernels* k = find_kernels(op);
    REQUIRE(k != nullptr);
    KernelIO io = k->make_io(pm, 3);
    k->prepare.at(Backend::Cpu)(pm, io).launch();
    k->prepare.at(Backend::Ref)(pm, io).launch();
    for (auto& t : io.outputs)
      if (t.name() != "offsets") CHECK(t.numel() == 0);
    CHECK(get_op(op).work(pm).flops == 0);
  }
}
