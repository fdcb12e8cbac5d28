// topk_cuda.h — CUDA launcher of causal top-k (topk_cuda.cu), without CUDA headers. Device pointers;
// `stream` is a cudaStream_t. One CTA per query; top_k ≤ kTopkCudaMaxK (the shared-memory sort).
#pragma once
#include "kernels/attention/topk.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

constexpr int64_t kTopkCudaMaxK = 4096;
void topk_cuda(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count,
               void* stream);
PreparedRun topk_prepare_cuda(const TopkParams& p, KernelIO& io);

}  // namespace v4lab::kernels
