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

// Test hook: when set, called with the name on every range push and with nullptr on every pop (with
// or without nvtx3), so tests can check which ranges a run opens. Set it before ranges run.
using NvtxObserver = void (*)(const char* name);
void set_nvtx_observer(NvtxObserver f);

}  // namespace v4lab::profiler
