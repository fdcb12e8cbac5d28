// run_plan.cpp — execute, predict, store, report, summarize.
#include "cli/run_plan.h"

#include <filesystem>
#include <ostream>
#include <sstream>

#include "cli/common.h"
#include "core/error.h"
#include "kernels/registry.h"
#include "profiler/executor.h"
#include "report/report.h"
#include "sim/op_cost.h"
#include "store/store.h"

namespace v4lab::cli {

static std::string fmt_ratio(double r) {
  std::ostringstream s;
  s.precision(r < 10 ? 2 : 0);
  s << std::fixed << r << "x";
  return s.str();
}

static std::string fmt_num(double v, int prec = 1) {
  std::ostringstream s;
  s.precision(prec);
  s << std::fixed << v;
  return s.str();
}

PlanOutcome execute_plan(const RunPlan& plan, const Context& ctx) {
  PlanOutcome out;
  const bool progress = show_progress(ctx);
  std::vector<kernels::Backend> backends;
  for (auto& b : plan.backends) backends.push_back(kernels::parse_backend(b));

  // Hardware first: a broken preset fails before any kernel runs.
  store::Store db(ctx.db_path);
  std::vector<sim::HardwareModel> hws;
  for (auto& id : plan.hardware) hws.push_back(sim::hardware_model(resolve_hardware(id, ctx, &db)));

  store::RunRecord rec;
  rec.info.kind = plan.kind;
  rec.info.name = plan.name;
  rec.info.scenario_path = plan.scenario_path;
  rec.info.seed = plan.seed;
  rec.info.config_json = plan.config.dump();
  for (size_t i = 0; i < plan.backends.size(); ++i) rec.info.backends += (i ? "," : "") + plan.backends[i];

  profiler::Executor ex(plan.seed, plan.timing);
  std::vector<std::vector<std::string>> rows, gpu_rows;
  nlohmann::json jrows = nlohmann::json::array();
  const size_t total = plan.cases.size() * backends.size();
  size_t done = 0;
  for (auto& c : plan.cases) {
    const std::string pj = params_json(c.params).dump();
    std::vector<sim::OpCost> costs;
    for (auto& hw : hws) {
      sim::OpCost cost = sim::predict_op(get_op(c.op).work(c.params), hw);
      costs.push_back(cost);
      store::Prediction p;
      p.op = c.op; p.hardware = hw.id; p.params_json = pj;
      p.compute_s = cost.compute_s; p.memory_s = cost.memory_s; p.host_s = cost.host_s; p.comm_s = cost.comm_s;
      p.overhead_s = cost.overhead_s; p.total_s = cost.total_s; p.bound = cost.bound; p.flops = cost.flops;
      p.bytes = cost.bytes; p.model = sim::kCostModelName;
      rec.predictions.push_back(p);
      if (hw.device_class != "cpu")
        gpu_rows.push_back({c.op, pj, hw.id, report::format_seconds(cost.total_s), cost.bound});
    }
    for (auto be : backends) {
      ++done;
      if (progress) *ctx.err << "\r[" << done << "/" << total << "] " << c.op << " " << kernels::backend_name(be) << "        " << std::flush;
      profiler::ExecResult r = ex.execute(c.op, be, c.params, plan.verify && be != kernels::Backend::Ref);
      nlohmann::json jr = {{"op", c.op}, {"backend", r.backend}, {"params", params_json(c.params)}};
      if (!r.ran) {
        rows.push_back({c.op, r.backend, "skipped", "", "", "", r.skipped_reason});
        jr["skipped"] = r.skipped_reason;
        jrows.push_back(jr);
        continue;
      }
      store::Measurement m;
      m.op = c.op; m.backend = r.backend; m.params_json = pj;
      m.median_s = r.m.median_s; m.p10_s = r.m.p10_s; m.p90_s = r.m.p90_s; m.min_s = r.m.min_s; m.reps = r.m.reps;
      m.flops = r.m.flops; m.bytes = r.m.bytes; m.gflops_per_s = r.m.gflops_per_s; m.gbytes_per_s = r.m.gbytes_per_s;
      m.thread_count = r.m.threads;
      if (r.verified) {
        m.verified = *r.verified;
        nlohmann::json cs = nlohmann::json::array();
        for (auto& ck : r.checks) cs.push_back({{"output", ck.name}, {"passed", ck.passed}, {"max_abs", ck.max_abs},
                                                {"nmse", ck.nmse}, {"violations", ck.violations}, {"tolerance", ck.tolerance}});
        m.verify_json = cs.dump();
        if (!*r.verified) {
          ++out.failed_checks;
          for (auto& ck : r.checks)
            if (!ck.passed) *ctx.err << "verification FAILED: " << c.op << " [" << r.backend << "] " << ck.summary() << "\n";
        }
      }
      rec.measurements.push_back(m);
      // The ratio is against this machine's prediction (the first CPU-class preset).
      std::string pred = "", ratio = "";
      for (size_t h = 0; h < hws.size(); ++h)
        if (hws[h].device_class == "cpu") {
          pred = report::format_seconds(costs[h].total_s) + " (" + costs[h].bound + ")";
          ratio = fmt_ratio(r.m.median_s / costs[h].total_s);
          jr["predicted_local_s"] = costs[h].total_s;
          jr["ratio_measured_over_predicted"] = r.m.median_s / costs[h].total_s;
          break;
        }
      std::string ver = !r.verified ? (be == kernels::Backend::Ref ? "reference" : "not checked")
                                    : (*r.verified ? "pass" : "FAIL");
      rows.push_back({c.op, r.backend, report::format_seconds(r.m.median_s), fmt_num(r.m.gflops_per_s, 2),
                      fmt_num(r.m.gbytes_per_s, 2), pred, ratio, ver});
      jr["median_s"] = r.m.median_s; jr["p10_s"] = r.m.p10_s; jr["p90_s"] = r.m.p90_s; jr["reps"] = r.m.reps;
      jr["gflops_per_s"] = r.m.gflops_per_s; jr["gbytes_per_s"] = r.m.gbytes_per_s; jr["threads"] = r.m.threads;
      if (r.verified) jr["verified"] = *r.verified;
      jrows.push_back(jr);
    }
  }
  if (progress) *ctx.err << "\r" << std::string(60, ' ') << "\r";
  out.run_id = db.write_run(rec);

  if (!plan.report_dir.empty()) {
    std::string dir = (std::filesystem::path(plan.report_dir) / std::to_string(out.run_id)).string();
    for (const char* fmt : {"md", "html"}) {
      std::string path = dir + "/report." + fmt;
      report::write_run_report(db, out.run_id, fmt, path);
      out.reports.push_back(path);
    }
  }
  out.json = {{"run_id", out.run_id}, {"db", ctx.db_path}, {"reports", out.reports}, {"rows", jrows},
              {"failed_checks", out.failed_checks}};
  nlohmann::json jp = nlohmann::json::array();
  for (auto& p : rec.predictions)
    jp.push_back({{"op", p.op}, {"hardware", p.hardware}, {"params", nlohmann::json::parse(p.params_json)},
                  {"total_s", p.total_s}, {"bound", p.bound}, {"label", "prediction"}, {"model", p.model}});
  out.json["predictions"] = jp;

  std::ostream& o = *ctx.out;
  if (ctx.json) {
    o << out.json.dump(2) << "\n";
    return out;
  }
  o << "run " << out.run_id << " (" << plan.name << "): measured on this machine vs predicted for this machine\n";
  print_table(o, {"op", "backend", "measured median", "GFLOP/s", "GB/s", "predicted (local)", "ratio", "verify"}, rows);
  if (!gpu_rows.empty()) {
    o << "\npredictions only (no such GPU here):\n";
    print_table(o, {"op", "params", "hardware", "predicted", "bound"}, gpu_rows);
  }
  o << "\ndatabase: " << ctx.db_path << " (run " << out.run_id << ")\n";
  for (auto& r : out.reports) o << "report:   " << r << "\n";
  return out;
}

}  // namespace v4lab::cli
