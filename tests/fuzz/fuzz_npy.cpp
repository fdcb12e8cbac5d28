// fuzz_npy.cpp — fuzz target: the .npy reader (src/core/npy.h) on arbitrary file bytes. The bytes are
// written to a per-process temporary file and read back through the real read_npy(path) code path.
// Accepts a tensor or a v4lab::Error; a foreign exception (std::bad_alloc from a header-declared size,
// std::length_error, ...) or a sanitizer report is a finding. Oracle: an accepted tensor's data size
// equals the bytes after the header, at most, and writing it back and re-reading gives the same bytes.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/npy.h"
#include "fuzz_targets.h"

namespace v4lab::fuzz {

static const std::string& scratch_path(const char* tag) {
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("v4lab_fuzz_npy." + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d.string();
  }();
  static std::string a = dir + "/in.npy", b = dir + "/out.npy";
  return std::strcmp(tag, "in") == 0 ? a : b;
}

int fuzz_npy(const uint8_t* data, size_t size) {
  const std::string& in = scratch_path("in");
  if (FILE* f = std::fopen(in.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, f);
    std::fclose(f);
  } else {
    fuzz_fail("npy", "cannot write scratch file " + in);
  }
  try {
    const Tensor t = read_npy(in, "x");
    if (t.nbytes() > size) fuzz_fail("npy", "accepted a tensor larger than the file");
    const std::string& out = scratch_path("out");
    write_npy(out, t);
    const Tensor u = read_npy(out, "x");
    if (u.dtype() != t.dtype() || u.shape() != t.shape() || u.nbytes() != t.nbytes() ||
        std::memcmp(u.raw(), t.raw(), t.nbytes()) != 0)
      fuzz_fail("npy", "write_npy/read_npy round trip changed the tensor " + t.shape_str());
  } catch (const Error&) {
  } catch (const std::exception& e) {
    fuzz_fail("npy", std::string("non-v4lab exception: ") + e.what());
  }
  return 0;
}

}  // namespace v4lab::fuzz

V4LAB_FUZZ_ENTRY(fuzz_npy)
