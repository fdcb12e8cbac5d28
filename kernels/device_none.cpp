// device_none.cpp — CUDA device queries for CPU-only builds.
#include "kernels/device.h"

namespace v4lab::kernels {
bool cuda_compiled() { return false; }
bool cuda_device_available(std::string* why_not) {
  if (why_not) *why_not = "this binary was built without CUDA (V4LAB_CUDA=OFF or nvcc not found)";
  return false;
}
std::string cuda_device_summary() { return "not built with CUDA"; }
std::string cuda_runtime_version() { return ""; }
}  // namespace v4lab::kernels
