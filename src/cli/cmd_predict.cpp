// cmd_predict.cpp — `v4lab predict`: whole-model step prediction (cost-model issue): per-layer-type
// and per-family breakdown, memory footprint vs HBM capacity, serving metrics (TTFT, TPOT, tokens/s,
// $/Mtok). Every number is labelled a prediction; the run is stored (kind "predict") in one transaction.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/trace_capture.h"
#include "core/error.h"
#include "core/presets.h"
#include "sim/context_dist.h"
#include "sim/op_cost.h"
#include "sim/step_model.h"
#include "report/report.h"
#include "report/trace.h"
#include "store/store.h"
#include "store/trace_store.h"

namespace v4lab::cli {

namespace {
std::string fmt(double v, const char* f = "%.4g") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
nlohmann::json step_json(const sim::StepCost& c) {
  nlohmann::json j = {{"step_s", c.step_s},
                      {"dag_critical_path_s", c.schedule.dag_critical_path_s},
                      {"busy_s", {{"compute", c.schedule.busy_s[0]}, {"comm", c.schedule.busy_s[1]}, {"host", c.schedule.busy_s[2]}}},
                      {"by_layer_type_s", c.by_layer_type_s},
                      {"by_family_s", c.by_family_s},
                      {"flops", c.flops},
                      {"bytes_mem", c.bytes_mem},
                      {"bytes_net", c.bytes_net},
                      {"bytes_host", c.bytes_host},
                      {"n_nodes", c.n_nodes},
                      {"tokens_per_gpu", c.tokens_per_gpu},
                      {"critical_path_nodes", c.schedule.critical_path.size()},
                      {"missing_ops", c.missing_ops},
                      {"label", "prediction"}};
  return j;
}
}  // namespace

void add_predict_command(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string model, hw = "h800_sxm", phase = "decode", trace, context_dist;
    long long batch = 1, context = 4096, chunk = 4096;
    int tp = 1, ep = 0, dp = 0, gpus = 0, prefetch = 1, repeat = 0;
    bool overlap = false, no_mtp = false, no_save = false;
    double mtp_accept = 0, price = -1, kv_hit = 0, engram_hot = 0, engram_hit = -1;
  };
  auto op = std::make_shared<Opts>();
  Opts& o = *op;
  auto* cmd = app.add_subcommand("predict", "Predict one step of a whole model (prefill chunk or decode step): "
                                            "breakdown, memory, TTFT/TPOT/throughput/cost (all predictions)");
  cmd->add_option("--model", o.model, "Model preset id (deepseek_v4_pro, deepseek_v4_flash, deepseek_v3, ...)")->required();
  cmd->add_option("--hw", o.hw, "Hardware preset id")->capture_default_str();
  cmd->add_option("--phase", o.phase, "prefill (one chunk) or decode (one step)")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Sequences in the step over the whole deployment")->capture_default_str();
  cmd->add_option("--context", o.context, "Tokens already in the cache per sequence (also the TTFT prompt length)")
      ->capture_default_str();
  cmd->add_option("--context-dist", o.context_dist,
                  "Context lengths of the batch's sequences (replaces --context): lognormal:mean=M,sigma=S[,buckets=K], "
                  "uniform:LO,HI[,buckets=K], point:N or csv:PATH ('context,weight' lines); deterministic quantile "
                  "buckets; TTFT reported as mean/p50/p99");
  cmd->add_option("--chunk", o.chunk, "Prefill chunk: new tokens per sequence per step")->capture_default_str();
  cmd->add_option("--tp", o.tp, "Attention tensor parallel (must divide the heads)")->capture_default_str();
  cmd->add_option("--ep", o.ep, "Expert parallel ranks (default: --gpus)");
  cmd->add_option("--dp", o.dp, "Attention data parallel (default: gpus / tp)");
  cmd->add_option("--gpus", o.gpus, "GPUs (default: 8 = one node; must equal tp x dp)");
  cmd->add_flag("--overlap", o.overlap, "Two-micro-batch overlap of communication and compute");
  cmd->add_option("--mtp-accept", o.mtp_accept, "MTP draft acceptance rate; > 0 enables speculative decode (0..1)")
      ->capture_default_str();
  cmd->add_flag("--no-mtp", o.no_mtp, "Do not run the MTP block");
  cmd->add_option("--engram-prefetch", o.prefetch, "Engram host copy may start this many layers early")->capture_default_str();
  cmd->add_option("--engram-hot-fraction", o.engram_hot,
                  "Share of the Engram table rows cached in every GPU's HBM (0..1; 0 = every row from host RAM)")
      ->capture_default_str();
  cmd->add_option("--engram-hot-hit-rate", o.engram_hit,
                  "Share of Engram lookups the HBM hot cache serves (0..1; default: the hot fraction, the uniform-"
                  "access bound; use the hit rate of `v4lab engram cache-sim`)");
  cmd->add_option("--kv-hit-rate", o.kv_hit, "Share of each prompt already in a prefix (KV) cache; TTFT prefills the rest (0..1)")
      ->capture_default_str();
  cmd->add_option("--price", o.price, "USD per GPU-hour (default: the hardware preset's price)");
  cmd->add_option("--repeat", o.repeat, "Time N repeated step schedules of the prebuilt graph (prints median µs)");
  cmd->add_flag("--no-save", o.no_save, "Do not store the run in the database");
  cmd->add_option("--trace", o.trace,
                  "Write the predicted schedule of the step as a Chrome trace (one track per stream: compute, comm, "
                  "host; open in ui.perfetto.dev)");
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      Opts& o = *op;
      if (o.phase != "prefill" && o.phase != "decode")
        throw usage_error("--phase " + o.phase + ": expected prefill or decode");
      if (o.batch < 1) throw usage_error("--batch " + std::to_string(o.batch) + ": must be >= 1");
      if (o.tp < 1) throw usage_error("--tp " + std::to_string(o.tp) + ": must be >= 1");
      if (!o.trace.empty()) require_writable_output(o.trace, "--trace");
      const ModelPreset m = load_model_preset(o.model, ctx.data_dir);
      const HardwarePreset hw = load_hardware_preset(o.hw, ctx.data_dir);
      sim::Deployment dep;
      dep.tp = o.tp;
      dep.gpus = o.gpus > 0 ? o.gpus : (o.dp > 0 ? o.dp * o.tp : std::max(8, o.tp));
      dep.dp = o.dp > 0 ? o.dp : std::max(1, dep.gpus / o.tp);
      dep.ep = o.ep > 0 ? o.ep : dep.gpus;
      dep.overlap = o.overlap;
      dep.mtp = !o.no_mtp;
      dep.mtp_accept = o.mtp_accept;
      dep.engram_prefetch_layers = o.prefetch;
      dep.engram_hot_fraction = o.engram_hot;
      dep.engram_hot_hit_rate = o.engram_hit;
      dep.price_usd_per_gpu_hour = o.price;
      sim::Workload wl;
      wl.phase = o.phase == "prefill" ? sim::Phase::Prefill : sim::Phase::Decode;
      wl.batch = o.batch;
      wl.context = o.context;
      wl.chunk = o.chunk;
      wl.kv_hit_rate = o.kv_hit;
      std::optional<sim::ContextDist> dist;
      std::optional<sim::DistServingMetrics> ds;
      if (!o.context_dist.empty()) {
        dist = sim::parse_context_dist(o.context_dist, "--context-dist");
        ds = sim::predict_serving_dist(m, hw, dep, wl, *dist);
        wl.context = dist->quantile(0.5);  // the schedule/trace shown: the median bucket
      }
      const sim::ServingMetrics s = ds ? ds->mixed : sim::predict_serving(m, hw, dep, wl);
      const char* cost_model = hw.efficiency.is_null() ? sim::kCostModelName : sim::kCalibratedModelName;
      const auto& mem = s.memory;

