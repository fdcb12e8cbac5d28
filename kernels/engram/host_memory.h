// host_memory.h — "will this fit in host RAM?" check used before allocating Engram tables (engram
// spec §4, §9: tables of ~100 GB live in host DRAM). Reusable by any op that allocates big buffers.
#pragma once
#include <cstdint>
#include <string>

namespace v4lab::kernels {

// MemAvailable from /proc/meminfo in bytes; 0 if it cannot be read (non-Linux).
uint64_t host_mem_available_bytes();

// Throws config_error "<what> needs X GB (…) but only Y GB are available (MemAvailable …)" when
// needed_bytes > available_bytes. available_bytes = UINT64_MAX (default) reads /proc/meminfo; an
// unreadable meminfo skips the check. `detail` (e.g. "rows × B/row") is quoted in the message.
void require_host_memory(double needed_bytes, const std::string& what, const std::string& detail = {},
                         uint64_t available_bytes = UINT64_MAX);

}  // namespace v4lab::kernels
