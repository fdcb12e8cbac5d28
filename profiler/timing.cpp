// timing.cpp — measurement loop with steady_clock; quantiles by linear interpolation.
#include "profiler/timing.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>
#include <vector>

#include "profiler/nvtx.h"
#include "profiler/trace.h"

namespace v4lab::profiler {

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double x = p * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(x);
  const double f = x - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

Measurement measure(const std::function<void()>& fn, const OpWork& work, const MeasureOptions& opt,
                    const std::string& label) {
  using clk = std::chrono::steady_clock;
  const std::string name = label.empty() ? std::string("v4lab.measure") : label;
  if (opt.warmup > 0) {
    TraceScope warm(opt.trace, name + " warm-up", "warmup", {{"reps", opt.warmup}});
    for (int i = 0; i < opt.warmup; ++i) fn();
  }
  std::vector<double> t;
  double total = 0, cpu_total = 0;
  TraceScope timed(opt.trace, name + " timed", "timed");
  std::optional<PerfCounters> perf;
  if (opt.counters) perf.emplace();
  const int max_spans = opt.trace ? opt.trace->max_reps_per_loop() : 0;
  const std::string track = opt.trace ? opt.trace->current_track() : std::string();
  if (perf) perf->start();
  const double p0 = process_cpu_time_s();
  const auto t_start = clk::now();
  while ((int)t.size() < opt.max_reps) {
    const double c0 = thread_cpu_time_s();
    const auto a = clk::now();
    {
      NvtxRange r(name.c_str());
      fn();
    }
    const auto b = clk::now();
    cpu_total += thread_cpu_time_s() - c0;
    const double s = std::chrono::duration<double>(b - a).count();
    if (opt.trace && (int)t.size() < max_spans) {
      const int64_t a_ns = opt.trace->to_ns(a);
      opt.trace->add({track, name, "rep", a_ns, opt.trace->to_ns(b) - a_ns, {{"rep", t.size()}}});
    }
    t.push_back(s);
    total += s;
    const double wall = std::chrono::duration<double>(clk::now() - t_start).count();
    if ((int)t.size() >= opt.min_reps && total >= opt.min_time_s) break;
    if (wall >= opt.max_time_s) break;
  }
  const double wall_total = std::chrono::duration<double>(clk::now() - t_start).count();
  const double process_cpu = process_cpu_time_s() - p0;
  CounterReading counters;
  if (perf) {
    counters = perf->stop();
  } else {
    counters.status = "unavailable: counters off for this measurement";
  }
  Measurement m;
  m.reps = static_cast<int>(t.size());
  m.median_s = quantile(t, 0.5);
  m.p10_s = quantile(t, 0.1);
  m.p90_s = quantile(t, 0.9);
  m.min_s = *std::min_element(t.begin(), t.end());
  m.mean_s = total / m.reps;
  m.thread_cpu_s = cpu_total / m.reps;
  m.process_cpu_s = process_cpu / m.reps;
  m.wall_total_s = wall_total;
  m.counters = std::move(counters);
  timed.args() = {{"reps", m.reps}, {"median_s", m.median_s}, {"reps_in_trace", std::min(m.reps, max_spans)}};
  m.flops = work.flops + work.transcendentals;
  m.bytes = work.bytes_mem;
  if (m.median_s > 0) {
    m.gflops_per_s = m.flops / m.median_s * 1e-9;
    m.gbytes_per_s = m.bytes / m.median_s * 1e-9;
  }
  return m;
}

}  // namespace v4lab::profiler
