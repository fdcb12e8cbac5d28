// build_info.h — provenance of this binary and this host, stamped on every stored run.
#pragma once
#include <string>

namespace v4lab {

struct BuildInfo {
  std::string version;     // project version, e.g. "0.1.0"
  std::string git_commit;  // full hash at build time, "unknown" outside a git checkout
  bool git_dirty = false;  // uncommitted changes at build time
  std::string build_type;  // Release, Debug, ...
  std::string compiler;    // "GNU 12.2.0"
  std::string cxx_flags;   // ISA flags (-march=...)
  bool cuda = false;       // CUDA kernels compiled in
  bool gui = false;
  bool mpi = false;
  std::string sanitize;
};

const BuildInfo& build_info();
std::string host_name();            // gethostname()
std::string utc_timestamp_now();    // ISO 8601, e.g. 2026-11-22T06:40:00Z

}  // namespace v4lab
