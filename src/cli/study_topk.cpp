// study_topk.cpp — `v4lab study topk` (specs/studies.md (b)): for DSA (V3.2) and CSA (V4) across k,
// the modelled cost (FLOPs and bytes split, step time at several contexts; sim/studies/topk_cost) and
// the measured selection quality of the real kernels on structured synthetic inputs
// (study_topk_quality), with the acceptance checks. Stores a run of kind "study" with study_points
// (study = "topk"), each labelled prediction or measured.
#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/cli.h"
#include "cli/cmd_study.h"
#include "cli/common.h"
#include "cli/study_common.h"
#include "cli/study_topk_quality.h"
#include "core/error.h"
#include "core/presets.h"
#include "report/report.h"
#include "sim/studies/topk_cost.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct TopkStudyOpts {
  std::vector<std::string> archs = {"dsa", "csa"};
  std::string dsa_model = "deepseek_v32";
  std::string csa_model = "deepseek_v4_flash";
  std::vector<int64_t> contexts = {4096, 16384, 65536, 131072, 1048576};
  std::vector<int64_t> cost_ks = {64, 128, 256, 512, 1024, 2048, 4096, 8192};
  std::string hw = "h800_sxm";
  int64_t batch = 8;
  int gpus = 8;
  std::vector<std::string> families = {"random", "local", "clustered", "needle", "heavy_tail"};
  std::vector<int64_t> ks = {16, 32, 64, 128, 256, 512, 1024, 2048, 4096};
  TopkQualityConfig q;
  std::string backend = "cpu";
  bool skip_quality = false;
  bool no_save = false;
};

nlohmann::json k_json(int64_t k) { return k == sim::kTopkDense ? nlohmann::json("dense") : nlohmann::json(k); }

nlohmann::json check(const std::string& name, const std::string& arch, std::optional<bool> passed, const std::string& detail) {
  return study_check(name, passed, detail, arch);
}

std::string reduction_text(const TopkStudyOpts& o) {
  const auto& q = o.q;
  return "quality at reduced shapes: N = " + std::to_string(q.n_cand) + " candidates (DSA context " +
         std::to_string(q.n_cand) + ", CSA context " + std::to_string(4 * q.n_cand) + " + window " +
         std::to_string(q.window) + "), " + std::to_string(q.queries) + " decode queries, " + std::to_string(q.heads) +
         " heads (production 128 / 64), d_head " + std::to_string(q.d_head) + " (576 / 512; the indexer's random "
         "orthonormal projection to 128 dims is exact only for d_head <= 128), " +
         std::to_string(q.idx_heads) + " indexer heads (64), no RoPE; CSA keys are written at entry level "
         "(specs/attention.md §5 step 6), the compressor is not run. Cost and step time at production shapes.";
}

