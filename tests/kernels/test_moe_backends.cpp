// test_moe_backends.cpp — specs/moe.md "Tests": _cpu (and _cuda when a device is present) against
// _ref through the registry on seeded inputs: odd sizes (n_tokens 1, 13, 31, 257; d_model 13, 257),
// V3 group-limited and V4 flat / hash routing, every weight format, and real V4-Flash / V4-Pro shapes
// with few experts so the family stays fast. Tolerances are the registry's verify (moe_verify.cpp).
// Also: NaN in one token's input reaches only that token; repeated runs are bit-identical.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/moe/moe.h"
#include "kernels/moe/moe_verify.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;
using v4lab::test::compare;
using v4lab::test::params;
using v4lab::test::require_all_pass;

namespace {

struct Case {
  const char* op;
  ParamMap set;
};

// The shared case list of the [cpu] and [cuda] tests.
std::vector<Case> cases() {
  std::vector<Case> c;
  for (int64_t T : {1, 13, 31, 257})
    for (int64_t d : {13, 257}) {
      c.push_back({"moe_gate", {{"n_tokens", T}, {"d_model", d}, {"n_experts", 8}, {"top_k", 3}, {"scoring", 2}}});
      c.push_back({"moe_permute", {{"n_tokens", T}, {"d_model", d}, {"n_experts", 8}, {"top_k", 3}}});
      c.push_back({"moe_combine", {{"n_tokens", T}, {"d_model", d}, {"n_experts", 8}, {"top_k", 3}}});
    }
  // Router: every scoring, V3 group-limited, V4 hash, V4-Pro and V4-Flash shapes.
  c.push_back({"moe_gate", {{"n_tokens", 31}, {"d_model", 64}, {"n_experts", 16}, {"top_k", 4}, {"scoring", 0}}});
  c.push_back({"moe_gate", {{"n_tokens", 31}, {"d_model", 64}, {"n_experts", 16}, {"top_k", 4}, {"scoring", 1},
                            {"use_bias", 0}}});
  c.push_back({"moe_gate", {{"n_tokens", 13}, {"d_model", 7168}, {"n_experts", 256}, {"top_k", 8}, {"scoring", 1},
                            {"n_group", 8}, {"topk_group", 4}, {"route_scale", 2.5}}});  // V3
  c.push_back({"moe_gate", {{"n_tokens", 13}, {"d_model", 4096}, {"n_experts", 256}, {"top_k", 6}, {"hash", 1},
                            {"vocab", 4096}}});  // V4-Flash hash layer
  c.push_back({"moe_gate", {{"n_tokens", 5}, {"d_model", 7168}, {"n_experts", 384}, {"top_k", 6},
                            {"route_scale", 2.5}}});  // V4-Pro
  c.push_back({"moe_permute", {{"n_tokens", 64}, {"d_model", 4096}, {"n_experts", 256}, {"top_k", 6}}});
  c.push_back({"moe_combine", {{"n_tokens", 8}, {"d_model", 7168}, {"n_experts", 384}, {"top_k", 6}}});
  // Experts: BF16 at odd sizes, FP8 (V3 placement) and MXFP4 (V4), decode and prefill-shaped rows.
  for (int64_t T : {1, 13})
    for (int64_t d : {13, 257})
      c.push_back({"moe_experts", {{"n_tokens", T}, {"d_model", d}, {"d_expert", 31}, {"n_experts", 3},
                                   {"top_k", 2}, {"expert_dtype", 0}, {"limit", 10}}});
  c.push_back({"moe_experts", {{"n_tokens", 13}, {"d_model", 256}, {"d_expert", 128}, {"n_experts", 4},
                               {"top_k", 2}, {"expert_dtype", 1}, {"weight_before_down", 0}}});
  c.push_back({"moe_experts", {{"n_tokens", 13}, {"d_model", 256}, {"d_expert", 128}, {"n_experts", 4},
                               {"top_k", 2}, {"expert_dtype", 2}, {"limit", 10}}});
  c.push_back({"moe_experts", {{"n_tokens", 96}, {"d_model", 256}, {"d_expert", 256}, {"n_experts", 2},
                               {"top_k", 1}, {"expert_dtype", 1}, {"limit", 10}}});  // Eigen path (m ≥ 16)
  c.push_back({"moe_experts", {{"n_tokens", 96}, {"d_model", 256}, {"d_expert", 256}, {"n_experts", 2},
                               {"top_k", 1}, {"expert_dtype", 2}}});
  c.push_back({"moe_experts", {{"n_tokens", 3}, {"d_model", 4096}, {"d_expert", 2048}, {"n_experts", 2},
                               {"top_k", 2}, {"expert_dtype", 2}, {"limit", 10}}});  // V4-Flash expert shape
  c.push_back({"moe_experts", {{"n_tokens", 2}, {"d_model", 7168}, {"d_expert", 3072}, {"n_experts", 1},
                               {"top_k", 1}, {"expert_dtype", 2}, {"limit", 10}}});  // V4-Pro expert shape
  // Shared expert: FP8 (presets) and BF16 at odd sizes.
  c.push_back({"moe_shared", {{"n_tokens", 13}, {"d_model", 512}, {"d_expert", 256}, {"shared_dtype", 1}}});
  c.push_back({"moe_shared", {{"n_tokens", 31}, {"d_model", 257}, {"d_expert", 13}, {"shared_dtype", 0}}});
  c.push_back({"moe_shared", {{"n_tokens", 2}, {"d_model", 4096}, {"d_expert", 2048}, {"shared_dtype", 1}}});
  return c;
}

void run_cases(Backend b) {
  uint64_t seed = 100;
  for (const Case& c : cases()) {
    const ParamMap pm = params(c.op, c.set);
    std::string desc = c.op;
    for (auto& [k, v] : c.set) desc += " " + k + "=" + std::to_string(v);
    INFO(desc);
    require_all_pass(compare(c.op, b, pm, ++seed));
  }
}

}  // namespace

