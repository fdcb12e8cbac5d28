// build_info.cpp — values come from the generated build_info_gen.h (refreshed on every build).
#include "core/build_info.h"

#include <unistd.h>

#include <ctime>

#include "build_info_gen.h"

namespace v4lab {

const BuildInfo& build_info() {
  static const BuildInfo b = [] {
    BuildInfo i;
    i.version = V4LAB_VERSION;
    i.git_commit = V4LAB_GIT_COMMIT;
    i.git_dirty = V4LAB_GIT_DIRTY;
    i.build_type = V4LAB_BUILD_TYPE;
    i.compiler = V4LAB_COMPILER;
    i.cxx_flags = V4LAB_ISA_FLAGS_STR;
    i.cuda = V4LAB_BUILD_CUDA;
    i.gui = V4LAB_BUILD_GUI;
    i.mpi = V4LAB_BUILD_MPI;
    i.sanitize = V4LAB_BUILD_SANITIZE;
    return i;
  }();
  return b;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

std::string utc_timestamp_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace v4lab
