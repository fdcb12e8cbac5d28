// quant.h — block quantization kernels (specs/quant.md "Canonical block quantizer", "Non-finite
// policy", "FP4 packing", "Hadamard rotation", "Precision"): FP8 e4m3 quantize/dequantize (1×128,
// 1×64, 128×128; UE8M0 or FP32 scales), MXFP4 e2m1 (1×32, UE8M0), the fast Walsh–Hadamard transform,
// and the GEMMs that consume the quantized operands. Backends share one signature per op: _ref
// (quant_ref.cpp), _cpu (quant_cpu.cpp); CUDA launchers are in quant_cuda.h. Per-element codecs come
// from quant_math.h, so every backend produces the same codes and scales bit for bit.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {

// ---------------------------------------------------------------------------------------------
// Byte layouts (all dense row-major, K contiguous)
//   FP8 codes      U8  [rows, K]                 one e4m3 byte per element
//   FP8 scales     1×b activations (b = 128 or 64): [rows, ⌈K/b⌉]
//                  128×128 weights:                 [⌈rows/128⌉, ⌈K/128⌉]
//                  U8 UE8M0 bytes (s = 2^(byte−127)) or F32 values (scale_fmt = F32)
//   FP4 codes      U8  [rows, ⌈K/2⌉] packed: element 2j in bits 3..0 (low nibble), 2j+1 in bits 7..4
//   FP4 scales     U8  [rows, ⌈K/32⌉] UE8M0; 0xFF = a block with a non-finite input (codes all 0,
//                  decodes to NaN)
//   GEMM operands  A = activation codes [M, K] + scales [M, K/128]; B (FP8) = weight codes [N, K] +
//                  scales [⌈N/128⌉, K/128]; B (MXFP4) = packed codes [N, K/2] + scales [N, K/32].
//                  C [M, N] = A·Bᵀ, BF16 (default) or F32.
// Non-finite inputs: FP8 codes 0x7F regardless of sign; the block amax ignores them. nonfinite_count
// is an I64 [1]: quantizers count non-finite *input* elements, dequantizers non-finite *outputs*
// (NaN codes, NaN scales, and ±Inf from overflow at the top of the range, spec step 4).
// ---------------------------------------------------------------------------------------------

enum class QuantOp { QuantFp8, DequantFp8, QuantFp4, DequantFp4, Hadamard, GemmFp8, GemmFp8Fp4 };
QuantOp quant_op_of(const std::string& op_name);  // throws config_error for a non-quant op

struct QuantFp8Params {
  int64_t rows = 0;               // n_tokens: rows of x (activations) or weight rows (N) for 128×128
  int64_t k = 4096;               // K: contiguous length of each row
  int block = 128;                // b: block length along K, 128 or 64
  int block_rows = 1;             // 1 (activation 1×b) or 128 (weight 128×128, requires block = 128)
  ScaleFmt scale_fmt = ScaleFmt::Ue8m0;  // UE8M0 byte or FP32 scale
  float a_floor = kFp8AmaxFloor;  // floor of the block amax (step 1)
  bool in_bf16 = true;            // x is BF16 (true) or FP32
  bool pad = false;               // allow K % b != 0: the last block is zero padded
  V4LAB_HD int64_t k_blocks() const { return (k + block - 1) / block; }
  V4LAB_HD int64_t row_blocks() const { return (rows + block_rows - 1) / block_rows; }
  void validate() const;          // throws config_error naming the field, value and accepted range
};

struct QuantFp4Params {
  int64_t rows = 0;               // n_tokens: rows of x
  int64_t k = 4096;               // K: row length (even; a multiple of 32 unless pad)
  float a_floor = kFp4AmaxFloor;  // 6·2^-126 (V4 reference); DeepGEMM's helper uses 1e-4
  bool in_bf16 = true;            // x is BF16 (true) or FP32
  bool pad = false;               // allow K % 32 != 0 (K still even): last block zero padded
  static constexpr int kBlock = 32;
  V4LAB_HD int64_t k_blocks() const { return (k + kBlock - 1) / kBlock; }
  void validate() const;
};

