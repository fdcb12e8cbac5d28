// exec_trace.h — the timeline of a `v4lab exec` run (issue 11, "Side by side"; docs/exec.md "Timeline
// and projection"): the executor's measured kernel-call spans and the cost model's per-op predictions
// of the same run laid out in the executor's order on one stream (the CPU backend runs the ops one
// after another), as stored trace events — process "measured (this machine)" and process
// "predicted (<hw> preset)", one track per phase — plus the per-phase summary the report shows.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "profiler/model_exec.h"
#include "store/trace_store.h"

namespace v4lab::cli {

inline constexpr const char* kExecMeasuredProcess = "measured (this machine)";
std::string exec_predicted_process(const std::string& hw_id);  // "predicted (<hw> preset)"

struct ExecTimeline {
  std::vector<store::TraceEvent> events;
  // {"phases": [{name, track, steps, calls, measured_start_s, measured_s, predicted_start_s, predicted_s,
  //  error}], decode_steps, decode_steps_traced, decode_steps_aggregated, calls_traced, calls_dropped,
  //  events_measured, events_predicted, processes, label}
  nlohmann::json summary;
};

// `predicted_s[i]`: the stored prediction of out.records[i] for one step (NaN: no catalogue op, no
// predicted event). Decode steps past ExecTrace::decode_steps_traced become one aggregated span per
// process ("decode steps a..b (aggregated)").
ExecTimeline exec_timeline(const profiler::ExecOutput& out, const std::vector<double>& predicted_s,
                           const std::string& hw_id);

}  // namespace v4lab::cli
