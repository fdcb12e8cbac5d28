// model_build.h — reduced whole models for `v4lab exec` (issue 11): a model preset scaled down to a
// few hundred MB (widths, heads, experts, vocab; every layer kept in schedule order), its layer
// schedule exactly as the preset's arrays say (sim::layer_schedule: compress ratios, hash layers,
// MTP), a memory estimate that refuses a run before anything is allocated, and seeded random weights
// in the preset's storage precisions (FP8 e4m3 128×128 UE8M0 projections, MXFP4 or FP8 experts,
// BF16 embeddings / router / compressor, FP32 mHC). Weights are generated, never downloaded.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/presets.h"
#include "sim/layer_graph.h"

namespace v4lab::profiler {

// A named scale plus per-field overrides (0 = the named scale's value; layers -1 = the preset's).
struct ExecScale {
  std::string name = "small";  // tiny | small | preset (no width scaling)
  int64_t layers = -1;         // main layers kept (the first `layers` of the schedule, MTP blocks kept)
  int64_t d_model = 0;         // hidden_size (multiple of 128: FP8 1×128 activation blocks)
  int64_t n_heads = 0;         // num_attention_heads (a multiple of o_groups)
  int64_t d_head = 0;          // head_dim (multiple of 128)
  int64_t q_rank = 0;          // q_lora_rank (multiple of 128)
  int64_t o_rank = 0;          // o_lora_rank (multiple of 128)
  int64_t o_groups = 0;        // o_groups
  int64_t n_experts = 0;       // n_routed_experts
  int64_t d_expert = 0;        // moe_intermediate_size (multiple of 128)
  int64_t moe_top_k = 0;       // num_experts_per_tok
  int64_t vocab = 0;           // vocab_size
  int64_t idx_heads = 0;       // index_n_heads
  int64_t idx_dim = 0;         // index_head_dim (power of two, >= qk_rope_head_dim)
  int64_t index_topk = 0;      // index_topk (CSA selected entries)
  int64_t window = 0;          // sliding_window
  int64_t kv_rank = 0;         // kv_lora_rank (MLA latent width of V3 / V3.2 / Engram-27B)
  int64_t d_dense = 0;         // intermediate_size (dense FFN layers: V3 first_k_dense_replace; multiple of 128)
  int64_t engram_rows = 0;     // engram_vocab_size_per_order (table-size seed of every order: rows ≈ (N−1)·K·this)
  int64_t engram_head_dim = 0; // engram_head_dim ((N−1)·K·head_dim must be a multiple of 128)
};
// "tiny" (tests: ~1 s), "small" (default: the V4-Flash target run), "preset" (full widths);
// overrides are applied on top by the CLI. usage_error naming the accepted names otherwise.
ExecScale named_scale(const std::string& name);

// The preset with the scale applied to its fields (a new ModelPreset: sim::model_dims and the cost
// model read it like any preset). config_error naming the field and value when the scaled widths do
// not meet the kernels' constraints (multiples of 128, power-of-two indexer width, ...).
ModelPreset scale_preset(const ModelPreset& m, const ExecScale& s);

// What the executor supports: V4 hybrid attention with mHC (V4-Flash, V4-Pro, V4.1-like), MLA (V3,
// Engram-27B) and MLA + DSA (V3.2), with or without mHC, dense FFN layers and Engram layers.
// Returns "" when supported, else the reason (the CLI refuses with exit code 2).
std::string exec_unsupported_reason(const sim::ModelDims& d);

struct ExecShape {
  int64_t batch = 4;         // sequences
  int64_t prefill = 0;       // prompt tokens per sequence
  int64_t decode = 0;        // decode steps (1 token per sequence each; 2 with mtp_verify)
  int64_t chunk = 0;         // prefill tokens per sequence per chunk; 0 or >= prefill: one chunk
  bool mtp_verify = false;   // decode steps feed 2 query tokens (last accepted + MTP draft) and verify
  // Prompt tokens per sequence of one prefill chunk.
  int64_t chunk_len() const { return chunk <= 0 || chunk >= prefill ? prefill : chunk; }
  // Query tokens per sequence of the largest step (sizes the workspace).
  int64_t step_tokens() const { return std::max<int64_t>({int64_t(1), chunk_len(), mtp_verify ? int64_t(2) : 1}); }
  // Positions the caches hold per sequence: the prompt plus 1 (2 with verification) per decode step.
  int64_t capacity() const { return std::max<int64_t>(1, prefill) + decode * (mtp_verify ? 2 : 1); }
};

// The executor's own accounting of what it will allocate, in bytes (weights exactly; caches and
// activations as sized by the executor's workspace; estimate_memory in model_exec.h).
struct MemoryEstimate {
  double weights_bytes = 0;
  double cache_bytes = 0;       // raw KV, SWA rings, compressed entries, indexer keys, compressor state
  double activation_bytes = 0;  // the largest step's workspace (batch × the largest step's tokens)
  // The largest transient one kernel call allocates inside itself (moe_experts' FP32 / FP8 row
  // buffers, the compressor's widened input and projections, the DSA indexer's decoded keys): the
  // calls run one at a time, so the peak holds one of them.
  double scratch_bytes = 0;
  double total_bytes() const { return weights_bytes + cache_bytes + activation_bytes + scratch_bytes; }
};
// Available RAM (MemAvailable of /proc/meminfo), bytes; 0 when unknown.
double available_ram_bytes();

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------
// FP8 e4m3 weight [n, k] with 128×128 UE8M0 block scales [⌈n/128⌉, k/128] (gemm_fp8's B operand).
struct Fp8Weight {
  int64_t n = 0, k = 0;
  std::vector<uint8_t> codes, scales;
  double bytes() const { return double(codes.size() + scales.size()); }
};
// Expert stack [E, out, in] in the moe kernels' layout (MoeWeight views into it).
struct ExpertWeight {
  std::vector<uint8_t> codes;  // FP4 nibbles / FP8 bytes (BF16 is stored as 2 bytes per element)
  std::vector<uint8_t> scales;
  double bytes() const { return double(codes.size() + scales.size()); }
};
struct MhcWeights {
  std::vector<float> fn, base, scale;  // [m, n·d], [m], [3] (head: [n, n·d], [n], [1])
};
struct CompressorWeights {
  std::vector<uint16_t> w_kv, w_gate;  // [c·d, D] BF16
  std::vector<float> ape;              // [r, c·d]
  std::vector<uint16_t> norm;          // [d] BF16
};

struct LayerWeights {
  MhcWeights hc_attn, hc_ffn;
  std::vector<float> attn_norm, ffn_norm, q_norm, kv_norm;  // RMSNorm weights
  Fp8Weight wq_a, wq_b, wkv, wo_b;
  std::vector<Fp8Weight> wo_a;  // one per O group: [o_rank, heads_per_group·d_head]
  std::vector<float> sink;      // [n_heads] attention sink logits
  CompressorWeights cmp, idx_cmp;
  Fp8Weight idx_wq_b, idx_w;  // CSA indexer query [idx_heads·idx_dim, q_rank], head weights [idx_heads, d]
  // MoE
  std::vector<uint16_t> w_gate;  // router [E, d] BF16
  std::vector<float> gate_bias;  // [E]
  std::vector<int32_t> tid2eid;  // hash layers: [vocab, k]
  ExpertWeight w1, w3, w2;       // routed [E, f, d], [E, f, d], [E, d, f]
  ExpertWeight s1, s3, s2;       // shared expert (FP8 128×128), n_shared·f wide
  // MTP block input projection
  std::vector<float> enorm, hnorm;
  Fp8Weight eh_proj;  // [d, 2d]
  // MLA (V3 / V3.2 / Engram-27B): wq_a, wq_b [H·(d_nope + d_rope), q_rank], wkv = W_kva [kv_rank + d_rope, d],
  // kv_norm [kv_rank], wo_b = W_o [d, H·d_v]; W_kvb [H·(d_nope + d_v), kv_rank] BF16 (the MLA core's input).
  std::vector<uint16_t> w_kvb;
  Fp8Weight idx_wk;  // DSA indexer key [idx_dim, d] (idx_wq_b and idx_w shared with the CSA indexer)
  // Dense FFN layers use s1 / s3 / s2 at width intermediate_size (no router, no routed experts).
  // Engram (engram.md §3–§5): the layer's table, host-resident BF16 rows [table_rows, head_dim];
  // hash layout (SplitMix64 multipliers [N], primes / offsets [R], the prime rule across layers);
  // key / value projections W_K [M·d, d_mem], W_V [d, d_mem] (FP8); gate and conv norms [M, d]; conv [M·d, w].
  std::vector<uint16_t> eng_table;
  int64_t eng_table_rows = 0;
  std::vector<uint64_t> eng_mult, eng_primes;
  Fp8Weight eng_wk, eng_wv;
  std::vector<float> eng_qnorm, eng_knorm, eng_cnorm, eng_conv;
};

struct ModelWeights {
  std::vector<uint16_t> embed;      // [vocab, d] BF16
  std::vector<int32_t> eng_cmap;    // Engram canonical map [vocab] (identity: no tokenizer here; engram.md §2)
  MhcWeights hc_head;
  std::vector<float> final_norm;
  Fp8Weight lm_head;  // [vocab, d]
  std::vector<LayerWeights> layers;
  double bytes = 0;  // total, as allocated
};

// Seeded weights: every tensor has its own stream (seed, layer, tensor), so a layer's weights do
// not depend on how many layers were built.
// `engram_rows`: the table-size seed of every Engram order (engram_rows_of; 0 = kDefaultEngramRows).
ModelWeights build_weights(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, uint64_t seed,
                           int64_t engram_rows = 0);
// Bytes build_weights will allocate, computed from the dims alone (the refusal check runs on it).
double weight_bytes(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, int64_t engram_rows = 0);

// Engram table layout of one layer (engram.md §3: the global prime rule over the model's Engram
// layers, SplitMix64 multipliers, hash seed 0 — non-official ids) for the executor's tables.
inline constexpr int64_t kDefaultEngramRows = 4096;
int64_t engram_rows_of(const ModelPreset& m);  // first entry of engram_vocab_size_per_order; 0 when absent
struct EngramLayerTable {
  std::vector<uint64_t> multipliers, primes;
  int64_t rows = 0;  // Σ primes
};
std::vector<EngramLayerTable> engram_tables(const sim::ModelDims& d, int64_t engram_rows);

}  // namespace v4lab::profiler
