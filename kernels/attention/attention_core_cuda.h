// attention_core_cuda.h — CUDA launchers of the attention cores (sparse_attn_cuda.cu, mla_cuda.cu,
// dsa_indexer_cuda.cu) without CUDA headers (specs/attention.md §2, §3, §4.8). Device pointers;
// `stream` is a cudaStream_t; launchers validate, launch on the stream, check the launch, and never
// allocate. The *_prepare_cuda functions are the registry glue (they allocate via device_run.cuh).
#pragma once
#include "kernels/attention/dsa_indexer.h"
#include "kernels/attention/mla.h"
#include "kernels/attention/sparse_attn.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// Max attended entries per query the sparse kernel keeps in shared memory (logits of one head).
constexpr int64_t kSparseAttnCudaMaxEntries = 12288;

void sparse_attn_cuda(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                      const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos,
                      const float* cos_sin, uint16_t* o, float* lse, void* stream);
PreparedRun sparse_attn_prepare_cuda(const SparseAttnParams& p, KernelIO& io);

// ws: FP32 workspace of mla_cuda_workspace_floats(p) (q̃ or q, and ô per (query, head)).
int64_t mla_cuda_workspace_floats(const MlaParams& p);
void mla_decode_cuda(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                     const int32_t* pos, const int32_t* idx, float* o, float* lse, float* ws, void* stream);
PreparedRun mla_prepare_cuda(const MlaParams& p, KernelIO& io);

void dsa_indexer_cuda(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale,
                      const uint8_t* k_codes, const uint8_t* k_scale, const float* w, const int32_t* pos,
                      float* scores, void* stream);
PreparedRun dsa_indexer_prepare_cuda(const DsaIndexerParams& p, KernelIO& io);

}  // namespace v4lab::kernels
