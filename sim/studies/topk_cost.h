// topk_cost.h — the modelled half of the DSA / CSA top-k study (specs/studies.md (b) "Cost vs k"):
// per query token per layer at decode, the FLOPs split (indexer projections, scoring, selection,
// attention) from the op catalogue (get_op(name).work, never re-derived here), the bytes split at the
// production layouts of the spec (indexer keys 132 / 68 B, logits 4 B, KV 656 / 584 B), and the
// whole-model step time from predict_step with the preset's index_topk overridden. Every number is a
// cost-model prediction.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/layer_graph.h"

namespace v4lab {
struct ModelPreset;
struct HardwarePreset;
}  // namespace v4lab

namespace v4lab::sim {

enum class TopkArch { Dsa, Csa };  // V3.2 token-level DSA, V4 CSA over ratio-4 compressed entries
const char* topk_arch_name(TopkArch a);  // "dsa", "csa"

inline constexpr int64_t kTopkDense = -1;  // k value of the dense reference (k_eff = N, no indexer)

// The shape numbers of one preset the study needs (validated once).
struct TopkArchShape {
  TopkArch arch = TopkArch::Dsa;
  std::string model_id;
  int64_t d_model = 0, q_rank = 0, n_heads = 0, d_rope = 0;
  int64_t idx_heads = 0, idx_dim = 0, default_k = 0;
  int64_t kv_rank = 0, qk_nope = 0, v_head = 0;  // DSA (MLA absorbed)
  int64_t d_head = 0, window = 0;                // CSA (V4 sparse core)
};
// DSA for a preset with index_topk and no compress_ratios (V3.2); CSA for a V4 preset. Throws
// config_error naming the preset when it has no indexer (e.g. V3).
TopkArchShape topk_arch_shape(const ModelPreset& m);

// Candidates N a query at context L chooses from: L (DSA), ⌊L/4⌋ (CSA).
int64_t topk_candidates(TopkArch a, int64_t context);

struct TopkCost {
  TopkArch arch = TopkArch::Dsa;
  int64_t context = 0;  // L: tokens the query sees (itself included)
  int64_t k = 0;        // requested k; kTopkDense for the dense reference
  int64_t n_cand = 0;   // N
  int64_t k_eff = 0;    // min(k, N); N for dense
  int64_t attended = 0; // entries the attention core reads: k_eff (DSA), min(L, window) + k_eff (CSA)
  // FLOPs per query token per layer (catalogue OpWork.flops of the named ops)
  double proj_flops = 0;       // DSA: gemm_fp8 wq_b^I, wk^I, weights_proj; CSA: gemm_fp8 wq_b^I, w^I + attn_compress main and indexer (per token)
  double scoring_flops = 0;    // attn_dsa_indexer | attn_csa_indexer over N keys
  double selection_flops = 0;  // attn_topk over N scores
  double attn_flops = 0;       // attn_mla_decode (absorbed, top_k = k_eff) | attn_sparse (ratio 4, top_k = k_eff)
  double total_flops() const { return proj_flops + scoring_flops + selection_flops + attn_flops; }
  // Bytes per query token per layer at the production layouts (studies.md (b) "Bytes")
  double key_bytes = 0;    // N·132 (V3.2 FP8 keys) | N·68 (V4 FP4 keys)
  double score_bytes = 0;  // 4·N logits, if materialized
  double kv_bytes = 0;     // k_eff·656 | (min(L, window) + k_eff)·584
  double total_bytes() const { return key_bytes + score_bytes + kv_bytes; }
};

// One point. k = kTopkDense gives the dense reference (no projections, scoring or selection). Throws
// config_error when a catalogue parameter range is exceeded (e.g. CSA dense with N > 65536).
TopkCost topk_cost(const TopkArchShape& s, int64_t context, int64_t k);

struct TopkStep {
  TopkArch arch = TopkArch::Dsa;
  int64_t context = 0, k = 0;
  double step_s = 0;       // predicted decode step (makespan)
  double attention_s = 0;  // busy time of the attention family in the step
  double flops = 0, bytes_mem = 0;
  bool ok = true;          // false: not modelled (note says why)
  std::string note;
};

// Decode step at `context` tokens with index_topk = k on a copy of the preset. Dense: DSA runs the
// preset with every dsa layer as plain MLA (no indexer); CSA sets index_topk = N (the indexer still
// runs: V4 has no indexer-free CSA), and is not modelled when N exceeds the catalogue's top_k range.
TopkStep topk_step(const ModelPreset& m, const TopkArchShape& s, const HardwarePreset& hw, const Deployment& dep,
                   int64_t batch, int64_t context, int64_t k);

}  // namespace v4lab::sim
