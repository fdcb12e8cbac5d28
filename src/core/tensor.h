// tensor.h — a named, typed, owning host buffer with a shape; the unit of kernel I/O and .npy files.
// Storage is 64-byte aligned so SIMD loads are aligned at row starts of multiple-of-16 widths.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace v4lab {

enum class DType { F32, F64, I32, I64, U8, U16, BF16 };  // BF16 is stored as raw uint16 bits

size_t dtype_size(DType t);
const char* dtype_name(DType t);

class Tensor {
 public:
  Tensor() = default;
  Tensor(std::string name, DType dtype, std::vector<int64_t> shape);  // zero-filled

  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }

  void* raw() { return data_.get(); }
  const void* raw() const { return data_.get(); }
  template <class T> T* data() { return static_cast<T*>(raw()); }
  template <class T> const T* data() const { return static_cast<const T*>(raw()); }

  // Element i converted to double (BF16 decoded); for checks and reports, not hot loops.
  double get(int64_t i) const;
  std::string shape_str() const;  // "[4, 13]"

 private:
  struct Free { void operator()(void* p) const; };
  std::string name_;
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> data_;
};

// Kernel inputs and outputs, in a fixed order (the order --dump and verification use).
struct KernelIO {
  std::vector<Tensor> inputs;
  std::vector<Tensor> outputs;
  Tensor& in(const std::string& name);
  Tensor& out(const std::string& name);
  const Tensor& in(const std::string& name) const;
  const Tensor& out(const std::string& name) const;
};

}  // namespace v4lab