TEST_CASE("moe _cpu matches _ref on odd sizes, every routing mode and weight format", "[moe][cpu]") {
  run_cases(Backend::Cpu);
}

TEST_CASE("moe _cuda matches _ref", "[moe][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  run_cases(Backend::Cuda);
}

TEST_CASE("moe exact ties: equal logits pick the lower expert id in every backend", "[moe][cpu]") {
  const ParamMap pm = params("moe_gate", {{"n_tokens", 4}, {"d_model", 32}, {"n_experts", 16}, {"top_k", 3},
                                          {"use_bias", 0}});
  const OpKernels* k = find_kernels("moe_gate");
  for (Backend b : {Backend::Ref, Backend::Cpu}) {
    KernelIO io = k->make_io(pm, 7);
    uint16_t* wg = io.in("w_g").data<uint16_t>();
    for (int e = 1; e < 16; ++e) std::memcpy(wg + e * 32, wg, 32 * sizeof(uint16_t));  // all logits equal
    k->prepare.at(b)(pm, io).launch();
    const int32_t* idx = io.out("topk_idx").data<int32_t>();
    for (int t = 0; t < 4; ++t)
      for (int j = 0; j < 3; ++j) CHECK(idx[t * 3 + j] == j);
  }
}

TEST_CASE("moe NaN in one token's x reaches only that token", "[moe][cpu]") {
  struct Nan {
    const char* op;
    const char* input;
    const char* output;
    ParamMap set;
  };
  const Nan list[] = {
      {"moe_gate", "x", "scores", {{"n_tokens", 5}, {"d_model", 64}, {"n_experts", 16}, {"top_k", 4}}},
      {"moe_experts", "x_perm", "y_e",
       {{"n_tokens", 5}, {"d_model", 256}, {"d_expert", 128}, {"n_experts", 3}, {"top_k", 2}, {"expert_dtype", 2}}},
      {"moe_shared", "x", "y_s", {{"n_tokens", 5}, {"d_model", 256}, {"d_expert", 128}}},
  };
  for (const Nan& c : list) {
    INFO(c.op);
    const ParamMap pm = params(c.op, c.set);
    const OpKernels* k = find_kernels(c.op);
    for (Backend b : {Backend::Ref, Backend::Cpu}) {
      KernelIO clean = k->make_io(pm, 9), dirty = k->make_io(pm, 9);
      Tensor& x = dirty.in(c.input);
      const int64_t cols = x.shape()[1], bad_row = 2;
      x.data<uint16_t>()[bad_row * cols + 7] = 0x7FC0;  // BF16 NaN
      k->prepare.at(b)(pm, clean).launch();
      k->prepare.at(b)(pm, dirty).launch();
      const Tensor& yc = clean.out(c.output);
      const Tensor& yd = dirty.out(c.output);
      const int64_t oc = yc.shape()[1];
      for (int64_t r = 0; r < yc.shape()[0]; ++r) {
        bool any_nan = false, same = true;
        for (int64_t j = 0; j < oc; ++j) {
          any_nan |= std::isnan(yd.get(r * oc + j));
          same &= std::memcmp(yc.data<float>() + r * oc + j, yd.data<float>() + r * oc + j, 4) == 0;
        }
        if (r == bad_row) CHECK(any_nan);
        else CHECK(same);
      }
      if (std::string(c.op) == "moe_gate") {
        CHECK((dirty.out("flags").data<int32_t>()[bad_row] & kMoeFlagNonFinite) != 0);
        CHECK(dirty.out("flags").data<int32_t>()[0] == 0);
      }
    }
  }
}

TEST_CASE("moe _cpu repeated runs are bit-identical", "[moe][cpu]") {
  const ParamMap pm = params("moe_experts", {{"n_tokens", 20}, {"d_model", 256}, {"d_expert", 128},
                                             {"n_experts", 2}, {"top_k", 2}});
  const OpKernels* k = find_kernels("moe_experts");
  KernelIO a = k->make_io(pm, 5), b = k->make_io(pm, 5);
  k->prepare.at(Backend::Cpu)(pm, a).launch();
  k->prepare.at(Backend::Cpu)(pm, b).launch();
  CHECK(std::memcmp(a.out("y_e").raw(), b.out("y_e").raw(), a.out("y_e").nbytes()) == 0);
}
