// cmd_calibrate.cpp — `v4lab calibrate`: probe this machine (FP32 FMA peak, DRAM triad bandwidth,
// parallel-region overhead, caches, capacity) and store it as the measured `local` hardware preset;
// `--fit` fits per-op efficiencies (sim/efficiency.h) to the CPU measurements of `v4lab bench` and/or
// `v4lab exec` runs (exec rows per call) and stores the table, which every later `local` prediction
// uses (docs/cost-model.md §Calibration).
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/build_info.h"
#include "core/error.h"
#include "profiler/machine_probe.h"
#include "sim/efficiency.h"
#include "sim/op_cost.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct CalOpts {
  double budget_s = 1.5;
  bool fit = false;
  std::vector<std::string> from{"latest-bench"};
  std::string backend = "cpu";
  std::string eval;  // bench run predicted out of sample with the new fit ("" = none)
};

double median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Newest bench run in the DB, or the run the user named (a bench run, or an exec run: its rows are
// read per call, see fit_points).
int64_t bench_run(store::Store& db, const std::string& ref) {
  if (ref != "latest-bench") return store::resolve_run_ref(db, ref);
  for (auto& r : db.list_runs(0))
    if (r.kind == "bench" && r.status == "ok") return r.id;
  throw config_error("--fit: no finished bench run in " + db.path() + " (run `v4lab bench` first, or pass --from RUN)");
}

// The fit's points: every measurement of `backend` in `run` of a catalogue op, with its plain roofline.
// A `v4lab exec` row times `calls_per_step` calls of one step together: its point is one call (the
// time divided by the calls, the params of the row's last call), and the rows of one shape (the same
// op and params in every layer of a type) become one point at their median, so 43 identical layers
// count as one shape and the leave-one-out check leaves a shape out, not a copy.
std::vector<sim::FitPoint> fit_points(store::Store& db, int64_t run, const std::string& backend,
                                      const sim::HardwareModel& roof) {
  std::vector<sim::FitPoint> pts;
  std::map<std::string, std::vector<double>> exec_times;  // shape key -> per-call times
  std::map<std::string, sim::FitPoint> exec_points;
  for (const store::Measurement& m : db.measurements(run)) {
    if (m.backend != backend || !(m.median_s > 0)) continue;
    const OpDef* op = find_op(m.op);
    if (!op) continue;
    ParamMap p;
    const nlohmann::json pj = nlohmann::json::parse(m.params_json);
    for (auto& [k, v] : pj.items())
      if (v.is_number()) p[k] = v.get<double>();
    ParamMap resolved = resolve_params(*op, p, "run " + std::to_string(run) + " " + m.op);
    const OpWork w = op->work(resolved);
    const sim::OpCost c = sim::predict_op(w, roof);
    sim::FitPoint fp{m.op, op->family, m.params_json, c.compute_s, c.memory_s, m.median_s};
    fp.bytes_mem = w.bytes_mem;
    fp.variant = w.bytes_variant;
    const auto ex = pj.find("exec");
    if (ex == pj.end() || !ex->is_object()) {
      pts.push_back(fp);
      continue;
    }
    const double calls = ex->value("calls_per_step", 1.0);
    if (!(calls > 0)) continue;
    nlohmann::json shape = nlohmann::json::object();
    for (auto& [k, v] : resolved) shape[k] = v;
    fp.shape = shape.dump();
    const std::string key = m.op + " " + fp.shape;
    exec_points.emplace(key, fp);
    exec_times[key].push_back(m.median_s / calls);
  }
  for (auto& [key, fp] : exec_points) {
    fp.measured_s = median(exec_times[key]);
    pts.push_back(fp);
  }
  if (pts.empty())
    throw config_error("--fit: run " + std::to_string(run) + " has no '" + backend + "' measurements of catalogue ops");
  return pts;
}

// Points of several runs (--from A,B): the union.
std::vector<sim::FitPoint> fit_points(store::Store& db, const std::vector<int64_t>& runs, const std::string& backend,
                                      const sim::HardwareModel& roof) {
  std::vector<sim::FitPoint> pts;
  for (int64_t r : runs) {
    std::vector<sim::FitPoint> p = fit_points(db, r, backend, roof);
    pts.insert(pts.end(), p.begin(), p.end());
  }
  return pts;
}

// Errors of table t over pts: median |pred − meas| / meas, worst ratio, points off by more than 2×.
nlohmann::json error_summary(const sim::EfficiencyTable& t, const std::vector<sim::FitPoint>& pts, double overhead_s) {
  std::vector<double> err;
  double worst_ratio = 1;
  std::string worst;
  nlohmann::json off = nlohmann::json::array();
  for (auto& p : pts) {
    err.push_back(sim::fit_rel_error(t, p, overhead_s));
    const double r = sim::fit_predict_s(t, p, overhead_s) / p.measured_s;
    const double ratio = std::max(r, 1 / r);
    if (ratio > 2) off.push_back({{"op", p.op}, {"params", nlohmann::json::parse(p.shape)}, {"pred_over_meas", r}});
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = p.op + " " + p.shape;
    }
  }
  return {{"points", pts.size()},
          {"median_rel_err", median(err)},
          {"max_rel_err", *std::max_element(err.begin(), err.end())},
          {"worst_ratio", worst_ratio},
          {"worst_point", worst},
          {"points_off_more_than_2x", off.size()},
          {"off_more_than_2x", off}};
}

