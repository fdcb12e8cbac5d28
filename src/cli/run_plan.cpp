// run_plan.cpp — execute, predict, store, report, summarize.
#include "cli/run_plan.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <ostream>
#include <sstream>

#include "cli/common.h"
#include "cli/trace_capture.h"
#include "core/build_info.h"
#include "core/error.h"
#include "kernels/registry.h"
#include "profiler/cpu_counters.h"
#include "profiler/cupti_collector.h"
#include "profiler/executor.h"
#include "profiler/trace.h"
#include "report/report.h"
#include "sim/op_cost.h"
#include "store/store.h"
#include "store/trace_store.h"

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

// A deliberately pessimistic guess of the scalar reference's speed (it runs FP64, one thread): about
// 1 GFLOP/s and 1 GB/s on this class of machine (mhc_pre_ref measures 2 GFLOP/s). Used only to keep
// `bench` from spending minutes in _ref; never reported as a measurement.
static double ref_estimate_s(const OpWork& w) { return std::max(w.flops / 1e9, w.bytes_mem / 1e9); }

// Integer shape params, n_tokens first, then every other integer param that differs from the op's
// default (the preset-derived ones show up that way): "n_tokens=8 d_model=7168".
static std::string shape_str(const OpDef& op, const ParamMap& p) {
  std::string s = p.count("n_tokens") ? "n_tokens=" + fmt_num(p.at("n_tokens"), 0) : "";
  for (auto& d : op.params)
    if (d.integer && d.key != "n_tokens" && p.count(d.key) && p.at(d.key) != d.def)
      s += (s.empty() ? "" : " ") + d.key + "=" + fmt_num(p.at(d.key), 0);
  return s;
}

