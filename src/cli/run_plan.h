// run_plan.h — the execute → predict → store → report pipeline shared by `run` and `bench`:
// every (kernel case × backend) is verified and measured, every case is predicted on every hardware
// preset, and the whole run is written to the store in one transaction.
#pragma once
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/op_catalogue.h"
#include "profiler/timing.h"

namespace v4lab::cli {

struct PlanCase {
  std::string op;
  ParamMap params;    // resolved
  std::string label;  // e.g. the model preset the shape came from; shown beside the shape
};

struct RunPlan {
  std::string kind = "run";       // run | bench
  std::string name;               // scenario name
  std::string scenario_path;
  nlohmann::json config;          // fully resolved config (stored with the run)
  uint64_t seed = 1;
  std::vector<std::string> backends;
  std::vector<std::string> hardware;  // preset ids; "local" is probed
  bool verify = true;
  profiler::MeasureOptions timing;
  std::vector<PlanCase> cases;
  std::string report_dir;         // empty: no report
  std::string trace_path;         // Chrome trace file; "" = <report_dir>/<run-id>/trace.json (none without reports)
  // Bench only (0 = unlimited): the reference is not timed where its estimated time per call
  // (ref_rate_estimate) exceeds this, and the other backends are then verified at the largest
  // n_tokens (halving) whose reference fits; the verify column says at which.
  double ref_budget_s = 0;
  // Bench only (0 = off): cases whose predicted time on this machine, times 3, exceeds this have
  // their n_tokens halved until it fits (the shape column says "scaled from N").
  double case_budget_s = 0;
};

struct PlanOutcome {
  int64_t run_id = 0;
  int failed_checks = 0;
  std::vector<std::string> reports;
  std::string trace;              // trace file written ("" = none; the events are in the DB either way)
  nlohmann::json json;            // summary rows for --json
};

// Runs the plan, prints progress (TTY) and the summary table (or JSON), returns the outcome.
PlanOutcome execute_plan(const RunPlan& plan, const Context& ctx);

}  // namespace v4lab::cli
