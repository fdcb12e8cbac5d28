// device.cu — CUDA device queries for CUDA builds; a build machine without a GPU answers "no device".
#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/device.h"

namespace v4lab::kernels {

bool cuda_compiled() { return true; }

bool cuda_device_available(std::string* why_not) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0) {
    if (why_not) *why_not = e != cudaSuccess ? std::string("no CUDA device: ") + cudaGetErrorString(e) : "no CUDA device";
    cudaGetLastError();
    return false;
  }
  return true;
}

std::string cuda_device_summary() {
  std::string why;
  if (!cuda_device_available(&why)) return why;
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return "cudaGetDeviceProperties failed";
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %d SMs, %.1f GiB", p.name, p.major, p.minor, p.multiProcessorCount,
                p.totalGlobalMem / double(1ull << 30));
  return buf;
}

std::string cuda_runtime_version() {
  int v = 0;
  cudaRuntimeGetVersion(&v);
  return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10);
}

}  // namespace v4lab::kernels
