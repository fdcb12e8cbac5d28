// cmd_calibrate.cpp — `v4lab calibrate`: probe this machine (FP32 FMA peak, DRAM triad bandwidth,
// parallel-region overhead, caches, capacity) and store it as the measured `local` hardware preset.
// Efficiency fits per op class arrive with the cost-model issue.
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/build_info.h"
#include "profiler/machine_probe.h"
#include "store/store.h"

namespace v4lab::cli {

void add_calibrate_command(CLI::App& app, Context& ctx) {
  auto bp = std::make_shared<double>(1.5);  // per app: tests parse many times
  double& budget_s = *bp;
  auto* cmd = app.add_subcommand("calibrate", "Measure this machine and store it as the `local` hardware preset");
  cmd->add_option("--budget", budget_s, "Seconds the probe may take (more = steadier)")->capture_default_str()
      ->check(CLI::Range(0.2, 120.0));
  cmd->callback([&ctx, bp] {
    ctx.action = [&ctx, bp]() -> int {
      double& budget_s = *bp;
      if (!ctx.quiet) *ctx.err << "probing this machine (~" << budget_s + 0.5 << " s)...\n";
      profiler::ProbeOptions po;
      po.budget_s = budget_s;
      nlohmann::json p = profiler::probe_machine(po);
      store::Store db(ctx.db_path);
      db.save_probe(host_name(), "v4lab calibrate", p);
      if (ctx.json) { *ctx.out << p.dump(2) << "\n"; return 0; }
      std::ostream& o = *ctx.out;
      o << "local hardware preset for " << p.value("host", "?") << " (measured " << p.value("measured_at", "?") << ")\n"
        << "  cpu:           " << p.value("cpu_model", "?") << ", " << p["threads"] << " threads, isa " << p["isa"].dump() << "\n"
        << "  fp32 peak:     " << p["fp32_tflops"].get<double>() * 1e3 << " GFLOP/s\n"
        << "  DRAM triad:    " << p["mem_bw_gbs"].get<double>() << " GB/s\n"
        << "  row gather:    " << p.value("row_gather_gbs", 0.0) << " GB/s (random 264 B rows)\n"
        << "  parallel region overhead: " << p["launch_overhead_us"].get<double>() << " us\n"
        << "  memory:        " << p.value("mem_capacity_gb", 0.0) << " GB\n"
        << "stored in " << ctx.db_path << " (table hardware_probes)\n";
      return 0;
    };
  });
}

}  // namespace v4lab::cli
