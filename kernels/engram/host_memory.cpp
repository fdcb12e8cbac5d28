// host_memory.cpp — MemAvailable reader and the allocation guard of host_memory.h.
#include "kernels/engram/host_memory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace v4lab::kernels {

uint64_t host_mem_available_bytes() {
  std::ifstream f("/proc/meminfo");
  std::string key, unit;
  uint64_t kb = 0;
  while (f >> key >> kb) {
    std::getline(f, unit);
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

void require_host_memory(double needed, const std::string& what, const std::string& detail, uint64_t available) {
  const bool read = available == UINT64_MAX;
  if (read) available = host_mem_available_bytes();
  if (read && available == 0) return;  // no /proc/meminfo: cannot tell, let the allocation decide
  if (needed <= double(available)) return;
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s needs %.3f GB (%.0f bytes%s%s) but only %.3f GB (%llu bytes) are available%s",
                what.c_str(), needed / 1e9, needed, detail.empty() ? "" : ": ", detail.c_str(), double(available) / 1e9,
                static_cast<unsigned long long>(available), read ? " (MemAvailable in /proc/meminfo)" : "");
  throw config_error(buf);
}

}  // namespace v4lab::kernels
