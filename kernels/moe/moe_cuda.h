// moe_cuda.h — CUDA launchers of the MoE ops (specs/moe.md "Kernel notes"), without CUDA headers.
// All pointers are device pointers; `stream` is a cudaStream_t (nullptr = legacy default stream).
// Launchers validate, launch on the caller's stream, check the launch and never allocate: ops with
// intermediates take a caller-provided workspace of *_workspace_bytes(p). Index inputs are validated
// on the host before upload (moe_check_io). Compiled only in CUDA builds.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/moe/moe.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// Router: FP64-accumulated logits (one warp per (token, expert)) into the workspace, then one thread
// per token runs the shared moe_gate_token. Same tensors as moe_gate_ref.
size_t moe_gate_cuda_workspace_bytes(const MoeParams& p);
void moe_gate_cuda(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                   const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                   int32_t* flags, void* workspace, void* stream);

// Permute: one CTA counting sort (deterministic, stable), then a row gather. Same tensors as _ref.
void moe_permute_cuda(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                      int32_t* row_map, uint16_t* x_perm, void* stream);

// Experts (and the shared expert with offsets = nullptr, w_perm = nullptr): FP8 1×128 activation
// quantization, grouped GEMM (one warp per output feature, weights decoded on the fly), SwiGLU with
// clamp and routing weight, re-quantization, GEMM2. Same tensors as moe_experts_ref.
size_t moe_experts_cuda_workspace_bytes(const MoeParams& p, int64_t rows);
void moe_experts_cuda(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                      const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e,
                      void* workspace, void* stream);

// Combine: inverse row map into the workspace, then per token the fixed-order FP32 sum.
size_t moe_combine_cuda_workspace_bytes(const MoeParams& p);
void moe_combine_cuda(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                      const float* y_s, uint16_t* y, void* workspace, void* stream);

// Registry glue (moe_cuda_prepare.cu): device buffers, stream, upload; launch = kernels + sync.
PreparedRun moe_prepare_cuda(MoeOp op, const MoeParams& p, KernelIO& io);

}  // namespace v4lab::kernels
