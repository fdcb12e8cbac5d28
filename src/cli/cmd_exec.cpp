// cmd_exec.cpp — `v4lab exec`: execute a reduced whole model on the CPU kernels (issue 11) — prefill
// of every sequence's prompt, then greedy decode steps with real caches — and store one measurement
// per (phase, layer, op) beside the cost model's prediction of exactly that work on a hardware preset
// (`local` by default), plus the cost model's own step prediction of the scaled model. The run is
// refused before anything is allocated when the executor's memory accounting exceeds the budget.
// The run's timeline (measured calls and the predicted ops, exec_trace.h) is stored as its trace events
// (`--trace FILE` writes the Chrome trace); `--project-hw` adds full-scale GPU projections (exec_projection.h).
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/cmd_exec.h"
#include "cli/common.h"
#include "cli/exec_projection.h"
#include "cli/exec_trace.h"
#include "cli/trace_capture.h"
#include "core/error.h"
#include "core/presets.h"
#include "profiler/executor.h"
#include "profiler/model_exec.h"
#include "report/report.h"
#include "sim/op_cost.h"
#include "sim/step_model.h"
#include "store/store.h"
#include "store/trace_store.h"

namespace v4lab::cli {

namespace {
constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

std::string fmt(double v, const char* f = "%.3g") {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
double median(std::vector<double> v) {
  if (v.empty()) return store::kUnknown;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return store::kUnknown;
  std::sort(v.begin(), v.end());
  return v[size_t(std::lround(q * double(v.size() - 1)))];
}
void check_range(const char* flag, long long v, long long lo, long long hi) {
  if (v < lo || v > hi)
    throw usage_error(std::string(flag) + " " + std::to_string(v) + ": accepted range " + std::to_string(lo) + ".." +
                      std::to_string(hi));
}

// Measured vs predicted per bucket (layer type or op family) of one phase: sums over the ops.
struct Bucket {
  double measured_s = 0, predicted_s = 0, sim_s = 0;
  int ops = 0;
};
nlohmann::json buckets_json(const std::map<std::string, Bucket>& m, bool with_sim) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, b] : m) {
    j[k] = {{"measured_s", b.measured_s},
            {"predicted_s", b.predicted_s},
            {"ops", b.ops},
            {"error", b.measured_s > 0 ? (b.predicted_s - b.measured_s) / b.measured_s : 0.0}};
    if (with_sim) j[k]["sim_step_busy_s"] = b.sim_s;
  }
  return j;
}
double median_abs_error(const std::map<std::string, Bucket>& m) {
  std::vector<double> e;
  for (auto& [k, b] : m)
    if (b.measured_s > 0 && b.predicted_s > 0) e.push_back(std::fabs(b.predicted_s - b.measured_s) / b.measured_s);
  return median(e);
}
// Text form of the timeline and the projections (the same numbers as --json's "timeline" / "projection").
void print_exec_timeline(std::ostream& os, const nlohmann::json& tl, const nlohmann::json& projections,
                         const std::string& trace) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : tl["phases"]) {
    const double ms = p["measured_s"].get<double>(), ps = p["predicted_s"].get<double>();
    rows.push_back({p["name"].get<std::string>(), report::format_seconds(ms), report::format_seconds(ps),
                    ms > 0 ? fmt(100 * (ps - ms) / ms, "%+.0f%%") : ""});
  }
  os << "\ntimeline (measured on this machine; prediction = per-op predictions back to back on one stream):\n";
  print_table(os, {"phase span", "measured", "prediction", "error"}, rows);
  os << tl["calls_traced"].get<long long>() << " kernel calls traced (" << tl["decode_steps_traced"].get<int>()
     << " of " << tl["decode_steps"].get<int>() << " decode steps; later steps aggregated), "
     << tl["events_measured"].get<long long>() + tl["events_predicted"].get<long long>()
     << " trace events stored\n";
  for (const auto& pr : projections) {
    rows.clear();
    const auto& pre = pr["phases"]["prefill"], &dec = pr["phases"]["decode"];
    for (auto& [k, v] : pre["by_layer_type_s"].items()) {
      const double d = dec["by_layer_type_s"].value(k, store::kUnknown);
      rows.push_back({k, report::format_seconds(v.get<double>()), report::format_seconds(d)});
    }
    rows.push_back({"step", report::format_seconds(pre["step_s"].get<double>()),
                    report::format_seconds(dec["step_s"].get<double>())});
    os << "\nprojected at full scale on " << pr["hardware"].get<std::string>() << " — "
       << pr["label"].get<std::string>() << ":\n";
    print_table(os, {"layer type", "prefill (prediction)", "decode step (prediction)"}, rows);
  }
  if (!trace.empty()) os << "trace (measured + prediction): " << trace << " — open in ui.perfetto.dev\n";
}
}  // namespace

