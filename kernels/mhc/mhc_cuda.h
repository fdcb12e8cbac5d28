// mhc_cuda.h — CUDA launchers for the mHC ops (specs/mhc.md "Kernel notes"), without CUDA headers.
// All pointers are device pointers, 16-byte aligned (cudaMalloc gives 256); `stream` is a cudaStream_t
// (nullptr = legacy default stream).
// The launchers validate, launch on the caller's stream, check the launch, and never allocate: hc_pre
// and hc_head take a caller-provided workspace of *_workspace_bytes(p) for their split-K partials.
// Compiled only in CUDA builds (mhc_cuda.cu, mhc_cuda_prepare.cu).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/mhc/mhc.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// hc_pre: split-K prenorm GEMM + sumsq (kernel 1), then per token r, split + Sinkhorn (the shared
// V4LAB_HD template) and the pre-apply (kernel 2). Same tensors as mhc_pre_ref.
size_t mhc_pre_cuda_workspace_bytes(const MhcParams& p);
void mhc_pre_cuda(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* post, float* comb, float* mixes, float* workspace, void* stream);

// hc_post: streaming, 16-byte vector loads, residual merge fused. Same tensors as mhc_post_ref.
void mhc_post_cuda(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                   uint16_t* x_out, void* stream);

// hc_head: the hc_pre kernels with m = n and the head split. Same tensors as mhc_head_ref.
size_t mhc_head_cuda_workspace_bytes(const MhcParams& p);
void mhc_head_cuda(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                   uint16_t* y, float* pre, float* mixes, float* workspace, void* stream);

// Unconstrained HC hc_pre (hc_cuda.cu): one CTA per token, fixed-order block reductions. Same
// tensors as hc_pre_ref (kernels/mhc/hc.h).
void hc_pre_cuda(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                 uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots, void* stream);
PreparedRun hc_prepare_cuda(const MhcParams& p, KernelIO& io);

// Registry glue (mhc_cuda_prepare.cu): device buffers and a stream are allocated and the inputs
// uploaded here; launch = kernels + stream sync; sync_outputs = download into io.outputs. The buffers
// are freed when the last copy of the returned PreparedRun goes away.
PreparedRun mhc_prepare_cuda(MhcOp op, const MhcParams& p, KernelIO& io);

}  // namespace v4lab::kernels
