// engram_cuda.h — CUDA launchers of the Engram ops (specs/engram.md §11), without CUDA headers.
// All pointers are device pointers (or, for the gather's table, any device-accessible memory: a
// device table, a staging buffer, or pinned host memory over UVA); `stream` is a cudaStream_t.
// The launchers validate, launch on the caller's stream, check the launch, and never allocate: the
// hash, gather and conv take a caller-provided workspace of *_workspace_bytes(p). Invalid ids cannot
// throw on the device: the hash and gather record the first bad flat index in the workspace word
// `*_error_slot` (UINT64_MAX = none) for the caller to read after the stream syncs.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/engram/engram.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// Hash: one thread per token, Barrett mod (the shared engram_mod). Workspace: R u64 inverses + the
// error word (first bad position index into [context | token_ids]).
size_t engram_hash_cuda_workspace_bytes(const EngramHashParams& p);
void engram_hash_cuda(const EngramHashParams& p, const int32_t* token_ids, const int32_t* context,
                      const int32_t* canonical_map, const uint64_t* multipliers, const uint64_t* primes,
                      uint32_t* row_ids, uint64_t* offsets, uint64_t* mixes, void* workspace, void* stream);

// Gather + dequant: one warp per row, 16-byte copies for FP32 → FP32, per-element decode otherwise.
// Workspace: the error word (first flat index t·R + j whose id is ≥ table_rows; its row is zeroed).
size_t engram_gather_cuda_workspace_bytes(const EngramGatherParams& p);
void engram_gather_cuda(const EngramGatherParams& p, const void* table, const uint32_t* row_ids, void* out,
                        void* workspace, void* stream);

// Gate: one CTA per (token, branch); the three sums (Σh², Σk², Σ h·w_q·k·w_k) in one pass with a
// fixed-order block reduction, then α and ṽ = α·v.
void engram_gate_cuda(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                      const float* q_norm_w, const float* k_norm_w, float* score, float* alpha, float* v_gated,
                      void* stream);

// Conv: per-(token, branch) RMS scales into the workspace (T·M floats), then one thread per output
// element (taps read Ṽ·r·w_norm at t − jδ, or the state), then state_out.
size_t engram_conv_cuda_workspace_bytes(const EngramConvParams& p);
void engram_conv_cuda(const EngramConvParams& p, const float* v_gated, const float* norm_w, const float* conv_w,
                      const float* state, float* y, float* state_out, void* workspace, void* stream);

// Registry glue: device buffers, stream, upload; launch = kernels + sync (+ the error-word check,
// which throws config_error naming the offending id); sync_outputs downloads.
PreparedRun engram_prepare_cuda(EngramOp op, const ParamMap& pm, KernelIO& io);

}  // namespace v4lab::kernels
