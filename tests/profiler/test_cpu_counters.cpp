// test_cpu_counters.cpp — CPU profiling: perf_event counters (the "unavailable: <reason>" path is
// forced with V4LAB_PERF=off so it is covered on every machine), CPU clocks, peak RSS, and the trace
// spans the harness records (warm-up, timed loop, reps: ordered and nested). No timing assertions.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <thread>

#include "profiler/cpu_counters.h"
#include "profiler/timing.h"
#include "profiler/trace.h"

using namespace v4lab;
using namespace v4lab::profiler;

namespace {

struct EnvGuard {
  explicit EnvGuard(const char* value) {
    if (const char* old = std::getenv("V4LAB_PERF")) had_ = true, old_ = old;
    setenv("V4LAB_PERF", value, 1);
  }
  ~EnvGuard() {
    if (had_)
      setenv("V4LAB_PERF", old_.c_str(), 1);
    else
      unsetenv("V4LAB_PERF");
  }
  bool had_ = false;
  std::string old_;
};

volatile double g_sink = 0;
void busy(int n) {
  double a = 1;
  for (int i = 0; i < n; ++i) a = a * 1.0000001 + 1e-9;
  g_sink = a;
}

}  // namespace

TEST_CASE("perf counters: disabled by V4LAB_PERF=off says so and reads nothing", "[profiler]") {
  EnvGuard env("off");
  PerfCounters pc;
  CHECK_FALSE(pc.available());
  CHECK(pc.status() == "unavailable: disabled by V4LAB_PERF=off");
  pc.start();
  busy(1000);
  const CounterReading r = pc.stop();
  CHECK_FALSE(r.available);
  CHECK(r.values.empty());
  CHECK(r.status == pc.status());

  // The harness carries the reason into every measurement.
  MeasureOptions o;
  o.warmup = 0;
  o.min_time_s = 0;
  o.min_reps = o.max_reps = 3;
  const Measurement m = measure([] { busy(100); }, OpWork{}, o);
  CHECK_FALSE(m.counters.available);
  CHECK_THAT(m.counters.status, Catch::StartsWith("unavailable: disabled"));
  o.counters = false;
  CHECK(measure([] {}, OpWork{}, o).counters.status == "unavailable: counters off for this measurement");
}

TEST_CASE("perf counters: this machine either counts or gives a reason", "[profiler]") {
  PerfCounters pc;
  pc.start();
  busy(200000);
  const CounterReading r = pc.stop();
  if (r.available) {
    CHECK(r.status == "available");
    REQUIRE(r.values.count("instructions"));
    CHECK(r.values.at("instructions") > 0);
  } else {
    WARN("hardware counters on this machine: " << r.status);
    CHECK_THAT(r.status, Catch::StartsWith("unavailable: "));
    CHECK(r.status.size() > std::string("unavailable: ").size());
  }
  CHECK(perf_counters_status() == (r.available ? "available" : r.status));
}

TEST_CASE("CPU clocks advance with work and peak RSS is positive", "[profiler]") {
  const double t0 = thread_cpu_time_s(), p0 = process_cpu_time_s();
  busy(2000000);
  CHECK(thread_cpu_time_s() > t0);
  CHECK(process_cpu_time_s() > p0);
  const bool reset = reset_peak_rss();
  const PeakRss r = peak_rss(reset);
  CHECK(r.bytes > 0);
  CHECK_FALSE(r.method.empty());
}

TEST_CASE("harness: per-op wall, thread and process CPU time", "[profiler]") {
  MeasureOptions o;
  o.warmup = 1;
  o.min_time_s = 0;
  o.min_reps = o.max_reps = 4;
  const Measurement m = measure([] { busy(50000); }, OpWork{}, o);
  CHECK(m.reps == 4);
  CHECK(m.thread_cpu_s > 0);
  CHECK(m.process_cpu_s >= m.thread_cpu_s * 0.5);  // the process includes this thread (clock granularity aside)
  CHECK(m.wall_total_s >= m.median_s);
}

TEST_CASE("trace recorder: the harness's spans nest on the caller's track", "[profiler]") {
  TraceRecorder rec;
  rec.set_max_reps_per_loop(3);
  MeasureOptions o;
  o.warmup = 2;
  o.min_time_s = 0;
  o.min_reps = o.max_reps = 5;
  o.trace = &rec;
  {
    TraceScope outer(&rec, "case", "case");
    measure([] { busy(1000); }, OpWork{}, o, "op.cpu");
  }
  const auto spans = rec.spans();
  // warm-up, 3 of 5 reps (cap), timed, case — in the order they closed.
  REQUIRE(spans.size() == 6);
  CHECK(spans[0].category == "warmup");
  CHECK(spans[0].args["reps"] == 2);
  for (int i = 1; i <= 3; ++i) {
    CHECK(spans[i].category == "rep");
    CHECK(spans[i].args["rep"] == i - 1);
  }
  CHECK(spans[4].category == "timed");
  CHECK(spans[4].args["reps"] == 5);
  CHECK(spans[4].args["reps_in_trace"] == 3);
  CHECK(spans[5].name == "case");
  for (const auto& s : spans) {
    CHECK(s.track == "thread main");
    CHECK(s.dur_ns >= 0);
    // Inside the outer span, to the nanosecond.
    CHECK(s.ts_ns >= spans[5].ts_ns);
    CHECK(s.ts_ns + s.dur_ns <= spans[5].ts_ns + spans[5].dur_ns);
  }
  for (int i = 1; i <= 3; ++i) {
    CHECK(spans[i].ts_ns >= spans[4].ts_ns);
    CHECK(spans[i].ts_ns + spans[i].dur_ns <= spans[4].ts_ns + spans[4].dur_ns);
    if (i > 1) CHECK(spans[i].ts_ns >= spans[i - 1].ts_ns + spans[i - 1].dur_ns);
  }
  CHECK(rec.spans_from(4).size() == 2);

  // Other threads get their own track.
  std::string other;
  std::thread([&] {
    TraceScope s(&rec, "worker", "phase");
    other = rec.current_track();
  }).join();
  CHECK(other == "thread 2");
  CHECK(rec.spans().back().track == "thread 2");
}
