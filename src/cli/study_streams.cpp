// study_streams.cpp — `v4lab study streams` (specs/studies.md (c)): for n = 1, 2, 4, 8 the modelled cost
// (bytes per token per site, Sinkhorn FLOPs, parameters, residual memory, step-time overhead;
// sim/studies/streams_cost) and the measured stability of the real mHC kernels (composite gain over
// depth for mHC vs unconstrained HC vs plain residual; study_streams_stability), with acceptance checks
// 1–4 of (c). Stores a run of kind "study" with study_points (study = "streams").
#include <algorithm>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/cli.h"
#include "cli/cmd_study.h"
#include "cli/common.h"
#include "cli/study_common.h"
#include "cli/study_streams_stability.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/presets.h"
#include "report/report.h"
#include "sim/studies/streams_cost.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct StreamsStudyOpts {
  std::vector<int> ns = {1, 2, 4, 8};
  StreamsStabilityConfig s;
  std::vector<int64_t> cost_c = {4096, 7168};
  int cost_iters = 20;
  std::string model = "deepseek_v4_flash";
  std::string hw = "h800_sxm";
  int64_t batch = 64;
  int gpus = 8;
  int64_t context = 4096;
  std::string backend = "cpu";
  int stress_seeds = 9;
  bool no_save = false;
};

nlohmann::json check(const std::string& name, std::optional<bool> passed, const std::string& detail) {
  return study_check(name, passed, detail);
}