int run_topk_study(Context& ctx, const TopkStudyOpts& o) {
  const bool progress = show_progress(ctx);
  std::unique_ptr<store::Store> db;
  if (!o.no_save) db = std::make_unique<store::Store>(ctx.db_path);
  const HardwarePreset hw = resolve_hardware(o.hw, ctx, db.get());
  sim::Deployment dep;
  dep.gpus = o.gpus, dep.dp = o.gpus, dep.ep = o.gpus, dep.tp = 1;
  TopkQualityConfig qc = o.q;
  qc.reference = o.backend == "ref";
  std::vector<TopkFamily> fams;
  for (auto& f : o.families) fams.push_back(parse_topk_family(f));
  std::vector<int64_t> ks = o.ks, cost_ks = o.cost_ks, contexts = o.contexts;
  std::sort(ks.begin(), ks.end()), std::sort(cost_ks.begin(), cost_ks.end()), std::sort(contexts.begin(), contexts.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  cost_ks.erase(std::unique(cost_ks.begin(), cost_ks.end()), cost_ks.end());
  contexts.erase(std::unique(contexts.begin(), contexts.end()), contexts.end());

  const std::string cost_label = "prediction: op catalogue FLOPs, production-layout bytes (per query token per layer, decode)";
  const std::string step_label = "prediction: predict_step (roofline-v1) on " + o.hw;
  const std::string q_label = "measured: real " + o.backend +
                              " kernels (indexer, attn_topk, attn_sparse) on synthetic inputs, not model activations "
                              "(reduced shapes)";
  nlohmann::json cost_rows = nlohmann::json::array(), step_rows = nlohmann::json::array(),
                 quality_rows = nlohmann::json::array(), checks = nlohmann::json::array();
  std::vector<store::StudyPoint> points;
  auto add_point = [&](const nlohmann::json& point, const nlohmann::json& metrics, const std::string& label) {
    store::StudyPoint sp;
    sp.study = "topk";
    sp.point_json = point.dump();
    sp.metrics_json = metrics.dump();
    sp.label = label;
    points.push_back(sp);
  };

  for (const std::string& arch_name : o.archs) {
    const ModelPreset m = load_model_preset(arch_name == "dsa" ? o.dsa_model : o.csa_model, ctx.data_dir);
    const sim::TopkArchShape shape = sim::topk_arch_shape(m);
    const std::string want = arch_name;
    if (sim::topk_arch_name(shape.arch) != want)
      throw usage_error("--" + want + "-model " + m.id + " is a " + sim::topk_arch_name(shape.arch) + " preset, not " + want);
    // ---- modelled: cost and step per (L, k), dense last ----
    bool cost_monotone = true, idx_constant = true, attn_linear = true, step_monotone = true;
    for (int64_t L : contexts) {
      std::vector<int64_t> kk = cost_ks;
      kk.push_back(sim::kTopkDense);
      double prev_f = -1, prev_b = -1, prev_step = -1;
      std::optional<sim::TopkCost> first;
      for (int64_t k : kk) {
        if (progress) *ctx.err << "\rstudy topk: cost " << want << " L=" << L << " k=" << k_json(k).dump() << "        " << std::flush;
        // The dense CSA reference needs top_k = N; past the catalogue's range it is reported, not modelled.
        std::optional<sim::TopkCost> cc;
        std::string cost_note;
        try {
          cc = sim::topk_cost(shape, L, k);
        } catch (const Error& e) {
          if (k != sim::kTopkDense) throw;
          cost_note = e.what();
        }
        const sim::TopkStep st = sim::topk_step(m, shape, hw, dep, o.batch, L, k);
        nlohmann::json pt = {{"kind", "cost"}, {"arch", want}, {"model", m.id}, {"context", L}, {"k", k},
                             {"dense", k == sim::kTopkDense}};
        nlohmann::json cm = {{"ok", false}, {"note", cost_note}};
        if (cc) {
          const sim::TopkCost& c = *cc;
          cm = {{"ok", true}, {"n_cand", c.n_cand}, {"k_eff", c.k_eff}, {"attended", c.attended},
                {"proj_flops", c.proj_flops}, {"scoring_flops", c.scoring_flops},
                {"selection_flops", c.selection_flops}, {"attn_flops", c.attn_flops},
                {"total_flops", c.total_flops()}, {"key_bytes", c.key_bytes},
                {"score_bytes", c.score_bytes}, {"kv_bytes", c.kv_bytes}, {"total_bytes", c.total_bytes()}};
        }
        add_point(pt, cm, cost_label);
        nlohmann::json row = pt;
        row["metrics"] = cm;
        row["k"] = k_json(k);
        cost_rows.push_back(row);
        nlohmann::json spt = {{"kind", "step"}, {"arch", want}, {"model", m.id}, {"hw", o.hw}, {"batch", o.batch},
                              {"gpus", o.gpus}, {"context", L}, {"k", k}, {"dense", k == sim::kTopkDense}};
        nlohmann::json sm = {{"ok", st.ok}, {"note", st.note}};
        if (st.ok) sm.update({{"step_s", st.step_s}, {"attention_s", st.attention_s}, {"flops", st.flops}, {"bytes_mem", st.bytes_mem}});
        add_point(spt, sm, step_label);
        nlohmann::json srow = spt;
        srow["metrics"] = sm;
        srow["k"] = k_json(k);
        step_rows.push_back(srow);
        if (k == sim::kTopkDense) continue;
        const sim::TopkCost& c = *cc;
        if (c.total_flops() < prev_f || c.total_bytes() < prev_b) cost_monotone = false;
        if (st.ok && st.step_s < prev_step) step_monotone = false;
        prev_f = c.total_flops(), prev_b = c.total_bytes(), prev_step = st.ok ? st.step_s : prev_step;
        if (!first) {
          first = c;
        } else {
          if (c.proj_flops != first->proj_flops || c.scoring_flops != first->scoring_flops) idx_constant = false;
          // Linear in k_eff: the attention FLOPs grow by one entry's cost per extra selected entry.
          if (first->k_eff < first->n_cand) {
            const double unit = sim::topk_cost(shape, L, first->k_eff + 1).attn_flops - first->attn_flops;
            if (c.attn_flops - first->attn_flops != unit * double(c.k_eff - first->k_eff)) attn_linear = false;
          }
        }
      }
    }
    checks.push_back(check("cost (FLOPs and bytes) non-decreasing in k at every context", want, cost_monotone, "modelled"));
    checks.push_back(check("indexer cost constant in k; attention linear in k_eff", want, idx_constant && attn_linear,
                           "modelled (studies.md (b) check 5)"));
    checks.push_back(check("predicted step time non-decreasing in k at every context", want, step_monotone, o.hw));
    if (o.skip_quality) continue;
    // ---- measured: quality per family over k ----
    std::map<TopkFamily, std::vector<TopkQualityPoint>> by_fam;
    int fi = 0;
    for (TopkFamily f : fams) {
      if (progress)
        *ctx.err << "\rstudy topk: measuring " << want << " " << topk_family_name(f) << " (" << ++fi << "/" << fams.size()
                 << ")            " << std::flush;
      by_fam[f] = measure_topk_quality(shape.arch, f, ks, qc);
    }
    bool ge_n_ok = true, ge_n_seen = false, omono = true, imono = true, oge = true, needle_ok = true, needle_seen = false;
    for (auto& [f, pts] : by_fam) {
      for (size_t i = 0; i < pts.size(); ++i) {
        const TopkQualityPoint& p = pts[i];
        nlohmann::json pt = {{"kind", "quality"}, {"arch", want}, {"model", m.id}, {"family", topk_family_name(f)},
                             {"k", p.k}, {"n_cand", p.n_cand}, {"window", p.window}, {"sigma_i", qc.sigma_i},
                             {"backend", o.backend}, {"precision", want == "dsa" ? "fp8+hadamard" : "fp4+hadamard"}};
        nlohmann::json qm = {{"k_eff", p.k_eff}, {"recall_mean", p.recall_mean}, {"recall_p5", p.recall_p5},
                             {"recall_min", p.recall_min}, {"oracle_recall_mean", p.oracle_recall_mean},
                             {"oracle_recall_p5", p.oracle_recall_p5}, {"oracle_recall_min", p.oracle_recall_min},
                             {"recall_compressed_mean", p.recall_compressed_mean}, {"overlap_mean", p.overlap_mean},
                             {"random_baseline", p.random_baseline}, {"err_mean", p.err_mean}, {"err_p99", p.err_p99},
                             {"err_max", p.err_max}, {"cos_min", p.cos_min},
                             {"sparse_equals_dense", p.sparse_equals_dense}, {"measured_topk_s", p.topk_s},
                             {"measured_sparse_s", p.sparse_s}, {"measured_indexer_s", p.indexer_s}};
        if (p.needles_found >= 0) qm["needles_found"] = p.needles_found;
        add_point(pt, qm, q_label);
        nlohmann::json row = pt;
        row["metrics"] = qm;
        quality_rows.push_back(row);
        if (p.k >= p.n_cand) {
          ge_n_seen = true;
          const bool all_one = std::all_of(p.recall.begin(), p.recall.end(), [](double r) { return r == 1.0; });
          ge_n_ok = ge_n_ok && all_one && p.sparse_equals_dense && p.err_max == 0;
        }
        if (i > 0)
          for (size_t s = 0; s < p.recall.size(); ++s) {
            if (p.oracle_recall[s] < pts[i - 1].oracle_recall[s]) omono = false;
            if (p.recall[s] < pts[i - 1].recall[s]) imono = false;
          }
        // Oracle ≥ indexer per query (head-averaged); 1e-6 covers the FP32 Σ_h p the oracle ranks by.
        const size_t H = size_t(qc.heads);
        for (size_t qi = 0; qi * H < p.recall.size(); ++qi) {
          double a = 0, b = 0;
          for (size_t h = 0; h < H; ++h) a += p.oracle_recall[qi * H + h], b += p.recall[qi * H + h];
          if (a / double(H) < b / double(H) - 1e-6) oge = false;
        }
        if (f == TopkFamily::Needle && qc.sigma_i == 0 && p.k >= qc.needles) {
          needle_seen = true;
          needle_ok = needle_ok && p.needles_found == 1.0;
        }
      }
    }
    checks.push_back(check("k >= N: recall = 1 exactly and sparse output = dense", want,
                           ge_n_seen ? std::optional<bool>(ge_n_ok) : std::nullopt,
                           ge_n_seen ? "every (query, head), every family" : "skipped: no k >= N in --k"));
    checks.push_back(check("oracle recall non-decreasing in k (every query and head)", want, omono, "measured"));
    checks.push_back(check("indexer recall non-decreasing in k (every query and head)", want, imono, "measured"));
    checks.push_back(check("oracle recall >= indexer recall for every query", want, oge, "head-averaged, tolerance 1e-6"));
    checks.push_back(check("needle, sigma_I = 0: all needles selected once k >= m", want,
                           needle_seen ? std::optional<bool>(needle_ok) : std::nullopt,
                           needle_seen ? "m = " + std::to_string(qc.needles) : "skipped: needs the needle family, sigma_I = 0 and k >= m"));
  }
  if (progress) *ctx.err << "\rstudy topk: done" << std::string(40, ' ') << "\n";

  nlohmann::json cfg = {{"archs", o.archs}, {"dsa_model", o.dsa_model}, {"csa_model", o.csa_model},
                        {"contexts", contexts}, {"cost_k", cost_ks}, {"hw", o.hw}, {"batch", o.batch},
                        {"gpus", o.gpus}, {"families", o.families}, {"k", ks}, {"n_cand", qc.n_cand},
                        {"queries", qc.queries}, {"heads", qc.heads}, {"d_head", qc.d_head}, {"idx_heads", qc.idx_heads},
                        {"window", qc.window}, {"sigma_i", qc.sigma_i}, {"needles", qc.needles}, {"rho", qc.rho},
                        {"gamma", qc.gamma}, {"phi", qc.phi}, {"strength", qc.strength}, {"clusters", qc.clusters},
                        {"pareto_alpha", qc.pareto_alpha}, {"backend", o.backend}, {"seed", qc.seed},
                        {"skip_quality", o.skip_quality}};
  const int n_fail = count_failed_checks(checks);
  add_point({{"kind", "checks"}}, {{"checks", checks}, {"failed", n_fail}},
            "acceptance checks: measured quality (synthetic inputs, not model activations) and cost-model predictions");
  nlohmann::json j = {{"command", "study topk"}, {"config", cfg}, {"reduction", reduction_text(o)}, {"cost", cost_rows},
                      {"step", step_rows}, {"quality", quality_rows}, {"checks", checks}, {"checks_failed", n_fail}};
  j["run_id"] = nullptr;
  if (db) {
    j["run_id"] = write_study_run(*db, {"topk", o.backend, qc.seed, cfg, reduction_text(o)}, points);
  }

  std::ostream& out = *ctx.out;
  if (ctx.json) {
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "study topk: " << contexts.size() << " contexts x " << cost_ks.size() + 1 << " k (modelled, " << o.hw << "), "
      << fams.size() << " families x " << ks.size() << " k (measured, " << o.backend << ")\n";
  auto f3 = [](double x) { return std::to_string(x).substr(0, 6); };
  std::vector<std::vector<std::string>> rows;
  for (auto& r : step_rows) {
    const auto& cm = cost_rows[rows.size()]["metrics"];
    const bool ok = cm["ok"].get<bool>();
    rows.push_back({r["arch"], std::to_string(r["context"].get<int64_t>()),
                    r["k"].is_string() ? r["k"].get<std::string>() : r["k"].dump(),
                    ok ? f3(cm["total_flops"].get<double>() / 1e6) : "n/a", ok ? f3(cm["total_bytes"].get<double>() / 1e6) : "n/a",
                    r["metrics"]["ok"].get<bool>() ? report::format_seconds(r["metrics"]["step_s"].get<double>()) : "n/a"});
  }
  out << "cost per query token per layer [prediction]; step = whole decode step, batch " << o.batch << " on " << o.gpus
      << " GPUs [prediction]\n";
  print_table(out, {"arch", "context", "k", "MFLOP", "MB", "step"}, rows);
  if (!quality_rows.empty()) {
    rows.clear();
    for (auto& r : quality_rows) {
      const auto& qm = r["metrics"];
      rows.push_back({r["arch"], r["family"], std::to_string(r["k"].get<int64_t>()), f3(qm["recall_mean"].get<double>()),
                      f3(qm["recall_p5"].get<double>()), f3(qm["oracle_recall_mean"].get<double>()),
                      f3(qm["overlap_mean"].get<double>()), f3(qm["random_baseline"].get<double>()),
                      f3(qm["err_mean"].get<double>())});
    }
    out << "selection quality [measured, synthetic inputs, not model activations]; " << reduction_text(o) << "\n";
    print_table(out, {"arch", "family", "k", "recall", "p5", "oracle", "overlap", "random", "err"}, rows);
  }
  print_study_checks(out, checks);
  if (db) out << "run " << j["run_id"] << " in " << ctx.db_path << "\n";
  return 0;
}

}  // namespace

void add_study_topk(CLI::App& study, Context& ctx) {
  auto o = std::make_shared<TopkStudyOpts>();
  auto* c = study.add_subcommand("topk", "DSA / CSA top-k sweep: modelled cost vs k and context, measured selection "
                                         "quality of the real kernels on structured synthetic inputs (studies.md (b))");
  c->add_option("--arch", o->archs, "Architectures: dsa (V3.2 token-level) and/or csa (V4 compressed entries)")
      ->delimiter(',')->capture_default_str()->check(CLI::IsMember({"dsa", "csa"}));
  c->add_option("--dsa-model", o->dsa_model, "Model preset of the DSA arch (needs index_topk, no compress_ratios)")
      ->capture_default_str();
  c->add_option("--csa-model", o->csa_model, "Model preset of the CSA arch (a V4 preset)")->capture_default_str();
  c->add_option("--contexts", o->contexts, "Contexts L of the modelled cost and step time (tokens)")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 24));
  c->add_option("--cost-k", o->cost_ks, "k values of the modelled cost (the dense reference is always added)")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--hw", o->hw, "Hardware preset of the step-time prediction")->capture_default_str();
  c->add_option("--batch", o->batch, "Decode batch (sequences) of the step-time prediction")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(1) << 20));
  c->add_option("--gpus", o->gpus, "GPUs of the step-time prediction (DP = EP = gpus, TP 1)")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  c->add_option("--families", o->families, "Measured input families: random, local, clustered, needle, heavy_tail")
      ->delimiter(',')->capture_default_str()->check(CLI::IsMember({"random", "local", "clustered", "needle", "heavy_tail"}));
  c->add_option("--k", o->ks, "k values of the measured quality (include one >= --n-cand for the k >= N check)")
      ->delimiter(',')->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--n-cand", o->q.n_cand, "Measured candidates N (DSA context N; CSA context 4N plus the window)")
      ->capture_default_str()->check(CLI::Range(int64_t(8), int64_t(65536)));
  c->add_option("--queries", o->q.queries, "Measured decode queries (independent draws, each sees all N)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(4096)));
  c->add_option("--heads", o->q.heads, "Attention heads of the measured runs (production 128 / 64)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(256)));
  c->add_option("--d-head", o->q.d_head, "Key width of the measured runs (production 576 / 512)")
      ->capture_default_str()->check(CLI::Range(int64_t(8), int64_t(4096)));
  c->add_option("--idx-heads", o->q.idx_heads, "Indexer heads (production 64)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(256)));
  c->add_option("--window", o->q.window, "CSA sliding window (always attended)")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--sigma-i", o->q.sigma_i, "Indexer key noise sigma_I, relative to the projected key RMS")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  c->add_option("--needles", o->q.needles, "needle: planted keys m per query")
      ->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(4096)));
  c->add_option("--rho", o->q.rho, "needle: target planted attention mass")->capture_default_str()->check(CLI::Range(0.01, 0.99));
  c->add_option("--gamma", o->q.gamma, "Query noise gamma (needle, local, clustered)")
      ->capture_default_str()->check(CLI::Range(0.0, 10.0));
  c->add_option("--phi", o->q.phi, "local: AR(1) correlation of consecutive keys")
      ->capture_default_str()->check(CLI::Range(0.0, 0.9999));
  c->add_option("--strength", o->q.strength, "local / clustered: logit scale of the query alignment")
      ->capture_default_str()->check(CLI::Range(0.0, 100.0));
  c->add_option("--clusters", o->q.clusters, "clustered: centroids")->capture_default_str()->check(CLI::Range(int64_t(1), int64_t(65536)));
  c->add_option("--pareto-alpha", o->q.pareto_alpha, "heavy_tail: Pareto tail index of the key norms")
      ->capture_default_str()->check(CLI::Range(0.1, 100.0));
  c->add_option("--backend", o->backend, "Kernels of the measured runs: cpu (FP32) | ref (FP64 reference)")
      ->capture_default_str()->check(CLI::IsMember({"cpu", "ref"}));
  c->add_option("--seed", o->q.seed, "Seed of the synthetic inputs")->capture_default_str();
  c->add_flag("--skip-quality", o->skip_quality, "Modelled cost and step time only (no kernel runs)")->capture_default_str();
  c->add_flag("--no-save", o->no_save, "Do not write the run to --db")->capture_default_str();
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_topk_study(ctx, *o); }; });
}

}  // namespace v4lab::cli