// Share of this machine's roofline for the bound the model predicts: GB/s over the memory bandwidth
// when memory-bound, GFLOP/s over the peak of the op's precision otherwise.
static std::string roof_share(const profiler::Measurement& m, const sim::OpCost& c, const sim::HardwareModel& hw,
                              double* share) {
  if (c.bound == "memory") {
    *share = m.gbytes_per_s * 1e9 / hw.mem_bw.value;
    return fmt_num(100 * *share, 0) + "% bw";
  }
  *share = m.gflops_per_s * 1e9 / hw.peak(c.precision_used).value;
  return fmt_num(100 * *share, 0) + "% peak";
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

  // Profiling: one trace epoch for the run, every phase and rep a span; peak RSS from here on;
  // CUPTI activity when a CUDA backend runs (and CUPTI is compiled and a device is present).
  profiler::TraceRecorder trace;
  const bool rss_reset = profiler::reset_peak_rss();
  profiler::MeasureOptions mo = plan.timing;
  mo.trace = &trace;
  profiler::Executor ex(plan.seed, mo);
  profiler::CuptiCollector cupti;
  const bool want_gpu = std::find(backends.begin(), backends.end(), kernels::Backend::Cuda) != backends.end();
  std::string cupti_why;
  const bool gpu_on = want_gpu && cupti.start(&cupti_why);
  const std::string cupti_state = !want_gpu ? "" : gpu_on ? profiler::cupti_status() : "unavailable: " + cupti_why;
  const std::string measured_process = std::string(kMeasuredProcess) + " on " + host_name();
  std::vector<store::TraceEvent> extra_events;  // CUPTI activities, predictions at measured positions
  std::vector<std::vector<std::string>> rows, gpu_rows;
  nlohmann::json jrows = nlohmann::json::array();
  const size_t total = plan.cases.size() * backends.size();
  size_t done = 0;
  // The first CPU-class preset is this machine: it sizes bench cases and anchors the roofline column.
  const sim::HardwareModel* local = nullptr;
  for (auto& hw : hws)
    if (hw.device_class == "cpu" && !local) local = &hw;
  {
  profiler::TraceScope run_scope(&trace, "v4lab " + plan.kind + (plan.name.empty() ? "" : " " + plan.name), "run",
                                 {{"seed", plan.seed}, {"backends", plan.backends}});
  for (const auto& c0 : plan.cases) {
    PlanCase c = c0;
    std::string scaled_from;
    if (plan.case_budget_s > 0 && local && c.params.count("n_tokens")) {
      // Bench: shrink n_tokens (halving) until three times this machine's predicted time fits the
      // budget (the fast kernels reach a third of the roofline or better); the shape column says so.
      const double n0 = c.params["n_tokens"];
      while (c.params["n_tokens"] > 1 &&
             3 * sim::predict_op_for(c.op, get_op(c.op).family, get_op(c.op).work(c.params), *local).total_s > plan.case_budget_s)
        c.params["n_tokens"] = std::floor(c.params["n_tokens"] / 2);
      if (c.params["n_tokens"] != n0) scaled_from = " (scaled from " + fmt_num(n0, 0) + ")";
    }
    const std::string pj = params_json(c.params).dump();
    const OpDef& opdef = get_op(c.op);
    const std::string shape = (c.label.empty() ? "" : c.label + " ") + shape_str(opdef, c.params) + scaled_from;
    profiler::TraceScope case_scope(&trace, c.op + (shape.empty() ? "" : " " + shape), "op",
                                    {{"op", c.op}, {"params", params_json(c.params)}});
    std::vector<sim::OpCost> costs;
    {
    profiler::TraceScope predict_scope(&trace, "predict " + c.op, "predict",
                                       {{"hardware", plan.hardware}, {"label", "prediction"}});
    for (auto& hw : hws) {
      sim::OpCost cost = sim::predict_op_for(c.op, opdef.family, opdef.work(c.params), hw);
      costs.push_back(cost);
      store::Prediction p;
      p.op = c.op; p.hardware = hw.id; p.params_json = pj;
      p.compute_s = cost.compute_s; p.memory_s = cost.memory_s; p.host_s = cost.host_s; p.comm_s = cost.comm_s;
      p.overhead_s = cost.overhead_s; p.total_s = cost.total_s; p.bound = cost.bound; p.flops = cost.flops;
      p.bytes = cost.bytes; p.model = sim::cost_model_name(cost);
      rec.predictions.push_back(p);
      if (hw.device_class != "cpu")
        gpu_rows.push_back({c.op, shape, hw.id, report::format_seconds(cost.total_s), cost.bound});
    }
    }
    const OpWork work = opdef.work(c.params);
    const bool ref_fits = plan.ref_budget_s <= 0 || ref_estimate_s(work) <= plan.ref_budget_s;
    // Largest n_tokens (halving) whose reference fits the budget, for verifying the fast backends.
    ParamMap verify_params = c.params;
    std::string verify_at;
    if (!ref_fits && c.params.count("n_tokens")) {
      while (verify_params["n_tokens"] > 1 && ref_estimate_s(opdef.work(verify_params)) > plan.ref_budget_s)
        verify_params["n_tokens"] = std::floor(verify_params["n_tokens"] / 2);
      verify_at = "@n_tokens=" + fmt_num(verify_params["n_tokens"], 0);
    }
    const bool can_verify = ref_fits || ref_estimate_s(opdef.work(verify_params)) <= plan.ref_budget_s;
    double ref_median_s = 0;
    for (auto be : backends) {
      ++done;
      if (progress) *ctx.err << "\r[" << done << "/" << total << "] " << c.op << " " << kernels::backend_name(be) << "        " << std::flush;
      nlohmann::json jr = {{"op", c.op}, {"backend", kernels::backend_name(be)}, {"params", params_json(c.params)},
                           {"shape", shape}};
      const bool is_ref = be == kernels::Backend::Ref;
      if (is_ref && !ref_fits) {
        const std::string why = "reference estimated at " + report::format_seconds(ref_estimate_s(work)) +
                                " per call > --ref-budget " + report::format_seconds(plan.ref_budget_s);
        rows.push_back({c.op, shape, "ref", "skipped", "", "", "", "", "", "", why});
        jr["skipped"] = why;
        jrows.push_back(jr);
        continue;
      }
      const size_t trace_mark = trace.size();
      profiler::ExecResult r;
      if (ref_fits || !plan.verify || is_ref) {
        r = ex.execute(c.op, be, c.params, plan.verify && !is_ref);
      } else {
        profiler::ExecResult v;
        if (can_verify) v = ex.execute(c.op, be, verify_params, true, /*time=*/false);
        r = ex.execute(c.op, be, c.params, false);
        r.verified = v.verified;
        r.checks = v.checks;
      }
      std::vector<profiler::GpuActivity> acts;
      const bool on_gpu = gpu_on && be == kernels::Backend::Cuda;
      if (on_gpu) {
        acts = cupti.take();
        for (auto& e : gpu_events(acts, trace, measured_process)) extra_events.push_back(std::move(e));
      }
      if (!r.ran) {
        rows.push_back({c.op, shape, r.backend, "skipped", "", "", "", "", "", "", r.skipped_reason});
        jr["skipped"] = r.skipped_reason;
        jrows.push_back(jr);
        continue;
      }
      if (is_ref) ref_median_s = r.m.median_s;
      store::Measurement m;
      m.op = c.op; m.backend = r.backend; m.params_json = pj;
      m.median_s = r.m.median_s; m.p10_s = r.m.p10_s; m.p90_s = r.m.p90_s; m.min_s = r.m.min_s; m.reps = r.m.reps;
      m.flops = r.m.flops; m.bytes = r.m.bytes; m.gflops_per_s = r.m.gflops_per_s; m.gbytes_per_s = r.m.gbytes_per_s;
      m.thread_count = r.m.threads;
      const nlohmann::json profile =
          measurement_profile(r.m, on_gpu ? &acts : nullptr, be == kernels::Backend::Cuda ? cupti_state : "");
      m.counters_json = profile.dump();
      jr["profile"] = profile;
      if (r.verified) {
        m.verified = *r.verified;
        nlohmann::json cs = nlohmann::json::array();
        for (auto& ck : r.checks) cs.push_back({{"output", ck.name}, {"passed", ck.passed}, {"max_abs", ck.max_abs},
                                                {"nmse", ck.nmse}, {"violations", ck.violations}, {"tolerance", ck.tolerance}});
        m.verify_json = nlohmann::json{{"verified_at", verify_at.empty() ? "full shape" : verify_at.substr(1)},
                                       {"checks", cs}}.dump();
        if (!*r.verified) {
          ++out.failed_checks;
          for (auto& ck : r.checks)
            if (!ck.passed) *ctx.err << "verification FAILED: " << c.op << " [" << r.backend << "] " << ck.summary() << "\n";
        }
      }
      rec.measurements.push_back(m);
      // The local prediction drawn where the measurement's timed reps start, for side-by-side viewing.
      if (local) {
        const size_t h = static_cast<size_t>(local - hws.data());
        for (const profiler::TraceSpan& sp : trace.spans_from(trace_mark)) {
          if (sp.category != "rep") continue;
          extra_events.push_back({"prediction: " + local->id, "compute (vs " + r.backend + ")",
                                  c.op + " (" + r.backend + " shape)", "predicted_op", sp.ts_ns,
                                  std::llround(costs[h].total_s * 1e9),
                                  nlohmann::json{{"predicted_s", costs[h].total_s},
                                                 {"bound", costs[h].bound},
                                                 {"measured_median_s", r.m.median_s},
                                                 {"label", "prediction"}}.dump()});
          break;
        }
      }
      // Roofline share, prediction and its error are against this machine (the first CPU-class preset).
      std::string pred, err, roof;
      for (size_t h = 0; h < hws.size(); ++h)
        if (hws[h].device_class == "cpu") {
          pred = report::format_seconds(costs[h].total_s) + " (" + costs[h].bound + ")";
          const double e = (costs[h].total_s - r.m.median_s) / r.m.median_s;
          err = (e >= 0 ? "+" : "") + fmt_num(100 * e, 0) + "%";
          double share = 0;
          roof = roof_share(r.m, costs[h], hws[h], &share);
          jr["predicted_local_s"] = costs[h].total_s;
          jr["ratio_measured_over_predicted"] = r.m.median_s / costs[h].total_s;
          jr["prediction_error"] = e;
          jr["roofline_share"] = share;
          jr["roofline_bound"] = costs[h].bound;
          break;
        }
      std::string speedup;
      if (!is_ref && ref_median_s > 0) {
        speedup = fmt_ratio(ref_median_s / r.m.median_s);
        jr["speedup_vs_ref"] = ref_median_s / r.m.median_s;
      }
      std::string ver = !r.verified ? (is_ref ? "reference" : (can_verify ? "not checked" : "not checked (ref too slow)"))
                                    : (*r.verified ? "pass" : "FAIL") + verify_at;
      rows.push_back({c.op, shape, r.backend, report::format_seconds(r.m.median_s), fmt_num(r.m.gflops_per_s, 2),
                      fmt_num(r.m.gbytes_per_s, 2), roof, pred, err, speedup, ver});
      jr["median_s"] = r.m.median_s; jr["p10_s"] = r.m.p10_s; jr["p90_s"] = r.m.p90_s; jr["reps"] = r.m.reps;
      jr["gflops_per_s"] = r.m.gflops_per_s; jr["gbytes_per_s"] = r.m.gbytes_per_s; jr["threads"] = r.m.threads;
      if (r.verified) {
        jr["verified"] = *r.verified;
        if (!verify_at.empty()) jr["verified_at"] = verify_at.substr(1);
      }
      jrows.push_back(jr);
    }
  }
  }  // run_scope
  if (progress) *ctx.err << "\r" << std::string(60, ' ') << "\r";

  std::vector<store::TraceEvent> events = spans_to_events(trace.spans(), measured_process);
  clamp_overlaps(extra_events);
  for (auto& e : extra_events) events.push_back(std::move(e));
  std::vector<store::RunMetric> metrics = {peak_rss_metric(rss_reset), command_metric(ctx.command),
                                           {"perf_counters", store::kUnknown, profiler::perf_counters_status(), "",
                                            "measured"},
                                           {"cupti", store::kUnknown,
                                            cupti_state.empty() ? profiler::cupti_status() : cupti_state, "", "measured"}};
  if (gpu_on) metrics.push_back({"cupti_dropped_records", static_cast<double>(cupti.dropped()), "", "records", "measured"});
  for (auto& hw : hws)
    for (auto& m : roof_metrics(hw)) metrics.push_back(std::move(m));
  {
    // One transaction: the run, its trace and its metrics are stored together or not at all.
    store::Transaction tx(db);
    out.run_id = db.write_run(rec);
    store::add_trace_events(db, out.run_id, events);
    store::set_run_metrics(db, out.run_id, metrics);
    tx.commit();
  }

  if (!plan.report_dir.empty()) {
    std::string dir = (std::filesystem::path(plan.report_dir) / std::to_string(out.run_id)).string();
    for (const char* fmt : {"md", "html"}) {
      std::string path = dir + "/report." + fmt;
      report::write_run_report(db, out.run_id, fmt, path);
      out.reports.push_back(path);
    }
  }
  // The trace file is rendered from the DB, so `v4lab report RUN --format trace` writes the same file.
  out.trace = !plan.trace_path.empty() ? plan.trace_path
              : plan.report_dir.empty()
                  ? ""
                  : (std::filesystem::path(plan.report_dir) / std::to_string(out.run_id) / "trace.json").string();
  if (!out.trace.empty()) report::write_run_report(db, out.run_id, "trace", out.trace);
  out.json = {{"run_id", out.run_id}, {"db", ctx.db_path}, {"reports", out.reports}, {"rows", jrows},
              {"failed_checks", out.failed_checks}, {"trace", out.trace.empty() ? nlohmann::json(nullptr) : nlohmann::json(out.trace)},
              {"trace_events", events.size()}};
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
  print_table(o, {"op", "shape", "backend", "median", "GFLOP/s", "GB/s", "roofline", "predicted (local)", "pred err",
                  "vs ref", "verify"},
              rows);
  if (!gpu_rows.empty()) {
    o << "\npredictions only (no such GPU here):\n";
    print_table(o, {"op", "shape", "hardware", "predicted", "bound"}, gpu_rows);
  }
  o << "\ndatabase: " << ctx.db_path << " (run " << out.run_id << ")\n";
  for (auto& r : out.reports) o << "report:   " << r << "\n";
  if (!out.trace.empty()) o << "trace:    " << out.trace << " (open in ui.perfetto.dev or chrome://tracing)\n";
  return out;
}

}  // namespace v4lab::cli
