// step_model.cpp — step time, breakdowns and serving metrics from the scheduled step DAG.
// TTFT = Σ over the prompt's chunks of the prefill-chunk step (context grows chunk by chunk);
// TPOT = decode step / (1 + MTP acceptance); cost per Mtok = GPUs · price / 3600 / tokens per s · 1e6.
#include "sim/step_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/presets.h"
#include "sim/op_cost.h"

namespace v4lab::sim {

HardwareModel deployment_hardware(const HardwarePreset& hw, const Deployment& dep) {
  HardwareModel m = hardware_model(hw);
  const double domain = hw.has("nvlink_domain_gpus") ? hw.value("nvlink_domain_gpus")
                        : hw.has("gpus_per_node")    ? hw.value("gpus_per_node")
                                                     : 1;
  // EP all-to-alls split their bytes between NVLink and the NICs in the graph (Deployment::nvlink_domain);
  // a TP group larger than the NVLink domain runs its all-reduce over the NICs (the slowest hop).
  if (dep.tp > domain) {
    const char* key = hw.has("nic_gbs") ? "nic_gbs" : nullptr;
    if (!key) throw config_error("hardware preset '" + hw.id + "' has no nic_gbs but --tp " + std::to_string(dep.tp) +
                                 " spans more than one NVLink domain");
    m.net_bw = {hw.value(key) * 1e9, key, hw.quantity(key).kind};
  }
  return m;
}

namespace {
// Prompt tokens served from a prefix cache at hit rate h: ⌊h·prompt⌋, but the last token always runs
// (it produces the first output token).
int64_t prefix_cached(int64_t prompt, double h) {
  return std::min<int64_t>(prompt - 1, int64_t(std::floor(h * double(prompt))));
}
Deployment with_domain(const HardwarePreset& hw, Deployment dep) {
  if (dep.nvlink_domain <= 0)
    dep.nvlink_domain = hw.has("nvlink_domain_gpus") ? int(hw.value("nvlink_domain_gpus"))
                        : hw.has("gpus_per_node")    ? int(hw.value("gpus_per_node"))
                                                     : 1;
  return dep;
}
}  // namespace

StepPredictor::StepPredictor(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl)
    : graph_(build_step_graph(m, with_domain(hw, dep), wl)), hw_(deployment_hardware(hw, dep)) {}

void StepPredictor::run(StepCost& out) {
  sched_.run(graph_, hw_, out.schedule);
  out.step_s = out.schedule.step_s;
}

StepCost StepPredictor::predict() {
  StepCost c;
  run(c);
  c.n_nodes = int(graph_.works.size());
  c.tokens_per_gpu = graph_.tokens_per_gpu;
  c.missing_ops = graph_.missing_ops;
  for (int v = 0; v < c.n_nodes; ++v) {
    const OpNode& n = graph_.dag[v];
    const double t = c.schedule.node_s[v];
    c.by_layer_type_s[n.layer_type] += t;
    c.by_family_s[n.family] += t;
    c.flops += n.work.flops + n.work.transcendentals;
    c.bytes_mem += n.work.bytes_mem;
    c.bytes_net += n.work.bytes_net + n.work.bytes_nic;
    c.bytes_host += n.work.bytes_host_link;
  }
  return c;
}

StepCost predict_step(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl) {
  StepPredictor p(m, hw, dep, wl);
  return p.predict();
}

ServingMetrics predict_serving(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                               const Workload& wl) {
  ServingMetrics s;
  s.step = predict_step(m, hw, dep, wl);
  s.memory = memory_footprint(m, hw, dep, wl);
  const double G = dep.gpus;
  s.gpus_per_node = hw.has("gpus_per_node") ? int(hw.value("gpus_per_node")) : 8;
  s.price_usd_per_gpu_hour = dep.price_usd_per_gpu_hour >= 0 ? dep.price_usd_per_gpu_hour
                             : hw.has("price_usd_per_gpu_hour") ? hw.value("price_usd_per_gpu_hour")
                                                                : 0.0;
  // Decode
  Workload dw = wl;
  dw.phase = Phase::Decode;
  s.decode = wl.phase == Phase::Decode ? s.step : predict_step(m, hw, dep, dw);
  const bool spec = dep.mtp && dep.mtp_accept > 0 && model_dims(m).n_mtp > 0;
  const double gain = spec ? 1.0 + dep.mtp_accept : 1.0;
  s.tpot_s = s.decode.step_s / gain;
  s.decode_tokens_per_s_per_gpu = double(wl.batch) * gain / s.decode.step_s / G;
  s.decode_tokens_per_s_per_node = s.decode_tokens_per_s_per_gpu * std::min<double>(G, s.gpus_per_node);
  // Prefill: one prompt of `context` tokens per DP rank, chunk by chunk (decode phase) or the given
  // batch (prefill phase); chunks of the prompt see a growing context.
  Workload pw = wl;
  pw.phase = Phase::Prefill;
  pw.batch = wl.phase == Phase::Prefill ? wl.batch : dep.dp;
  const int64_t prompt = std::max<int64_t>(1, wl.context);
  const int64_t chunk = std::max<int64_t>(1, std::min(wl.chunk, prompt));
  const int64_t cached = prefix_cached(prompt, wl.kv_hit_rate);
  double ttft = 0;
  for (int64_t done = cached; done < prompt; done += chunk) {
    pw.context = done;
    pw.chunk = std::min(chunk, prompt - done);
    ttft += predict_step(m, hw, dep, pw).step_s;
  }
  s.ttft_s = ttft;
  s.prefill_tokens_per_s_per_gpu = double(pw.batch) * double(prompt) / ttft / G;
  const double usd_per_s = s.price_usd_per_gpu_hour / 3600.0;
  s.usd_per_m_input_tokens = usd_per_s / s.prefill_tokens_per_s_per_gpu * 1e6;
  s.usd_per_m_output_tokens = usd_per_s / s.decode_tokens_per_s_per_gpu * 1e6;
  return s;
}

StepGraphCache::StepGraphCache(const ModelPreset& m) : m_(m), has_mtp_(model_dims(m).n_mtp > 0) {}

StepGraph& StepGraphCache::get(const Deployment& dep, const Workload& wl) {
  // The rest of the structure key as build() derives it: speculative decode, micro-batch count.
  const bool decode = wl.phase == Phase::Decode;
  const bool spec = decode && dep.mtp && dep.mtp_accept > 0 && has_mtp_;
  const int64_t seqs = (wl.batch + dep.dp - 1) / dep.dp;
  const int64_t T_all = seqs * (decode ? (spec ? 2 : 1) : wl.chunk);
  const int mbs = dep.overlap && T_all >= 2 ? 2 : 1;
  for (auto& g : graphs_)
    if (g->speculative == spec && g->micro_batches == mbs && same_structure(*g, dep, wl.phase)) {
      refill_step_graph(*g, m_, dep, wl);
      return *g;
    }
  graphs_.push_back(std::make_unique<StepGraph>(build_step_graph(m_, dep, wl)));
  return *graphs_.back();
}

ServingPredictor::ServingPredictor(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                   StepGraphCache* cache)
    : m_(m), hw_(hw), dep_(with_domain(hw, dep)), hwm_(deployment_hardware(hw, dep)), has_mtp_(model_dims(m).n_mtp > 0) {
  if (!cache) {
    own_cache_ = std::make_unique<StepGraphCache>(m);
    cache = own_cache_.get();
  }
  cache_ = cache;
}

void ServingPredictor::adopt_ttft(const ServingPredictor& o) {
  const Deployment &a = dep_, &b = o.dep_;
  if (!o.ttft_valid_ || &hw_ != &o.hw_ || &m_ != &o.m_ || a.tp != b.tp || a.ep != b.ep || a.dp != b.dp ||
      a.gpus != b.gpus || a.overlap != b.overlap || a.mtp != b.mtp || a.engram_prefetch_layers != b.engram_prefetch_layers)
    return;
  ttft_valid_ = true;
  ttft_context_ = o.ttft_context_;
  ttft_chunk_ = o.ttft_chunk_;
  ttft_batch_ = o.ttft_batch_;
  ttft_cached_ = o.ttft_cached_;
  ttft_s_ = o.ttft_s_;
}

void ServingPredictor::step(const Workload& wl, StepCost& c) {
  const StepGraph& g = cache_->get(dep_, wl);
  // Node times as Scheduler::run computes them (efficiency per op key), once per distinct work
  // (copied blocks share it).
  const int n = int(g.works.size());
  key_eff_.resize(g.op_keys.size());
  for (size_t k = 0; k < g.op_keys.size(); ++k)
    key_eff_[k] = hwm_.efficiency_for(g.op_keys[k].op, g.op_keys[k].family, g.op_keys[k].variant);
  const bool keyed = int(g.op_index.size()) == n;
  node_s_.resize(n);
  c.flops = c.bytes_mem = c.bytes_net = c.bytes_host = 0;
  for (int v = 0; v < n; ++v) {
    const int src = g.work_source.empty() ? v : g.work_source[v];
    node_s_[v] = src == v ? predict_op(g.works[v], hwm_, keyed ? key_eff_[g.op_index[v]] : nullptr).total_s
                          : node_s_[src];
    const OpWork& w = g.works[v];  // totals as StepPredictor::predict sums them
    c.flops += w.flops + w.transcendentals;
    c.bytes_mem += w.bytes_mem;
    c.bytes_net += w.bytes_net + w.bytes_nic;
    c.bytes_host += w.bytes_host_link;
  }
  sched_.run_with_times(g, node_s_, sr_);
  c.step_s = sr_.step_s;
  c.schedule.step_s = sr_.step_s;
  c.schedule.busy_s = sr_.busy_s;
  c.schedule.dag_critical_path_s = sr_.dag_critical_path_s;
  c.n_nodes = int(g.works.size());
  c.tokens_per_gpu = g.tokens_per_gpu;
}

// Mirrors predict_serving line by line (same operations in the same order, so the same doubles).
ServingMetrics ServingPredictor::predict(const Workload& wl, const MemoryFootprint* memory) {
  const Deployment& dep = dep_;
  const HardwarePreset& hw = hw_;
  ServingMetrics s;
  step(wl, s.step);
  s.memory = memory ? *memory : memory_footprint(m_, hw, dep, wl);
  const double G = dep.gpus;
  s.gpus_per_node = hw.has("gpus_per_node") ? int(hw.value("gpus_per_node")) : 8;
  s.price_usd_per_gpu_hour = dep.price_usd_per_gpu_hour >= 0 ? dep.price_usd_per_gpu_hour
                             : hw.has("price_usd_per_gpu_hour") ? hw.value("price_usd_per_gpu_hour")
                                                                : 0.0;
  Workload dw = wl;
  dw.phase = Phase::Decode;
  if (wl.phase == Phase::Decode) s.decode = s.step;
  else step(dw, s.decode);
  const bool spec = dep.mtp && dep.mtp_accept > 0 && has_mtp_;
  const double gain = spec ? 1.0 + dep.mtp_accept : 1.0;
  s.tpot_s = s.decode.step_s / gain;
  s.decode_tokens_per_s_per_gpu = double(wl.batch) * gain / s.decode.step_s / G;
  s.decode_tokens_per_s_per_node = s.decode_tokens_per_s_per_gpu * std::min<double>(G, s.gpus_per_node);
  Workload pw = wl;
  pw.phase = Phase::Prefill;
  pw.batch = wl.phase == Phase::Prefill ? wl.batch : dep.dp;
  const int64_t prompt = std::max<int64_t>(1, wl.context);
  const int64_t chunk = std::max<int64_t>(1, std::min(wl.chunk, prompt));
  const int64_t cached = prefix_cached(prompt, wl.kv_hit_rate);
  if (!ttft_valid_ || ttft_context_ != prompt || ttft_chunk_ != chunk || ttft_batch_ != pw.batch ||
      ttft_cached_ != cached) {
    double ttft = 0;
    StepCost c;
    for (int64_t done = cached; done < prompt; done += chunk) {
      pw.context = done;
      pw.chunk = std::min(chunk, prompt - done);
      step(pw, c);
      ttft += c.step_s;
    }
    ttft_valid_ = true;
    ttft_context_ = prompt;
    ttft_chunk_ = chunk;
    ttft_batch_ = pw.batch;
    ttft_cached_ = cached;
    ttft_s_ = ttft;
  }
  s.ttft_s = ttft_s_;
  s.prefill_tokens_per_s_per_gpu = double(pw.batch) * double(prompt) / s.ttft_s / G;
  const double usd_per_s = s.price_usd_per_gpu_hour / 3600.0;
  s.usd_per_m_input_tokens = usd_per_s / s.prefill_tokens_per_s_per_gpu * 1e6;
  s.usd_per_m_output_tokens = usd_per_s / s.decode_tokens_per_s_per_gpu * 1e6;
  return s;
}

}  // namespace v4lab::sim
