// nvtx.cpp — NVTX push/pop when nvtx3 is available at build time.
#include "profiler/nvtx.h"

#if defined(V4LAB_HAVE_NVTX)
#include <nvtx3/nvToolsExt.h>
#endif

namespace v4lab::profiler {

namespace {
NvtxObserver g_observer = nullptr;
}

void set_nvtx_observer(NvtxObserver f) { g_observer = f; }

#if defined(V4LAB_HAVE_NVTX)
NvtxRange::NvtxRange(const char* name) {
  if (g_observer) g_observer(name);
  nvtxRangePushA(name);
}
NvtxRange::~NvtxRange() {
  nvtxRangePop();
  if (g_observer) g_observer(nullptr);
}
bool nvtx_compiled() { return true; }
#else
NvtxRange::NvtxRange(const char* name) {
  if (g_observer) g_observer(name);
}
NvtxRange::~NvtxRange() {
  if (g_observer) g_observer(nullptr);
}
bool nvtx_compiled() { return false; }
#endif

}  // namespace v4lab::profiler
