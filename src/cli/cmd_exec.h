// cmd_exec.h — the `v4lab exec` run as a function, so `v4lab run` executes scenarios whose [exec]
// table names a model and a scale through exactly the same path (same validation, same stored run).
#pragma once
#include <string>
#include <vector>

#include "cli/common.h"
#include "profiler/model_build.h"

namespace v4lab::cli {

struct ExecRequest {
  std::string model = "deepseek_v4_flash";  // preset id or short name
  std::string scale = "small";              // tiny | small | preset
  std::string hardware = "local";           // preset the cost model predicts the same ops on
  profiler::ExecScale over;                 // per-field overrides (0 = the scale's value)
  long long batch = 4, prefill = 512, decode = 16, seed = 1;
  double mem_budget_gib = 0;  // 0: 90% of MemAvailable
  bool dry_run = false;
  long long chunk = 0; bool mtp_verify = false; double mtp_accept = -1;  // --chunk, --mtp-verify, --mtp-accept (issue 11)
  std::string command;  // recorded in the summary (empty: the equivalent `v4lab exec` line)
  // Timeline and full-scale projection (docs/exec.md "Timeline and projection").
  std::string trace;                     // Chrome trace file of the run ("": none; the events are stored anyway)
  int trace_steps = 8;                   // decode steps traced call by call; later steps aggregated
  std::vector<std::string> project_hw;   // GPU presets of the full-scale projection (none: no projection)
  int project_gpus = 8;                  // projection deployment: TP 1, DP = EP = this (as `v4lab predict`)
};

// Validates (usage / config errors, exit 2), refuses over-budget runs before allocating, executes,
// stores the run (measurements, predictions, the study point) and prints the summary. Returns 0.
int exec_run(Context& ctx, const ExecRequest& req);

}  // namespace v4lab::cli
