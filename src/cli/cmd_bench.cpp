// cmd_bench.cpp — `v4lab bench`: the benchmark matrix (ops × shapes × backends), verified before
// timed, each row with median, GFLOP/s, GB/s and the cost model's prediction for this machine.
// Benchmarks are a CLI subcommand, never part of `make test` (STYLE 22).
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
    std::vector<std::string> ops;
    std::vector<std::string> backends{"ref", "cpu"};
    std::string model = "deepseek_v4_flash";
    std::vector<long long> n_tokens{1, 13, 137, 1024};
    std::vector<std::string> hardware{"local"};
    double min_time_s = 0.3;
    long long seed = 1;
    std::string report_dir;
  };
  auto op = std::make_shared<Opts>();  // per app: tests parse many times
  Opts& o = *op;
  auto* cmd = app.add_subcommand("bench", "Benchmark ops over shapes and backends; measured vs predicted per row");
  cmd->add_option("--op", o.ops, "Ops to benchmark (repeatable); default: every op with kernels");
  cmd->add_option("--backend", o.backends, "Backends (repeatable)")->capture_default_str();
  cmd->add_option("--model", o.model, "Model preset giving the default shapes")->capture_default_str();
  cmd->add_option("--n-tokens", o.n_tokens, "Token counts to sweep (repeatable)")->capture_default_str();
  cmd->add_option("--hardware", o.hardware, "Hardware presets to predict on (repeatable)")->capture_default_str();
  cmd->add_option("--min-time", o.min_time_s, "Minimum measured time per row, seconds")->capture_default_str()
      ->check(CLI::Range(1e-6, 600.0));
  cmd->add_option("--seed", o.seed, "Seed of the random inputs")->capture_default_str();
  cmd->add_option("--report-dir", o.report_dir, "Write report.{md,html} to DIR/<run-id>/ (default: none)");
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      Opts& o = *op;
      ModelPreset model = load_model_preset(o.model, ctx.data_dir);
      RunPlan plan;
      plan.kind = "bench";
      plan.name = "bench";
      plan.seed = static_cast<uint64_t>(o.seed);
      plan.backends = o.backends;
      for (auto& b : plan.backends) kernels::parse_backend(b);
      plan.hardware = o.hardware;
      plan.timing.min_time_s = o.min_time_s;
      plan.report_dir = o.report_dir;
      std::vector<std::string> ops = o.ops.empty() ? kernels::kernel_ops() : o.ops;
      nlohmann::json cfg = {{"model", o.model}, {"ops", ops}, {"n_tokens", o.n_tokens}, {"backends", o.backends},
                            {"hardware", o.hardware}, {"min_time_s", o.min_time_s}, {"seed", o.seed}};
      for (auto& name : ops) {
        const OpDef& op = get_op(name);
        for (long long n : o.n_tokens)
          plan.cases.push_back({name, params_for(op, &model, {{"n_tokens", double(n)}}, "--n-tokens")});
      }
      plan.config = cfg;
      PlanOutcome r = execute_plan(plan, ctx);
      return r.failed_checks > 0 ? 1 : 0;
    };
  });
}

}  // namespace v4lab::cli