int exec_run(Context& ctx, const ExecRequest& o) {
  // Timeline / projection flags: checked before anything runs (an unwritable --trace exits 2 here).
  if (!o.trace.empty()) require_writable_output(o.trace, "--trace");
  check_range("--trace-steps", o.trace_steps, 0, 1 << 16);
  check_range("--project-gpus", o.project_gpus, 1, 4096);
  for (const std::string& h : o.project_hw) load_hardware_preset(h, ctx.data_dir);  // unknown preset: exit 2
  check_range("--batch", o.batch, 1, 1024);
  check_range("--prefill", o.prefill, 1, 1 << 20);
  check_range("--decode", o.decode, 0, 1 << 16);
  check_range("--chunk", o.chunk, 0, 1 << 20);
  if (o.mtp_accept != -1 && !(o.mtp_accept >= 0 && o.mtp_accept <= 1))
    throw usage_error("--mtp-accept " + fmt(o.mtp_accept) + ": accepted range 0..1 (or -1 = the measured rate)");
  profiler::ExecScale sc = profiler::named_scale(o.scale);
  const profiler::ExecScale& v = o.over;
  for (auto [dst, src] : {std::pair<int64_t*, int64_t>{&sc.d_model, v.d_model},
                          {&sc.n_heads, v.n_heads},
                          {&sc.d_head, v.d_head},
                          {&sc.q_rank, v.q_rank},
                          {&sc.o_rank, v.o_rank},
                          {&sc.o_groups, v.o_groups},
                          {&sc.n_experts, v.n_experts},
                          {&sc.d_expert, v.d_expert},
                          {&sc.moe_top_k, v.moe_top_k},
                          {&sc.vocab, v.vocab},
                          {&sc.idx_heads, v.idx_heads},
                          {&sc.idx_dim, v.idx_dim},
                          {&sc.index_topk, v.index_topk},
                          {&sc.window, v.window},
                          {&sc.kv_rank, v.kv_rank},
                          {&sc.d_dense, v.d_dense},
                          {&sc.engram_rows, v.engram_rows},
                          {&sc.engram_head_dim, v.engram_head_dim}})
    if (src != 0) {
      if (src < 0) throw usage_error("exec: scale overrides must be positive (got " + std::to_string(src) + ")");
      *dst = src;
    }
  sc.layers = v.layers;
  const ModelPreset full = load_model_preset(o.model, ctx.data_dir);
  const ModelPreset m = profiler::scale_preset(full, sc);
  const sim::ModelDims d = sim::model_dims(m);
  const std::string why = profiler::exec_unsupported_reason(d);
  if (!why.empty()) throw config_error("exec --model " + o.model + ": " + why);
  const std::vector<sim::LayerSpec> sched = sim::layer_schedule(m);
  if (o.mtp_verify && d.n_mtp == 0)
    throw config_error("exec --mtp-verify: " + m.id + " has no MTP block (num_nextn_predict_layers = 0)");
  const profiler::ExecShape shape{o.batch, o.prefill, o.decode, o.chunk, o.mtp_verify};
  const profiler::MemoryEstimate est = profiler::estimate_memory(d, sched, shape, profiler::engram_rows_of(m));
  const double avail = profiler::available_ram_bytes();
  const double budget = o.mem_budget_gib > 0 ? o.mem_budget_gib * kGiB : 0.9 * avail;
  nlohmann::json mem = {{"weights_bytes", est.weights_bytes},
                        {"cache_bytes", est.cache_bytes},
                        {"activation_bytes", est.activation_bytes},
                        {"scratch_bytes", est.scratch_bytes},
                        {"total_bytes", est.total_bytes()},
                        {"budget_bytes", budget},
                        {"available_bytes", avail}};
  if (budget > 0 && est.total_bytes() > budget)
    throw config_error("exec: this configuration needs " + fmt(est.total_bytes() / kGiB, "%.2f") +
                       " GiB (weights " + fmt(est.weights_bytes / kGiB, "%.2f") + ", caches " +
                       fmt(est.cache_bytes / kGiB, "%.2f") + ", activations " +
                       fmt(est.activation_bytes / kGiB, "%.2f") + ", kernel scratch " +
                       fmt(est.scratch_bytes / kGiB, "%.2f") + ") but the budget is " +
                       fmt(budget / kGiB, "%.2f") + " GiB (" +
                       (o.mem_budget_gib > 0 ? "--mem-budget-gib" : "90% of MemAvailable") +
                       "); nothing was allocated. Use a smaller --scale, --prefill, --batch or --layers");
  nlohmann::json cfg = {{"model", full.id},
                        {"scaled_model", m.id},
                        {"scale", o.scale},
                        {"batch", o.batch},
                        {"prefill", o.prefill},
                        {"decode", o.decode},
                        {"chunk", shape.chunk_len()},
                        {"mtp_verify", o.mtp_verify},
                        {"seed", o.seed},
                        {"hardware", o.hardware},
                        {"layers", sched.size()},
                        {"memory_estimate", mem},
                        {"dims",
                         {{"d_model", d.d_model},
                          {"n_layers", d.n_layers},
                          {"n_mtp", d.n_mtp},
                          {"n_heads", d.n_heads},
                          {"d_head", d.d_head},
                          {"q_rank", d.q_rank},
                          {"o_rank", d.o_rank},
                          {"o_groups", d.o_groups},
                          {"window", d.window},
                          {"idx_heads", d.idx_heads},
                          {"idx_dim", d.idx_dim},
                          {"top_k", d.top_k},
                          {"n_experts", d.n_experts},
                          {"moe_top_k", d.moe_top_k},
                          {"d_expert", d.d_expert},
                          {"vocab", d.vocab},
                          {"hc", d.hc},
                          {"expert_dtype", d.expert_dtype}}}};
  if (o.dry_run) {
    if (ctx.json) {
      *ctx.out << nlohmann::json{{"dry_run", true}, {"config", cfg}}.dump(2) << "\n";
    } else {
      *ctx.out << "exec dry run: " << m.id << ", " << sched.size() << " layers, needs "
               << fmt(est.total_bytes() / kGiB, "%.3f") << " GiB (budget " << fmt(budget / kGiB, "%.2f")
               << " GiB)\n";
    }
    return 0;
  }

  store::Store db(ctx.db_path);
  const HardwarePreset hwp = resolve_hardware(o.hardware, ctx, &db);
  const sim::HardwareModel hw = sim::hardware_model(hwp);
  profiler::ExecOptions eo;
  eo.seed = uint64_t(o.seed);
  eo.trace = true, eo.trace_decode_steps = o.trace_steps;
  if (show_progress(ctx)) eo.progress = [&ctx](const std::string& s) { *ctx.err << "exec: " << s << "\n"; };
  store::RunInfo info;
  info.kind = "exec";
  info.name = "exec " + m.id;
  info.backends = "cpu";
  info.seed = uint64_t(o.seed);
  info.config_json = cfg.dump();
  const int64_t run = db.begin_run(info);
  profiler::ExecOutput out;
  try {
    out = profiler::run_exec(m, shape, eo);
  } catch (...) {
    db.end_run(run, "failed");
    throw;
  }

  // MTP verification: drafts equal to the greedy choice per draft proposed (the acceptance rate the
  // cost model's --mtp-accept stands for) and steps that kept both tokens (the batch advances together).
  const double drafts = double(std::max<int64_t>(1, out.mtp_drafts));
  const double accept_rate = double(out.mtp_matched) / drafts;
  const double step_accept_rate = double(out.mtp_accepted_steps) / double(std::max<int64_t>(1, out.mtp_steps));
  // The cost model's decode step with speculative decode on needs an acceptance > 0 to schedule the
  // 2-token step: the measured rate, at least 0.001, unless --mtp-accept gives it.
  const double sim_accept = !o.mtp_verify ? 0.0 : o.mtp_accept >= 0 ? o.mtp_accept : std::max(1e-3, accept_rate);
  const double decode_tokens = o.mtp_verify ? double(o.batch) * double(out.mtp_steps + out.mtp_accepted_steps)
                                            : double(o.batch * o.decode);

  // The cost model's own step prediction of the scaled model (sim/layer_graph.h DAG, one GPU
  // deployment): every prefill chunk at its context (summed) and a decode step at the mean decode context.
  sim::Deployment dep;
  dep.mtp_accept = sim_accept;
  const double per_step = o.mtp_verify ? 1.0 + step_accept_rate : 1.0;
  sim::Workload wd{sim::Phase::Decode, o.batch,
                   o.prefill + std::max<long long>(0, (long long)(per_step * double(o.decode) / 2) - 1), 1};
  // A preset without a host link (the probed `local` one) cannot schedule Engram's host row copy: the
  // step prediction is then left out with its reason; the per-op predictions below still exist.
  sim::StepCost sim_prefill, sim_decode;
  std::string sim_error;
  try {
    const int64_t C = shape.chunk_len();
    for (int64_t c0 = 0; c0 < o.prefill; c0 += C) {
      const sim::StepCost c = sim::predict_step(m, hwp, dep, {sim::Phase::Prefill, o.batch, c0, std::min<int64_t>(C, o.prefill - c0)});
      sim_prefill.step_s += c.step_s;
      for (auto& [k, v] : c.by_layer_type_s) sim_prefill.by_layer_type_s[k] += v;
    }
    sim_decode = sim::predict_step(m, hwp, dep, wd);
  } catch (const Error& e) {
    sim_prefill = sim_decode = sim::StepCost{};
    sim_error = e.what();
  }

  std::map<std::string, std::map<std::string, Bucket>> by_type, by_family;  // [phase][bucket]
  std::map<std::string, double> measured_total, predicted_total;
  const int threads = profiler::backend_threads(kernels::Backend::Cpu);
  std::vector<double> pred_s(out.records.size(), store::kUnknown);  // per record: the timeline's predicted op
  {
    store::Transaction tx(db);
    for (const profiler::OpRecord& r : out.records) {
      nlohmann::json pj = params_json(r.params);
      pj["exec"] = {{"phase", r.phase},
                    {"layer", r.layer},
                    {"layer_type", r.layer_type},
                    {"label", r.label},
                    {"calls_per_step", r.calls_per_step}};
      store::Measurement me;
      me.op = r.op;
      me.backend = "cpu";
      me.params_json = pj.dump();
      me.median_s = median(r.samples_s);
      me.p10_s = quantile(r.samples_s, 0.1);
      me.p90_s = quantile(r.samples_s, 0.9);
      me.min_s = *std::min_element(r.samples_s.begin(), r.samples_s.end());
      me.reps = int64_t(r.samples_s.size());
      me.thread_count = threads;
      const bool catalogued = find_op(r.op) != nullptr;
      if (catalogued) {
        me.flops = r.work.flops;
        me.bytes = r.work.bytes_mem;
        if (me.median_s > 0)
          me.gflops_per_s = r.work.flops / me.median_s / 1e9,
          me.gbytes_per_s = r.work.bytes_mem / me.median_s / 1e9;
      }
      db.add_measurement(run, me);
      Bucket& bt = by_type[r.phase][r.layer_type];
      Bucket& bf = by_family[r.phase][r.family];
      bt.measured_s += me.median_s, bf.measured_s += me.median_s, ++bt.ops, ++bf.ops;
      measured_total[r.phase] += me.median_s;
      if (!catalogued) continue;
      // Per call (each call pays its own overhead), not one roofline over the step's summed work.
      const sim::OpCost c = sim::predict_calls_for(r.op, r.family, r.call_work, hw);
      store::Prediction p;
      p.op = r.op, p.backend = "cpu", p.hardware = hw.id, p.params_json = me.params_json;
      p.compute_s = c.compute_s, p.memory_s = c.memory_s, p.host_s = c.host_s, p.comm_s = c.comm_s;
      p.overhead_s = c.overhead_s, p.total_s = c.total_s, p.bound = c.bound, p.flops = c.flops, p.bytes = c.bytes;
      p.model = sim::cost_model_name(c);
      db.add_prediction(run, p);
      pred_s[size_t(&r - out.records.data())] = c.total_s;
      bt.predicted_s += c.total_s, bf.predicted_s += c.total_s;
      predicted_total[r.phase] += c.total_s;
    }
    for (auto& [k, s] : sim_prefill.by_layer_type_s) by_type["prefill"][k].sim_s = s;
    for (auto& [k, s] : sim_decode.by_layer_type_s) by_type["decode"][k].sim_s = s;
    tx.commit();
  }
  // Timeline of both (stored as the run's trace events) and the full-scale projections.
  const ExecTimeline timeline = exec_timeline(out, pred_s, hw.id);
  store::add_trace_events(db, run, timeline.events);
  if (!ctx.command.empty()) store::set_run_metrics(db, run, {command_metric(ctx.command)});
  nlohmann::json projections = nlohmann::json::array();
  {
    store::Transaction tx(db);
    for (const std::string& h : o.project_hw) {
      const HardwarePreset php = resolve_hardware(h, ctx, &db);
      const ExecProjection pr = exec_projection(
          full, php, {o.batch, o.prefill, o.prefill + std::max<long long>(0, o.decode / 2 - 1), o.project_gpus});
      for (const store::Prediction& p : pr.predictions) db.add_prediction(run, p);
      projections.push_back(pr.json);
    }
    tx.commit();
  }
  const double growth = out.rss_peak_bytes - out.rss_before_bytes;
  nlohmann::json summary = {
      {"run_id", run},
      {"label", "measured on this machine (CPU backend) vs prediction on " + hw.id},
      {"command", !o.command.empty() ? o.command
                                     : "v4lab exec --model " + o.model + " --scale " + o.scale + " --prefill " +
                                           std::to_string(o.prefill) + " --decode " + std::to_string(o.decode) +
                                           " --batch " + std::to_string(o.batch) +
                                           (o.chunk > 0 ? " --chunk " + std::to_string(o.chunk) : "") +
                                           (o.mtp_verify ? " --mtp-verify" : "")},
      {"model", m.id},
      {"layers", sched.size()},
      {"threads", threads},
      {"build_s", out.build_s},
      {"prefill_s", out.prefill_s},
      {"decode_s", out.decode_s},
      {"decode_step_s", o.decode > 0 ? out.decode_s / double(o.decode) : 0.0},
      {"prefill_tokens_per_s", out.prefill_s > 0 ? double(o.batch * o.prefill) / out.prefill_s : 0.0},
      {"decode_tokens_per_s", out.decode_s > 0 ? decode_tokens / out.decode_s : 0.0},
      {"chunk", shape.chunk_len()},
      {"prefill_chunks", (o.prefill + shape.chunk_len() - 1) / shape.chunk_len()},
      {"mtp", {{"verify", o.mtp_verify},
               {"steps", out.mtp_steps},
               {"drafts", out.mtp_drafts},
               {"drafts_accepted", out.mtp_matched},
               {"acceptance_rate", o.mtp_verify ? nlohmann::json(accept_rate) : nlohmann::json(nullptr)},
               {"steps_kept_both", out.mtp_accepted_steps},
               {"step_acceptance_rate", o.mtp_verify ? nlohmann::json(step_accept_rate) : nlohmann::json(nullptr)},
               {"decode_tokens", decode_tokens},
               {"cost_model_mtp_accept", sim_accept},
               {"cost_model_mtp_accept_source",
                !o.mtp_verify ? "off" : o.mtp_accept >= 0 ? "--mtp-accept" : "measured acceptance_rate (>= 0.001)"}}},
      {"memory",
       {{"weights_bytes", out.accounting.weights_bytes},
        {"cache_bytes", out.accounting.cache_bytes},
        {"activation_bytes", out.accounting.activation_bytes},
        {"scratch_bytes", out.accounting.scratch_bytes},
        {"accounted_bytes", out.accounting.total_bytes()},
        {"rss_before_bytes", out.rss_before_bytes},
        {"rss_peak_bytes", out.rss_peak_bytes},
        {"rss_growth_bytes", growth}}},
      {"sum_of_op_medians_s", measured_total},
      {"sum_of_op_predictions_s", predicted_total},
      {"sim_step_s", {{"prefill", sim_prefill.step_s}, {"decode", sim_decode.step_s}}},
      {"sim_step_error", sim_error},
      {"by_layer_type",
       {{"prefill", buckets_json(by_type["prefill"], true)}, {"decode", buckets_json(by_type["decode"], true)}}},
      {"by_family",
       {{"prefill", buckets_json(by_family["prefill"], false)},
        {"decode", buckets_json(by_family["decode"], false)}}},
      {"median_abs_error_by_layer_type",
       {{"prefill", median_abs_error(by_type["prefill"])}, {"decode", median_abs_error(by_type["decode"])}}},
      {"median_abs_error_by_family",
       {{"prefill", median_abs_error(by_family["prefill"])}, {"decode", median_abs_error(by_family["decode"])}}},
      {"timeline", timeline.summary},
      {"projection", projections}};
  if (!o.trace.empty()) summary["trace"] = {{"path", o.trace}, {"events", timeline.events.size()}};
  store::StudyPoint sp;
  sp.study = "exec";
  sp.point_json = cfg.dump();
  sp.metrics_json = summary.dump();
  sp.label = "measured (CPU backend, this machine) vs prediction (" + hw.id + ")";
  db.add_study_point(run, sp);
  db.end_run(run, "ok");
  if (!o.trace.empty()) report::write_run_report(db, run, "trace", o.trace);  // path checked up front

  if (ctx.json) {
    *ctx.out << summary.dump(2) << "\n";
    return 0;
  }
  *ctx.out << "exec " << m.id << " (" << sched.size() << " layers, batch " << o.batch << ", prefill " << o.prefill
           << ", decode " << o.decode << ") — run " << run << " in " << ctx.db_path << "\n";
  *ctx.out << "measured on this machine: prefill " << report::format_seconds(out.prefill_s) << ", decode "
           << report::format_seconds(out.decode_s) << " (" << fmt(summary["decode_tokens_per_s"].get<double>())
           << " tok/s); memory accounted " << fmt(out.accounting.total_bytes() / kGiB, "%.3f")
           << " GiB, RSS growth " << fmt(growth / kGiB, "%.3f") << " GiB\n";
  if (o.mtp_verify)
    *ctx.out << "MTP verification: " << out.mtp_matched << " of " << out.mtp_drafts << " drafts accepted ("
             << fmt(100 * accept_rate, "%.1f%%") << "), " << out.mtp_accepted_steps << " of " << out.mtp_steps
             << " steps kept both tokens; cost model --mtp-accept " << fmt(sim_accept) << "\n";
  for (const char* ph : {"prefill", "decode"}) {
    std::vector<std::vector<std::string>> rows;
    for (auto& [k, b] : by_type[ph])
      rows.push_back({k, std::to_string(b.ops), report::format_seconds(b.measured_s),
                      report::format_seconds(b.predicted_s),
                      b.measured_s > 0 ? fmt(100 * (b.predicted_s - b.measured_s) / b.measured_s, "%+.0f%%") : "",
                      report::format_seconds(b.sim_s)});
    *ctx.out << "\n" << ph << (std::string(ph) == "decode" ? " (per step, median)" : "") << " by layer type:\n";
    print_table(*ctx.out, {"type", "ops", "measured", "prediction", "error", "sim step busy"}, rows);
    *ctx.out << "median |error| over layer types: " << fmt(100 * median_abs_error(by_type[ph]), "%.0f%%") << "\n";
  }
  print_exec_timeline(*ctx.out, timeline.summary, projections, o.trace);
  return 0;
}

