// layer_graph.h — the whole-model op DAG of one step (cost-model issue; specs attention.md §4,
// moe.md "Cost", mhc.md, engram.md §9): per-layer subgraphs of op-catalogue nodes (Boost.Graph
// adjacency_list) with resolved params and an OpWork each, placed on a stream (compute / comm / host),
// chained layer to layer, optionally as two interleaved micro-batches. Flattened once into vectors
// so the scheduler can run the same configuration many times without allocating.
#pragma once
#include <boost/graph/adjacency_list.hpp>

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "core/op_catalogue.h"

namespace v4lab {
struct ModelPreset;
}

namespace v4lab::sim {

enum class StreamId : uint8_t { Compute = 0, Comm = 1, Host = 2 };
inline constexpr int kNumStreams = 3;
const char* stream_name(StreamId s);

enum class Phase { Prefill, Decode };

// How the model is laid out over GPUs. gpus = tp·dp (attention: TP shards heads, DP splits the
// batch); MoE experts are sharded over ep ranks (ep divides gpus; experts replicated gpus/ep times).
struct Deployment {
  int tp = 1;                          // attention tensor parallel (heads, o_groups must divide)
  int ep = 1;                          // expert parallel ranks
  int dp = 1;                          // attention data parallel (batch split)
  int gpus = 1;                        // total GPUs = tp·dp
  bool overlap = false;                // two-micro-batch overlap (comm of one hides under compute of the other)
  bool mtp = true;                     // run the MTP block(s) when the preset has them
  double mtp_accept = 0.0;             // acceptance rate of the 1-token MTP draft; > 0 turns speculative decode on
  int engram_prefetch_layers = 1;      // Engram host copy may start this many layers before its layer
  // Engram HBM hot cache (memory_model; specs/engram.md §9-§10 T0): share of the Engram table rows held
  // in HBM on every GPU (0: none, every gathered row crosses the host link — the paper's conservative
  // setting), and the share of lookups it serves (< 0: the fraction itself, the uniform-access bound;
  // pass the hit rate `v4lab engram cache-sim` reports for a skewed trace).
  double engram_hot_fraction = 0;
  double engram_hot_hit_rate = -1;
  double engram_hit_rate() const { return engram_hot_hit_rate >= 0 ? engram_hot_hit_rate : engram_hot_fraction; }
  double price_usd_per_gpu_hour = -1;  // < 0: the hardware preset's price_usd_per_gpu_hour
  int nvlink_domain = 0;               // GPUs per NVLink domain; 0: from the hardware preset (StepPredictor)
};

struct Workload {
  Phase phase = Phase::Decode;
  int64_t batch = 1;      // sequences in the step over the whole deployment
  int64_t context = 4096; // tokens already cached (decode), or before the chunk (prefill)
  int64_t chunk = 4096;   // prefill: new tokens per sequence in this chunk
  double kv_hit_rate = 0; // share of each prompt already in a prefix (KV) cache: TTFT prefills only the rest
};

// The numbers of a model preset the graph and memory model use (validated once).
struct ModelDims {
  std::string id;
  bool v4 = false;        // V4 hybrid attention (compress_ratios); else MLA/DSA
  bool mhc = false;       // hc_mult present
  int64_t vocab = 0, d_model = 0, n_layers = 0, n_mtp = 0;
  int64_t n_heads = 0, d_head = 0, d_rope = 0, q_rank = 0, o_rank = 0, o_groups = 0, window = 0;
  int64_t kv_rank = 0, qk_nope = 0, v_head = 0;   // MLA
  int64_t idx_heads = 0, idx_dim = 0, top_k = 0;  // indexer (V3.2 DSA, V4 CSA)
  int64_t n_experts = 0, n_shared = 0, moe_top_k = 0, d_expert = 0, d_dense = 0;
  int hc = 1, hc_iters = 20;
  int expert_dtype = 2;   // moe_experts expert_dtype: 0 BF16, 1 FP8, 2 FP4
  int scoring = 2;        // moe_gate scoring
  double swiglu_limit = 0;
  // Engram
  std::vector<int> engram_layers;
  int engram_max_ngram = 0, engram_heads = 0, engram_head_dim = 0, engram_row_dtype = 1;
};
ModelDims model_dims(const ModelPreset& m);  // throws config_error naming the preset and missing field

// One layer of the schedule (main layers then MTP blocks), from the preset's arrays.
struct LayerSpec {
  int index = 0;
  std::string attn_kind;  // swa, csa, hca (V4) | mla, dsa
  int compress_ratio = 0;
  std::string moe_kind;   // hash, moe, dense
  bool engram = false;
  bool mtp = false;
};
std::vector<LayerSpec> layer_schedule(const ModelPreset& m);

struct OpNode {
  std::string op;          // catalogue name; "ep_dispatch" / "ep_combine" / "tp_allreduce" / "engram_h2d" for transfers
  std::string label;       // role in the layer: wq_a, experts, ...
  std::string family;      // mhc, attention, moe, engram, quant, numerics, comm
  std::string layer_type;  // breakdown bucket: swa/csa/hca/mla/dsa (attention+mhc), hash/moe/dense, engram, mtp, head
  StreamId stream = StreamId::Compute;
  ParamMap params;         // resolved catalogue params (empty for transfers)
  OpWork work;
  int layer = -1;          // -1: before the first layer / after the last (head)
  int stage = 0;           // order within the layer (list-schedule priority)
  int micro_batch = 0;
};

using Dag = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS, OpNode>;

// The step DAG plus its flat view. `order` is a topological order by (layer, stage, micro-batch):
// with two micro-batches it interleaves them stage by stage, which is what makes overlap happen.
struct StepGraph {
  Dag dag;
  std::vector<LayerSpec> layers;
  std::vector<std::string> missing_ops;  // attention catalogue entries not yet present (not modelled)
  int64_t tokens_per_gpu = 0;            // attention tokens per GPU in the step (all micro-batches)
  int micro_batches = 1;
  // Structure key (what refill_step_graph checks): the phase, speculative decode, the layout.
  Phase phase = Phase::Decode;
  bool speculative = false;
  Deployment dep;
  // flat (index = vertex id)
  std::vector<int> order;
  std::vector<int> pred_begin, preds;    // CSR: preds of v are preds[pred_begin[v] .. pred_begin[v+1])
  std::vector<uint8_t> stream;
  std::vector<OpWork> works;
  // Op identity for calibrated efficiencies: node v is op_keys[op_index[v]] (op name, family, bytes
  // variant); a few dozen distinct keys, so the scheduler resolves efficiencies per key.
  struct OpKey {
    std::string op, family, variant;
    bool operator<(const OpKey& o) const { return std::tie(op, family, variant) < std::tie(o.op, o.family, o.variant); }
  };
  std::vector<OpKey> op_keys;
  std::vector<uint16_t> op_index;
  // After refill_step_graph: works[v] is a copy of works[work_source[v]] (work_source[v] <= v), so its
  // predicted time is too. Empty after build_step_graph (every node its own).
  std::vector<int> work_source;
};

// Build the DAG of one step for a configuration (validates the deployment against the model).
StepGraph build_step_graph(const ModelPreset& m, const Deployment& dep, const Workload& wl);
// Fast path (planner): recompute g.works (and tokens_per_gpu, dep) for another deployment and workload
// of the same structure, without rebuilding the DAG: the same phase, TP > 1 and EP > 1 alike (their
// collectives exist), the same mtp and engram prefetch, and the same micro-batch count and speculative
// decode (checked while refilling). The works then equal build_step_graph(m, dep, wl).works exactly;
// g.dag keeps the node params of its build. Throws runtime_error when the structure differs.
void refill_step_graph(StepGraph& g, const ModelPreset& m, const Deployment& dep, const Workload& wl);
// Whether g can be refilled for `dep` in `phase` (the part of the structure key known before refilling).
bool same_structure(const StepGraph& g, const Deployment& dep, Phase phase);
// One layer alone (tests, GUI): the same builder into a fresh graph.
Dag build_layer_graph(const ModelPreset& m, const Deployment& dep, const Workload& wl, const LayerSpec& layer);

// Validate tp/ep/dp/gpus against the model (usage errors name the flag and value).
void check_deployment(const ModelDims& d, const Deployment& dep, const Workload& wl);

}  // namespace v4lab::sim
