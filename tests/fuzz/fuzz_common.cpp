// fuzz_common.cpp — helpers shared by the fuzz targets (tests/fuzz/fuzz_targets.h).
#include <cstdio>
#include <cstdlib>

#include "fuzz_targets.h"

namespace v4lab::fuzz {

void fuzz_fail(const char* target, const std::string& what) {
  std::fprintf(stderr, "fuzz_%s: FINDING: %s\n", target, what.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace v4lab::fuzz