struct HadamardParams {
  int64_t rows = 0;  // n_tokens: vectors
  int64_t n = 128;   // vector length, a power of two, 1..65536; x and y are F32 [rows, n]
  void validate() const;
};

struct GemmQParams {
  int64_t m = 0;                         // M (n_tokens): rows of A and C
  int64_t k = 4096;                      // K: a multiple of 128
  int64_t n = 2048;                      // N: rows of B, columns of C
  ScaleFmt scale_fmt = ScaleFmt::Ue8m0;  // A scales (and FP8 B scales): U8 UE8M0 or F32; MXFP4 B is UE8M0
  bool out_bf16 = true;                  // C is BF16 (true) or F32
  V4LAB_HD int64_t n_blocks() const { return (n + 127) / 128; }
  void validate() const;
};

QuantFp8Params quant_fp8_params_from(const ParamMap& pm);
QuantFp4Params quant_fp4_params_from(const ParamMap& pm);
HadamardParams hadamard_params_from(const ParamMap& pm);
GemmQParams gemm_q_params_from(const ParamMap& pm);

// Scale i of a scale tensor in either format, as FP32 (host and device).
V4LAB_HD float scale_at(const void* scales, ScaleFmt fmt, int64_t i) {
  return fmt == ScaleFmt::Ue8m0 ? ue8m0_to_f32(static_cast<const uint8_t*>(scales)[i])
                                : static_cast<const float*>(scales)[i];
}

// ---------------------------------------------------------------------------------------------
// Entry points. x is BF16 bits (uint16) or FP32 per in_bf16, passed as const void*. Scale tensors are
// U8 or F32 per scale_fmt (void*). rows = 0 or k = 0 does nothing (no scale written, count 0).
// ---------------------------------------------------------------------------------------------
void quant_fp8_ref(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite);
void quant_fp8_cpu(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite);
void dequant_fp8_ref(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite);
void dequant_fp8_cpu(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite);

void quant_fp4_ref(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite);
void quant_fp4_cpu(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite);
void dequant_fp4_ref(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                     int64_t* nonfinite);
void dequant_fp4_cpu(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                     int64_t* nonfinite);

// y = H_n·x per row, H_n[i][j] = (−1)^popcount(i&j)/sqrt(n). _ref in FP64 (rounded once to FP32),
// _cpu in FP32 (log2 n butterfly stages, then one scale). In place (y == x) is allowed.
void hadamard_ref(const HadamardParams& p, const float* x, float* y);
void hadamard_cpu(const HadamardParams& p, const float* x, float* y);

// C = Σ_kb s_a[m,kb]·s_b[n/128,kb]·P_kb (FP8 × FP8). c is uint16 BF16 bits or float per out_bf16.
void gemm_fp8_ref(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c);
void gemm_fp8_cpu(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c);
// C = Σ_k32 s_a[m,k/128]·s_b[n,k/32]·P_k32 (FP8 activations × MXFP4 weights; sb is UE8M0 [N, K/32]).
void gemm_fp8_fp4_ref(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                      void* c);
void gemm_fp8_fp4_cpu(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                      void* c);

// ---------------------------------------------------------------------------------------------
// Tensor-level contract (names, dtypes, shapes) shared by make_io, prepare and the tests.
// ---------------------------------------------------------------------------------------------
struct QuantTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<QuantTensorSpec> quant_io_spec(QuantOp op, const ParamMap& pm);  // inputs first, then outputs
void quant_check_io(QuantOp op, const ParamMap& pm, const KernelIO& io);    // throws config_error on mismatch

// Verification oracle of the GEMMs (quant_register.cpp): the FP64 value of every C element and
// Σ|terms| over its K terms s_a·s_b·a_k·b_k, from io's decoded inputs.
void gemm_q_exact(QuantOp op, const GemmQParams& p, const KernelIO& io, std::vector<double>& value,
                  std::vector<double>& abs_terms);

}  // namespace v4lab::kernels
