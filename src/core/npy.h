// npy.h — NumPy .npy v1.0 read/write (little-endian, C order) for float32, float64, int32, int64,
// uint8 and uint16 (BF16 tensors are written as uint16 bit patterns; params.json says which).
#pragma once
#include <string>

#include "core/tensor.h"

namespace v4lab {

void write_npy(const std::string& path, const Tensor& t);  // runtime_error naming the path on failure
// Reads a .npy file into a tensor named `name`. Malformed or truncated files → config_error naming
// the path and what is wrong (the file is user input).
Tensor read_npy(const std::string& path, const std::string& name = "");

}  // namespace v4lab
