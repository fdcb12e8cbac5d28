// quant_cuda.h — CUDA launchers of the quant family (specs/quant.md "Kernel notes"), no CUDA headers.
// All pointers are device pointers; `stream` is a cudaStream_t (nullptr = legacy default stream).
// Each launcher validates its params, zeroes its nonfinite_count with an async memset, launches on
// the caller's stream, checks the launch, and never allocates. Same tensors and layouts as the host
// entry points in quant.h. Compiled only in CUDA builds (quant_cuda.cu, quant_cuda_prepare.cu).
#pragma once
#include "kernels/quant/quant.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// 1×b activations: one warp per block (b/32 elements per lane), amax by shuffles; 128×128 weights:
// one 128-thread CTA per block, a column per thread.
void quant_fp8_cuda(const QuantFp8Params& p, const void* x, uint8_t* codes, void* scales, int64_t* nonfinite,
                    void* stream);
void dequant_fp8_cuda(const QuantFp8Params& p, const uint8_t* codes, const void* scales, float* y, int64_t* nonfinite,
                      void* stream);
// MXFP4: one warp per 1×32 block (one element per lane, the odd lane's code shuffled to the even lane).
void quant_fp4_cuda(const QuantFp4Params& p, const void* x, uint8_t* codes, uint8_t* scales, int64_t* nonfinite,
                    void* stream);
void dequant_fp4_cuda(const QuantFp4Params& p, const uint8_t* codes, const uint8_t* scales, float* y,
                      int64_t* nonfinite, void* stream);
// FWHT: one CTA per row in shared memory for n ≤ 4096; larger n runs one global-memory launch per stage.
void hadamard_cuda(const HadamardParams& p, const float* x, float* y, void* stream);
// 64×64 output tiles, K in steps of 32 decoded into shared memory as FP32 (products of codes exact);
// each 128-K block (FP8 B) or 32-K sub-block (MXFP4 B) is summed in FP32, scaled, then accumulated.
void gemm_fp8_cuda(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const void* sb, void* c,
                   void* stream);
void gemm_fp8_fp4_cuda(const GemmQParams& p, const uint8_t* a, const void* sa, const uint8_t* b, const uint8_t* sb,
                       void* c, void* stream);

// Registry glue (quant_cuda_prepare.cu): device buffers + stream via DeviceRun; launch = launcher +
// stream sync; sync_outputs = download.
PreparedRun quant_prepare_cuda(QuantOp op, const ParamMap& pm, KernelIO& io);

}  // namespace v4lab::kernels
