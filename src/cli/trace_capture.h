// trace_capture.h — glue between the profiler, the cost model and the store for traces and CPU/GPU
// profiles (trace issue): recorder spans and CUPTI activities to stored trace events, a measurement's
// CPU profile (wall, thread and process CPU time, perf counters, GPU activity) as counters_json, the
// cost model's predicted step schedule as one track per stream, and the run-level metrics (peak RSS,
// counter and CUPTI availability, roofs, the command line).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profiler/cupti_collector.h"
#include "profiler/timing.h"
#include "profiler/trace.h"
#include "sim/hardware_model.h"
#include "sim/scheduler.h"
#include "store/trace_store.h"

namespace v4lab::cli {

inline constexpr const char* kMeasuredProcess = "measured";

// Recorder spans as stored events of `process`.
std::vector<store::TraceEvent> spans_to_events(const std::vector<profiler::TraceSpan>& spans,
                                               const std::string& process);

// CUPTI activities as events on "cuda stream <n>" tracks of `process`, times on the recorder's clock.
std::vector<store::TraceEvent> gpu_events(const std::vector<profiler::GpuActivity>& acts,
                                          const profiler::TraceRecorder& rec, const std::string& process);

// counters_json of one measurement: {"wall_median_s", "wall_total_s", "thread_cpu_s", "process_cpu_s",
// "cpu_utilization", "perf": {"status", "per_rep": {...}}, "gpu": {...} (when activities are given)}.
nlohmann::json measurement_profile(const profiler::Measurement& m, const std::vector<profiler::GpuActivity>* gpu,
                                   const std::string& cupti_status);

// roof.<hw>.mem_bw_bytes_per_s and roof.<hw>.peak_flops_per_s.<precision> (label: the rate's kind).
std::vector<store::RunMetric> roof_metrics(const sim::HardwareModel& hw);

// The predicted schedule of one step: every node of the DAG as an event on its stream's track
// ("compute", "comm", "host") of `process`, times from the scheduler's timeline.
std::vector<store::TraceEvent> predicted_schedule_events(const sim::StepGraph& g, const sim::ScheduleResult& s,
                                                         const std::string& process);

// Shortens spans that would overlap the next span of their track (predicted times drawn at measured
// positions can be longer than the gap); a shortened span says so in its args.
void clamp_overlaps(std::vector<store::TraceEvent>& events);

// Provenance metric "command" (the command line) and "peak_rss_bytes" with its method.
store::RunMetric command_metric(const std::string& command);
store::RunMetric peak_rss_metric(bool since_reset);

}  // namespace v4lab::cli
