// ucurve_cost.cpp — the modelled cost side of the U-curve study (specs/studies.md (a) "Cost side"):
// one derived model preset per rho (the budget's backbone with E(rho) routed experts of the derived
// width and Engram tables sized for rho), run through the whole-model cost model (predict_serving:
// step time, TTFT, $/Mtok; memory_footprint: HBM and host bytes); the distinct-expert formula for
// expert bytes read per decode step; Engram PCIe bytes and stall from the cache simulator replaying a
// trace on the table sized for this rho. Every number is a prediction of the cost model.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "core/ops/moe_cost.h"
#include "sim/engram_cache.h"
#include "sim/step_model.h"
#include "sim/studies/ucurve.h"

namespace v4lab::sim::ucurve {

namespace {

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

double bytes_per_expert_weight(const std::string& dtype) {
  return dtype == "bf16"  ? moe_bytes_per_weight(MoeWeightFormat::BF16)
         : dtype == "fp4" ? moe_bytes_per_weight(MoeWeightFormat::FP4)
                          : moe_bytes_per_weight(MoeWeightFormat::FP8);
}

int64_t expert_width(const BudgetGeometry& g) {
  // p_expert spans all MoE layers (every layer is MoE in the derived preset): 3·d·f per layer.
  return std::max<int64_t>(1, std::llround(g.p_expert_b() * 1e9 / (3.0 * double(g.d_model) * double(g.n_layers))));
}

}  // namespace

void CostOptions::validate() const {
  auto range = [](const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw config_error(std::string(name) + " = " + num(v) + " is out of range [" + num(lo) + ", " + num(hi) + "]");
  };
  range("batch", double(batch), 1, 1 << 20);
  range("context", double(context), 0, 1 << 24);
  range("cache_rows", double(cache_rows), 0, 4294967296.0);
  range("sim_tokens", double(sim_tokens), 1, 1e8);
  range("engram_prefetch_layers", engram_prefetch_layers, 0, 1024);
  if (residency != "host" && residency != "hbm")
    throw config_error("residency = '" + residency + "' (accepted: host, hbm)");
  if (cache_policy != "lru" && cache_policy != "lfu" && cache_policy != "static")
    throw config_error("cache_policy = '" + cache_policy + "' (accepted: lru, lfu, static)");
}

ModelPreset derived_preset(const BudgetGeometry& g, const Allocation& a) {
  if (!g.has_backbone())
    throw config_error("budget '" + g.id +
                           "' has no backbone columns (d_model, n_layers, MLA ranks, Engram template); "
                           "the cost side needs them",
                       g.where);
  ModelPreset m;
  m.id = "ucurve_" + g.id + "_E" + std::to_string(a.experts);
  m.display = "U-curve " + g.id + " rho " + num(a.rho_exact) + " (derived backbone, assumption)";
  m.source = "derived from " + g.where + " by sim/studies/ucurve (backbone columns are assumptions)";
  m.provenance_kind = "derived";
  const int64_t L = g.n_layers;
  auto& f = m.fields;
  f["vocab_size"] = g.vocab;
  f["hidden_size"] = g.d_model;
  f["num_hidden_layers"] = L;
  f["num_nextn_predict_layers"] = 0;
  f["num_attention_heads"] = g.n_heads;
  f["q_lora_rank"] = g.q_lora_rank;
  f["kv_lora_rank"] = g.kv_lora_rank;
  f["qk_nope_head_dim"] = g.qk_nope_head_dim;
  f["qk_rope_head_dim"] = g.qk_rope_head_dim;
  f["v_head_dim"] = g.v_head_dim;
  f["kv_entry_bytes"] = 2 * (g.kv_lora_rank + g.qk_rope_head_dim);  // BF16 latent + RoPE part
  f["n_routed_experts"] = a.experts;
  f["n_shared_experts"] = g.n_shared;
  f["num_experts_per_tok"] = g.top_k;
  f["moe_intermediate_size"] = expert_width(g);
  f["hc_mult"] = g.hc_mult;
  f["expert_dtype"] = g.expert_dtype;
  f["attn_kind"] = std::vector<std::string>(size_t(L), "mla");
  f["moe_kind"] = std::vector<std::string>(size_t(L), "moe");
  if (!a.rows_per_layer.empty()) {
    f["engram_layer_ids"] = g.engram_layers;
    f["engram_max_ngram"] = g.engram_max_ngram;
    f["engram_heads"] = g.engram_heads;
    f["engram_head_dim"] = g.engram_head_dim;
    f["engram_row_dtype"] = g.engram_row_dtype;
    f["engram_row_bytes"] = g.engram_row_bytes();
    f["engram_vocab_size_per_order"] = std::vector<uint64_t>(size_t(g.engram_max_ngram - 1), a.vocab_size_per_order);
    std::vector<int64_t> rows(a.rows_per_layer.begin(), a.rows_per_layer.end());
    f["engram_rows_per_layer"] = rows;
  }
  return m;
}

CostPoint ucurve_cost(const BudgetGeometry& g, const Allocation& a, const CostOptions& o) {
  o.validate();
  const ModelPreset m = derived_preset(g, a);
  Deployment dep;
  dep.tp = dep.ep = dep.dp = dep.gpus = 1;
  dep.mtp = false;
  dep.engram_prefetch_layers = o.engram_prefetch_layers;
  dep.price_usd_per_gpu_hour = o.price_usd_per_gpu_hour;
  Workload wl;
  wl.phase = Phase::Decode;
  wl.batch = o.batch;
  wl.context = o.context;
  const ServingMetrics sm = predict_serving(m, o.hw, dep, wl);

  CostPoint c;
  const bool engram = !a.rows_per_layer.empty();
  const double row_b = engram ? g.engram_row_bytes() : 0;
  for (uint64_t r : a.rows_per_layer) c.engram_table_bytes += double(r) * row_b;
  const bool hbm_resident = o.residency == "hbm";
  const double hot_cache = engram && !hbm_resident ? double(o.cache_rows) * row_b * double(a.rows_per_layer.size()) : 0;
  const double extra_hbm = hbm_resident ? c.engram_table_bytes : hot_cache;
  c.hbm_weight_bytes = sm.memory.weights_bytes + extra_hbm;
  c.hbm_total_bytes = sm.memory.total_bytes + extra_hbm;
  c.host_bytes = hbm_resident ? 0 : c.engram_table_bytes;
  c.fits = c.hbm_total_bytes <= sm.memory.capacity_bytes;

  // Distinct experts under uniform routing, per MoE layer: U = E·(1 − (1 − k/E)^B).
  c.experts_touched = moe_experts_touched(double(o.batch), double(a.experts), double(g.top_k));
  const double p_expert_layer = 3.0 * double(g.d_model) * double(expert_width(g));
  c.expert_bytes_per_step =
      c.experts_touched * p_expert_layer * bytes_per_expert_weight(g.expert_dtype) * double(g.n_layers);

  c.decode_step_s = sm.decode.step_s;
  c.tpot_s = sm.tpot_s;
  c.ttft_s = sm.ttft_s;
  c.decode_tokens_per_s_per_gpu = sm.decode_tokens_per_s_per_gpu;
  c.prefill_tokens_per_s_per_gpu = sm.prefill_tokens_per_s_per_gpu;
  c.usd_per_m_output_tokens = sm.usd_per_m_output_tokens;
  c.usd_per_m_input_tokens = sm.usd_per_m_input_tokens;
  c.flops_per_token = sm.decode.tokens_per_gpu > 0 ? sm.decode.flops / double(sm.decode.tokens_per_gpu) : 0;
  const auto& pp = sm.memory.params_by_part;
  auto part = [&](const char* k) { return pp.count(k) ? pp.at(k) : 0.0; };
  c.backbone_active_params_b = (part("attention") + part("shared") + part("router") + part("mhc") + part("dense_ffn") +
                                part("experts") * double(g.top_k) / double(a.experts)) /
                               1e9;

  if (!engram) {
    c.hbm_hit_rate = 1;
    return c;
  }
  const int R = (g.engram_max_ngram - 1) * g.engram_heads;
  c.engram_lookups_per_step = double(o.batch) * R * double(a.rows_per_layer.size());
  if (hbm_resident) {
    c.hbm_hit_rate = 1;  // the whole table is in HBM: nothing crosses PCIe
    return c;
  }
  if (!o.trace) throw config_error("U-curve cost side: no Engram trace generator given");
  double lookups = 0, hits = 0;
  for (size_t l = 0; l < a.rows_per_layer.size(); ++l) {
    std::vector<uint32_t> ids = o.trace(a.primes[l], g.engram_layers[l], o.sim_tokens);
    for (uint32_t id : ids)
      if (uint64_t(id) >= a.rows_per_layer[l])
        throw config_error("Engram trace row " + std::to_string(id) + " >= table rows " +
                           std::to_string(a.rows_per_layer[l]) + " of layer " + std::to_string(g.engram_layers[l]));
    // The simulator keeps O(table_rows) state, and only row identity (and id order, for static ties)
    // matters to it: compact the ids order-preservingly to [0, distinct) so tables of ~1e8 rows cost
    // nothing. Hit rates, bytes and stalls are unchanged.
    std::vector<uint32_t> distinct = ids;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    for (uint32_t& id : ids) id = uint32_t(std::lower_bound(distinct.begin(), distinct.end(), id) - distinct.begin());
    EngramCacheConfig cc;
    cc.table_rows = std::max<int64_t>(1, int64_t(distinct.size()));
    cc.row_bytes = std::llround(row_b);
    cc.cache_rows = o.cache_rows;
    cc.policy = o.cache_rows == 0 ? CachePolicy::None : parse_cache_policy(o.cache_policy, "cache_policy");
    // The paper's conservative setting (no cache): every lookup crosses PCIe, so no dedup either.
    cc.dedup = o.cache_rows > 0;
    cc.rows_per_token = R;
    cc.tokens_per_step = o.batch;
    cc.prefetch_distance = 0;  // decode: ids of step s are known when step s − 1 samples
    cc.step_s = c.decode_step_s;
    cc.slack_s = c.decode_step_s * double(g.engram_layers[l]) / double(g.n_layers);  // layers before ℓ_e
    cc.link.host_link_bytes_per_s = o.hw.value("host_link_gbs") * 1e9;
    if (o.hw.has("host_link_latency_us")) cc.link.host_link_latency_s = o.hw.value("host_link_latency_us") * 1e-6;
    const EngramCacheResult r = simulate_engram_cache(cc, ids);
    c.pcie_bytes_per_step += r.link_bytes_per_step;
    c.pcie_bytes_per_token += r.link_bytes_per_token;
    c.engram_stall_s += r.stall_mean_s;
    lookups += double(r.lookups);
    hits += double(r.hbm.lookups);
  }
  c.hbm_hit_rate = lookups > 0 ? hits / lookups : 0;
  return c;
}

}  // namespace v4lab::sim::ucurve
