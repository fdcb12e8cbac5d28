// cpu_counters.h — CPU profiling of the harness (trace issue): hardware counters through
// perf_event_open (cycles, instructions, cache references and misses, user space, this thread and the
// threads it starts) when the kernel exposes them, otherwise a clear "unavailable: <reason>"; CPU time
// of the calling thread and of the whole process; peak RSS.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace v4lab::profiler {

struct CounterReading {
  bool available = false;
  std::string status;                    // "available" or "unavailable: <reason>"
  std::map<std::string, double> values;  // totals over the counted interval (scaled when multiplexed)
};

// One set of counters opened on the calling thread (inherit: also counts threads created after the
// open). Construction never throws: when perf_event_open fails the set is unavailable and says why.
// V4LAB_PERF=off in the environment disables it ("unavailable: disabled by V4LAB_PERF=off").
class PerfCounters {
 public:
  PerfCounters();
  ~PerfCounters();
  PerfCounters(const PerfCounters&) = delete;
  PerfCounters& operator=(const PerfCounters&) = delete;
  bool available() const { return !fds_.empty(); }
  const std::string& status() const { return status_; }
  void start();           // reset + enable
  CounterReading stop();  // disable + read

 private:
  std::vector<int> fds_;
  std::vector<std::string> names_;
  std::string status_;
};

// Probe once per process (cached): "available" or "unavailable: <reason>".
const std::string& perf_counters_status();

double thread_cpu_time_s();   // CLOCK_THREAD_CPUTIME_ID
double process_cpu_time_s();  // CLOCK_PROCESS_CPUTIME_ID: every thread of the process (OpenMP workers too)

struct PeakRss {
  int64_t bytes = 0;
  std::string method;  // "VmHWM since reset (/proc/self/clear_refs)" or "ru_maxrss (process lifetime)"
};
// Resets the kernel's high-water mark of this process when allowed (Linux clear_refs "5"); returns
// whether the next peak_rss() covers only the time since.
bool reset_peak_rss();
PeakRss peak_rss(bool since_reset);

}  // namespace v4lab::profiler
