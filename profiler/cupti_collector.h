// cupti_collector.h — GPU profiling through the CUPTI Activity API (trace issue): every kernel,
// memcpy and memset of the process while the collector runs (name, device, stream, start, end,
// grid/block, bytes), with timestamps converted to the host steady clock so they line up with the
// CPU spans of profiler/trace.h. Compiled against CUPTI in CUDA builds only; CPU builds keep the
// same API and report CUPTI as absent. No CUDA header here (STYLE 2).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::profiler {

struct GpuActivity {
  std::string kind;       // kernel, memcpy, memset
  std::string name;       // kernel name (demangled by CUPTI when it can), or "memcpy HtoD", "memset"
  std::string copy_kind;  // memcpy: HtoD, DtoH, DtoD, HtoH, PtoP, ...
  uint32_t device = 0, context = 0, stream = 0, correlation = 0;
  int64_t start_ns = 0, end_ns = 0;  // host steady_clock time since its epoch, ns
  int grid[3] = {0, 0, 0}, block[3] = {0, 0, 0};
  int64_t bytes = 0;  // memcpy / memset bytes; kernels: 0
};

bool cupti_compiled();       // built with CUPTI (CUDA build)
std::string cupti_status();  // "compiled (CUPTI API 130001)" or "absent: CPU-only build (V4LAB_CUDA=OFF)"

// One collector at a time per process (CUPTI's activity callbacks are global).
class CuptiCollector {
 public:
  CuptiCollector() = default;
  ~CuptiCollector();  // stops if running
  CuptiCollector(const CuptiCollector&) = delete;
  CuptiCollector& operator=(const CuptiCollector&) = delete;
  // Enables kernel, memcpy and memset activity. False (and *why) when CUPTI is absent, no CUDA device
  // is present, another collector runs, or CUPTI refuses (e.g. a profiler is already attached).
  bool start(std::string* why);
  bool running() const { return running_; }
  // Flushes CUPTI's buffers and returns the activities completed since the last take (time order).
  std::vector<GpuActivity> take();
  uint64_t dropped() const;  // records CUPTI reported as dropped (buffers full)
  void stop();

 private:
  bool running_ = false;
};

}  // namespace v4lab::profiler