int run_streams_study(Context& ctx, const StreamsStudyOpts& o) {
  const bool progress = show_progress(ctx);
  std::unique_ptr<store::Store> db;
  if (!o.no_save) db = std::make_unique<store::Store>(ctx.db_path);
  const HardwarePreset hw = resolve_hardware(o.hw, ctx, db.get());
  const ModelPreset model = load_model_preset(o.model, ctx.data_dir);
  if (!model.has_number("hc_mult")) throw usage_error("--model " + o.model + " has no mHC (hc_mult): use a V4 preset");
  std::vector<int> ns = o.ns;
  std::sort(ns.begin(), ns.end());
  ns.erase(std::unique(ns.begin(), ns.end()), ns.end());
  StreamsStabilityConfig sc = o.s;
  sc.reference = o.backend == "ref";
  std::sort(sc.t_max.begin(), sc.t_max.end());
  sc.t_max.erase(std::unique(sc.t_max.begin(), sc.t_max.end()), sc.t_max.end());

  std::vector<store::StudyPoint> points;
  auto add_point = [&](const nlohmann::json& point, const nlohmann::json& metrics, const std::string& label) {
    store::StudyPoint sp;
    sp.study = "streams";
    sp.point_json = point.dump();
    sp.metrics_json = metrics.dump();
    sp.label = label;
    points.push_back(sp);
  };
  const std::string cost_label = "prediction: op catalogue / mhc.md byte accounting, per token per residual sublayer";
  const std::string step_label = "prediction: predict_step (roofline-v1) on " + o.hw;
  const std::string gain_label = "measured: real mhc_pre / mhc_post kernels (" + o.backend +
                                 ") + FP64 host composite; random weights (not trained), reduced shapes";
  const std::string time_label = "measured: " + host_name() + ", v4lab study streams (" + o.backend +
                                 "; machine may be loaded; median of the stack's calls)";

  // ---- modelled ----
  nlohmann::json cost_rows = nlohmann::json::array(), step_rows = nlohmann::json::array(), checks = nlohmann::json::array();
  bool cost_grows = true;
  for (int64_t C : o.cost_c) {
    std::optional<sim::StreamsCost> prev;
    for (int n : ns) {
      const sim::StreamsCost c = sim::streams_cost(n, C, o.cost_iters, sc.depth);
      nlohmann::json pt = {{"kind", "cost"}, {"n", n}, {"d_model", C}, {"t_max", o.cost_iters}, {"depth", sc.depth}};
      nlohmann::json m = {{"bytes_fused", c.bytes_fused}, {"bytes_plain", c.bytes_plain}, {"bytes_unfused", c.bytes_unfused},
                          {"unfused_read_elems", c.unfused_read_elems}, {"unfused_write_elems", c.unfused_write_elems},
                          {"flops_gemm", c.flops_gemm}, {"flops_sumsq", c.flops_sumsq}, {"flops_split", c.flops_split},
                          {"flops_sinkhorn", c.flops_sinkhorn}, {"flops_apply", c.flops_apply},
                          {"flops_post", c.flops_post}, {"flops_total", c.flops_total},
                          {"transcendentals", c.transcendentals}, {"params_per_site", c.params_per_site},
                          {"param_bytes_per_site", c.param_bytes_per_site},
                          {"residual_bytes_per_token", c.residual_bytes_per_token},
                          {"plain_residual_bytes_per_token", c.plain_residual_bytes_per_token},
                          {"recompute_block", c.recompute_block}, {"train_act_elems_per_token", c.train_act_elems_per_token}};
      add_point(pt, m, cost_label);
      nlohmann::json row = pt;
      row["metrics"] = m;
      cost_rows.push_back(row);
      if (prev && (c.bytes_fused <= prev->bytes_fused || c.flops_total <= prev->flops_total ||
                   c.params_per_site <= prev->params_per_site))
        cost_grows = false;
      prev = c;
    }
  }
  sim::Deployment dep;
  dep.gpus = o.gpus, dep.dp = o.gpus, dep.ep = o.gpus, dep.tp = 1;
  sim::Workload wl;
  wl.phase = sim::Phase::Decode, wl.batch = o.batch, wl.context = o.context;
  const sim::StreamsStep plain = sim::streams_step(model, hw, dep, wl, 0, 0);
  bool step_grows = true;
  double prev_mhc = -1;
  std::vector<int> step_ns = {0};
  step_ns.insert(step_ns.end(), ns.begin(), ns.end());
  for (int n : step_ns) {
    const sim::StreamsStep s = n == 0 ? plain : sim::streams_step(model, hw, dep, wl, n, plain.step_s);
    nlohmann::json pt = {{"kind", "step"}, {"n", n}, {"plain", n == 0}, {"model", o.model}, {"hw", o.hw},
                         {"batch", o.batch}, {"gpus", o.gpus}, {"context", o.context}};
    nlohmann::json m = {{"step_s", s.step_s}, {"mhc_s", s.mhc_s}, {"overhead", s.overhead}};
    add_point(pt, m, step_label);
    nlohmann::json row = pt;
    row["metrics"] = m;
    step_rows.push_back(row);
    if (n > 0 && s.mhc_s <= prev_mhc) step_grows = false;
    if (n > 0) prev_mhc = s.mhc_s;
  }
  checks.push_back(check("cost grows with n (bytes, FLOPs, parameters; predicted mHC step time)", cost_grows && step_grows,
                         "modelled"));

  // ---- measured ----
  nlohmann::json gain_rows = nlohmann::json::array(), sk_rows = nlohmann::json::array(), time_rows = nlohmann::json::array();
  std::optional<bool> c1, c3;
  bool c2_nonneg = true, c2_rows = true, kernel_match = true;
  std::optional<bool> c2_agree, c4;
  std::string c4_detail = "skipped: needs n = 4, diag 2, sigma_b 0.2, dyn-std 0.1, depth 60 and t_max 20";
  const bool default_stress = sc.diag == 2.0 && sc.sigma_b == 0.2 && sc.dyn_std == 0.1 && sc.depth == 60 &&
                              std::find(sc.t_max.begin(), sc.t_max.end(), 20) != sc.t_max.end();
  for (int n : ns) {
    if (progress) *ctx.err << "\rstudy streams: stability stack n=" << n << " (" << sc.depth << " sublayers)    " << std::flush;
    const StreamsStability r = measure_streams_stability(n, sc);
    if (!sc.reference && r.kernel_vs_template != 0) kernel_match = false;
    for (const GainCurve& g : r.curves) {
      nlohmann::json pt = {{"kind", "gain"}, {"n", n}, {"method", g.method}, {"convention", g.convention},
                           {"t_max", g.t_max}, {"depth", sc.depth}, {"d_model", sc.d_model}, {"tokens", sc.tokens},
                           {"diag", sc.diag}, {"sigma_b", sc.sigma_b}, {"dyn_std", sc.dyn_std}};
      nlohmann::json m = {{"fwd_mean", g.fwd_mean}, {"bwd_mean", g.bwd_mean}, {"fwd_max", g.fwd_max},
                          {"bwd_max", g.bwd_max}, {"log_col_max", g.log_col_max}, {"spectral_mean", g.spectral_mean},
                          {"final_fwd_mean", g.final_fwd_mean()}, {"final_bwd_mean", g.final_bwd_mean()},
                          {"bwd_within_bound", g.bwd_within_bound}, {"dyn_std_measured", r.dyn_std_measured}};
      add_point(pt, m, gain_label);
      nlohmann::json row = pt;
      row["metrics"] = {{"final_fwd_mean", g.final_fwd_mean()}, {"final_bwd_mean", g.final_bwd_mean()},
                        {"final_bwd_max", g.bwd_max.back()}, {"bwd_within_bound", g.bwd_within_bound}};
      gain_rows.push_back(row);
      // Check 1: n = 1 — every gain exactly 1 (paper convention, HC, plain); V4's eps gives 1 − O(eps·L).
      if (n == 1) {
        bool exact = true, near = true;
        for (size_t l = 0; l < g.fwd_mean.size(); ++l) {
          for (double v : {g.fwd_mean[l], g.bwd_mean[l], g.fwd_max[l], g.bwd_max[l]}) {
            exact = exact && v == 1.0;
            near = near && std::fabs(v - 1.0) <= 1e-4;
          }
        }
        const bool ok = g.convention == "v4" ? near : exact;
        c1 = c1.value_or(true) && ok;
      }
      // Check 3: mHC forward gain 1 ± 1e-4 at every depth; backward ≤ the product of per-layer max column sums.
      if (g.method == "mhc") {
        bool ok = g.bwd_within_bound;
        for (size_t l = 0; l < g.fwd_max.size(); ++l) ok = ok && std::fabs(g.fwd_max[l] - 1) <= 1e-4 && std::fabs(g.fwd_mean[l] - 1) <= 1e-4;
        c3 = c3.value_or(true) && ok;
      }
    }
    for (const SinkhornError& e : r.sinkhorn) {
      nlohmann::json pt = {{"kind", "sinkhorn"}, {"n", n}, {"convention", e.convention}, {"t_max", e.t_max}};
      nlohmann::json m = {{"row_err", e.row_err}, {"col_err", e.col_err}, {"min_entry", e.min_entry}};
      add_point(pt, m, gain_label);
      nlohmann::json row = pt;
      row["metrics"] = m;
      sk_rows.push_back(row);
      c2_nonneg = c2_nonneg && e.min_entry >= 0;
      if (e.t_max == sc.t_max.back()) c2_rows = c2_rows && e.row_err <= (e.convention == "paper" ? 1e-6 : 3e-6);
    }
    if (sc.t_max.back() == 20 && sc.diag <= 2 && sc.sigma_b <= 0.5)
      c2_agree = c2_agree.value_or(true) && r.conventions_max_diff <= 1e-3;
    {
      nlohmann::json pt = {{"kind", "kernel_time"}, {"n", n}, {"d_model", sc.d_model}, {"tokens", sc.tokens},
                           {"backend", o.backend}};
      nlohmann::json m = {{"mhc_pre_s", r.pre_s}, {"mhc_post_s", r.post_s}, {"calls", sc.depth},
                          {"conventions_max_diff", r.conventions_max_diff}, {"kernel_vs_template", r.kernel_vs_template}};
      add_point(pt, m, time_label);
      nlohmann::json row = pt;
      row["metrics"] = m;
      time_rows.push_back(row);
    }
    if (n == 4 && default_stress) {
      // Check 4 over a fixed list of seeds (seed, seed + 1, ...): the static draws E_l dominate and one
      // seed's HC gain varies by two orders of magnitude (mhc.md T5: never test one seed), so the check
      // takes the median HC gain and the worst mHC gain. Every seed is a full run of the real kernels.
      std::vector<double> hc_g, mhc_g;
      for (int si = 0; si < o.stress_seeds; ++si) {
        StreamsStabilityConfig s2 = sc;
        s2.seed = sc.seed + uint64_t(si);
        s2.t_max = {20};
        if (progress) *ctx.err << "\rstudy streams: default stress n=4 seed " << s2.seed << "        " << std::flush;
        const StreamsStability r2 = si == 0 ? r : measure_streams_stability(4, s2);
        double mw = 0, h = 0;
        for (const GainCurve& g : r2.curves) {
          if (g.method == "mhc" && g.t_max == 20) mw = std::max(mw, g.final_bwd_mean());
          if (g.method == "hc") h = g.final_bwd_mean();
        }
        hc_g.push_back(h), mhc_g.push_back(mw);
      }
      std::vector<double> sorted = hc_g;
      std::sort(sorted.begin(), sorted.end());
      const double hc_med = sorted[sorted.size() / 2], mhc_worst = *std::max_element(mhc_g.begin(), mhc_g.end());
      c4 = mhc_worst <= 1.1 && hc_med >= 50;
      c4_detail = "over " + std::to_string(o.stress_seeds) + " seeds from " + std::to_string(sc.seed) +
                  ": worst mHC backward gain " + std::to_string(mhc_worst) + " (<= 1.1), median HC gain " +
                  std::to_string(hc_med) + " (>= 50)";
      add_point({{"kind", "stress"}, {"n", 4}, {"seed0", sc.seed}, {"seeds", o.stress_seeds}},
                {{"hc_bwd_final", hc_g}, {"mhc_bwd_final_t20", mhc_g}, {"hc_median", hc_med}, {"mhc_worst", mhc_worst}},
                gain_label);
    }
  }
  if (progress) *ctx.err << "\rstudy streams: done" << std::string(40, ' ') << "\n";
  checks.push_back(check("n = 1: H_res = 1, all gains exactly 1", c1,
                         c1 ? "paper convention, HC and plain exact; V4 convention within 1e-4 (eps)" : "skipped: n = 1 not run"));
  checks.push_back(check("Sinkhorn outputs non-negative; rows of H_res sum to 1 after the final row step", c2_nonneg && c2_rows,
                         "paper 1e-6, V4 3e-6 (its eps), at the largest t_max"));
  checks.push_back(check("paper and V4 conventions agree within 1e-3 at t_max = 20", c2_agree,
                         c2_agree ? "diag <= 2, sigma_b <= 0.5" : "skipped: needs t_max 20, diag <= 2, sigma_b <= 0.5"));
  checks.push_back(check("mHC forward gain 1 +- 1e-4 at every depth; backward <= product of per-layer max column sums", c3,
                         "every convention and t_max"));
  checks.push_back(check("default stress: mHC backward gain <= 1.1 at t_max 20 and HC gain >= 50", c4, c4_detail));
  checks.push_back(check("kernel comb equals the shared Sinkhorn template on the kernel's mixes", sc.reference ? std::nullopt : std::optional<bool>(kernel_match),
                         "bit-identical (cpu)"));
  const int n_fail = count_failed_checks(checks);
  add_point({{"kind", "checks"}}, {{"checks", checks}, {"failed", n_fail}},
            "acceptance checks: measured stability (random weights, not trained) and cost-model predictions");

  nlohmann::json cfg = {{"n", ns}, {"depth", sc.depth}, {"d_model", sc.d_model}, {"tokens", sc.tokens},
                        {"diag", sc.diag}, {"sigma_b", sc.sigma_b}, {"dyn_std", sc.dyn_std}, {"t_max", sc.t_max},
                        {"cost_d_model", o.cost_c}, {"cost_t_max", o.cost_iters}, {"model", o.model}, {"hw", o.hw},
                        {"batch", o.batch}, {"gpus", o.gpus}, {"context", o.context}, {"backend", o.backend},
                        {"seed", sc.seed}};
  const std::string reduction = "stability at reduced shapes: C = " + std::to_string(sc.d_model) + " (production 4096 / 7168), " +
                                std::to_string(sc.tokens) + " random tokens, " + std::to_string(sc.depth) +
                                " sublayers, F = 0 (no sublayer output); cost at production shapes";
  nlohmann::json j = {{"command", "study streams"}, {"config", cfg}, {"reduction", reduction}, {"cost", cost_rows},
                      {"step", step_rows}, {"gain", gain_rows}, {"sinkhorn", sk_rows}, {"kernel_time", time_rows},
                      {"checks", checks}, {"checks_failed", n_fail}, {"run_id", nullptr}};
  if (db) {
    j["run_id"] = write_study_run(*db, {"streams", o.backend, sc.seed, cfg, reduction}, points);
  }

  std::ostream& out = *ctx.out;
  if (ctx.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  auto g4 = [](double x) {
    char b[32];
    std::snprintf(b, sizeof b, "%.4g", x);
    return std::string(b);
  };
  std::vector<std::vector<std::string>> rows;
  for (auto& r : cost_rows) {
    const auto& m = r["metrics"];
    rows.push_back({std::to_string(r["n"].get<int>()), std::to_string(r["d_model"].get<int64_t>()),
                    g4(m["bytes_fused"].get<double>() / 1e3), g4(m["bytes_plain"].get<double>() / 1e3),
                    g4(m["bytes_unfused"].get<double>() / 1e3), g4(m["flops_total"].get<double>() / 1e6),
                    g4(m["flops_sinkhorn"].get<double>()), g4(m["param_bytes_per_site"].get<double>() / 1e6),
                    g4(m["residual_bytes_per_token"].get<double>() / 1024)});
  }
  out << "study streams: cost per token per residual sublayer [prediction]\n";
  print_table(out, {"n", "C", "fused KB", "plain KB", "unfused KB", "MFLOP", "Sinkhorn FLOP", "params MB/site", "residual KiB/tok"}, rows);
  rows.clear();
  for (auto& r : step_rows)
    rows.push_back({r["n"].get<int>() == 0 ? "plain" : std::to_string(r["n"].get<int>()),
                    report::format_seconds(r["metrics"]["step_s"].get<double>()),
                    report::format_seconds(r["metrics"]["mhc_s"].get<double>()),
                    g4(100 * r["metrics"]["overhead"].get<double>()) + "%"});
  out << o.model << " decode step, batch " << o.batch << ", context " << o.context << " on " << o.gpus << "x " << o.hw
      << " [prediction]\n";
  print_table(out, {"n", "step", "mHC busy", "overhead"}, rows);
  rows.clear();
  for (auto& r : gain_rows)
    rows.push_back({std::to_string(r["n"].get<int>()), r["method"], r["convention"],
                    r["method"] == "mhc" ? std::to_string(r["t_max"].get<int>()) : "", g4(r["metrics"]["final_fwd_mean"].get<double>()),
                    g4(r["metrics"]["final_bwd_mean"].get<double>()), g4(r["metrics"]["final_bwd_max"].get<double>())});
  out << "composite gain after " << sc.depth << " sublayers [" << gain_label << "]\n";
  print_table(out, {"n", "method", "convention", "t_max", "fwd (mean)", "bwd (mean)", "bwd (max)"}, rows);
  print_study_checks(out, checks);
  if (db) out << "run " << j["run_id"] << " in " << ctx.db_path << "\n";
  return 0;
}

}  // namespace

