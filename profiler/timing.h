// timing.h — the one benchmark harness (STYLE 21): warm-up, a minimum run time, median and p10/p90
// (never only the mean), GFLOP/s and GB/s derived from the op catalogue's OpWork.
#pragma once
#include <functional>
#include <string>

#include "core/op_catalogue.h"
#include "profiler/cpu_counters.h"

namespace v4lab::profiler {

class TraceRecorder;

struct MeasureOptions {
  int warmup = 2;           // untimed runs first (page faults, caches, thread start-up)
  double min_time_s = 0.2;  // keep repeating until this much time has been measured ...
  int min_reps = 5;         // ... and at least this many reps
  int max_reps = 1000;      // ... but never more than this many
  double max_time_s = 30;   // hard stop for very slow cases (reps may then be < min_reps)
  TraceRecorder* trace = nullptr;  // when set: warm-up, timed loop and each rep become trace spans
  bool counters = true;     // perf_event counters around the timed loop (when the kernel exposes them)
};

struct Measurement {
  double median_s = 0, p10_s = 0, p90_s = 0, min_s = 0, mean_s = 0;
  int reps = 0;
  double flops = 0, bytes = 0;  // from OpWork (bytes_mem)
  double gflops_per_s = 0;      // flops / median
  double gbytes_per_s = 0;      // bytes / median
  double thread_cpu_s = 0;      // CPU time of the calling thread per rep (mean over the timed reps)
  double process_cpu_s = 0;     // CPU time of the whole process per rep (all threads: OpenMP workers too)
  double wall_total_s = 0;      // wall time of the timed loop (all reps)
  CounterReading counters;      // perf_event totals over the timed loop, or "unavailable: <reason>"
  int threads = 1;              // threads the backend used (OpenMP max threads for cpu, 1 for ref)
};

// Times `fn` (which must complete its work before returning). `label` names an NVTX range per rep.
Measurement measure(const std::function<void()>& fn, const OpWork& work, const MeasureOptions& opt,
                    const std::string& label = {});

// Quantile of a sample (linear interpolation), p in [0, 1].
double quantile(std::vector<double> v, double p);

}  // namespace v4lab::profiler
