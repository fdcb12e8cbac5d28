// sweep_eval.cpp — one sweep point: whole-model prediction (predict kind) or a measured and predicted
// kernel case (kernel kind). The deployment defaults (gpus, dp, ep) are the ones `v4lab predict`
// applies, so a sweep point and the equivalent `predict` command describe the same configuration.
#include "cli/sweep_eval.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <cmath>

#include "cli/common.h"
#include "core/build_info.h"
#include "core/error.h"
#include "kernels/registry.h"
#include "profiler/executor.h"
#include "sim/op_cost.h"
#include "sim/step_model.h"

namespace v4lab::cli {

using nlohmann::json;

namespace {

// Every string value of `field` over the base and the axes.
std::vector<std::string> field_values(const SweepSpec& s, const std::string& field) {
  std::vector<std::string> out;
  if (s.base.contains(field) && s.base[field].is_string() && !s.base[field].get<std::string>().empty())
    out.push_back(s.base[field].get<std::string>());
  for (auto& a : s.axes)
    if (a.field == field) {
      out.clear();
      for (auto& v : a.values)
        if (!v.get<std::string>().empty()) out.push_back(v.get<std::string>());
    }
  return out;
}

// NaN/inf are stored as null (JSON has neither).
double finite_or_nan(double x) { return std::isfinite(x) ? x : std::nan(""); }

// Step graphs reused across the points one pool thread evaluates (sim::StepGraphCache: build once per
// structure, refill per workload; results equal predict_step / predict_serving exactly). Keyed by the
// evaluator's generation so a cache never outlives the presets it references.
struct ThreadGraphs {
  uint64_t generation = 0;
  std::map<const ModelPreset*, std::unique_ptr<sim::StepGraphCache>> by_model;
};
sim::StepGraphCache& graph_cache(uint64_t generation, const ModelPreset& m) {
  thread_local ThreadGraphs t;
  if (t.generation != generation) {
    t.by_model.clear();
    t.generation = generation;
  }
  auto& c = t.by_model[&m];
  if (!c) c = std::make_unique<sim::StepGraphCache>(m);
  return *c;
}
std::atomic<uint64_t> g_generation{0};

}  // namespace

SweepEvaluator::SweepEvaluator(const SweepSpec& spec, const Context& ctx, store::Store* db)
    : spec_(spec), host_(host_name()), generation_(++g_generation) {
  const bool predict = spec.kind == "predict";
  for (auto& id : field_values(spec, "model")) models_.emplace(id, load_model_preset(id, ctx.data_dir));
  for (auto& id : field_values(spec, predict ? "hw" : "hardware"))
    hardware_.emplace(id, predict ? load_hardware_preset(id, ctx.data_dir) : resolve_hardware(id, ctx, db));
  label_ = predict ? "prediction" : "measurement on " + host_ + " and prediction";
}

SweepEvaluator::~SweepEvaluator() = default;

json SweepEvaluator::predict_point(const json& p) const {
  const ModelPreset& m = models_.at(p["model"].get<std::string>());
  const HardwarePreset& hw = hardware_.at(p["hw"].get<std::string>());
  const int tp = p["tp"].get<int>(), dp = p["dp"].get<int>(), ep = p["ep"].get<int>(), gpus = p["gpus"].get<int>();
  sim::Deployment dep;
  dep.tp = tp;
  dep.gpus = gpus > 0 ? gpus : (dp > 0 ? dp * tp : std::max(8, tp));
  dep.dp = dp > 0 ? dp : std::max(1, dep.gpus / tp);
  dep.ep = ep > 0 ? ep : dep.gpus;
  dep.overlap = p["overlap"].get<bool>();
  dep.mtp = p["mtp"].get<bool>();
  dep.mtp_accept = p["mtp_accept"].get<double>();
  dep.engram_prefetch_layers = p["engram_prefetch"].get<int>();
  dep.price_usd_per_gpu_hour = p["price"].get<double>();
  sim::Workload wl;
  wl.phase = p["phase"].get<std::string>() == "prefill" ? sim::Phase::Prefill : sim::Phase::Decode;
  wl.batch = p["batch"].get<int64_t>();
  wl.context = p["context"].get<int64_t>();
  wl.chunk = p["chunk"].get<int64_t>();

  json j;
  j["deployment"] = {{"tp", dep.tp}, {"dp", dep.dp}, {"ep", dep.ep}, {"gpus", dep.gpus}};
  sim::MemoryFootprint mem;
  if (spec_.metrics == "memory") {
    mem = sim::memory_footprint(m, hw, dep, wl);
  } else if (spec_.metrics == "step") {
    mem = sim::memory_footprint(m, hw, dep, wl);  // validates the deployment (the cached path does not)
    sim::ServingPredictor sp(m, hw, dep, &graph_cache(generation_, m));
    sim::StepCost c;
    sp.step(wl, c);
    j["step_s"] = finite_or_nan(c.step_s);
    j["flops"] = c.flops;
    j["bytes_mem"] = c.bytes_mem;
    j["bytes_net"] = c.bytes_net;
    j["bytes_host"] = c.bytes_host;
    j["tokens_per_gpu"] = c.tokens_per_gpu;
    j["tokens_per_s_per_gpu"] = finite_or_nan(double(c.tokens_per_gpu) / c.step_s);
  } else {
    mem = sim::memory_footprint(m, hw, dep, wl);
    sim::ServingPredictor sp(m, hw, dep, &graph_cache(generation_, m));
    const sim::ServingMetrics s = sp.predict(wl, &mem);
    j["step_s"] = finite_or_nan(s.step.step_s);
    j["ttft_s"] = finite_or_nan(s.ttft_s);
    j["tpot_s"] = finite_or_nan(s.tpot_s);
    j["decode_tokens_per_s_per_gpu"] = finite_or_nan(s.decode_tokens_per_s_per_gpu);
    j["decode_tokens_per_s_per_node"] = finite_or_nan(s.decode_tokens_per_s_per_node);
    j["prefill_tokens_per_s_per_gpu"] = finite_or_nan(s.prefill_tokens_per_s_per_gpu);
    j["usd_per_m_input_tokens"] = finite_or_nan(s.usd_per_m_input_tokens);
    j["usd_per_m_output_tokens"] = finite_or_nan(s.usd_per_m_output_tokens);
  }
  j["memory"] = {{"weights_bytes", mem.weights_bytes}, {"kv_bytes", mem.kv_bytes},
                 {"activation_bytes", mem.activation_bytes}, {"total_bytes", mem.total_bytes},
                 {"capacity_bytes", mem.capacity_bytes}, {"fits", mem.fits}, {"max_batch", mem.max_batch}};
  j["cost_model"] = hw.efficiency.is_null() ? sim::kCostModelName : sim::kCalibratedModelName;  // as `v4lab predict`
  j["label"] = "prediction";
  return j;
}

json SweepEvaluator::kernel_point(const json& p, bool& ok) const {
  const OpDef& op = get_op(p["op"].get<std::string>());
  const std::string model = p.value("model", std::string());
  ParamMap overrides;
  for (auto& d : op.params)
    if (p.contains(d.key)) overrides[d.key] = p[d.key].get<double>();
  const ParamMap params = params_for(op, model.empty() ? nullptr : &models_.at(model), overrides, "sweep point");
  const kernels::Backend be = kernels::parse_backend(p["backend"].get<std::string>());
  const bool verify = p["verify"].get<bool>() && be != kernels::Backend::Ref;
  profiler::MeasureOptions mo;
  mo.warmup = spec_.timing.warmup;
  mo.min_time_s = spec_.timing.min_time_s;
  mo.min_reps = spec_.timing.min_reps;
  mo.max_reps = spec_.timing.max_reps;
  profiler::Executor ex(p["seed"].get<uint64_t>(), mo);
  const profiler::ExecResult r = ex.execute(op.name, be, params, verify);
  const std::string hw_id = p["hardware"].get<std::string>();
  // Calibrated efficiencies when the preset has them (the same rule as `v4lab run`).
  const sim::OpCost cost = sim::predict_op_for(op.name, op.family, op.work(params), sim::hardware_model(hardware_.at(hw_id)));
  json j;
  j["params"] = params_json(params);
  j["predicted"] = {{"hardware", hw_id}, {"total_s", cost.total_s}, {"bound", cost.bound},
                    {"compute_s", cost.compute_s}, {"memory_s", cost.memory_s}, {"model", sim::cost_model_name(cost)},
                    {"label", "prediction"}};
  if (!r.ran) {
    ok = false;
    j["error"] = "not measured: " + r.skipped_reason;
    return j;
  }
  j["measured"] = {{"backend", r.backend}, {"median_s", r.m.median_s}, {"p10_s", r.m.p10_s}, {"p90_s", r.m.p90_s},
                   {"min_s", r.m.min_s}, {"reps", r.m.reps}, {"gflops_per_s", r.m.gflops_per_s},
                   {"gbytes_per_s", r.m.gbytes_per_s}, {"threads", r.m.threads}, {"host", host_},
                   {"label", "measured on " + host_ + " by v4lab sweep"}};
  j["measured_over_predicted"] = finite_or_nan(r.m.median_s / cost.total_s);
  if (r.verified) {
    j["verified"] = *r.verified;
    if (!*r.verified) {
      ok = false;
      std::string why;
      for (auto& c : r.checks)
        if (!c.passed) why += (why.empty() ? "" : "; ") + c.summary();
      j["error"] = "verification against ref FAILED: " + why;
    }
  }
  return j;
}

PointResult SweepEvaluator::evaluate(uint64_t index) const {
  PointResult r;
  r.index = index;
  json coords = spec_.coordinates(index);
  r.coords_json = coords.dump();
  json metrics;
  try {
    json p = spec_.base;
    for (auto& [k, v] : coords.items()) p[k] = v;
    if (spec_.kind == "predict") {
      metrics = predict_point(p);
    } else {
      metrics = kernel_point(p, r.ok);
    }
  } catch (const std::exception& e) {
    r.ok = false;
    metrics = {{"error", e.what()}};
  }
  r.metrics_json = metrics.dump();
  return r;
}

}  // namespace v4lab::cli