      double median_us = 0;
      if (o.repeat > 0) {
        sim::StepPredictor pred(m, hw, dep, wl);
        sim::StepCost c;
        pred.run(c);
        std::vector<double> us(o.repeat);
        for (auto& u : us) {
          const auto t0 = std::chrono::steady_clock::now();
          pred.run(c);
          u = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
        }
        std::sort(us.begin(), us.end());
        median_us = us[us.size() / 2];
      }

      nlohmann::json cfg = {{"model", o.model}, {"hw", o.hw}, {"phase", o.phase}, {"batch", o.batch},
                            {"context", o.context}, {"chunk", o.chunk}, {"kv_hit_rate", o.kv_hit}, {"tp", dep.tp}, {"ep", dep.ep},
                            {"dp", dep.dp}, {"gpus", dep.gpus}, {"overlap", dep.overlap}, {"mtp", dep.mtp},
                            {"mtp_accept", dep.mtp_accept}, {"engram_prefetch_layers", dep.engram_prefetch_layers},
                            {"engram_hot_fraction", dep.engram_hot_fraction}, {"engram_hot_hit_rate", dep.engram_hit_rate()},
                            {"price_usd_per_gpu_hour", s.price_usd_per_gpu_hour}, {"cost_model", cost_model}};
      if (dist) {
        cfg["context_dist"] = o.context_dist;
        cfg["context"] = nullptr;
      }
      nlohmann::json j;
      j["config"] = cfg;
      j["label"] = "prediction";
      j["step"] = step_json(s.step);
      j["metrics"] = {{"step_s", s.step.step_s},
                      {"ttft_s", s.ttft_s},
                      {"tpot_s", s.tpot_s},
                      {"decode_step_s", s.decode.step_s},
                      {"decode_tokens_per_s_per_gpu", s.decode_tokens_per_s_per_gpu},
                      {"decode_tokens_per_s_per_node", s.decode_tokens_per_s_per_node},
                      {"prefill_tokens_per_s_per_gpu", s.prefill_tokens_per_s_per_gpu},
                      {"usd_per_m_input_tokens", s.usd_per_m_input_tokens},
                      {"usd_per_m_output_tokens", s.usd_per_m_output_tokens},
                      {"label", "prediction"}};
      j["memory"] = {{"weights_bytes", mem.weights_bytes}, {"weights_bytes_by_part", mem.weights_bytes_by_part},
                     {"params_total", mem.params_total}, {"kv_bytes", mem.kv_bytes},
                     {"kv_bytes_per_seq", mem.kv_bytes_per_seq}, {"activation_bytes", mem.activation_bytes},
                     {"total_bytes", mem.total_bytes}, {"capacity_bytes", mem.capacity_bytes}, {"fits", mem.fits},
                     {"shortfall_bytes", mem.shortfall_bytes}, {"headroom_bytes", mem.headroom_bytes},
                     {"max_batch", mem.max_batch}, {"host_bytes", mem.host_bytes},
                     {"engram_hot_bytes", mem.engram_hot_bytes}, {"label", "prediction"}};
      if (ds) {
        nlohmann::json b = nlohmann::json::array();
        for (size_t k = 0; k < dist->context.size(); ++k)
          b.push_back({{"context", dist->context[k]}, {"weight", dist->weight[k]}, {"ttft_s", ds->ttft_by_bucket_s[k]},
                       {"decode_step_s", ds->decode_by_bucket_s[k]}});
        j["context_dist"] = {{"spec", o.context_dist},   {"context_mean", ds->context_mean},
                             {"context_p50", dist->quantile(0.5)}, {"context_p99", dist->quantile(0.99)},
                             {"ttft_mean_s", ds->ttft_mean_s}, {"ttft_p50_s", ds->ttft_p50_s},
                             {"ttft_p99_s", ds->ttft_p99_s}, {"buckets", b},
                             {"label", "prediction (mixed batch: step = Σ_k w_k step(c_k); TTFT per request)"}};
        j["metrics"]["ttft_p50_s"] = ds->ttft_p50_s;
        j["metrics"]["ttft_p99_s"] = ds->ttft_p99_s;
      }
      if (o.repeat > 0) j["timing"] = {{"repeat", o.repeat}, {"median_us_per_step_schedule", median_us}};

