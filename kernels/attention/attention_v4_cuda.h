// attention_v4_cuda.h — CUDA launchers of the V4 compressor and CSA indexer (specs/attention.md §4.2,
// §4.8), no CUDA headers. Pointers are device pointers; `stream` is a cudaStream_t. Launchers validate,
// launch on the caller's stream, check the launch and never allocate (scratch comes from the caller).
// Compiled only in CUDA builds (compress_cuda.cu, csa_indexer_cuda.cu).
#pragma once
#include "kernels/attention/compress.h"
#include "kernels/attention/csa_indexer.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// Prefill compressor. a, z: scratch FP32 [n_entries·r, c·d]. freq: the d_rope/2 RoPE frequencies f'
// (FP64, host-computed RopeFreqs) passed by value through the launch. Outputs as CompressOut.
void compress_cuda(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o,
                   float* a, float* z, void* stream);
void csa_indexer_cuda(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                      float* scores, int32_t* lengths, void* stream);

// Registry glue: device buffers + stream (DeviceRun), launch = launcher + sync, sync_outputs = download.
PreparedRun compress_prepare_cuda(const CompressParams& p, KernelIO& io);
PreparedRun csa_indexer_prepare_cuda(const CsaIndexerParams& p, KernelIO& io);

}  // namespace v4lab::kernels
