// test_cupti.cpp — the CUPTI Activity collector. CPU builds: CUPTI is reported absent and the
// collector refuses to start with that reason. CUDA builds without a device: it refuses with the
// device reason. With a GPU ([cuda]): a real kernel run through the executor shows up as kernel
// activity with a grid, a block, a stream and end >= start, on the host clock of the trace.
#include <catch2/catch.hpp>

#include <chrono>

#include "kernels/registry.h"
#include "profiler/cupti_collector.h"
#include "profiler/executor.h"

using namespace v4lab;
using namespace v4lab::profiler;

TEST_CASE("CUPTI collector: absent in CPU builds, refuses without a device", "[profiler]") {
  CuptiCollector c;
  std::string why;
  if (!cupti_compiled()) {
    CHECK_THAT(cupti_status(), Catch::StartsWith("absent: "));
    CHECK_FALSE(c.start(&why));
    CHECK_THAT(why, Catch::Contains("CUPTI absent"));
    CHECK(c.take().empty());
    return;
  }
  CHECK_THAT(cupti_status(), Catch::StartsWith("compiled (CUPTI API "));
  std::string dev;
  if (!kernels::backend_available(kernels::Backend::Cuda, &dev)) {
    CHECK_FALSE(c.start(&why));
    CHECK_THAT(why, Catch::StartsWith("no CUDA device"));
  }
}

TEST_CASE("CUPTI collector records the kernels of a CUDA run", "[profiler][cuda]") {
  std::string why;
  if (!cupti_compiled()) {
    WARN("skipped: CUPTI absent (" << cupti_status() << ")");
    return;
  }
  if (!kernels::backend_available(kernels::Backend::Cuda, &why)) {
    WARN("skipped: CUDA backend unavailable (" << why << ")");
    return;
  }
  CuptiCollector c;
  REQUIRE(c.start(&why));
  CuptiCollector second;
  CHECK_FALSE(second.start(&why));  // one collector per process
  const auto host0 =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  MeasureOptions o;
  o.warmup = 1;
  o.min_time_s = 0;
  o.min_reps = o.max_reps = 3;
  Executor ex(7, o);
  const ExecResult r = ex.execute("rmsnorm", kernels::Backend::Cuda,
                                  resolve_params(get_op("rmsnorm"), {{"n_tokens", 13}}), /*verify=*/false);
  REQUIRE(r.ran);
  const auto acts = c.take();
  const auto host1 =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  size_t kernels = 0;
  for (const GpuActivity& a : acts) {
    CHECK(a.end_ns >= a.start_ns);
    if (a.kind != "kernel") continue;
    ++kernels;
    CHECK(a.grid[0] * a.grid[1] * a.grid[2] > 0);
    CHECK(a.block[0] * a.block[1] * a.block[2] > 0);
    CHECK_FALSE(a.name.empty());
    // On the host steady clock: inside the window (1 ms slack for clock alignment).
    CHECK(a.start_ns >= host0 - 1000000);
    CHECK(a.end_ns <= host1 + 1000000);
  }
  CHECK(kernels >= 4);  // warm-up + 3 timed reps, at least one kernel each
  c.stop();
}
