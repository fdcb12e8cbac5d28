// cmd_plan.cpp — `v4lab plan`: capacity planning (issue 6). Searches instance layouts (TP, EP, DP,
// GPUs, overlap, MTP), batches and replica counts for the fewest GPUs (or lowest cost) meeting a
// throughput target and TTFT/TPOT SLOs at a context; prints the Pareto set and the winner, or the
// closest miss with its reasons. Every number is a prediction. All candidates go to the DB as
// study_points (study "plan") of one run of kind "plan", in one transaction. Exit 0 also when nothing
// is feasible (JSON feasible=false); bad flag values exit 2.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <ostream>
#include <sstream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/presets.h"
#include "sim/op_cost.h"
#include "sim/planner.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {
std::string fmt(double v, const char* f = "%.4g") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');)
    if (!t.empty()) out.push_back(t);
  return out;
}

template <class T>
std::vector<T> parse_list(const std::string& flag, const std::string& s) {
  std::vector<T> out;
  for (const std::string& t : split(s)) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != t.size() || (std::is_integral_v<T> && double(T(v)) != v))
      throw usage_error(flag + " " + s + ": '" + t + "' is not " + (std::is_integral_v<T> ? "an integer" : "a number") +
                        " (expected a comma-separated list)");
    out.push_back(T(v));
  }
  if (out.empty()) throw usage_error(flag + " '" + s + "': expected a comma-separated list of values");
  return out;
}

// "--price 2.5" (every preset) or "--price h800_sxm=2,b200=5.5" (per preset; others keep their own).
std::vector<double> parse_prices(const std::string& s, const std::vector<std::string>& hws) {
  std::vector<double> out(hws.size(), -1.0);
  if (s.empty()) return out;
  if (s.find('=') == std::string::npos) {
    const double v = parse_list<double>("--price", s).at(0);
    if (split(s).size() != 1) throw usage_error("--price " + s + ": one value, or id=value pairs");
    if (v < 0) throw usage_error("--price " + s + ": must be >= 0 USD per GPU-hour");
    std::fill(out.begin(), out.end(), v);
    return out;
  }
  for (const std::string& kv : split(s)) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) throw usage_error("--price " + s + ": '" + kv + "' is not id=value");
    const std::string id = kv.substr(0, eq);
    const auto it = std::find(hws.begin(), hws.end(), id);
    if (it == hws.end()) throw usage_error("--price " + s + ": '" + id + "' is not one of the --hw presets");
    const double v = parse_list<double>("--price", kv.substr(eq + 1)).at(0);
    if (v < 0) throw usage_error("--price " + s + ": must be >= 0 USD per GPU-hour");
    out[it - hws.begin()] = v;
  }
  return out;
}

nlohmann::json point_json(const sim::PlanCandidate& c, const sim::PlanRequest& r) {
  return {{"hw", c.hw_id},          {"tp", c.dep.tp},         {"ep", c.dep.ep},
          {"dp", c.dep.dp},         {"gpus", c.dep.gpus},     {"overlap", c.dep.overlap},
          {"mtp_accept", c.dep.mtp_accept}, {"batch", c.batch}, {"batch_per_rank", c.batch_per_rank},
          {"context", r.context},   {"chunk", r.chunk}};
}

std::string reason_text(const sim::PlanCandidate& c) {
  std::string s;
  for (const std::string& r : c.reasons) s += (s.empty() ? "" : "; ") + r;
  return s;
}

nlohmann::json metrics_json(const sim::PlanCandidate& c) {
  nlohmann::json j = {{"feasible", c.feasible},
                      {"reason", reason_text(c)},
                      {"violations", c.violations},
                      {"timed", c.timed},
                      {"fits", c.fits},
                      {"hbm_bytes_per_gpu", c.hbm_bytes},
                      {"hbm_capacity_bytes", c.hbm_capacity_bytes},
                      {"hbm_shortfall_bytes", c.hbm_shortfall_bytes},
                      {"hbm_weights_bytes", c.hbm_weights_bytes},
                      {"hbm_kv_bytes", c.hbm_kv_bytes},
                      {"hbm_activation_bytes", c.hbm_activation_bytes},
                      {"hbm_engram_hot_bytes", c.hbm_engram_bytes},
                      {"host_bytes", c.host_bytes},
                      {"max_batch", c.max_batch},
                      {"replicas", c.replicas},
                      {"total_gpus", c.total_gpus},
                      {"price_usd_per_gpu_hour", c.price_usd_per_gpu_hour},
                      {"usd_per_hour", c.usd_per_hour},
                      {"pareto", c.pareto},
                      {"winner", c.winner},
                      {"miss", c.miss},
                      {"label", "prediction"}};
  if (c.timed) {
    j["ttft_s"] = c.ttft_s;
    j["tpot_s"] = c.tpot_s;
    j["effective_tpot_s"] = c.effective_tpot_s;
    j["decode_share"] = c.decode_share;
    j["decode_tokens_per_s_per_gpu"] = c.decode_tokens_per_s_per_gpu;
    j["decode_tokens_per_s_per_instance"] = c.decode_tokens_per_s;
    j["prefill_tokens_per_s_per_instance"] = c.prefill_tokens_per_s;
    j["usd_per_m_output_tokens_full_load"] = c.usd_per_m_output_tokens;
    j["usd_per_m_input_tokens_full_load"] = c.usd_per_m_input_tokens;
    j["meets_ttft"] = c.meets_ttft;
    j["meets_tpot"] = c.meets_tpot;
  }
  j["within_gpus"] = c.within_gpus;
  return j;
}

