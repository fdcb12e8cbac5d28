// nvtx.h — RAII NVTX range around every kernel launch and phase. With the CUDA toolkit's header-only
// nvtx3 it costs a branch when no tool (Nsight Systems) is attached; without it, nothing at all.
#pragma once

namespace v4lab::profiler {

class NvtxRange {
 public:
  explicit NvtxRange(const char* name);
  ~NvtxRange();
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

bool nvtx_compiled();  // true when built against nvtx3

}  // namespace v4lab::profiler
