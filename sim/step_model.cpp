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
  double ttft = 0;
  for (int64_t done = 0; done < prompt; done += chunk) {
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

}  // namespace v4lab::sim