int run_fit(const CalOpts& o, Context& ctx) {
  store::Store db(ctx.db_path);
  std::vector<int64_t> runs;
  std::string run_list;
  for (const std::string& f : o.from) {
    const int64_t r = bench_run(db, f);
    if (std::find(runs.begin(), runs.end(), r) != runs.end()) throw usage_error("--from: run " + std::to_string(r) + " is named twice");
    runs.push_back(r);
    run_list += (run_list.empty() ? "" : ", ") + std::to_string(r);
  }
  const int64_t run = runs.front();
  HardwarePreset hw = resolve_hardware("local", ctx, &db);
  hw.efficiency = nullptr;  // fit against the plain roofline
  const sim::HardwareModel roof = sim::hardware_model(hw);
  const std::vector<sim::FitPoint> pts = fit_points(db, runs, o.backend, roof);
  const std::string source = std::string(runs.size() > 1 ? "runs " : "run ") + run_list + " in " + db.path() +
                             ", backend " + o.backend + " (host " + host_name() + ")";
  // Cache capacities tried by the cache-aware memory roof: up to the probed last-level cache.
  sim::EfficiencyTable t = sim::fit_efficiency(pts, "local", source, sim::cache_capacity_grid(roof.cache_bytes));
  std::vector<double> before, after, loo;
  double worst_ratio = 1;
  std::string worst;
  int over_2x = 0;
  nlohmann::json off = nlohmann::json::array();
  for (auto& p : pts) {
    before.push_back(std::abs(p.roofline_s() + roof.overhead_s - p.measured_s) / p.measured_s);
    after.push_back(sim::fit_rel_error(t, p, roof.overhead_s));
    const double r = sim::fit_predict_s(t, p, roof.overhead_s) / p.measured_s;
    const double ratio = std::max(r, 1 / r);
    if (ratio > 2) {
      ++over_2x;
      off.push_back({{"op", p.op}, {"params", nlohmann::json::parse(p.shape)}, {"pred_over_meas", r}});
    }
    if (ratio > worst_ratio) {
      worst_ratio = ratio;
      worst = p.op + " " + p.shape;
    }
  }
  for (auto& [k, e] : t.entries)
    if (std::isfinite(e.loo_median_rel_err)) loo.push_back(e.loo_median_rel_err);
  nlohmann::json j = t.to_json();
  j["summary"] = {{"points", pts.size()},
                  {"ops", t.entries.size()},
                  {"roofline_median_rel_err", median(before)},
                  {"fit_median_rel_err", median(after)},
                  {"fit_max_rel_err", *std::max_element(after.begin(), after.end())},
                  {"loo_median_of_op_medians", median(loo)},
                  {"worst_ratio", worst_ratio},
                  {"worst_point", worst},
                  {"points_off_more_than_2x", over_2x},
                  {"off_more_than_2x", off},
                  {"bench_run", run},
                  {"runs", runs},
                  {"label", "calibrated fit (in-sample errors; loo = leave-one-shape-out)"}};
  if (std::isfinite(t.cache_bytes)) j["summary"]["cache_bytes"] = t.cache_bytes;
  if (!o.eval.empty()) {
    const int64_t eval_run = store::resolve_run_ref(db, o.eval);
    if (std::find(runs.begin(), runs.end(), eval_run) != runs.end())
      throw usage_error("--eval: run " + std::to_string(eval_run) + " is a fitted run; name another bench or exec run");
    nlohmann::json oos = error_summary(t, fit_points(db, eval_run, o.backend, roof), roof.overhead_s);
    oos["bench_run"] = eval_run;
    oos["label"] = "out of sample: the fit of run " + run_list + " predicting run " + std::to_string(eval_run);
    j["out_of_sample"] = oos;
  }
  db.save_probe(host_name(), store::kEfficiencyFitMethod, j);
  if (ctx.json) {
    *ctx.out << j.dump(2) << "\n";
    return 0;
  }
  std::ostream& out = *ctx.out;
  out << "efficiency fit for 'local' (" << host_name() << ") from " << source << "\n"
      << "model per op: t = max(F/(P e_c), B/(W e_m)) + overhead (overlap) or the sum (additive), whichever fits better\n"
      << "(weighted non-negative least squares on relative error; a calibrated fit, not a measurement)\n\n";
  std::vector<std::vector<std::string>> rows;
  char b[7][32];
  for (auto& [k, e] : t.entries) {
    std::snprintf(b[0], 32, "%.3g", e.compute);
    std::snprintf(b[5], 32, "%.3g", e.memory);
    if (std::isfinite(e.memory_cached)) std::snprintf(b[6], 32, "%.3g", e.memory_cached);
    else std::snprintf(b[6], 32, "-");
    std::snprintf(b[1], 32, "%.2f", e.overhead_s * 1e6);
    std::snprintf(b[2], 32, "%.0f%%", 100 * e.fit_median_rel_err);
    std::snprintf(b[3], 32, "%.0f%%", 100 * e.fit_max_rel_err);
    if (std::isfinite(e.loo_median_rel_err)) std::snprintf(b[4], 32, "%.0f%%", 100 * e.loo_median_rel_err);
    else std::snprintf(b[4], 32, "-");
    rows.push_back({k, std::isfinite(e.memory_cached) ? "cached" : e.additive ? "additive" : "overlap",
                    std::to_string(e.n_points), b[0], b[5], b[6], b[1], b[2], b[3], b[4]});
  }
  print_table(out, {"op", "form", "points", "e_compute", "e_memory", "e_cached", "overhead us", "median err", "max err", "loo median"},
              rows);
  out << "\n|pred - meas| / meas over " << pts.size() << " measurements: roofline " << int(std::lround(100 * median(before)))
      << "% median -> fit " << int(std::lround(100 * median(after))) << "% median, "
      << int(std::lround(100 * *std::max_element(after.begin(), after.end()))) << "% max (in-sample); worst pred/meas ratio " << worst_ratio << " (" << worst << "), "
      << over_2x << " points off by more than 2x\n"
      << (std::isfinite(t.cache_bytes) ? "cache-aware memory roof: " + t.cache_note + "\n" : std::string());
  if (j.contains("out_of_sample")) {
    const nlohmann::json& x = j["out_of_sample"];
    out << "out of sample (" << x["label"].get<std::string>() << "): " << x["points"] << " measurements, median "
        << int(std::lround(100 * x["median_rel_err"].get<double>())) << "%, worst pred/meas ratio "
        << x["worst_ratio"].get<double>() << " (" << x["worst_point"].get<std::string>() << "), "
        << x["points_off_more_than_2x"] << " points off by more than 2x\n";
  }
  out << "stored in " << ctx.db_path << " (hardware_probes, method " << store::kEfficiencyFitMethod
      << "); `local` predictions now use it\n";
  return 0;
}

}  // namespace

