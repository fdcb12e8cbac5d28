// quant.cpp — op catalogue entries of the quant family (specs/quant.md): quant_fp8, dequant_fp8,
// quant_fp4, dequant_fp4, hadamard, gemm_fp8, gemm_fp8_fp4. Parameters with help strings and the
// OpWork the cost model and the benchmarks share; the formulas live in quant_cost.h.
#include <cmath>

#include "core/op_catalogue.h"
#include "core/ops/quant_cost.h"

namespace v4lab {
namespace {

ParamDef p_tokens(const char* help) { return {"n_tokens", 64, 0, double(1 << 24), true, help, ""}; }
ParamDef p_k() { return {"k", 4096, 0, double(1 << 24), true, "K: contiguous row length (4096 Flash, 7168 Pro)", "hidden_size"}; }
ParamDef p_block() { return {"block", 128, 64, 128, true, "block length along K: 128 (activations, weights) or 64 (KV tiles)", ""}; }
ParamDef p_block_rows() { return {"block_rows", 1, 1, 128, true, "rows per block: 1 (activation 1xb) or 128 (weight 128x128)", ""}; }
ParamDef p_scale_fmt() { return {"scale_fmt", 0, 0, 1, true, "0 = UE8M0 power-of-two byte (V3.2/V4), 1 = FP32 scale (V3)", ""}; }
ParamDef p_in_dtype() { return {"in_dtype", 0, 0, 1, true, "input x dtype: 0 = BF16, 1 = FP32", ""}; }
ParamDef p_pad() { return {"pad", 0, 0, 1, true, "1 = allow K not a multiple of the block (last block zero padded)", ""}; }
ParamDef p_out_dtype() { return {"out_dtype", 0, 0, 1, true, "output C dtype: 0 = BF16, 1 = FP32", ""}; }
ParamDef p_n_gemm() { return {"n", 2048, 0, double(1 << 24), true, "N: weight rows = output columns (d_expert 2048)", "moe_intermediate_size"}; }

double scale_bytes(const ParamMap& p) { return param_i(p, "scale_fmt") == 1 ? 4.0 : 1.0; }
double cdiv(double a, double b) { return std::ceil(a / b); }

// Blocks of an FP8 quantizer: ⌈rows/br⌉·⌈K/b⌉ scales.
double fp8_blocks(const ParamMap& p) {
  return cdiv(double(param_i(p, "n_tokens")), double(param_i(p, "block_rows"))) *
         cdiv(double(param_i(p, "k")), double(param_i(p, "block")));
}
double fp4_blocks(const ParamMap& p) { return double(param_i(p, "n_tokens")) * cdiv(double(param_i(p, "k")), 32.0); }
double elems(const ParamMap& p) { return double(param_i(p, "n_tokens")) * double(param_i(p, "k")); }
const char* fp8_variant(const ParamMap& p) {
  const bool f32 = param_i(p, "scale_fmt") == 1;
  if (param_i(p, "block_rows") == 128) return f32 ? "fp8_128x128_f32" : "fp8_128x128_ue8m0";
  if (param_i(p, "block") == 64) return f32 ? "fp8_1x64_f32" : "fp8_1x64_ue8m0";
  return f32 ? "fp8_1x128_f32" : "fp8_1x128_ue8m0";
}

}  // namespace

void register_quant_ops() {
  register_op({"quant_fp8", "quant", "FP8 e4m3 block quantize (1x128 / 1x64 / 128x128; UE8M0 or FP32 scales)",
               {p_tokens("rows of x (tokens; weight rows N when block_rows = 128); 0 = no launch"), p_k(), p_block(),
                p_block_rows(), p_scale_fmt(), p_in_dtype(),
                {"a_floor", 1e-4, 2.7e-36, 1e30, false, "floor of the block amax (1e-4: V4 act_quant, DeepGEMM)", ""},
                p_pad()},
               [](const ParamMap& p) {
                 OpWork w;
                 const double n = elems(p), b = fp8_blocks(p);
                 w.flops = quant_flops(n, b);
                 w.bytes_mem = quant_bytes(n, b, param_i(p, "in_dtype") == 1 ? 4.0 : 2.0, 1.0, scale_bytes(p));
                 w.precision = Precision::FP32;  // memory-bound; the arithmetic is FP32
                 w.bytes_variant = fp8_variant(p);
                 return w;
               }});
  register_op({"dequant_fp8", "quant", "FP8 e4m3 block dequantize: x^ = decode(q)*s in FP32",
               {p_tokens("rows of the codes; 0 = no launch"), p_k(), p_block(), p_block_rows(), p_scale_fmt(), p_pad()},
               [](const ParamMap& p) {
                 OpWork w;
                 w.flops = dequant_flops(elems(p));
                 w.bytes_mem = dequant_bytes(elems(p), fp8_blocks(p), 1.0, scale_bytes(p));
                 w.precision = Precision::FP32;
                 w.bytes_variant = fp8_variant(p);
                 return w;
               }});
  register_op({"quant_fp4", "quant", "MXFP4 e2m1 block quantize (1x32, UE8M0), packed low nibble first",
               {p_tokens("rows of x (tokens); 0 = no launch"), p_k(), p_in_dtype(),
                {"a_floor", 6.0 * std::ldexp(1.0, -126), 3.6e-38, 1e30, false,
                 "floor of the block amax (6*2^-126: V4 reference; DeepGEMM's helper uses 1e-4)", ""},
                p_pad()},
               [](const ParamMap& p) {
                 OpWork w;
                 const double n = elems(p), b = fp4_blocks(p);
                 w.flops = quant_flops(n, b);
                 w.bytes_mem = quant_bytes(n, b, param_i(p, "in_dtype") == 1 ? 4.0 : 2.0, 0.5, 1.0);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "mxfp4_1x32_ue8m0";
                 return w;
               }});
  register_op({"dequant_fp4", "quant", "MXFP4 e2m1 block dequantize (scale 0xFF decodes to NaN)",
               {p_tokens("rows of the codes; 0 = no launch"), p_k(), p_pad()},
               [](const ParamMap& p) {
                 OpWork w;
                 w.flops = dequant_flops(elems(p));
                 w.bytes_mem = dequant_bytes(elems(p), fp4_blocks(p), 0.5, 1.0);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "mxfp4_1x32_ue8m0";
                 return w;
               }});
  register_op({"hadamard", "quant", "fast Walsh-Hadamard rotation y = H_n x / sqrt(n) per row (FP32)",
               {p_tokens("vectors (rows); 0 = no launch"),
                {"n", 128, 1, 65536, true, "vector length, a power of two (128: indexer head dim)", "index_head_dim"}},
               [](const ParamMap& p) {
                 OpWork w;
                 w.flops = hadamard_flops(double(param_i(p, "n_tokens")), double(param_i(p, "n")));
                 w.bytes_mem = hadamard_bytes(double(param_i(p, "n_tokens")), double(param_i(p, "n")));
                 w.precision = Precision::FP32;
                 w.bytes_variant = "fp32";
                 return w;
               }});
  register_op({"gemm_fp8", "quant", "C = A*B^T, FP8 A (1x128 scales) x FP8 B (128x128 scales), FP32 accumulation",
               {p_tokens("M: rows of A and C (tokens); 0 = no launch"), p_k(), p_n_gemm(), p_scale_fmt(), p_out_dtype()},
               [](const ParamMap& p) {
                 OpWork w;
                 const double m = double(param_i(p, "n_tokens")), n = double(param_i(p, "n")), k = double(param_i(p, "k"));
                 const double sb = scale_bytes(p);
                 w.flops = gemm_q_flops(m, n, k, 128);
                 w.bytes_mem = gemm_q_bytes(m * k + m * (k / 128) * sb, n * k + cdiv(n, 128) * (k / 128) * sb, m, n,
                                            param_i(p, "out_dtype") == 1 ? 4.0 : 2.0);
                 w.precision = Precision::FP8;
                 w.bytes_variant = param_i(p, "scale_fmt") == 1 ? "fp8_f32_scales" : "fp8_ue8m0_scales";
                 return w;
               }});
  register_op({"gemm_fp8_fp4", "quant", "C = A*B^T, FP8 A (1x128 scales) x MXFP4 B (1x32 UE8M0), scales per 32 K",
               {p_tokens("M: rows of A and C (tokens); 0 = no launch"), p_k(), p_n_gemm(), p_scale_fmt(), p_out_dtype()},
               [](const ParamMap& p) {
                 OpWork w;
                 const double m = double(param_i(p, "n_tokens")), n = double(param_i(p, "n")), k = double(param_i(p, "k"));
                 w.flops = gemm_q_flops(m, n, k, 32);
                 w.bytes_mem = gemm_q_bytes(m * k + m * (k / 128) * scale_bytes(p), n * k * 0.5 + n * (k / 32), m, n,
                                            param_i(p, "out_dtype") == 1 ? 4.0 : 2.0);
                 // FP8 x FP4 MMAs (SM100 kind::f8f6f4; SM90 upcasts FP4 to FP8) run at the FP8 rate.
                 w.precision = Precision::FP8;
                 w.bytes_variant = "fp8_x_mxfp4";
                 return w;
               }});
}

}  // namespace v4lab
