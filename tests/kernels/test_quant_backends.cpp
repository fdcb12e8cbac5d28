// test_quant_backends.cpp — _cpu (and _cuda when a device is present) against _ref through the
// registry (STYLE 17, specs/quant.md "Tests"): quantizer codes, scales and counts bit-identical on
// seeded inputs at odd sizes (rows 1, 13, 31, 257) and V4 shapes; Hadamard within the FP32 FWHT
// bound; GEMMs within |Δ| ≤ 1e-5·Σ|terms| (BF16: or 1 ulp) of the FP64 value; repeated runs identical.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "kernels/quant/quant.h"
#include "kernels/registry.h"
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

// Shapes: odd row counts, K multiples of the block, every format option, and V4 shapes.
std::vector<Case> quantizer_cases() {
  std::vector<Case> v;
  for (const char* op : {"quant_fp8", "dequant_fp8"})
    for (double rows : {1.0, 13.0, 31.0, 257.0}) {
      v.push_back({op, {{"n_tokens", rows}, {"k", 384}}});
      v.push_back({op, {{"n_tokens", rows}, {"k", 192}, {"block", 64}, {"scale_fmt", 1}}});
      v.push_back({op, {{"n_tokens", rows}, {"k", 200}, {"pad", 1}}});
    }
  for (double fmt : {0.0, 1.0}) {
    v.push_back({"quant_fp8", {{"n_tokens", 31}, {"k", 640}, {"in_dtype", 1}, {"scale_fmt", fmt}}});
    v.push_back({"quant_fp8", {{"n_tokens", 257}, {"k", 384}, {"block_rows", 128}, {"scale_fmt", fmt}}});
    v.push_back({"dequant_fp8", {{"n_tokens", 257}, {"k", 384}, {"block_rows", 128}, {"scale_fmt", fmt}}});
  }
  v.push_back({"quant_fp8", {{"n_tokens", 64}, {"k", 4096}}});                          // V4-Flash activations
  v.push_back({"quant_fp8", {{"n_tokens", 2048}, {"k", 4096}, {"block_rows", 128}}});  // W [d_expert, d_model]
  v.push_back({"quant_fp8", {{"n_tokens", 64}, {"k", 448}, {"block", 64}, {"pad", 1}}});  // KV NoPE tiles
  for (const char* op : {"quant_fp4", "dequant_fp4"})
    for (double rows : {1.0, 13.0, 31.0, 257.0}) {
      v.push_back({op, {{"n_tokens", rows}, {"k", 96}}});
      v.push_back({op, {{"n_tokens", rows}, {"k", 70}, {"pad", 1}}});
    }
  v.push_back({"quant_fp4", {{"n_tokens", 31}, {"k", 128}, {"in_dtype", 1}}});
  v.push_back({"quant_fp4", {{"n_tokens", 64}, {"k", 4096}}});
  v.push_back({"quant_fp4", {{"n_tokens", 2048}, {"k", 128}}});  // indexer keys
  for (double rows : {1.0, 13.0, 257.0})
    for (double n : {1.0, 2.0, 8.0, 128.0}) v.push_back({"hadamard", {{"n_tokens", rows}, {"n", n}}});
  v.push_back({"hadamard", {{"n_tokens", 3}, {"n", 65536}}});
  return v;
}

std::vector<Case> gemm_cases() {
  std::vector<Case> v;
  for (const char* op : {"gemm_fp8", "gemm_fp8_fp4"}) {
    for (double m : {1.0, 13.0, 31.0})
      for (double n : {1.0, 130.0, 257.0}) v.push_back({op, {{"n_tokens", m}, {"k", 384}, {"n", n}}});
    v.push_back({op, {{"n_tokens", 13}, {"k", 256}, {"n", 64}, {"out_dtype", 1}}});
    v.push_back({op, {{"n_tokens", 13}, {"k", 256}, {"n", 200}, {"scale_fmt", 1}}});
    v.push_back({op, {{"n_tokens", 0}, {"k", 256}, {"n", 64}}});
    v.push_back({op, {{"n_tokens", 4}, {"k", 4096}, {"n", 2048}}});  // V4-Flash expert up-projection
  }
  return v;
}

void run_cases(Backend b, const std::vector<Case>& cases) {
  for (const auto& c : cases) {
    const ParamMap pm = params(c.op, c.set);
    std::string shape;
    for (auto& [key, val] : c.set) shape += key + "=" + std::to_string(int64_t(val)) + " ";
    INFO(c.op << " " << shape);
    require_all_pass(compare(c.op, b, pm, 20260 + uint64_t(pm.at("n_tokens"))));
  }
}

}  // namespace

TEST_CASE("quant: _cpu quantizers and Hadamard match _ref (codes, scales, counts bit-identical)", "[quant][cpu]") {
  run_cases(Backend::Cpu, quantizer_cases());
}

TEST_CASE("quant: _cpu GEMMs within 1e-5·Σ|terms| of the FP64 value", "[quant][cpu]") {
  run_cases(Backend::Cpu, gemm_cases());
}

TEST_CASE("quant: repeated _cpu runs are bit-identical", "[quant][cpu]") {
  for (const Case& c : {Case{"gemm_fp8", {{"n_tokens", 37}, {"k", 512}, {"n", 300}}},
                        Case{"gemm_fp8_fp4", {{"n_tokens", 37}, {"k", 512}, {"n", 300}}},
                        Case{"quant_fp8", {{"n_tokens", 257}, {"k", 1024}}},
                        Case{"hadamard", {{"n_tokens", 100}, {"n", 128}}}}) {
    const ParamMap pm = params(c.op, c.set);
    const OpKernels* k = find_kernels(c.op);
    REQUIRE(k != nullptr);
    KernelIO io = k->make_io(pm, 5);
    PreparedRun r = k->prepare.at(Backend::Cpu)(pm, io);
    r.launch();
    std::vector<std::vector<uint8_t>> first;
    for (auto& t : io.outputs) first.emplace_back(static_cast<const uint8_t*>(t.raw()), static_cast<const uint8_t*>(t.raw()) + t.nbytes());
    for (int rep = 0; rep < 3; ++rep) {
      r.launch();
      for (size_t i = 0; i < io.outputs.size(); ++i)
        CHECK(std::memcmp(io.outputs[i].raw(), first[i].data(), first[i].size()) == 0);
    }
  }
}

TEST_CASE("quant: _cuda matches _ref", "[quant][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  run_cases(Backend::Cuda, quantizer_cases());
  run_cases(Backend::Cuda, gemm_cases());
}
