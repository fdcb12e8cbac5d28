// trace_store.h — the trace tables of the store (schema v3, docs/reports.md): trace events of a run
// (measured CPU spans, CUPTI kernels and copies, the cost model's predicted schedule) and named
// run-level metrics (peak RSS, counter availability, roofs, predicted memory, the command line).
// Free functions so the Store class stays the run/measurement/prediction API.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace v4lab::store {

// One complete span ("X" event in a Chrome trace), mirrors table `trace_events`. Times are integer
// nanoseconds from the run's trace epoch, so nesting survives the round trip exactly.
struct TraceEvent {
  std::string process;  // "measured (host)", "prediction: h800_sxm", ...
  std::string track;    // thread / stream inside the process: "thread main", "cuda stream 7", "compute"
  std::string name;
  std::string category;  // phase, case, rep, cuda_kernel, cuda_memcpy, predicted_op, ...
  int64_t ts_ns = 0;
  int64_t dur_ns = 0;     // >= 0
  std::string args_json;  // "" = none; otherwise a JSON object
};

// A run-level number or text, mirrors table `run_metrics`; (run, name) is unique.
struct RunMetric {
  std::string name;
  double value = kUnknown;  // NaN = text-only metric
  std::string text;
  std::string unit;
  std::string label = "measured";  // measured, prediction, provenance
};

// Appends events to a run (one transaction, or a savepoint inside the caller's Transaction).
void add_trace_events(Store& store, int64_t run_id, const std::vector<TraceEvent>& events);
// Events of a run ordered by (process, track, ts_ns, longer first, id): parents before their children.
std::vector<TraceEvent> trace_events(Store& store, int64_t run_id);
int64_t count_trace_events(Store& store, int64_t run_id);
// Distinct processes of a run's events with their event and track counts, by process name.
struct TraceProcessSummary {
  std::string process;
  int64_t events = 0, tracks = 0;
};
std::vector<TraceProcessSummary> trace_process_summary(Store& store, int64_t run_id);

// Inserts or replaces metrics of a run.
void set_run_metrics(Store& store, int64_t run_id, const std::vector<RunMetric>& metrics);
std::vector<RunMetric> run_metrics(Store& store, int64_t run_id);  // ordered by name
std::optional<RunMetric> find_metric(const std::vector<RunMetric>& metrics, const std::string& name);

}  // namespace v4lab::store