void add_study_streams(CLI::App& study, Context& ctx) {
  auto o = std::make_shared<StreamsStudyOpts>();
  auto* c = study.add_subcommand("streams", "mHC stream-count sweep: modelled cost vs n and measured composite-gain "
                                            "stability of mHC vs unconstrained HC vs plain residual (studies.md (c))");
  c->add_option("--n", o->ns, "Stream counts n (hc_mult), each in 1..8")->delimiter(',')->capture_default_str()->check(CLI::Range(1, 8));
  c->add_option("--depth", o->s.depth, "Sublayers L of the stability stack (30 blocks x 2 = 60)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1024)));
  c->add_option("--d-model", o->s.d_model, "Hidden size C of the stability stack (production 4096 / 7168)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(16384)));
  c->add_option("--tokens", o->s.tokens, "Random tokens of the stability stack")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(4096)));
  c->add_option("--diag", o->s.diag, "Diagonal of the static residual logits")->capture_default_str()->check(CLI::Range(-20.0, 20.0));
  c->add_option("--sigma-b", o->s.sigma_b, "Std of the static residual logits E_l")->capture_default_str()->check(CLI::Range(0.0, 10.0));
  c->add_option("--dyn-std", o->s.dyn_std, "Target std of the dynamic term D_l from the pre-norm GEMM (scales phi)")
      ->capture_default_str()->check(CLI::Range(0.0, 10.0));
  c->add_option("--t-max", o->s.t_max, "Sinkhorn iterations t_max of the mHC curves")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(1, 1000));
  c->add_option("--cost-d-model", o->cost_c, "Hidden sizes C of the modelled cost table")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--cost-t-max", o->cost_iters, "Sinkhorn iterations of the modelled FLOPs")
      ->capture_default_str()->check(CLI::Range(1, 1000));
  c->add_option("--model", o->model, "V4 model preset of the step-time prediction (hc_mult overridden)")->capture_default_str();
  c->add_option("--hw", o->hw, "Hardware preset of the step-time prediction")->capture_default_str();
  c->add_option("--batch", o->batch, "Decode batch of the step-time prediction")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  c->add_option("--gpus", o->gpus, "GPUs of the step-time prediction (DP = EP = gpus, TP 1)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  c->add_option("--context", o->context, "Context (tokens) of the step-time prediction")
      ->capture_default_str()->check(CLI::Range(int64_t(0), int64_t(1) << 24));
  c->add_option("--backend", o->backend, "mHC kernels of the stability stack: cpu (FP32) | ref (FP64 reference)")
      ->capture_default_str()->check(CLI::IsMember({"cpu", "ref"}));
  c->add_option("--seed", o->s.seed, "Seed of the random tokens and weights")->capture_default_str();
  c->add_option("--stress-seeds", o->stress_seeds, "Seeds of the default-stress check (n = 4): median HC gain, worst mHC gain")
      ->capture_default_str()->check(CLI::Range(1, 101));
  c->add_flag("--no-save", o->no_save, "Do not write the run to --db")->capture_default_str();
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_streams_study(ctx, *o); }; });
}

}  // namespace v4lab::cli
