// cmd_run.cpp — `v4lab run SCENARIO`: load and validate the scenario (nothing is written if it is
// invalid), execute its kernels on its backends, predict them on its hardware presets, store
// everything as one run (with its trace events and CPU/GPU profile), write reports/<run-id>/report.{md,html}
// and trace.json, print the summary.
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/cmd_exec.h"
#include "cli/common.h"
#include "cli/run_plan.h"
#include "core/error.h"
#include "core/scenario.h"
#include "kernels/registry.h"

namespace v4lab::cli {

void add_run_command(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string path;
    std::vector<std::string> backends, hardware;
    double min_time_s = -1;
    long long seed = -1;
    std::string report_dir;
    std::string trace;
    bool no_report = false;
    bool no_verify = false;
  };
  auto op = std::make_shared<Opts>();  // per app: tests parse many times
  Opts& o = *op;
  auto* cmd = app.add_subcommand("run", "Execute a scenario: measure its kernels, predict them, store and report");
  cmd->add_option("scenario", o.path, "Scenario TOML file, e.g. scenarios/quickstart.toml")->required();
  cmd->add_option("--backend", o.backends, "Override the scenario's backends (repeatable: ref, cpu, cuda)");
  cmd->add_option("--hardware", o.hardware, "Override the scenario's hardware presets (repeatable)");
  cmd->add_option("--min-time", o.min_time_s, "Override timing.min_time_s (seconds per case)")->check(CLI::Range(1e-6, 600.0));
  cmd->add_option("--seed", o.seed, "Override the scenario's seed")->check(CLI::NonNegativeNumber);
  cmd->add_option("--report-dir", o.report_dir, "Override output.report_dir (reports go to DIR/<run-id>/)");
  cmd->add_option("--trace", o.trace,
                  "Chrome trace file (default: the scenario's [output] trace, else <report-dir>/<run-id>/trace.json; "
                  "the events are stored in the DB either way)");
  cmd->add_flag("--no-report", o.no_report, "Do not write report files (nor the default trace file)")
      ->capture_default_str();
  cmd->add_flag("--no-verify", o.no_verify, "Skip verification against _ref")->capture_default_str();
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      Opts& o = *op;
      Scenario sc = load_scenario(o.path, ctx.data_dir);
      RunPlan plan;
      plan.kind = "run";
      plan.name = sc.name;
      plan.scenario_path = o.path;
      plan.seed = o.seed >= 0 ? static_cast<uint64_t>(o.seed) : sc.seed;
      plan.backends = o.backends.empty() ? sc.backends : o.backends;
      for (auto& b : plan.backends) kernels::parse_backend(b);
      plan.hardware = o.hardware.empty() ? sc.hardware_ids : o.hardware;
      plan.verify = sc.verify && !o.no_verify;
      plan.timing.warmup = sc.timing.warmup;
      plan.timing.min_time_s = o.min_time_s > 0 ? o.min_time_s : sc.timing.min_time_s;
      plan.timing.min_reps = sc.timing.min_reps;
      plan.timing.max_reps = sc.timing.max_reps;
      for (auto& k : sc.kernels) plan.cases.push_back({k.op, k.params, ""});
      plan.report_dir = o.no_report ? "" : (o.report_dir.empty() ? sc.report_dir : o.report_dir);
      plan.trace_path = o.trace.empty() ? sc.trace_path : o.trace;  // [output] trace (checked at load)
      if (!o.trace.empty()) require_writable_output(o.trace, "--trace");
      plan.config = sc.to_json();
      plan.config["effective"] = {{"seed", plan.seed}, {"backends", plan.backends}, {"hardware", plan.hardware},
                                  {"verify", plan.verify}, {"min_time_s", plan.timing.min_time_s}};
      // Hardware presets other than local are validated before anything runs or is written.
      for (auto& h : plan.hardware)
        if (h != "local") load_hardware_preset(h, ctx.data_dir);
      // Outputs are checked before anything runs or is stored, so a bad path leaves no run (docs/errors.md).
      if (!plan.report_dir.empty()) require_writable_output(plan.report_dir + "/<run-id>/report.md", "--report-dir");
      int rc = 0;
      if (!sc.kernels.empty() || !sc.exec.present) rc = execute_plan(plan, ctx).failed_checks > 0 ? 1 : 0;
      if (sc.exec.present) {  // [exec]: the reduced whole model, stored as its own exec run
        ExecRequest er;
        er.model = sc.exec.model, er.scale = sc.exec.scale, er.over.layers = sc.exec.layers;
        er.hardware = o.hardware.empty() ? sc.exec.hardware : o.hardware.front();
        er.batch = sc.exec.batch, er.prefill = sc.exec.prefill, er.decode = sc.exec.decode;
        er.chunk = sc.exec.chunk, er.mtp_verify = sc.exec.mtp_verify;
        er.seed = (long long)plan.seed, er.command = "v4lab run " + o.path;
        exec_run(ctx, er);
      }
      return rc;
    };
  });
}

}  // namespace v4lab::cli
