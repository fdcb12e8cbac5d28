// timing.cpp — measurement loop with steady_clock; quantiles by linear interpolation.
#include "profiler/timing.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "profiler/nvtx.h"

namespace v4lab::profiler {

double quantile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double x = p * static_cast<double>(v.size() - 1);
  const size_t i = static_cast<size_t>(x);
  const double f = x - static_cast<double>(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

static double thread_cpu_now_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

Measurement measure(const std::function<void()>& fn, const OpWork& work, const MeasureOptions& opt,
                    const std::string& label) {
  using clk = std::chrono::steady_clock;
  for (int i = 0; i < opt.warmup; ++i) fn();
  std::vector<double> t;
  double total = 0, cpu_total = 0;
  const auto t_start = clk::now();
  while ((int)t.size() < opt.max_reps) {
    const double c0 = thread_cpu_now_s();
    const auto a = clk::now();
    {
      NvtxRange r(label.empty() ? "v4lab.measure" : label.c_str());
      fn();
    }
    const auto b = clk::now();
    cpu_total += thread_cpu_now_s() - c0;
    const double s = std::chrono::duration<double>(b - a).count();
    t.push_back(s);
    total += s;
    const double wall = std::chrono::duration<double>(clk::now() - t_start).count();
    if ((int)t.size() >= opt.min_reps && total >= opt.min_time_s) break;
    if (wall >= opt.max_time_s) break;
  }
  Measurement m;
  m.reps = static_cast<int>(t.size());
  m.median_s = quantile(t, 0.5);
  m.p10_s = quantile(t, 0.1);
  m.p90_s = quantile(t, 0.9);
  m.min_s = *std::min_element(t.begin(), t.end());
  m.mean_s = total / m.reps;
  m.thread_cpu_s = cpu_total / m.reps;
  m.flops = work.flops + work.transcendentals;
  m.bytes = work.bytes_mem;
  if (m.median_s > 0) {
    m.gflops_per_s = m.flops / m.median_s * 1e-9;
    m.gbytes_per_s = m.bytes / m.median_s * 1e-9;
  }
  return m;
}

}  // namespace v4lab::profiler