      // The predicted schedule of the requested step (same graph and times as predict_serving's step).
      sim::StepPredictor sched(m, hw, dep, wl);
      const sim::StepCost sc = sched.predict();
      std::vector<store::TraceEvent> sched_events =
          predicted_schedule_events(sched.graph(), sc.schedule, "prediction: " + o.hw + " " + o.phase + " step");
      std::vector<store::RunMetric> metrics = {
          command_metric(ctx.command),
          {"memory.weights_bytes", mem.weights_bytes, "", "bytes", "prediction"},
          {"memory.kv_bytes", mem.kv_bytes, "", "bytes", "prediction"},
          {"memory.activation_bytes", mem.activation_bytes, "", "bytes", "prediction"},
          {"memory.total_bytes", mem.total_bytes, "", "bytes", "prediction"},
          {"memory.capacity_bytes", mem.capacity_bytes, "", "bytes", "prediction"},
          {"memory.host_bytes", mem.host_bytes, "", "bytes", "prediction"},
          {"step.busy_s.compute", s.step.schedule.busy_s[0], "", "s", "prediction"},
          {"step.busy_s.comm", s.step.schedule.busy_s[1], "", "s", "prediction"},
          {"step.busy_s.host", s.step.schedule.busy_s[2], "", "s", "prediction"},
          {"step.dag_critical_path_s", s.step.schedule.dag_critical_path_s, "", "s", "prediction"}};
      for (auto& [k, v] : s.step.by_family_s) metrics.push_back({"family." + k + ".busy_s", v, "", "s", "prediction"});
      for (auto& r : roof_metrics(sim::hardware_model(hw))) metrics.push_back(std::move(r));