void add_exec_command(CLI::App& app, Context& ctx) {
  auto op = std::make_shared<ExecRequest>();
  ExecRequest& o = *op;
  auto* cmd = app.add_subcommand("exec",
                                 "Execute a reduced whole model (prefill + decode) on the CPU kernels; per "
                                 "layer and op measured vs the cost model's prediction, stored as a run");
  cmd->add_option("--model", o.model, "Model preset (id or short name: v4-flash, v4-pro, ...)")->capture_default_str();
  cmd->add_option("--scale", o.scale, "Named reduction: tiny (tests), small (all layers, ~1/16 widths), preset (full)")
      ->capture_default_str();
  cmd->add_option("--layers", o.over.layers,
                  "Main layers kept: the first N of the schedule (MTP blocks kept); default all");
  cmd->add_option("--d-model", o.over.d_model, "hidden_size override (multiple of 128)");
  cmd->add_option("--heads", o.over.n_heads, "num_attention_heads override (multiple of o_groups)");
  cmd->add_option("--d-head", o.over.d_head, "head_dim override (multiple of 128)");
  cmd->add_option("--q-rank", o.over.q_rank, "q_lora_rank override (multiple of 128)");
  cmd->add_option("--o-rank", o.over.o_rank, "o_lora_rank override (multiple of 128)");
  cmd->add_option("--o-groups", o.over.o_groups, "o_groups override");
  cmd->add_option("--experts", o.over.n_experts, "n_routed_experts override");
  cmd->add_option("--d-expert", o.over.d_expert, "moe_intermediate_size override (multiple of 128)");
  cmd->add_option("--experts-per-token", o.over.moe_top_k, "num_experts_per_tok override");
  cmd->add_option("--vocab", o.over.vocab, "vocab_size override");
  cmd->add_option("--idx-heads", o.over.idx_heads, "index_n_heads override (CSA indexer)");
  cmd->add_option("--idx-dim", o.over.idx_dim, "index_head_dim override (power of two, >= qk_rope_head_dim)");
  cmd->add_option("--index-topk", o.over.index_topk, "index_topk override (CSA selected entries)");
  cmd->add_option("--window", o.over.window, "sliding_window override");
  cmd->add_option("--kv-rank", o.over.kv_rank, "kv_lora_rank override (MLA latent width: V3, V3.2, Engram-27B)");
  cmd->add_option("--d-dense", o.over.d_dense, "intermediate_size override (dense FFN layers; multiple of 128)");
  cmd->add_option("--engram-rows", o.over.engram_rows,
                  "Engram table-size seed per order (rows per layer ~ (N-1) x heads x this)");
  cmd->add_option("--engram-head-dim", o.over.engram_head_dim,
                  "engram_head_dim override ((N-1) x heads x this must be a multiple of 128)");
  cmd->add_option("--batch", o.batch, "Sequences (prefilled together, decoded together)")->capture_default_str();
  cmd->add_option("--prefill", o.prefill, "Prompt tokens per sequence (prefilled in chunks of --chunk)")->capture_default_str();
  cmd->add_option("--decode", o.decode, "Decode steps after the prefill (one query token per sequence each; 2 with --mtp-verify)")
      ->capture_default_str();
  cmd->add_option("--seed", o.seed, "Seed of the weights and prompts (same seed: bit-identical outputs)")
      ->capture_default_str();
  cmd->add_option("--hardware", o.hardware, "Hardware preset the cost model predicts the same ops on")
      ->capture_default_str();
  cmd->add_option("--mem-budget-gib", o.mem_budget_gib,
                  "Refuse runs whose accounted memory exceeds this many GiB (0: 90% of MemAvailable)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_flag("--dry-run", o.dry_run, "Build the schedule and the memory estimate only (nothing executed or stored)");
  // Timeline and full-scale projection (docs/exec.md "Timeline and projection").
  cmd->add_option("--trace", o.trace,
                  "Write the run's timeline as a Chrome trace: process 'measured (this machine)' and 'predicted "
                  "(<hardware> preset)', one track per phase (open in ui.perfetto.dev)");
  cmd->add_option("--trace-steps", o.trace_steps,
                  "Decode steps traced call by call (later steps: one aggregated span per process; 0..65536)")
      ->capture_default_str();
  cmd->add_option("--project-hw", o.project_hw,
                  "GPU hardware preset(s) for a full-scale projection of the same phases (unscaled model; "
                  "repeatable or comma list, e.g. h800,h100): stored as predictions")
      ->delimiter(',');
  cmd->add_option("--project-gpus", o.project_gpus,
                  "GPUs of the projection's deployment (TP 1, DP = EP = this, as `v4lab predict`; 1..4096)")
      ->capture_default_str();
  // issue 11: chunked prefill and MTP verification
  cmd->add_option("--chunk", o.chunk,
                  "Prefill chunk: tokens per sequence per chunk, each chunk attending to the cached earlier ones "
                  "(0..1048576; 0 or >= --prefill: one chunk)")
      ->capture_default_str();
  cmd->add_flag("--mtp-verify", o.mtp_verify,
                "Decode steps feed 2 tokens per sequence (last accepted + the MTP draft), verify the draft against "
                "greedy and roll back a rejected one (presets with an MTP block)");
  cmd->add_option("--mtp-accept", o.mtp_accept,
                  "MTP acceptance rate the cost model's step prediction assumes with --mtp-verify (0..1; -1: the "
                  "measured rate)")
      ->capture_default_str();
  cmd->callback([&ctx, op] {
    ctx.action = [&ctx, op]() -> int {
      return exec_run(ctx, *op);
    };
  });
}

}  // namespace v4lab::cli
