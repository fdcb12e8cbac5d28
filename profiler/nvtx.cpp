// nvtx.cpp — NVTX push/pop when nvtx3 is available at build time.
#include "profiler/nvtx.h"

#if defined(V4LAB_HAVE_NVTX)
#include <nvtx3/nvToolsExt.h>
#endif

namespace v4lab::profiler {

#if defined(V4LAB_HAVE_NVTX)
NvtxRange::NvtxRange(const char* name) { nvtxRangePushA(name); }
NvtxRange::~NvtxRange() { nvtxRangePop(); }
bool nvtx_compiled() { return true; }
#else
NvtxRange::NvtxRange(const char*) {}
NvtxRange::~NvtxRange() {}
bool nvtx_compiled() { return false; }
#endif

}  // namespace v4lab::profiler