      if (!o.no_save) {
        store::Store db(ctx.db_path);
        store::RunRecord rec;
        rec.info.kind = "predict";
        rec.info.name = o.model + "@" + o.hw + " " + o.phase;
        rec.info.config_json = cfg.dump();
        auto add = [&](const std::string& name, double total_s, const std::string& bound) {
          store::Prediction p;
          p.op = name;
          p.hardware = o.hw;
          p.params_json = cfg.dump();
          p.total_s = total_s;
          p.bound = bound;
          p.model = cost_model;
          rec.predictions.push_back(p);
        };
        add("step", s.step.step_s, "");
        add("ttft", s.ttft_s, "");
        add("tpot", s.tpot_s, "");
        if (ds) {
          add("ttft_p50", ds->ttft_p50_s, "");
          add("ttft_p99", ds->ttft_p99_s, "");
        }
        for (auto& [k, v] : s.step.by_layer_type_s) add("layer_type:" + k, v, "");
        store::Transaction tx(db);
        const int64_t run_id = db.write_run(rec);
        store::add_trace_events(db, run_id, sched_events);
        store::set_run_metrics(db, run_id, metrics);
        // The trace is written before the commit: when it fails, the run is rolled back, not left behind.
        if (!o.trace.empty()) report::write_run_report(db, run_id, "trace", o.trace);
        tx.commit();
        j["run_id"] = run_id;
      }
      if (o.no_save && !o.trace.empty()) {  // nothing stored: render straight from the events
        report::write_file_atomic(o.trace, report::render_trace_events(sched_events, "v4lab predict (not stored)"));
      }
      if (!o.trace.empty()) j["trace"] = {{"path", o.trace}, {"events", sched_events.size()}, {"label", "prediction"}};