void add_calibrate_command(CLI::App& app, Context& ctx) {
  auto op = std::make_shared<CalOpts>();  // per app: tests parse many times
  CalOpts& o = *op;
  auto* cmd = app.add_subcommand("calibrate", "Measure this machine and store it as the `local` hardware preset; "
                                              "--fit: fit per-op efficiencies to bench or exec runs");
  cmd->add_option("--budget", o.budget_s, "Seconds the probe may take (more = steadier)")->capture_default_str()
      ->check(CLI::Range(0.2, 120.0));
  cmd->add_flag("--fit", o.fit, "Fit per-op efficiencies (t = roofline / e + overhead) to the measurements of bench "
                                "and/or exec runs (--from) instead of probing");
  cmd->add_option("--from", o.from, "Runs to fit, comma-separated: bench runs and/or `v4lab exec` runs (id, latest, or "
                                   "latest-bench); an exec run's rows are fitted per call")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--eval", o.eval, "With --fit: another bench or exec run (id or latest) predicted out of sample by the new fit");
  cmd->add_option("--backend", o.backend, "Backend whose measurements are fitted")->capture_default_str()
      ->check(CLI::IsMember({"cpu", "ref", "cuda"}));
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      CalOpts& o = *op;
      if (o.fit) return run_fit(o, ctx);
      if (!ctx.quiet) *ctx.err << "probing this machine (~" << o.budget_s + 0.5 << " s)...\n";
      profiler::ProbeOptions po;
      po.budget_s = o.budget_s;
      nlohmann::json p = profiler::probe_machine(po);
      store::Store db(ctx.db_path);
      db.save_probe(host_name(), "v4lab calibrate", p);
      if (ctx.json) { *ctx.out << p.dump(2) << "\n"; return 0; }
      std::ostream& out = *ctx.out;
      out << "local hardware preset for " << p.value("host", "?") << " (measured " << p.value("measured_at", "?") << ")\n"
          << "  cpu:           " << p.value("cpu_model", "?") << ", " << p["threads"] << " threads, isa " << p["isa"].dump() << "\n"
          << "  fp32 peak:     " << p["fp32_tflops"].get<double>() * 1e3 << " GFLOP/s\n"
          << "  DRAM triad:    " << p["mem_bw_gbs"].get<double>() << " GB/s\n"
          << "  row gather:    " << p.value("row_gather_gbs", 0.0) << " GB/s (random 264 B rows)\n"
          << "  parallel region overhead: " << p["launch_overhead_us"].get<double>() << " us\n"
          << "  memory:        " << p.value("mem_capacity_gb", 0.0) << " GB\n"
          << "stored in " << ctx.db_path << " (table hardware_probes); next: `v4lab bench`, then `v4lab calibrate --fit`\n";
      return 0;
    };
  });
}

}  // namespace v4lab::cli
