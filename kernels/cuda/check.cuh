// check.cuh — the one CUDA check macro (STYLE 14): every CUDA call goes through V4LAB_CUDA_CHECK.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

#define V4LAB_CUDA_CHECK(expr)                                                                        \
  do {                                                                                                \
    cudaError_t v4lab_err_ = (expr);                                                                  \
    if (v4lab_err_ != cudaSuccess)                                                                    \
      throw ::v4lab::runtime_error(std::string(#expr) + " failed: " + cudaGetErrorString(v4lab_err_), \
                                   std::string(__FILE__) + ":" + std::to_string(__LINE__));           \
  } while (0)