      std::ostream& out = *ctx.out;
      if (ctx.json) {
        out << j.dump(2) << "\n";
        return 0;
      }
      out << "v4lab predict — " << m.display << " on " << hw.display << ", " << o.phase << " batch " << o.batch
          << (dist ? " context-dist " + o.context_dist + " (mean " + fmt(ds->context_mean, "%.0f") + ", " +
                         std::to_string(dist->context.size()) + " buckets)"
                   : " context " + std::to_string(o.context)) << (wl.phase == sim::Phase::Prefill ? " chunk " + std::to_string(o.chunk) : "")
          << ", TP " << dep.tp << " EP " << dep.ep << " DP " << dep.dp << " (" << dep.gpus << " GPUs)"
          << (dep.overlap ? ", two-micro-batch overlap" : "") << "\n";
      out << "All numbers are predictions (" << cost_model << " node times, list-scheduled).\n\n";
      std::vector<std::vector<std::string>> rows;
      for (auto& [k, v] : s.step.by_layer_type_s)
        rows.push_back({k, fmt(v * 1e3, "%.4f"), fmt(100 * v / std::max(1e-30, s.step.step_s), "%.1f")});
      print_table(out, {"layer type", "busy ms (prediction)", "% of step"}, rows);
      rows.clear();
      for (auto& [k, v] : s.step.by_family_s) rows.push_back({k, fmt(v * 1e3, "%.4f")});
      out << "\n";
      print_table(out, {"op family", "busy ms (prediction)"}, rows);
      out << "\nstep (prediction): " << fmt(s.step.step_s * 1e3, "%.4f") << " ms; busy compute "
          << fmt(s.step.schedule.busy_s[0] * 1e3, "%.4f") << " / comm " << fmt(s.step.schedule.busy_s[1] * 1e3, "%.4f")
          << " / host " << fmt(s.step.schedule.busy_s[2] * 1e3, "%.4f") << " ms; dependency critical path "
          << fmt(s.step.schedule.dag_critical_path_s * 1e3, "%.4f") << " ms; " << s.step.n_nodes << " nodes\n";
      out << "memory per GPU (prediction): weights " << fmt(mem.weights_bytes / 1e9, "%.2f") << " GB + KV "
          << fmt(mem.kv_bytes / 1e9, "%.2f") << " GB + activations " << fmt(mem.activation_bytes / 1e9, "%.2f")
          << (mem.engram_hot_bytes > 0 ? " GB + Engram hot cache " + fmt(mem.engram_hot_bytes / 1e9, "%.2f") : std::string())
          << " GB = " << fmt(mem.total_bytes / 1e9, "%.2f") << " GB of " << fmt(mem.capacity_bytes / 1e9, "%.0f") << " GB: "
          << (mem.fits ? "fits (" + fmt(mem.headroom_bytes / 1e9, "%.2f") + " GB free)"
                       : "does NOT fit (short by " + fmt(mem.shortfall_bytes / 1e9, "%.2f") + " GB)")
          << "; max batch at this context " << mem.max_batch << "\n";
      if (mem.host_bytes > 0 || mem.engram_hot_bytes > 0)
        out << "Engram (prediction): " << fmt(mem.engram_hot_bytes / 1e9, "%.2f") << " GB hot cache in HBM per GPU (hit rate "
            << fmt(dep.engram_hit_rate(), "%.2f") << "), " << fmt(mem.host_bytes / 1e9, "%.2f") << " GB in host RAM\n";
      if (ds)
        out << "TTFT (prediction, per request over the distribution): mean " << fmt(ds->ttft_mean_s * 1e3, "%.3f")
            << " ms, p50 " << fmt(ds->ttft_p50_s * 1e3, "%.3f") << " ms, p99 " << fmt(ds->ttft_p99_s * 1e3, "%.3f") << " ms\n";
      else
        out << "TTFT (prediction, " << o.context << "-token prompt): " << fmt(s.ttft_s * 1e3, "%.3f") << " ms\n";
      out << "TPOT (prediction): " << fmt(s.tpot_s * 1e3, "%.3f") << " ms"
          << (dep.mtp_accept > 0 ? " (MTP gain " + fmt(1 + dep.mtp_accept, "%.2f") + ")" : "") << "\n";
      out << "decode tokens/s (prediction): " << fmt(s.decode_tokens_per_s_per_gpu, "%.1f") << " per GPU, "
          << fmt(s.decode_tokens_per_s_per_node, "%.1f") << " per node; prefill "
          << fmt(s.prefill_tokens_per_s_per_gpu, "%.1f") << " tokens/s per GPU\n";
      out << "cost (prediction, $" << fmt(s.price_usd_per_gpu_hour, "%.2f") << "/GPU-h): $"
          << fmt(s.usd_per_m_input_tokens, "%.4f") << " per M input tokens, $" << fmt(s.usd_per_m_output_tokens, "%.4f")
          << " per M output tokens\n";
      if (o.repeat > 0)
        out << "timing: median " << fmt(median_us, "%.1f") << " µs per step schedule (" << o.repeat << " runs, "
            << s.step.n_nodes << " nodes)\n";
      if (!o.trace.empty()) out << "trace (prediction): " << o.trace << " — open in ui.perfetto.dev\n";
      if (j.contains("run_id")) out << "stored run " << j["run_id"].get<long long>() << " (kind predict) in " << ctx.db_path << "\n";
      return 0;
    };
  });
}

}  // namespace v4lab::cli
