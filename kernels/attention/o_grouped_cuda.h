// o_grouped_cuda.h — CUDA launcher of attn_o_grouped (o_grouped_cuda.cu; specs/attention.md §4.8
// "Grouped O") without CUDA headers. Device pointers; `stream` is a cudaStream_t; the launcher
// validates, launches on the stream, checks the launch and never allocates.
#pragma once
#include "kernels/attention/o_grouped.h"
#include "kernels/registry.h"

namespace v4lab::kernels {

// Largest D_in (inputs per group) the kernel keeps in shared memory as FP32 (48 KiB).
constexpr int64_t kOGroupedCudaMaxDin = 12288;

void o_grouped_cuda(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                    uint16_t* y, void* stream);
PreparedRun o_grouped_prepare_cuda(const OGroupedParams& p, KernelIO& io);

}  // namespace v4lab::kernels