nlohmann::json candidate_json(const sim::PlanCandidate& c, const sim::PlanRequest& r, int index) {
  return {{"index", index}, {"point", point_json(c, r)}, {"metrics", metrics_json(c)}};
}

std::string describe(const sim::PlanCandidate& c) {
  return c.hw_id + " TP" + std::to_string(c.dep.tp) + " EP" + std::to_string(c.dep.ep) + " DP" + std::to_string(c.dep.dp) +
         " (" + std::to_string(c.dep.gpus) + " GPUs/instance" + (c.dep.overlap ? ", overlap" : "") +
         (c.dep.mtp_accept > 0 ? ", MTP accept " + fmt(c.dep.mtp_accept, "%.2f") : "") + "), batch " +
         std::to_string(c.batch) + " (" + std::to_string(c.batch_per_rank) + "/rank)";
}
}  // namespace

void add_plan_command(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string model, hw = "h800_sxm", objective = "gpus", price, tp = "1,2,4,8", ep_replicas = "1,2", instance_gpus,
                        batch = "1,2,4,8,12,16,24,32,48,64,96,128,192,256", overlap = "both", mtp_accept = "0";
    long long context = 4096, chunk = 4096;
    double target_out = 0, target_in = 0, tpot_ms = 0, ttft_ms = 0, kv_hit = 0;
    int max_gpus = 1024, max_instance_gpus = 256, threads = 0, top = 10, prefetch = 1;
    bool no_save = false, no_prune = false, all = false;
  };
  auto op = std::make_shared<Opts>();
  Opts& o = *op;
  auto* cmd = app.add_subcommand("plan", "Capacity planning: the fewest GPUs (or lowest cost) meeting a throughput "
                                         "target and TTFT/TPOT SLOs; Pareto set and winner (all predictions)");
  cmd->add_option("--model", o.model, "Model preset id (deepseek_v4_pro, deepseek_v4_flash, deepseek_v3, ...)")->required();
  cmd->add_option("--hw", o.hw, "Hardware preset id, or a comma-separated list to plan across them")->capture_default_str();
  cmd->add_option("--context", o.context, "Prompt tokens (TTFT) = tokens in the cache at the decode step")->capture_default_str();
  cmd->add_option("--chunk", o.chunk, "Prefill chunk: new tokens per sequence per step")->capture_default_str();
  cmd->add_option("--kv-hit-rate", o.kv_hit, "Share of each prompt in a prefix (KV) cache; TTFT prefills the rest (0..1)")
      ->capture_default_str();
  cmd->add_option("--target-tokens-per-s", o.target_out, "Service decode throughput target, output tokens/s (0: none)")
      ->capture_default_str();
  cmd->add_option("--target-input-tokens-per-s", o.target_in,
                  "Service prefill throughput target, input tokens/s (0: none); shares the instances with decode")
      ->capture_default_str();
  cmd->add_option("--tpot-ms", o.tpot_ms, "TPOT SLO in ms (0: none)")->capture_default_str();
  cmd->add_option("--ttft-ms", o.ttft_ms, "TTFT SLO in ms (0: none)")->capture_default_str();
  cmd->add_option("--max-gpus", o.max_gpus, "Most GPUs over all replicas")->capture_default_str();
  cmd->add_option("--objective", o.objective, "gpus (fewest total GPUs) or cost (lowest USD/hour)")->capture_default_str();
  cmd->add_option("--price", o.price,
                  "USD per GPU-hour: one value for every preset, or per preset as id=value,... (default: each "
                  "preset's price_usd_per_gpu_hour, 0 when it has none)");
  cmd->add_option("--tp", o.tp, "Attention TP sizes to try (comma list; must divide heads/o_groups, <= NVLink domain)")
      ->capture_default_str();
  cmd->add_option("--ep-replicas", o.ep_replicas, "Expert copies r to try: EP = instance GPUs / r (comma list)")
      ->capture_default_str();
  cmd->add_option("--instance-gpus", o.instance_gpus,
                  "GPUs per instance to try (comma list; default 1,2,4 below a node, then whole nodes)");
  cmd->add_option("--max-instance-gpus", o.max_instance_gpus, "Largest automatic instance size")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Decode batch per attention DP rank to try (comma list; instance batch = this x DP)")
      ->capture_default_str();
  cmd->add_option("--overlap", o.overlap, "Two-micro-batch overlap: off, on or both")->capture_default_str();
  cmd->add_option("--mtp-accept", o.mtp_accept, "MTP acceptance rates to try (comma list, 0..1; 0 = no speculative decode)")
      ->capture_default_str();
  cmd->add_option("--engram-prefetch", o.prefetch, "Engram host copy may start this many layers early")->capture_default_str();
  cmd->add_option("--threads", o.threads, "Evaluation threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--no-prune", o.no_prune, "Run the step model also where the memory model says HBM is short");
  cmd->add_option("--top", o.top, "Pareto rows to print")->capture_default_str();
  cmd->add_flag("--all", o.all, "With --json: include every candidate (they are always stored in the DB)");
  cmd->add_flag("--no-save", o.no_save, "Do not store the run in the database");
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      Opts& o = *op;
      if (o.top < 0) throw usage_error("--top " + std::to_string(o.top) + ": must be >= 0");
      if (o.overlap != "off" && o.overlap != "on" && o.overlap != "both")
        throw usage_error("--overlap " + o.overlap + ": expected off, on or both");
      sim::PlanRequest req;
      req.objective = sim::parse_objective(o.objective);
      req.model = load_model_preset(o.model, ctx.data_dir);
      const std::vector<std::string> hws = split(o.hw);
      if (hws.empty()) throw usage_error("--hw '" + o.hw + "': expected a preset id or a comma-separated list");
      for (const std::string& h : hws) req.hardware.push_back(load_hardware_preset(h, ctx.data_dir));
      req.context = o.context;
      req.chunk = o.chunk;
      req.kv_hit_rate = o.kv_hit;
      req.target_output_tokens_per_s = o.target_out;
      req.target_input_tokens_per_s = o.target_in;
      req.tpot_slo_s = o.tpot_ms * 1e-3;
      req.ttft_slo_s = o.ttft_ms * 1e-3;
      req.max_gpus = o.max_gpus;
      req.price_usd_per_gpu_hour = parse_prices(o.price, hws);
      req.engram_prefetch_layers = o.prefetch;
      req.threads = o.threads;
      req.prune_memory = !o.no_prune;
      req.grid.tp = parse_list<int>("--tp", o.tp);
      req.grid.ep_replicas = parse_list<int>("--ep-replicas", o.ep_replicas);
      if (!o.instance_gpus.empty()) req.grid.instance_gpus = parse_list<int>("--instance-gpus", o.instance_gpus);
      req.grid.max_instance_gpus = o.max_instance_gpus;
      req.grid.batch_per_rank = parse_list<int>("--batch", o.batch);
      req.grid.overlap = o.overlap == "both" ? std::vector<bool>{false, true} : std::vector<bool>{o.overlap == "on"};
      req.grid.mtp_accept = parse_list<double>("--mtp-accept", o.mtp_accept);
      if (o.tpot_ms < 0) throw usage_error("--tpot-ms " + fmt(o.tpot_ms, "%g") + ": must be >= 0 (0 = no SLO)");
      if (o.ttft_ms < 0) throw usage_error("--ttft-ms " + fmt(o.ttft_ms, "%g") + ": must be >= 0 (0 = no SLO)");
      sim::check_plan_request(req);
      bool calibrated = false;  // the label predict uses: calibrated efficiencies change the model's name
      for (const HardwarePreset& h : req.hardware) calibrated = calibrated || !h.efficiency.is_null();
      const char* cost_model = calibrated ? sim::kCalibratedModelName : sim::kCostModelName;

      std::ostream& err = *ctx.err;
      if (show_progress(ctx)) err << "plan: searching layouts of " << o.model << " on " << o.hw << " ...\n";
      const sim::PlanResult res = sim::plan(req);
      if (show_progress(ctx))
        err << "plan: " << res.candidates.size() << " candidates in " << fmt(res.elapsed_s, "%.2f") << " s\n";

      nlohmann::json cfg = {{"model", o.model},
                            {"hw", hws},
                            {"context", req.context},
                            {"chunk", req.chunk},
                            {"kv_hit_rate", req.kv_hit_rate},
                            {"target_output_tokens_per_s", req.target_output_tokens_per_s},
                            {"target_input_tokens_per_s", req.target_input_tokens_per_s},
                            {"ttft_slo_s", req.ttft_slo_s},
                            {"tpot_slo_s", req.tpot_slo_s},
                            {"max_gpus", req.max_gpus},
                            {"objective", sim::objective_name(req.objective)},
                            {"price_usd_per_gpu_hour", req.price_usd_per_gpu_hour},
                            {"grid",
                             {{"tp", req.grid.tp},
                              {"ep_replicas", req.grid.ep_replicas},
                              {"instance_gpus", req.grid.instance_gpus},
                              {"max_instance_gpus", req.grid.max_instance_gpus},
                              {"batch_per_rank", req.grid.batch_per_rank},
                              {"overlap", o.overlap},
                              {"mtp_accept", req.grid.mtp_accept}}},
                            {"engram_prefetch_layers", req.engram_prefetch_layers},
                            {"prune_memory", req.prune_memory},
                            {"cost_model", cost_model}};
      nlohmann::json summary = {{"n_candidates", res.candidates.size()},
                                {"n_layouts", res.n_layouts},
                                {"n_timed", res.n_timed},
                                {"n_pruned_by_memory", res.n_pruned},
                                {"n_feasible", res.n_feasible},
                                {"n_pareto", res.pareto.size()},
                                {"violation_counts", res.violation_counts},
                                {"best_tpot_s", res.best_tpot_s},
                                {"best_ttft_s", res.best_ttft_s},
                                {"elapsed_s", res.elapsed_s},
                                {"candidates_per_s", res.candidates_per_s},
                                {"threads", res.threads}};
      nlohmann::json j;
      j["label"] = "prediction";
      j["config"] = cfg;
      j["summary"] = summary;
      j["feasible"] = res.winner >= 0;
      j["winner"] = res.winner >= 0 ? candidate_json(res.candidates[res.winner], req, res.winner) : nlohmann::json();
      j["closest_miss"] =
          res.closest_miss >= 0 ? candidate_json(res.candidates[res.closest_miss], req, res.closest_miss) : nlohmann::json();
      j["pareto"] = nlohmann::json::array();
      for (int i : res.pareto) j["pareto"].push_back(candidate_json(res.candidates[i], req, i));

      if (!o.no_save) {
        const auto t0 = std::chrono::steady_clock::now();
        store::Store db(ctx.db_path);
        store::RunRecord rec;
        rec.info.kind = "plan";
        rec.info.name = o.model + "@" + o.hw + " plan";
        rec.info.config_json = cfg.dump();
        rec.info.notes = "all metrics are cost-model predictions (" + std::string(cost_model) + ")";
        rec.study_points.reserve(res.candidates.size());
        for (const sim::PlanCandidate& c : res.candidates) {
          store::StudyPoint p;
          p.study = "plan";
          p.point_json = point_json(c, req).dump();
          p.metrics_json = metrics_json(c).dump();
          p.label = "prediction";
          rec.study_points.push_back(std::move(p));
        }
        j["run_id"] = db.write_run(rec);  // one transaction, one prepared insert reused per row
        j["store_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }

      std::ostream& out = *ctx.out;
      if (ctx.json) {
        if (o.all) {
          j["candidates"] = nlohmann::json::array();
          for (size_t i = 0; i < res.candidates.size(); ++i)
            j["candidates"].push_back(candidate_json(res.candidates[i], req, int(i)));
        }
        out << j.dump(2) << "\n";
        return 0;
      }
      out << "v4lab plan — " << req.model.display << " on " << o.hw << ", context " << req.context << "; target "
          << fmt(req.target_output_tokens_per_s, "%.0f") << " output tok/s"
          << (req.target_input_tokens_per_s > 0 ? " + " + fmt(req.target_input_tokens_per_s, "%.0f") + " input tok/s" : "")
          << "; SLO TPOT " << (req.tpot_slo_s > 0 ? fmt(o.tpot_ms, "%g") + " ms" : "none") << ", TTFT "
          << (req.ttft_slo_s > 0 ? fmt(o.ttft_ms, "%g") + " ms" : "none") << "; max " << req.max_gpus
          << " GPUs; objective " << o.objective << "\n";
      out << "All numbers are predictions (" << cost_model << " node times, list-scheduled step DAGs).\n";
      out << "evaluated " << res.candidates.size() << " candidates (" << res.n_layouts << " layouts; " << res.n_timed
          << " timed by the step model, " << res.n_pruned << " settled by the memory model) in " << fmt(res.elapsed_s, "%.2f")
          << " s = " << fmt(res.candidates_per_s, "%.0f") << " candidates/s on " << res.threads << " threads; "
          << res.n_feasible << " feasible\n\n";
      for (size_t h = 0; h < hws.size(); ++h)
        for (const sim::PlanCandidate& c : res.candidates)
          if (c.hw_index == int(h)) {
            if (c.price_usd_per_gpu_hour <= 0)
              out << "note: no price for " << hws[h] << " (0 USD/GPU-hour): USD figures are 0; pass --price " << hws[h]
                  << "=VALUE\n";
            break;
          }
      if (res.winner >= 0) {
        out << "Pareto set (prediction; " << (req.objective == sim::PlanObjective::Gpus ? "total GPUs" : "USD/hour")
            << " vs TPOT vs decode tokens/s per GPU): " << res.pareto.size() << " points"
            << (int(res.pareto.size()) > o.top ? ", first " + std::to_string(o.top) : "") << "\n";
        std::vector<std::vector<std::string>> rows;
        for (int k = 0; k < int(res.pareto.size()) && k < o.top; ++k) {
          const sim::PlanCandidate& c = res.candidates[res.pareto[k]];
          rows.push_back({c.hw_id, std::to_string(c.dep.tp), std::to_string(c.dep.ep), std::to_string(c.dep.dp),
                          c.dep.overlap ? "on" : "off", fmt(c.dep.mtp_accept, "%.2f"), std::to_string(c.batch),
                          std::to_string(c.replicas), std::to_string(c.total_gpus), fmt(c.usd_per_hour, "%.1f"),
                          fmt(c.ttft_s * 1e3, "%.1f"), fmt(c.effective_tpot_s * 1e3, "%.2f"),
                          fmt(c.decode_tokens_per_s_per_gpu, "%.1f"), fmt(c.hbm_bytes / 1e9, "%.1f")});
        }
        print_table(out, {"hw", "TP", "EP", "DP", "overlap", "MTP", "batch", "replicas", "GPUs", "USD/h", "TTFT ms",
                          "TPOT ms", "tok/s/GPU", "HBM GB/GPU"},
                    rows);
        const sim::PlanCandidate& w = res.candidates[res.winner];
        out << "\nwinner (prediction): " << w.replicas << " x " << describe(w) << " = " << w.total_gpus << " GPUs, $"
            << fmt(w.usd_per_hour, "%.2f") << "/h; TTFT " << fmt(w.ttft_s * 1e3, "%.1f") << " ms, TPOT "
            << fmt(w.effective_tpot_s * 1e3, "%.2f") << " ms, " << fmt(w.decode_tokens_per_s_per_gpu, "%.1f")
            << " decode tok/s per GPU, HBM " << fmt(w.hbm_bytes / 1e9, "%.1f") << " of "
            << fmt(w.hbm_capacity_bytes / 1e9, "%.0f") << " GB per GPU\n";
      } else {
        out << "NO feasible deployment (prediction) for this target.\n";
        if (res.closest_miss >= 0) {
          const sim::PlanCandidate& c = res.candidates[res.closest_miss];
          out << "closest miss: " << (c.replicas > 0 ? std::to_string(c.replicas) + " x " : "") << describe(c) << ": "
              << reason_text(c) << "\n";
        }
        out << "violations over all candidates:";
        for (auto& [k, v] : res.violation_counts) out << " " << k << " " << v << ";";
        out << "\n";
        if (res.n_timed > 0)
          out << "best predicted TPOT over the candidates " << fmt(res.best_tpot_s * 1e3, "%.2f") << " ms, best TTFT "
              << fmt(res.best_ttft_s * 1e3, "%.1f") << " ms\n";
      }
      if (j.contains("run_id"))
        out << "stored run " << j["run_id"].get<long long>() << " (kind plan, " << res.candidates.size()
            << " study points) in " << ctx.db_path << "\n";
      return 0;
    };
  });
}

}  // namespace v4lab::cli
