// cmd_bench.cpp — `v4lab bench`: the benchmark matrix (ops × shapes × backends), verified before
// timed, each row with median, GFLOP/s, GB/s and the cost model's prediction for this machine.
// Benchmarks are a CLI subcommand, never part of `make test` (STYLE 22).
#include <algorithm>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/run_plan.h"
#include "core/presets.h"
#include "kernels/registry.h"

namespace v4lab::cli {

void add_bench_command(CLI::App& app, Context& ctx) {
  struct Opts {
    std::vector<std::string> ops, positional_ops;
    std::vector<std::string> backends{"ref", "cpu"};
    std::vector<std::string> models{"deepseek_v4_flash", "deepseek_v4_pro"};
    std::vector<long long> n_tokens{1, 8, 64, 4096};  // decode batches 1/8/64 and a prefill chunk
    std::vector<std::string> hardware{"local"};
    double min_time_s = 0.3;
    double ref_budget_s = 1.0;
    double case_budget_s = 2.0;
    std::vector<std::string> sets;
    long long seed = 1;
    std::string report_dir;
  };
  auto op = std::make_shared<Opts>();  // per app: tests parse many times
  Opts& o = *op;
  auto* cmd = app.add_subcommand("bench", "Benchmark ops over shapes and backends; measured vs predicted per row");
  cmd->add_option("ops", o.positional_ops, "Ops to benchmark (as --op); default: every op with kernels");
  cmd->add_option("--op", o.ops, "Ops to benchmark (repeatable); default: every op with kernels");
  auto* backend_opt = cmd->add_option("--backend", o.backends, "Backends (repeatable); cuda is added when a device is present")
                          ->capture_default_str();
  cmd->add_option("--model", o.models, "Model presets giving the shapes (repeatable)")->capture_default_str();
  cmd->add_option("--n-tokens", o.n_tokens, "Token counts to sweep (repeatable): decode batches and a prefill chunk")
      ->capture_default_str();
  cmd->add_option("--set", o.sets, "Shape override key=value applied to every case (repeatable), e.g. n_experts=8");
  cmd->add_option("--ref-budget", o.ref_budget_s,
                  "Skip timing _ref where its estimated time per call exceeds this many seconds, and verify the "
                  "other backends at the largest n_tokens whose _ref fits (0 = no limit)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--case-budget", o.case_budget_s,
                  "Halve a case's n_tokens until 3x its predicted time on this machine fits this many seconds, so "
                  "every case runs in seconds (0 = run the shapes as given)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("--hardware", o.hardware, "Hardware presets to predict on (repeatable)")->capture_default_str();
  cmd->add_option("--min-time", o.min_time_s, "Minimum measured time per row, seconds")->capture_default_str()
      ->check(CLI::Range(1e-6, 600.0));
  cmd->add_option("--seed", o.seed, "Seed of the random inputs")->capture_default_str();
  cmd->add_option("--report-dir", o.report_dir, "Write report.{md,html} to DIR/<run-id>/ (default: none)");
  cmd->callback([&ctx, op, backend_opt] {
    if (backend_opt->count() == 0 && kernels::backend_available(kernels::Backend::Cuda)) op->backends.push_back("cuda");
    ctx.action = [&ctx, op]() -> int {
      Opts& o = *op;
      std::vector<ModelPreset> models;
      for (auto& id : o.models) models.push_back(load_model_preset(id, ctx.data_dir));
      const ParamMap sets = parse_sets(o.sets);
      RunPlan plan;
      plan.kind = "bench";
      plan.name = "bench";
      plan.seed = static_cast<uint64_t>(o.seed);
      plan.backends = o.backends;
      for (auto& b : plan.backends) kernels::parse_backend(b);
      plan.hardware = o.hardware;
      plan.timing.min_time_s = o.min_time_s;
      plan.report_dir = o.report_dir;
      plan.ref_budget_s = o.ref_budget_s;
      plan.case_budget_s = o.case_budget_s;
      std::vector<std::string> ops = o.ops;
      ops.insert(ops.end(), o.positional_ops.begin(), o.positional_ops.end());
      if (ops.empty()) ops = kernels::kernel_ops();
      nlohmann::json cfg = {{"models", o.models}, {"ops", ops}, {"n_tokens", o.n_tokens}, {"backends", o.backends},
                            {"hardware", o.hardware}, {"min_time_s", o.min_time_s}, {"seed", o.seed},
                            {"ref_budget_s", o.ref_budget_s}, {"case_budget_s", o.case_budget_s}, {"set", o.sets}};
      for (auto& name : ops) {
        const OpDef& op = get_op(name);
        for (size_t mi = 0; mi < models.size(); ++mi)
          for (long long n : o.n_tokens) {
            ParamMap over = {{"n_tokens", double(n)}};
            for (const auto& kv : sets) {  // (no structured binding: clang 14 cannot capture one)
              const std::string& k = kv.first;
              if (std::any_of(op.params.begin(), op.params.end(), [&](const ParamDef& d) { return d.key == k; }))
                over[k] = kv.second;  // a --set applies to the ops that have that parameter
            }
            PlanCase pc{name, params_for(op, &models[mi], over, "--n-tokens/--set"), o.models[mi]};
            // Ops whose shape no preset field changes would repeat the same case per model.
            const bool dup = std::any_of(plan.cases.begin(), plan.cases.end(), [&](const PlanCase& q) {
              return q.op == pc.op && q.params == pc.params;
            });
            if (!dup) plan.cases.push_back(std::move(pc));
          }
      }
      plan.config = cfg;
      PlanOutcome r = execute_plan(plan, ctx);
      return r.failed_checks > 0 ? 1 : 0;
    };
  });
}

}  // namespace v4lab::cli
