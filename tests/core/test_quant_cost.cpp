// test_quant_cost.cpp — specs/quant.md "Cost": the quant formulas (quant_cost.h) and the op
// catalogue's OpWork against hand-computed numbers (bytes per element table, 4·N + 2·N/b quantize
// FLOPs, 1,024 FLOP per 128-vector Hadamard, 2·M·N·K GEMMs plus the per-block scaling).
#include <catch2/catch.hpp>

#include "core/op_catalogue.h"
#include "core/ops/quant_cost.h"

using namespace v4lab;

TEST_CASE("quant cost: bytes per element including scales (spec table)", "[quant][sim]") {
  CHECK(quant_bytes_per_element(2, 1, 0) == 2.0);                     // BF16
  CHECK(quant_bytes_per_element(1, 128, 4) == 1.03125);               // FP8 1×128, FP32 scale
  CHECK(quant_bytes_per_element(1, 128, 1) == 1.0078125);             // FP8 1×128, UE8M0
  CHECK(quant_bytes_per_element(1, 64, 1) == 1.015625);               // FP8 1×64, UE8M0
  CHECK(quant_bytes_per_element(1, 128 * 128, 1) == Approx(1.000061).epsilon(1e-6));  // 128×128
  CHECK(quant_bytes_per_element(0.5, 32, 1) == 0.53125);              // MXFP4 1×32
}

TEST_CASE("quant cost: catalogue OpWork equals the hand-computed formulas", "[quant][sim]") {
  auto work = [](const char* op, const ParamMap& set) { return get_op(op).work(resolve_params(get_op(op), set)); };

  // quant_fp8, 64 × 4096 BF16, 1×128 UE8M0: N = 262,144, 2,048 blocks.
  OpWork q = work("quant_fp8", {{"n_tokens", 64}, {"k", 4096}});
  CHECK(q.flops == 4.0 * 262144 + 2.0 * 2048);
  CHECK(q.bytes_mem == 262144 * 2.0 + 262144 * 1.0 + 2048 * 1.0);
  CHECK(q.precision == Precision::FP32);
  CHECK(q.bytes_variant == "fp8_1x128_ue8m0");
  // written bytes per element = 1.0078125 (the table): total − reads = N·1.0078125.
  CHECK(q.bytes_mem - 262144 * 2.0 == 262144 * 1.0078125);

  // 128×128 weights, FP32 scales, FP32 input: 2048 × 4096 → 16 × 32 blocks.
  OpWork w = work("quant_fp8", {{"n_tokens", 2048}, {"k", 4096}, {"block_rows", 128}, {"scale_fmt", 1}, {"in_dtype", 1}});
  CHECK(w.flops == 4.0 * 2048 * 4096 + 2.0 * 512);
  CHECK(w.bytes_mem == 2048 * 4096 * 5.0 + 512 * 4.0);
  CHECK(w.bytes_variant == "fp8_128x128_f32");

  // 1×64 KV tiles with padding: K = 448 → 7 tiles per row.
  OpWork kv = work("quant_fp8", {{"n_tokens", 10}, {"k", 448}, {"block", 64}, {"pad", 1}});
  CHECK(kv.flops == 4.0 * 4480 + 2.0 * 70);

  OpWork d = work("dequant_fp8", {{"n_tokens", 64}, {"k", 4096}});
  CHECK(d.flops == 262144);
  CHECK(d.bytes_mem == 262144 * 1.0 + 2048 + 262144 * 4.0);

  OpWork f = work("quant_fp4", {{"n_tokens", 64}, {"k", 128}});  // 8192 elements, 256 blocks
  CHECK(f.flops == 4.0 * 8192 + 2.0 * 256);
  CHECK(f.bytes_mem - 8192 * 2.0 == 8192 * 0.53125);
  OpWork fd = work("dequant_fp4", {{"n_tokens", 64}, {"k", 128}});
  CHECK(fd.flops == 8192);
  CHECK(fd.bytes_mem == 8192 * 0.53125 + 8192 * 4.0);

  OpWork h = work("hadamard", {{"n_tokens", 1}, {"n", 128}});
  CHECK(h.flops == 1024);  // 128·7 + 128 (attention.md uses the same count)
  CHECK(h.bytes_mem == 1024);
  CHECK(work("hadamard", {{"n_tokens", 3}, {"n", 1}}).flops == 3);

  // gemm_fp8 at M = 4096, K = 4096, N = 2048, BF16 out.
  OpWork g = work("gemm_fp8", {{"n_tokens", 4096}, {"k", 4096}, {"n", 2048}});
  CHECK(g.flops == 2.0 * 4096 * 2048 * 4096 + 2.0 * 4096 * 2048 * 32);
  CHECK(g.bytes_mem == (4096.0 * 4096 + 4096 * 32) + (2048.0 * 4096 + 16 * 32) + 4096.0 * 2048 * 2);
  CHECK(g.precision == Precision::FP8);
  OpWork g4 = work("gemm_fp8_fp4", {{"n_tokens", 1}, {"k", 4096}, {"n", 2048}, {"out_dtype", 1}});
  CHECK(g4.flops == 2.0 * 2048 * 4096 + 2.0 * 2048 * 128);
  CHECK(g4.bytes_mem == (4096.0 + 32) + 2048.0 * 4096 * 0.53125 + 2048 * 4.0);
  CHECK(work("gemm_fp8", {{"n_tokens", 0}}).flops == 0);
}
