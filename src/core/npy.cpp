// npy.cpp — .npy format version 1.0/2.0 reader and 1.0 writer (https://numpy.org/doc/stable/reference/
// generated/numpy.lib.format.html): magic, version, header length, a Python-dict header, raw data.
#include "core/npy.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace v4lab {

static const char* descr_of(DType t) {
  switch (t) {
    case DType::F32: return "<f4";
    case DType::F64: return "<f8";
    case DType::I32: return "<i4";
    case DType::I64: return "<i8";
    case DType::U8: return "|u1";
    case DType::U16:
    case DType::BF16: return "<u2";
  }
  return "?";
}

void write_npy(const std::string& path, const Tensor& t) {
  std::ostringstream h;
  h << "{'descr': '" << descr_of(t.dtype()) << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) h << t.shape()[i] << (t.shape().size() == 1 || i + 1 < t.shape().size() ? ", " : "");
  h << "), }";
  std::string header = h.str();
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream f(path, std::ios::binary);
  if (!f) throw runtime_error("cannot open for writing", path);
  const char magic[] = "\x93NUMPY";
  f.write(magic, 6);
  const unsigned char ver[2] = {1, 0};
  f.write(reinterpret_cast<const char*>(ver), 2);
  const uint16_t hl = static_cast<uint16_t>(header.size());
  const unsigned char hlb[2] = {static_cast<unsigned char>(hl & 0xff), static_cast<unsigned char>(hl >> 8)};
  f.write(reinterpret_cast<const char*>(hlb), 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(t.raw()), static_cast<std::streamsize>(t.nbytes()));
  if (!f) throw runtime_error("write failed", path);
}

static std::string dict_value(const std::string& header, const std::string& key, const std::string& path) {
  auto p = header.find("'" + key + "'");
  if (p == std::string::npos) throw config_error("npy header has no '" + key + "' field", path);
  p = header.find(':', p);
  if (p == std::string::npos) throw config_error("npy header is malformed near '" + key + "'", path);
  ++p;
  while (p < header.size() && header[p] == ' ') ++p;
  size_t e = p;
  if (p < header.size() && header[p] == '(') e = header.find(')', p) + 1;
  else if (p < header.size() && header[p] == '\'') e = header.find('\'', p + 1) + 1;
  else e = header.find_first_of(",}", p);
  if (e == std::string::npos || e == 0 || e <= p) throw config_error("npy header is malformed near '" + key + "'", path);
  return header.substr(p, e - p);
}

Tensor read_npy(const std::string& path, const std::string& name) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw config_error("cannot open .npy file (missing or unreadable)", path);
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw config_error("not a .npy file (bad magic)", path);
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t hl = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) throw config_error("truncated .npy header", path);
    hl = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) throw config_error("truncated .npy header", path);
    hl = b[0] | (b[1] << 8) | (b[2] << 16) | (uint32_t(b[3]) << 24);
  } else {
    throw config_error("unsupported .npy version " + std::to_string(major) + " (accepted: 1, 2, 3)", path);
  }
  if (hl > (1u << 20)) throw config_error("implausible .npy header length " + std::to_string(hl), path);
  std::string header(hl, '\0');
  if (!f.read(header.data(), hl)) throw config_error("truncated .npy header", path);
  std::string descr = dict_value(header, "descr", path);
  std::string order = dict_value(header, "fortran_order", path);
  std::string shape_s = dict_value(header, "shape", path);
  if (order.find("False") == std::string::npos) throw config_error("Fortran-order .npy arrays are not supported", path);
  DType dt;
  if (descr == "'<f4'") dt = DType::F32;
  else if (descr == "'<f8'") dt = DType::F64;
  else if (descr == "'<i4'") dt = DType::I32;
  else if (descr == "'<i8'") dt = DType::I64;
  else if (descr == "'|u1'" || descr == "'<u1'") dt = DType::U8;
  else if (descr == "'<u2'") dt = DType::U16;
  else throw config_error("unsupported .npy dtype " + descr + " (accepted: <f4, <f8, <i4, <i8, |u1, <u2)", path);
  std::vector<int64_t> shape;
  std::string inner = shape_s.substr(1, shape_s.size() - 2);
  std::stringstream ss(inner);
  std::string tok;
  while (std::getline(ss, tok, ',')) {
    size_t a = tok.find_first_not_of(' ');
    if (a == std::string::npos) continue;
    try {
      size_t used = 0;
      long long v = std::stoll(tok.substr(a), &used);
      if (v < 0) throw std::invalid_argument("neg");
      shape.push_back(v);
    } catch (const std::exception&) {
      throw config_error("bad shape entry '" + tok + "' in .npy header", path);
    }
  }
  // The header may declare any shape: check the element count for overflow and the data size against
  // the bytes actually in the file before allocating (fuzz finding, docs/fuzzing.md).
  int64_t numel = 1;
  for (int64_t d : shape)
    if (__builtin_mul_overflow(numel, d, &numel))
      throw config_error("npy shape " + shape_s + " has more elements than fit in 64 bits", path);
  const std::streamoff data_pos = f.tellg();
  f.seekg(0, std::ios::end);
  const std::streamoff avail = f.tellg() - data_pos;
  f.seekg(data_pos);
  if (uint64_t(numel) > uint64_t(avail) / dtype_size(dt))
    throw config_error("truncated .npy data: shape " + shape_s + " needs " + std::to_string(numel) + " x " +
                           std::to_string(dtype_size(dt)) + " bytes, the file has " + std::to_string(avail) + " after the header",
                       path);
  Tensor t(name, dt, shape);
  if (!f.read(static_cast<char*>(t.raw()), static_cast<std::streamsize>(t.nbytes())))
    throw config_error("truncated .npy data: expected " + std::to_string(t.nbytes()) + " bytes for shape " + t.shape_str(), path);
  return t;
}

}  // namespace v4lab
