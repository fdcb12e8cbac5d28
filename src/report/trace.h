// trace.h — Chrome trace-event JSON (the "Trace Event Format" that Perfetto and chrome://tracing open)
// from stored trace events: one process per (run, TraceEvent::process), one thread per track, "X"
// complete events with ts/dur in microseconds (exact to the nanosecond) and "M" metadata naming the
// processes and tracks. Measured runs (CPU threads, CUDA streams) and the cost model's predicted
// schedule (compute / comm / host streams) can go into one file to lay them side by side.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"
#include "store/trace_store.h"

namespace v4lab::report {

struct TraceProcess {
  std::string label;                      // process name shown in the viewer
  std::vector<store::TraceEvent> events;  // all with the same TraceEvent::process
};

// The trace document. `other_data` goes to "otherData" (provenance: run ids, host, commit, labels).
nlohmann::json chrome_trace(const std::vector<TraceProcess>& processes, const nlohmann::json& other_data);

// Splits events by TraceEvent::process (in order of first appearance), labels "run <id> · <process>".
std::vector<TraceProcess> trace_processes(int64_t run_id, const std::vector<store::TraceEvent>& events);

// The trace of one or more stored runs (each run's processes after the previous run's). Throws
// config_error naming the run when a run has no trace events.
std::string render_trace(store::Store& store, const std::vector<int64_t>& run_ids);

// Events that are not in a store (e.g. `v4lab predict --no-save --trace F`): one process per
// TraceEvent::process, labelled "<title> · <process>".
std::string render_trace_events(const std::vector<store::TraceEvent>& events, const std::string& title);

}  // namespace v4lab::report
