// device.h — what the CUDA side of this binary can do, without exposing any CUDA header.
// In CPU-only builds (device_none.cpp) every query answers "not built with CUDA".
#pragma once
#include <string>

namespace v4lab::kernels {

bool cuda_compiled();                                 // was this binary built with CUDA kernels?
bool cuda_device_available(std::string* why_not);     // a usable device is present now
std::string cuda_device_summary();                    // "NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB" or why not
std::string cuda_runtime_version();                   // e.g. "13.0", or "" when not built

}  // namespace v4lab::kernels
