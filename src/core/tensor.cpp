// tensor.cpp — aligned host tensors.
#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "core/numerics.h"

namespace v4lab {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F64: return 8;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
    case DType::U16: return 2;
    case DType::BF16: return 2;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F64: return "f64";
    case DType::I32: return "i32";
    case DType::I64: return "i64";
    case DType::U8: return "u8";
    case DType::U16: return "u16";
    case DType::BF16: return "bf16";
  }
  return "?";
}

void Tensor::Free::operator()(void* p) const { std::free(p); }

Tensor::Tensor(std::string name, DType dtype, std::vector<int64_t> shape)
    : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) throw runtime_error("negative dimension in tensor " + name_);
  size_t n = nbytes();
  size_t alloc = ((n + 63) / 64) * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw runtime_error("out of memory allocating " + std::to_string(alloc) + " bytes for " + name_);
  std::memset(p, 0, alloc);
  data_ = std::shared_ptr<void>(p, Free{});
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

double Tensor::get(int64_t i) const {
  switch (dtype_) {
    case DType::F32: return data<float>()[i];
    case DType::F64: return data<double>()[i];
    case DType::I32: return data<int32_t>()[i];
    case DType::I64: return static_cast<double>(data<int64_t>()[i]);
    case DType::U8: return data<uint8_t>()[i];
    case DType::U16: return data<uint16_t>()[i];
    case DType::BF16: return bf16_to_f32(data<uint16_t>()[i]);
  }
  return 0;
}

std::string Tensor::shape_str() const {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < shape_.size(); ++i) s << (i ? ", " : "") << shape_[i];
  s << "]";
  return s.str();
}

template <class V>
static auto& find_named(V& v, const std::string& name, const char* what) {
  for (auto& t : v)
    if (t.name() == name) return t;
  throw runtime_error(std::string("no ") + what + " tensor named '" + name + "'");
}

Tensor& KernelIO::in(const std::string& n) { return find_named(inputs, n, "input"); }
Tensor& KernelIO::out(const std::string& n) { return find_named(outputs, n, "output"); }
const Tensor& KernelIO::in(const std::string& n) const { return find_named(inputs, n, "input"); }
const Tensor& KernelIO::out(const std::string& n) const { return find_named(outputs, n, "output"); }

}  // namespace v4lab
