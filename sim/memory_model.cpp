// memory_model.cpp — parameter counts from the preset's shapes ([out, in], presets.md §2.3 and
// attention.md §2–§4.3), bytes per parameter by precision (FP8 128×128 + UE8M0 scale, MXFP4 0.53125,
// BF16 embeddings/head/compressors, FP32 mHC), sharded as the deployment lays them out.
// KV bytes come from the preset's derived cache-format fields (kv_entry_bytes, indexer_key_bytes,
// compressor_state_bytes_*), never from constants here.
#include "sim/memory_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/ops/moe_cost.h"
#include "core/presets.h"

namespace v4lab::sim {

namespace {
constexpr double kFp8 = 1.0 + 1.0 / 16384.0;  // FP8 128×128 block, one UE8M0 byte per block
constexpr double kBf16 = 2.0, kFp32 = 4.0;

double field_or(const ModelPreset& m, const char* key, double def) { return m.has_number(key) ? m.number(key) : def; }

// KV bytes of one sequence at context T for one layer (attention.md §4.5/§4.6, §3).
double kv_layer_bytes(const ModelPreset& m, const ModelDims& d, const LayerSpec& s, double T) {
  const double entry = m.number("kv_entry_bytes");
  if (!d.v4) return T * (entry + (s.attn_kind == "dsa" ? field_or(m, "indexer_key_bytes", 132) : 0.0));
  double b = double(d.window) * entry;  // SWA ring (allocated whole)
  if (s.compress_ratio > 0) b += std::floor(T / s.compress_ratio) * entry;
  if (s.attn_kind == "csa") {
    b += std::floor(T / s.compress_ratio) * m.number("indexer_key_bytes");
    b += m.number("compressor_state_bytes_csa") + m.number("compressor_state_bytes_csa_indexer");
  } else if (s.attn_kind == "hca") {
    b += m.number("compressor_state_bytes_hca");
  }
  return b;
}
}  // namespace

MemoryFootprint memory_footprint(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                 const Workload& wl) {
  const ModelDims d = model_dims(m);
  check_deployment(d, dep, wl);
  const std::vector<LayerSpec> layers = layer_schedule(m);
  MemoryFootprint f;
  auto add = [&](const std::string& part, double params, double bytes_per_param, double shards) {
    f.params_by_part[part] += params;
    f.weights_bytes_by_part[part] += params * bytes_per_param / shards;
  };
  const double dm = double(d.d_model), tp = dep.tp, ep = dep.ep;
  const double b_exp = moe_bytes_per_weight(MoeWeightFormat(d.expert_dtype));
  for (const LayerSpec& s : layers) {
    if (s.mtp && !dep.mtp) continue;
    const std::string attn = s.mtp ? "mtp" : "attention";
    if (d.v4) {
      const double H = double(d.n_heads);
      add(attn, double(d.q_rank) * dm + double(d.d_head) * dm, kFp8, 1);                 // wq_a, wkv (replicated)
      add(attn, H * d.d_head * d.q_rank + double(d.o_groups) * d.o_rank * (H / d.o_groups * d.d_head) +
                    dm * d.o_groups * d.o_rank, kFp8, tp);                                 // wq_b, wo_a, wo_b
      if (s.compress_ratio > 0) add(attn, 2.0 * (s.compress_ratio == 4 ? 2 : 1) * d.d_head * dm, kBf16, 1);
      if (s.attn_kind == "csa") {
        add(attn, double(d.idx_heads) * d.idx_dim * d.q_rank, kFp8, 1);                  // indexer wq_b
        add(attn, double(d.idx_heads) * dm + 2.0 * 2 * d.idx_dim * dm, kBf16, 1);         // weights_proj, compressor
      }
    } else {
      const double H = double(d.n_heads);
      add(attn, double(d.q_rank) * dm + double(d.kv_rank + d.d_rope) * dm, kFp8, 1);
      add(attn, H * d.d_head * d.q_rank + H * (d.qk_nope + d.v_head) * d.kv_rank + dm * H * d.v_head, kFp8, tp);
      if (s.attn_kind == "dsa") {
        add(attn, double(d.idx_heads) * d.idx_dim * d.q_rank + double(d.idx_dim) * dm, kFp8, 1);
        add(attn, double(d.idx_heads) * dm, kBf16, 1);
      }
    }
    if (d.mhc) add(s.mtp ? "mtp" : "mhc", 2.0 * double((2 + d.hc) * d.hc) * d.hc * dm, kFp32, 1);  // fn [24, 4d] x2
    if (s.moe_kind == "dense") {
      add("dense_ffn", 3.0 * dm * d.d_dense, kFp8, tp);
    } else {
      // The busiest rank holds ⌈E/ep⌉ experts (ep need not divide E).
      add(s.mtp ? "mtp" : "experts", double(d.n_experts) * 3.0 * dm * d.d_expert, b_exp,
          double(d.n_experts) / std::ceil(double(d.n_experts) / ep));
      add(s.mtp ? "mtp" : "shared", double(d.n_shared) * 3.0 * dm * d.d_expert, kFp8, 1);
      add(s.mtp ? "mtp" : "router", double(d.n_experts) * dm, kBf16, 1);
    }
    if (s.mtp) add("mtp", 2.0 * dm * dm, kFp8, 1);  // eh_proj [d, 2d]; embedding and head are shared
  }
  add("embed_head", 2.0 * double(d.vocab) * dm, kBf16, 1);  // untied embedding + head (BF16), replicated
  for (auto& [k, v] : f.params_by_part) f.params_total += v;
  for (auto& [k, v] : f.weights_bytes_by_part) f.weights_bytes += v;

  const double T = double(wl.context + (wl.phase == Phase::Prefill ? wl.chunk : 1));
  for (const LayerSpec& s : layers)
    if (!s.mtp || dep.mtp) f.kv_bytes_per_seq += kv_layer_bytes(m, d, s, T);
  const double seqs = std::ceil(double(wl.batch) / dep.dp);
  f.kv_bytes = f.kv_bytes_per_seq * seqs;

  // Activations (estimate): one layer live; mHC residual in+out FP32 (2·hc·d·4), the largest
  // attention temporary (q heads BF16) and the MoE rows (k·(2f FP32 + d FP32)) per token.
  const double per_tok = 2.0 * d.hc * dm * 4 + double(d.n_heads) / tp * d.d_head * 2 +
                         double(d.moe_top_k) * (2.0 * d.d_expert * 4 + dm * 4);
  const double toks_per_seq = wl.phase == Phase::Prefill ? double(wl.chunk) : 2.0;
  f.activation_bytes = per_tok * toks_per_seq * seqs;

  if (!d.engram_layers.empty() && m.has("engram_rows_per_layer")) {
    const double row_b = m.number("engram_row_bytes");
    double table = 0;
    for (int r : m.int_array("engram_rows_per_layer")) table += double(r) * row_b;
    // Hot rows live in every GPU's HBM (replicated: each GPU gathers for its own tokens); host RAM
    // holds the rest (static pinning: a hot row is never fetched from the host).
    f.engram_hot_bytes = dep.engram_hot_fraction * table;
    f.host_bytes = table - f.engram_hot_bytes;
  }
  f.total_bytes = f.weights_bytes + f.kv_bytes + f.activation_bytes + f.engram_hot_bytes;
  f.capacity_bytes = hw.value("mem_capacity_gb") * 1e9;
  f.fits = f.total_bytes <= f.capacity_bytes;
  f.shortfall_bytes = f.fits ? 0 : f.total_bytes - f.capacity_bytes;
  f.headroom_bytes = f.fits ? f.capacity_bytes - f.total_bytes : 0;
  const double per_seq = f.kv_bytes_per_seq + per_tok * toks_per_seq;
  const double room = f.capacity_bytes - f.weights_bytes - f.engram_hot_bytes;
  f.max_batch = room > 0 ? int64_t(std::floor(room / per_seq)) * dep.dp : 0;
  return f;
}

}  // namespace v4lab::sim
