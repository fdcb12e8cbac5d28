// numerics_cuda.h — CUDA launchers for rmsnorm, rope and swiglu (specs/attention.md §1.1–1.3,
// specs/moe.md "Experts"), without CUDA headers. All pointers are device pointers; `stream` is a
// cudaStream_t (nullptr = legacy default stream). The launchers validate, launch on the caller's
// stream, check the launch and never allocate. Compiled only in CUDA builds.
#pragma once
#include <cstdint>

#include "kernels/numerics/numerics.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// One CTA per row: FP32 sum of squares (fixed-order block reduction), the shared rms_scale, y = x·r·w.
void rmsnorm_cuda(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y, void* stream);

// Two kernels: the table cos_sin [T, d_rope/2, 2] for this launch (shared rope_freq / rope_cos_sin,
// FP64 or FP32 angles on the device), then one thread per pair rotates with it. Same tensors as rope_ref.
void rope_cuda(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y, void* stream);

// Element-wise swiglu_f32 (grid-stride). Same tensors as swiglu_ref.
void swiglu_cuda(const SwigluParams& p, const float* g, const float* u, float* h, void* stream);

// Registry glue (numerics_cuda_prepare.cu): device buffers, stream and upload via DeviceRun.
PreparedRun numerics_prepare_cuda(NumericsOp op, const ParamMap& pm, KernelIO& io);

}  // namespace v4lab::kernels
