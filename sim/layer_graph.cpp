// layer_graph.cpp — builds the step DAG from a model preset: per layer mHC (or norms), attention
// (attention.md §4.2/§4.7 for V4, §2–§3 for MLA/DSA), MoE with EP dispatch/combine (moe.md "Cost"),
// Engram with its host prefetch (engram.md §9), the MTP block and the head. Every node's work comes
// from the op catalogue; transfers take their byte counts from the catalogue's cost helpers.
#include "sim/layer_graph.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <unordered_map>

#include "core/error.h"
#include "core/ops/engram_cost.h"
#include "core/ops/moe_cost.h"
#include "core/presets.h"

namespace v4lab::sim {

const char* stream_name(StreamId s) {
  switch (s) {
    case StreamId::Compute: return "compute";
    case StreamId::Comm: return "comm";
    case StreamId::Host: return "host";
  }
  return "?";
}

namespace {
int64_t num_or(const ModelPreset& m, const char* key, int64_t def) {
  return m.has_number(key) ? int64_t(m.number(key)) : def;
}
int64_t need(const ModelPreset& m, const char* key) { return int64_t(m.number(key)); }
std::vector<std::string> string_array(const ModelPreset& m, const char* key) {
  std::vector<std::string> out;
  if (!m.has(key)) return out;
  const auto& j = m.fields.at(key);
  if (!j.is_array()) throw config_error("model preset '" + m.id + "' field '" + key + "' is not an array of strings");
  for (auto& e : j) {
    if (!e.is_string()) throw config_error("model preset '" + m.id + "' field '" + key + "' is not an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}
}  // namespace

ModelDims model_dims(const ModelPreset& m) {
  ModelDims d;
  d.id = m.id;
  d.v4 = m.has("compress_ratios");
  d.mhc = m.has_number("hc_mult");
  d.vocab = need(m, "vocab_size");
  d.d_model = need(m, "hidden_size");
  d.n_layers = need(m, "num_hidden_layers");
  d.n_mtp = num_or(m, "num_nextn_predict_layers", 0);
  d.n_heads = need(m, "num_attention_heads");
  d.d_rope = need(m, "qk_rope_head_dim");
  d.q_rank = need(m, "q_lora_rank");
  if (d.v4) {
    d.d_head = need(m, "head_dim");
    d.o_rank = need(m, "o_lora_rank");
    d.o_groups = need(m, "o_groups");
    d.window = need(m, "sliding_window");
  } else {
    d.kv_rank = need(m, "kv_lora_rank");
    d.qk_nope = need(m, "qk_nope_head_dim");
    d.v_head = need(m, "v_head_dim");
    d.d_head = d.qk_nope + d.d_rope;
  }
  d.idx_heads = num_or(m, "index_n_heads", 0);
  d.idx_dim = num_or(m, "index_head_dim", 0);
  d.top_k = num_or(m, "index_topk", 0);
  d.n_experts = need(m, "n_routed_experts");
  d.n_shared = num_or(m, "n_shared_experts", 1);
  d.moe_top_k = need(m, "num_experts_per_tok");
  d.d_expert = need(m, "moe_intermediate_size");
  d.d_dense = num_or(m, "intermediate_size", 0);
  d.hc = d.mhc ? int(m.number("hc_mult")) : 1;
  d.hc_iters = int(num_or(m, "hc_sinkhorn_iters", 20));
  const std::string ed = m.has("expert_dtype") && m.fields.at("expert_dtype").is_string() ? m.string("expert_dtype") : "fp8";
  d.expert_dtype = ed == "fp4" ? 2 : ed == "bf16" ? 0 : 1;
  const std::string sf = m.has("scoring_func") ? m.string("scoring_func") : "sigmoid";
  d.scoring = sf == "softmax" ? 0 : sf == "sigmoid" ? 1 : 2;
  d.swiglu_limit = m.has_number("swiglu_limit") ? m.number("swiglu_limit") : 0.0;
  if (m.has("engram_layer_ids")) {
    d.engram_layers = m.int_array("engram_layer_ids");
    d.engram_max_ngram = int(need(m, "engram_max_ngram"));
    d.engram_heads = int(need(m, "engram_heads"));
    d.engram_head_dim = int(need(m, "engram_head_dim"));
    const std::string rd = m.has("engram_row_dtype") ? m.string("engram_row_dtype") : "bf16";
    d.engram_row_dtype = rd == "fp32" ? 0 : rd == "fp8" ? 2 : 1;
  }
  return d;
}

std::vector<LayerSpec> layer_schedule(const ModelPreset& m) {
  const ModelDims d = model_dims(m);
  const int total = int(d.n_layers + d.n_mtp);
  std::vector<std::string> attn = string_array(m, "attn_kind");
  std::vector<std::string> moe = string_array(m, "moe_kind");
  std::vector<int> ratios = d.v4 ? m.int_array("compress_ratios") : std::vector<int>(total, 0);
  if (int(attn.size()) < d.n_layers || int(moe.size()) < d.n_layers || int(ratios.size()) < d.n_layers)
    throw config_error("model preset '" + m.id + "': attn_kind / moe_kind / compress_ratios must list at least " +
                       std::to_string(d.n_layers) + " layers");
  std::vector<LayerSpec> out;
  for (int i = 0; i < total; ++i) {
    LayerSpec s;
    s.index = i;
    s.mtp = i >= d.n_layers;
    const int src = std::min(i, int(attn.size()) - 1);
    s.attn_kind = i < int(attn.size()) ? attn[i] : attn[src];
    s.compress_ratio = i < int(ratios.size()) ? ratios[i] : 0;
    if (d.v4 && s.mtp && i >= int(attn.size())) s.attn_kind = "swa";
    s.moe_kind = i < int(moe.size()) ? moe[i] : "moe";
    if (s.mtp && s.moe_kind == "hash") s.moe_kind = "moe";  // the MTP block is never a hash layer (moe.md)
    s.engram = !s.mtp && std::find(d.engram_layers.begin(), d.engram_layers.end(), i) != d.engram_layers.end();
    out.push_back(s);
  }
  return out;
}

void check_deployment(const ModelDims& d, const Deployment& dep, const Workload& wl) {
  auto bad = [](const std::string& flag, double v, const std::string& why) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", v);
    return usage_error(flag + " " + buf + ": " + why);
  };
  // Numerical limits (docs/cost-model.md §Numerical limits): contexts and chunks up to 2^24 tokens,
  // batches up to 2^30 sequences; every product of them stays exact in int64 and double.
  constexpr int64_t kMaxTokens = int64_t(1) << 24, kMaxBatch = int64_t(1) << 30;
  if (wl.batch < 1 || wl.batch > kMaxBatch) throw bad("--batch", double(wl.batch), "must be in [1, 2^30]");
  if (wl.context < 0 || wl.context > kMaxTokens) throw bad("--context", double(wl.context), "must be in [0, 2^24 = 16777216]");
  if (wl.chunk < 1 || wl.chunk > kMaxTokens)  // decode too: TTFT prefills in chunks
    throw bad("--chunk", double(wl.chunk), "must be in [1, 2^24 = 16777216]");
  if (!(wl.kv_hit_rate >= 0 && wl.kv_hit_rate <= 1)) throw bad("--kv-hit-rate", wl.kv_hit_rate, "must be in [0, 1]");
  if (dep.tp < 1) throw bad("--tp", dep.tp, "must be >= 1");
  if (dep.ep < 1) throw bad("--ep", dep.ep, "must be >= 1");
  if (dep.dp < 1) throw bad("--dp", dep.dp, "must be >= 1");
  if (d.n_heads % dep.tp != 0)
    throw bad("--tp", dep.tp, "must divide num_attention_heads " + std::to_string(d.n_heads) + " of " + d.id);
  if (d.v4 && d.o_groups % dep.tp != 0)
    throw bad("--tp", dep.tp, "must divide o_groups " + std::to_string(d.o_groups) + " of " + d.id);
  if (dep.gpus != dep.tp * dep.dp)
    throw bad("--gpus", dep.gpus, "must equal tp x dp = " + std::to_string(dep.tp * dep.dp));
  if (dep.gpus % dep.ep != 0) throw bad("--ep", dep.ep, "must divide --gpus " + std::to_string(dep.gpus));
  if (dep.ep > d.n_experts)
    throw bad("--ep", dep.ep, "must be <= n_routed_experts " + std::to_string(d.n_experts) + " of " + d.id);
  if (!(dep.mtp_accept >= 0 && dep.mtp_accept <= 1)) throw bad("--mtp-accept", dep.mtp_accept, "must be in [0, 1]");
  if (std::isnan(dep.price_usd_per_gpu_hour) || std::isinf(dep.price_usd_per_gpu_hour))
    throw bad("--price", dep.price_usd_per_gpu_hour, "must be a finite USD per GPU-hour");
  if (dep.engram_prefetch_layers < 0) throw bad("--engram-prefetch", dep.engram_prefetch_layers, "must be >= 0");
  if (!(dep.engram_hot_fraction >= 0 && dep.engram_hot_fraction <= 1))
    throw bad("--engram-hot-fraction", dep.engram_hot_fraction, "must be in [0, 1]");
  if (!(dep.engram_hot_hit_rate <= 1) || (dep.engram_hot_hit_rate >= 0 && dep.engram_hot_fraction == 0 && dep.engram_hot_hit_rate > 0))
    throw bad("--engram-hot-hit-rate", dep.engram_hot_hit_rate, "must be in [0, 1], and 0 without a hot cache (--engram-hot-fraction 0)");
}

namespace {

struct Key {
  int layer, stage, mb, v;
  bool operator<(const Key& o) const { return std::tie(layer, stage, mb, v) < std::tie(o.layer, o.stage, o.mb, o.v); }
};

// get_op through a hash map built once (the refill hot path looks ops up thousands of times per plan).
const OpDef& cached_op(const std::string& name) {
  static const std::unordered_map<std::string, const OpDef*> by_name = [] {
    std::unordered_map<std::string, const OpDef*> m;
    for (const OpDef& o : all_ops()) m.emplace(o.name, &o);
    return m;
  }();
  auto it = by_name.find(name);
  return it != by_name.end() ? *it->second : get_op(name);
}

// resolve_params for the refill hot path: the same map (defaults, then the overrides) built by one merge
// of the op's key-sorted defaults with the (sorted) overrides. Anything resolve_params would reject
// (unknown key, out of range, not integral) goes to resolve_params itself, which throws its message.
ParamMap resolve_fast(const OpDef& def, const ParamMap& over, const std::string& where_if_bad) {
  struct Sorted {
    std::vector<const ParamDef*> defs;  // by key
  };
  static const std::unordered_map<const OpDef*, Sorted> sorted = [] {
    std::unordered_map<const OpDef*, Sorted> m;
    for (const OpDef& o : all_ops()) {
      Sorted s;
      for (const ParamDef& p : o.params) s.defs.push_back(&p);
      std::stable_sort(s.defs.begin(), s.defs.end(), [](auto* a, auto* b) { return a->key < b->key; });
      // A duplicated key (never in the catalogue) takes the slow path, whose rules then apply.
      for (size_t i = 1; i < s.defs.size(); ++i)
        if (s.defs[i]->key == s.defs[i - 1]->key) s.defs.clear();
      m.emplace(&o, std::move(s));
    }
    return m;
  }();
  const auto sit = sorted.find(&def);
  if (sit == sorted.end() || sit->second.defs.empty()) return resolve_params(def, over, where_if_bad);
  const std::vector<const ParamDef*>& defs = sit->second.defs;
  ParamMap out;
  auto o = over.begin();
  for (const ParamDef* p : defs) {
    if (o != over.end() && o->first < p->key) return resolve_params(def, over, where_if_bad);  // unknown key
    double v = p->def;
    if (o != over.end() && o->first == p->key) {
      v = o->second;
      if (!std::isfinite(v) || v < p->min || v > p->max || (p->integer && std::floor(v) != v))
        return resolve_params(def, over, where_if_bad);
      ++o;
    }
    out.emplace_hint(out.end(), p->key, v);
  }
  if (o != over.end()) return resolve_params(def, over, where_if_bad);  // unknown key after the last
  return out;
}

// Appends nodes of one (layer, micro-batch) to the DAG. Tokens are per GPU.
struct Builder {
  const ModelDims& d;
  const Deployment& dep;
  Dag& g;
  std::vector<Key>& keys;
  std::vector<std::string>& missing;
  int order_layer = 0;   // schedule position (list priority)
  int layer = -1;
  int stage = 0;
  int mb = 0;
  std::string bucket;    // breakdown bucket of attention/mhc nodes
  std::string moe_bucket;
  int64_t T = 1;         // attention tokens per GPU in this micro-batch
  int64_t T_src = 1;     // MoE source tokens per GPU (after the TP split)
  int64_t ctx = 0;       // context per sequence seen by the last query
  int64_t seqs = 1;      // sequences per GPU in this micro-batch
  int64_t q_per_seq = 1; // queries per sequence (decode 1, MTP verify 2, prefill the chunk)
  bool decode = true;
  // Works-only mode (refill_step_graph): no vertices are made; the work of the node that the full
  // build would number *cursor is written to (*fill)[*cursor]. Same calls, same order, same ids.
  std::vector<OpWork>* fill = nullptr;
  int* cursor = nullptr;
  std::vector<int>* source = nullptr;  // work_source of the graph being refilled
  // Works-only mode: an attention or MoE sub-block whose key was computed earlier in the same refill
  // pass is copied (its works depend on the layer kind and the token counts only).
  struct SubKey {
    int part;  // 0 attention, 1 MoE
    const std::string* kind;
    int ratio;
    int64_t T, T_src, seqs, q;
    bool operator==(const SubKey& o) const {
      return part == o.part && *kind == *o.kind && ratio == o.ratio && T == o.T && T_src == o.T_src && seqs == o.seqs &&
             q == o.q;
    }
  };
  std::vector<std::pair<SubKey, std::pair<int, int>>>* sub_memo = nullptr;

  template <class F>
  int memo(const SubKey& k, F&& compute) {
    if (!fill) return compute();
    for (const auto& [key, range] : *sub_memo)
      if (key == k) {
        const auto [from, count] = range;
        if (*cursor + count > int(fill->size()))
          throw runtime_error("layer graph refill: the workload changes the graph's structure");
        for (int i = 0; i < count; ++i) {
          (*fill)[*cursor + i] = (*fill)[from + i];
          (*source)[*cursor + i] = (*source)[from + i];
        }
        *cursor += count;
        return *cursor - 1;  // a vertex id; in works-only mode ids are not used as dependencies
      }
    const int begin = *cursor;
    const int r = compute();
    sub_memo->push_back({k, {begin, *cursor - begin}});
    return r;
  }

  int put(OpWork&& w) {
    if (*cursor >= int(fill->size())) throw runtime_error("layer graph refill: the workload changes the graph's structure");
    (*fill)[*cursor] = std::move(w);
    return (*cursor)++;
  }
  // The error context of a catalogue op whose params are out of range: the op, and the step's token
  // counts in the CLI's terms (a chunk × batch too large for one op names the flags to reduce).
  std::string where(const std::string& label) const {
    return "cost model (" + d.id + " layer " + std::to_string(layer) + " " + label + "; " +
           (decode ? "decode step" : "prefill step") + " with " + std::to_string(T) + " tokens per GPU = " +
           std::to_string(seqs) + " sequences x " + std::to_string(q_per_seq) + " " +
           (decode ? "queries" : "chunk tokens") + ", context " + std::to_string(ctx) +
           ": reduce --batch or --chunk)";
  }
  // resolve_params with the error context built only when resolution fails.
  ParamMap resolve_here(const OpDef& def, const ParamMap& over, const std::string& label) const {
    try {
      return resolve_params(def, over, "cost model");
    } catch (const Error&) {
      return resolve_params(def, over, where(label));
    }
  }
  static void scale(OpWork& w, double repeat) {
    w.flops *= repeat;
    w.transcendentals *= repeat;
    w.bytes_mem *= repeat;
  }
  int push(OpNode n, const std::vector<int>& deps, const std::string& bkt) {
    n.layer = layer;
    n.stage = stage;
    n.micro_batch = mb;
    n.layer_type = bkt.empty() ? bucket : bkt;
    const int v = int(boost::add_vertex(std::move(n), g));
    for (int p : deps)
      if (p >= 0) boost::add_edge(p, v, g);
    keys.push_back({order_layer, stage++, mb, v});
    return v;
  }
  // A catalogue op; `repeat` identical launches (grouped projections) multiply its work.
  int op(const std::string& name, const std::string& label, const ParamMap& over, const std::vector<int>& deps,
         const std::string& bkt = {}, double repeat = 1) {
    const OpDef& def = fill ? cached_op(name) : get_op(name);
    if (fill) {  // the error message is built only when resolution fails (it is the hot path's cost)
      ParamMap p;
      try {
        p = resolve_fast(def, over, {});
      } catch (const Error&) {
        p = resolve_here(def, over, label);
      }
      OpWork w = def.work(p);
      if (repeat != 1) scale(w, repeat);
      return put(std::move(w));
    }
    OpNode n;
    n.op = name;
    n.label = label;
    n.family = def.family;
    n.params = resolve_here(def, over, label);
    n.work = def.work(n.params);
    if (repeat != 1) {
      scale(n.work, repeat);
      n.params["repeat"] = repeat;
    }
    return push(std::move(n), deps, bkt);
  }
  int transfer(const std::string& name, const std::string& label, const OpWork& w, StreamId s,
               const std::vector<int>& deps, const std::string& bkt) {
    if (fill) return put(OpWork(w));
    OpNode n;
    n.op = name;
    n.label = label;
    n.family = "comm";
    n.stream = s;
    n.work = w;
    return push(std::move(n), deps, bkt);
  }
  int gemm(const std::string& label, int64_t m, int64_t k, int64_t n, int dep, double repeat = 1) {
    return op("gemm_fp8", label, {{"n_tokens", double(m)}, {"k", double(k)}, {"n", double(n)}}, {dep}, {}, repeat);
  }
  int quant(const std::string& label, int64_t rows, int64_t k, int dep) {
    return op("quant_fp8", label, {{"n_tokens", double(rows)}, {"k", double(k)}, {"pad", 1}}, {dep});
  }
  int rmsnorm(const std::string& label, int64_t rows, int64_t width, int dep, bool weighted = true) {
    return op("rmsnorm", label, {{"n_tokens", double(rows)}, {"width", double(width)}, {"weighted", weighted ? 1.0 : 0.0}},
              {dep});
  }
  int rope(const std::string& label, int64_t heads, int64_t d_head, int dep, bool inverse = false) {
    return op("rope", label,
              {{"n_tokens", double(T)}, {"n_heads", double(heads)}, {"d_head", double(d_head)},
               {"d_rope", double(d.d_rope)}, {"inverse", inverse ? 1.0 : 0.0},
               {"pos0", double(std::min<int64_t>(ctx, (1 << 24) - 1))}},
              {dep});
  }
  ParamMap mhc_params() const {
    return {{"n_tokens", double(T)}, {"hc", double(d.hc)}, {"d_model", double(d.d_model)}};
  }
  int tp_allreduce(const std::string& label, int64_t rows, int dep) {
    if (dep_tp() <= 1) return dep;
    OpWork w;  // ring all-reduce of BF16 rows: 2(tp-1)/tp of the buffer leaves each GPU
    w.bytes_net = 2.0 * (dep_tp() - 1) / dep_tp() * double(rows) * double(d.d_model) * 2.0;
    w.precision = Precision::BF16;
    w.bytes_variant = "ring_allreduce_bf16";
    return transfer("tp_allreduce", label, w, StreamId::Comm, {dep}, {});
  }
  int dep_tp() const { return dep.tp; }

  int attention(const LayerSpec& s, int x);
  int moe(const LayerSpec& s, int x);
  int engram(int x, int prefetch_dep, int early_pos);
};

// Attention of one layer: every catalogue node of the attention block, kept in this one function so
// the attention catalogue entries (attn_sparse, attn_compress, attn_csa_indexer, attn_mla_decode,
// attn_dsa_indexer) wire in here. Returns the vertex whose output is the block's output.
int Builder::attention(const LayerSpec& s, int x) {
  const int64_t H = d.n_heads / dep.tp;
  const int x8 = quant("x_fp8", T, d.d_model, x);
  const int qa = gemm("wq_a", T, d.d_model, d.q_rank, x8);
  const int qn = rmsnorm("q_norm", T, d.q_rank, qa);
  const int cq8 = quant("cq_fp8", T, d.q_rank, qn);
  if (d.v4) {
    const int qb = gemm("wq_b", T, d.q_rank, H * d.d_head, cq8);
    const int qh = rmsnorm("q_head_norm", T * H, d.d_head, qb, false);
    const int qr = rope("q_rope", H, d.d_head, qh);
    const int kv = gemm("wkv", T, d.d_model, d.d_head, x8);
    const int kvn = rmsnorm("kv_norm", T, d.d_head, kv);
    const int kvr = rope("kv_rope", 1, d.d_head, kvn);
    std::vector<int> core_deps{qr, kvr};
    const double streaming = decode ? 1.0 : 0.0;
    if (s.compress_ratio > 0)
      core_deps.push_back(op("attn_compress", "compressor",
                             {{"n_tokens", double(T)}, {"d_model", double(d.d_model)}, {"ratio", double(s.compress_ratio)},
                              {"d", double(d.d_head)}, {"d_rope", double(d.d_rope)}, {"streaming", streaming}},
                             {x}));
    if (s.attn_kind == "csa") {
      const int ic = op("attn_compress", "idx_compressor",
                        {{"n_tokens", double(T)}, {"d_model", double(d.d_model)}, {"ratio", 4}, {"d", double(d.idx_dim)},
                         {"d_rope", double(d.d_rope)}, {"indexer", 1}, {"streaming", streaming}},
                        {x});
      const int iq = gemm("idx_wq_b", T, d.q_rank, d.idx_heads * d.idx_dim, cq8);
      const int ix = op("attn_csa_indexer", "indexer",
                        {{"n_tokens", double(q_per_seq)}, {"n_ctx", double(ctx)}, {"idx_heads", double(d.idx_heads)},
                         {"idx_dim", double(d.idx_dim)}, {"ratio", 4}},
                        {iq, ic}, {}, double(seqs));  // one call per sequence (its own keys)
      core_deps.push_back(op("attn_topk", "idx_topk",
                             {{"n_tokens", double(T)}, {"n_cand", double(std::max<int64_t>(1, ctx / 4))},
                              {"top_k", double(d.top_k)}},
                             {ix}));
    }
    const int64_t g_local = d.o_groups / dep.tp, per_group_in = d.n_heads / d.o_groups * d.d_head;
    // Core with the inverse RoPE of the output, one call per sequence, production 584 B entries.
    const int core = op("attn_sparse", "core",
                        {{"n_tokens", double(q_per_seq)}, {"n_ctx", double(ctx)}, {"n_heads", double(H)},
                         {"d_head", double(d.d_head)}, {"d_rope", double(d.d_rope)}, {"window", double(d.window)},
                         {"ratio", double(s.compress_ratio)}, {"top_k", double(d.top_k)}, {"o_groups", double(g_local)},
                         {"ring", decode ? 1.0 : 0.0}, {"kv_layout", 1}},
                        core_deps, {}, double(seqs));
    const int orope = core;
    const int o8 = quant("o_fp8", T * g_local, per_group_in, orope);
    const int oa = gemm("wo_a", T, per_group_in, d.o_rank, o8, double(g_local));  // g_local group GEMMs
    const int oa8 = quant("oa_fp8", T, g_local * d.o_rank, oa);
    const int ob = gemm("wo_b", T, g_local * d.o_rank, d.d_model, oa8);
    return tp_allreduce("attn_allreduce", T, ob);
  }
  // MLA (V3) / DSA (V3.2)
  const int qb = gemm("wq_b", T, d.q_rank, H * d.d_head, cq8);
  const int qr = rope("q_rope", H, d.d_head, qb);
  const int kva = gemm("wkv_a", T, d.d_model, d.kv_rank + d.d_rope, x8);
  const int kvn = rmsnorm("kv_norm", T, d.kv_rank, kva);
  const int kvr = rope("k_rope", 1, d.d_rope, kvn);
  std::vector<int> core_deps{qr, kvr};
  if (s.attn_kind == "dsa") {
    const int iq = gemm("idx_wq_b", T, d.q_rank, d.idx_heads * d.idx_dim, cq8);
    const int ik = gemm("idx_wk", T, d.d_model, d.idx_dim, x8);
    const int hd = op("hadamard", "idx_hadamard", {{"n_tokens", double(T * (d.idx_heads + 1))}, {"n", double(d.idx_dim)}},
                      {iq, ik});
    const int ix = op("attn_dsa_indexer", "indexer",
                      {{"n_tokens", double(q_per_seq)}, {"n_ctx", double(ctx)}, {"idx_heads", double(d.idx_heads)},
                       {"idx_dim", double(d.idx_dim)}},
                      {hd}, {}, double(seqs));
    core_deps.push_back(op("attn_topk", "idx_topk",
                           {{"n_tokens", double(T)}, {"n_cand", double(std::max<int64_t>(1, ctx))}, {"top_k", double(d.top_k)}},
                           {ix}));
  }
  // Weight-absorbed MLA (MQA over the 576-wide latent cache) for decode and prefill; the catalogue
  // entry counts the absorb / V up-projection FLOPs per query (not W_kvb's weight bytes).
  const int vup = op("attn_mla_decode", "core",
                     {{"n_tokens", double(q_per_seq)}, {"n_ctx", double(ctx)}, {"n_heads", double(H)},
                      {"d_nope", double(d.qk_nope)}, {"d_rope", double(d.d_rope)}, {"kv_rank", double(d.kv_rank)},
                      {"d_v", double(d.v_head)}, {"form", 1}, {"top_k", s.attn_kind == "dsa" ? double(d.top_k) : 0.0}},
                     core_deps, {}, double(seqs));
  const int o8 = quant("o_fp8", T, H * d.v_head, vup);
  const int o = gemm("wo", T, H * d.v_head, d.d_model, o8);
  return tp_allreduce("attn_allreduce", T, o);
}

int Builder::moe(const LayerSpec& s, int x) {
  const double dm = double(d.d_model);
  if (s.moe_kind == "dense") {
    const int f = op("moe_shared", "dense_ffn",
                     {{"n_tokens", double(T)}, {"d_model", dm}, {"d_expert", double(d.d_dense / dep.tp)}}, {x}, "dense");
    return tp_allreduce("ffn_allreduce", T, f);
  }
  const bool hash = s.moe_kind == "hash";
  const double E = double(d.n_experts), k = double(d.moe_top_k), ep = dep.ep;
  const int gate = op("moe_gate", "router",
                      {{"n_tokens", double(T_src)}, {"d_model", dm}, {"n_experts", E}, {"top_k", k},
                       {"scoring", double(d.scoring)}, {"use_bias", hash ? 0.0 : 1.0},
                       {"hash", hash ? 1.0 : 0.0}, {"vocab", double(std::min<int64_t>(d.vocab, 1 << 20))}},
                      {x}, moe_bucket);
  const int perm = op("moe_permute", "permute", {{"n_tokens", double(T_src)}, {"d_model", dm}, {"n_experts", E}, {"top_k", k}},
                      {gate}, moe_bucket);
  // Decode uses per-expert copies (low-latency mode), prefill per-rank deduplicated copies (normal mode).
  const double copies = decode ? k : moe_distinct_ranks(E, ep, k);
  const double meta = decode ? 16.0 : 8.0 * k;
  // Leaving copies split into NVLink peers and other nodes (NIC); the two run concurrently.
  const NetSplit split = ep_net_split(ep, dep.nvlink_domain > 0 ? dep.nvlink_domain : ep);
  int before_experts = perm;
  if (dep.ep > 1) {
    OpWork w;
    const double b = double(T_src) * copies * moe_dispatch_bytes_per_copy(dm, 1, meta);
    w.bytes_net = b * split.intra;
    w.bytes_nic = b * split.inter;
    w.precision = Precision::FP8;
    w.bytes_variant = decode ? "per_expert_fp8" : "dedup_fp8";
    before_experts = transfer("ep_dispatch", "dispatch", w, StreamId::Comm, {perm}, moe_bucket);
  }
  // Rows received per rank under uniform routing: all ep·T_src·k rows spread over E experts, so the
  // busiest rank (⌈E/ep⌉ experts when ep does not divide E) gets T_src·k·ep·⌈E/ep⌉/E rows; the step
  // waits for it. If a rank holds fewer experts than k, fold the rows into more tokens so moe_experts
  // sees k <= experts held.
  const int64_t E_local = (d.n_experts + dep.ep - 1) / dep.ep;
  const double rows_local = double(T_src) * k * double(dep.ep) * double(E_local) / double(d.n_experts);
  const int64_t k_local = std::min<int64_t>(d.moe_top_k, E_local);
  const int64_t tok_local = int64_t(std::ceil(rows_local / double(k_local) - 1e-9));
  const int ex = op("moe_experts", "experts",
                    {{"n_tokens", double(tok_local)}, {"d_model", dm}, {"d_expert", double(d.d_expert)},
                     {"n_experts", double(E_local)}, {"top_k", double(k_local)}, {"limit", d.swiglu_limit},
                     {"weight_before_down", d.v4 ? 1.0 : 0.0}, {"expert_dtype", double(d.expert_dtype)}},
                    {before_experts}, moe_bucket);
  int after = ex;
  if (dep.ep > 1) {
    OpWork w;
    const double b = double(T_src) * copies * moe_combine_bytes_per_copy(dm);
    w.bytes_net = b * split.intra;
    w.bytes_nic = b * split.inter;
    w.precision = Precision::BF16;
    w.bytes_variant = "bf16";
    after = transfer("ep_combine", "combine_a2a", w, StreamId::Comm, {ex}, moe_bucket);
  }
  const int sh = op("moe_shared", "shared",
                    {{"n_tokens", double(T_src)}, {"d_model", dm}, {"d_expert", double(d.d_expert * d.n_shared)}}, {x},
                    moe_bucket);
  return op("moe_combine", "combine", {{"n_tokens", double(T_src)}, {"d_model", dm}, {"n_experts", E}, {"top_k", k}},
            {after, sh}, moe_bucket);
}

// Engram before the attention site: hash, host->device row copy (prefetched), gather, gate, conv.
int Builder::engram(int x, int prefetch_dep, int early_pos) {
  EngramShape es;
  es.n_tokens = T;
  es.max_ngram = d.engram_max_ngram;
  es.heads = d.engram_heads;
  es.head_dim = d.engram_head_dim;
  es.row_dtype = EngramRowDtype(d.engram_row_dtype);
  const ParamMap shape = {{"n_tokens", double(T)}, {"max_ngram", double(es.max_ngram)}, {"heads", double(es.heads)}};
  // Prefetch: the index and the row copy are issued with layer early_pos (after its compute).
  const int saved_pos = order_layer, saved_stage = stage;
  if (early_pos >= 0) {
    order_layer = early_pos;
    stage = 1000;
  }
  const int h = op("engram_hash", "hash", shape, {prefetch_dep}, "engram");
  OpWork w;  // the gathered rows the HBM hot cache misses cross the host link (hit rate 0: all of them)
  w.bytes_host_link = double(T) * engram_gather_table_bytes_per_token(es) * (1.0 - dep.engram_hit_rate());
  w.bytes_variant = "rows_h2d";
  const int h2d = transfer("engram_h2d", "rows_h2d", w, StreamId::Host, {h}, "engram");
  order_layer = saved_pos;
  stage = saved_stage;
  ParamMap gp = shape;
  gp["head_dim"] = double(es.head_dim);
  gp["row_dtype"] = double(d.engram_row_dtype);
  const int ga = op("engram_gather", "gather", gp, {h2d, x}, "engram");
  const ParamMap mp = {{"n_tokens", double(T)}, {"hc", double(d.hc)}, {"d_model", double(d.d_model)}};
  const int gt = op("engram_gate", "gate", mp, {ga}, "engram");
  return op("engram_conv", "conv", mp, {gt}, "engram");
}

}  // namespace

namespace {
// One layer block's identity for the refill memo: the layer kind and the builder's per-micro-batch
// token counts. Blocks with equal keys get identical works (the two micro-batches of an even split too).
struct BlockKey {
  const std::string *attn_kind, *moe_kind;
  int ratio;
  bool engram, mtp;
  int64_t T, seqs, q;
  bool operator==(const BlockKey& o) const {
    return *attn_kind == *o.attn_kind && *moe_kind == *o.moe_kind && ratio == o.ratio && engram == o.engram &&
           mtp == o.mtp && T == o.T && seqs == o.seqs && q == o.q;
  }
};

// fill == nullptr: build the DAG and its flat view into `out`. fill != nullptr (refill_step_graph):
// recompute only the node works into *fill for a workload of the same structure; a layer block whose
// BlockKey was already computed in this pass is copied (its params, hence works, are the same: they
// depend on the layer kind and the workload only, never on the layer index).
void build(const ModelPreset& m, const Deployment& dep, const Workload& wl, const std::vector<LayerSpec>& layers,
           bool with_head, StepGraph& out, std::vector<OpWork>* fill = nullptr) {
  const ModelDims d = model_dims(m);
  check_deployment(d, dep, wl);
  std::vector<Key> keys;
  const bool decode = wl.phase == Phase::Decode;
  const bool spec = decode && dep.mtp && dep.mtp_accept > 0 && d.n_mtp > 0;
  const int64_t seqs = (wl.batch + dep.dp - 1) / dep.dp;                 // sequences per attention rank
  const int64_t per_seq = decode ? (spec ? 2 : 1) : wl.chunk;            // queries per sequence (MTP verify: 2)
  const int64_t T_all = seqs * per_seq;
  const int micro_batches = dep.overlap && T_all >= 2 ? 2 : 1;
  if (fill && (micro_batches != out.micro_batches || spec != out.speculative))
    throw runtime_error("layer graph refill: the workload changes the micro-batch count or speculative decode "
                        "(build a new graph)");
  out.micro_batches = micro_batches;
  out.tokens_per_gpu = T_all;
  out.phase = wl.phase;
  out.speculative = spec;
  out.dep = dep;
  int cursor = 0;
  std::vector<std::pair<BlockKey, std::pair<int, int>>> memo;  // block -> (first vertex, vertex count)
  std::vector<std::pair<Builder::SubKey, std::pair<int, int>>> sub_memo;
  if (fill) {
    out.work_source.resize(fill->size());
    for (int v = 0; v < int(fill->size()); ++v) out.work_source[v] = v;
  }
  // Micro-batches split the sequences, or the chunk when there is a single sequence.
  std::vector<int64_t> seqs_mb(out.micro_batches, seqs), q_mb(out.micro_batches, per_seq), T_mb(out.micro_batches);
  for (int i = 0; i < out.micro_batches && out.micro_batches > 1; ++i) {
    if (seqs >= 2) seqs_mb[i] = (seqs + 1 - i) / 2;
    else q_mb[i] = (per_seq + 1 - i) / 2;
  }
  for (int i = 0; i < out.micro_batches; ++i) T_mb[i] = seqs_mb[i] * q_mb[i];
  std::vector<int> last(out.micro_batches, -1);
  std::vector<std::vector<int>> entry(out.micro_batches);  // entry vertex per schedule position
  int pos = 0;
  auto make = [&](int mb) {
    Builder b{d, dep, out.dag, keys, out.missing_ops, 0, -1, 0, 0, {}, {}};
    b.mb = mb;
    b.decode = decode;
    b.ctx = wl.context + per_seq;
    b.T = T_mb[mb];
    b.seqs = seqs_mb[mb];
    b.q_per_seq = q_mb[mb];
    b.T_src = std::max<int64_t>(1, (b.T + dep.tp - 1) / dep.tp);
    b.order_layer = pos;
    b.fill = fill;
    b.cursor = &cursor;
    b.source = &out.work_source;
    b.sub_memo = &sub_memo;
    return b;
  };
  auto head = [&](Builder& b, int x, const char* bkt) {
    b.layer = -1;
    b.bucket = bkt;
    int y = d.mhc ? b.op("mhc_head", "hc_head", b.mhc_params(), {x}) : x;
    y = b.rmsnorm("final_norm", b.T, d.d_model, y);
    // The head is BF16 in the checkpoints (no FP8 quant of its input); vocab sharded by TP.
    return b.op("gemm_bf16", "lm_head",
                {{"n_tokens", double(b.T)}, {"k", double(d.d_model)}, {"n", double((d.vocab + dep.tp - 1) / dep.tp)}}, {y});
  };
  bool in_mtp = false;
  for (const LayerSpec& s : layers) {
    if (s.mtp && !dep.mtp) continue;
    if (s.mtp && !in_mtp && with_head) {  // main head before the MTP block
      for (int mb = 0; mb < out.micro_batches; ++mb) {
        Builder b = make(mb);
        last[mb] = head(b, last[mb], "head");
      }
      ++pos;
    }
    in_mtp = in_mtp || s.mtp;
    for (int mb = 0; mb < out.micro_batches; ++mb) {
      const BlockKey bk{&s.attn_kind, &s.moe_kind, s.compress_ratio, s.engram, s.mtp, T_mb[mb], seqs_mb[mb], q_mb[mb]};
      const int block_begin = cursor;
      if (fill) {
        auto it = std::find_if(memo.begin(), memo.end(), [&](const auto& e) { return e.first == bk; });
        if (it != memo.end()) {
          const auto [from, count] = it->second;
          if (cursor + count > int(fill->size()))
            throw runtime_error("layer graph refill: the workload changes the graph's structure");
          std::copy(fill->begin() + from, fill->begin() + from + count, fill->begin() + cursor);
          for (int k = 0; k < count; ++k) out.work_source[cursor + k] = out.work_source[from + k];
          cursor += count;
          continue;
        }
      }
      Builder b = make(mb);
      b.layer = s.index;
      b.bucket = s.mtp ? "mtp" : s.attn_kind;
      b.moe_bucket = s.mtp ? "mtp" : s.moe_kind;
      if (s.mtp) {  // the MTP block sees one token per sequence; its eh_proj joins embedding and hidden state
        if (decode) b.q_per_seq = 1;
        b.T = b.seqs * b.q_per_seq;
        b.T_src = std::max<int64_t>(1, (b.T + dep.tp - 1) / dep.tp);
        const int en = b.rmsnorm("mtp_norms", 2 * b.T, d.d_model, last[mb]);
        last[mb] = b.gemm("mtp_eh_proj", b.T, 2 * d.d_model, d.d_model, b.quant("mtp_fp8", b.T, 2 * d.d_model, en));
      }
      int x = last[mb];
      if (s.engram) {
        const int src_pos = std::max(0, pos - dep.engram_prefetch_layers);
        const bool early = src_pos < pos && src_pos < int(entry[mb].size()) && entry[mb][src_pos] >= 0;
        x = b.engram(x, early ? entry[mb][src_pos] : x, early ? src_pos : -1);
      }
      const int first = d.mhc ? b.op("mhc_pre", "hc_pre_attn", b.mhc_params(), {x}) : -1;
      if (int(entry[mb].size()) <= pos) entry[mb].resize(pos + 1, -1);
      const int an = b.rmsnorm("attn_norm", b.T, d.d_model, first >= 0 ? first : x);
      entry[mb][pos] = first >= 0 ? first : an;
      int y = b.memo({0, &s.attn_kind, s.compress_ratio, b.T, b.T_src, b.seqs, b.q_per_seq},
                     [&] { return b.attention(s, an); });
      if (d.mhc) y = b.op("mhc_post", "hc_post_attn", b.mhc_params(), {y});
      if (d.mhc) y = b.op("mhc_pre", "hc_pre_ffn", b.mhc_params(), {y});
      y = b.rmsnorm("ffn_norm", b.T, d.d_model, y);
      y = b.memo({1, &s.moe_kind, 0, b.T, b.T_src, b.seqs, b.q_per_seq}, [&] { return b.moe(s, y); });
      if (d.mhc) y = b.op("mhc_post", "hc_post_ffn", b.mhc_params(), {y}, s.mtp ? "mtp" : s.moe_kind);
      last[mb] = y;
      if (fill) memo.push_back({bk, {block_begin, cursor - block_begin}});
    }
    ++pos;
  }
  if (with_head) {
    for (int mb = 0; mb < out.micro_batches; ++mb) {
      Builder b = make(mb);
      if (in_mtp && decode) b.T = b.seqs;
      last[mb] = head(b, last[mb], in_mtp ? "mtp" : "head");
    }
  }
  if (fill) {
    if (cursor != int(fill->size()))
      throw runtime_error("layer graph refill: the workload changes the graph's structure");
    // A refilled work may carry another bytes variant than at the build: keep op_index pointing at the
    // (op, family, variant) key a fresh build would give it.
    if (out.op_index.size() == fill->size())
      for (size_t v = 0; v < fill->size(); ++v) {
        const int src = out.work_source[v];
        if (src != int(v)) {  // a copy: same op and family as its source (same block position), same work
          out.op_index[v] = out.op_index[src];
          continue;
        }
        const StepGraph::OpKey& k = out.op_keys[out.op_index[v]];
        const std::string& variant = (*fill)[v].bytes_variant;
        if (k.variant == variant) continue;
        StepGraph::OpKey nk{k.op, k.family, variant};
        size_t i = 0;
        while (i < out.op_keys.size() && (out.op_keys[i].op != nk.op || out.op_keys[i].family != nk.family ||
                                          out.op_keys[i].variant != nk.variant))
          ++i;
        if (i == out.op_keys.size()) out.op_keys.push_back(std::move(nk));
        out.op_index[v] = uint16_t(i);
      }
    return;
  }
  // Flat view: priority order (a topological order by construction; checked), CSR predecessors.
  std::sort(keys.begin(), keys.end());
  const int n = int(boost::num_vertices(out.dag));
  out.order.resize(n);
  std::vector<int> rank(n);
  for (int i = 0; i < n; ++i) {
    out.order[i] = keys[i].v;
    rank[keys[i].v] = i;
  }
  out.pred_begin.assign(n + 1, 0);
  out.preds.clear();
  out.stream.resize(n);
  out.works.resize(n);
  out.op_keys.clear();
  out.op_index.resize(n);
  std::map<StepGraph::OpKey, uint16_t> key_index;
  for (int v = 0; v < n; ++v) {
    StepGraph::OpKey key{out.dag[v].op, out.dag[v].family, out.dag[v].work.bytes_variant};
    auto [kit, fresh] = key_index.emplace(key, uint16_t(out.op_keys.size()));
    if (fresh) out.op_keys.push_back(key);
    out.op_index[v] = kit->second;
    out.pred_begin[v] = int(out.preds.size());
    for (auto [it, end] = boost::in_edges(v, out.dag); it != end; ++it) {
      const int p = int(boost::source(*it, out.dag));
      if (rank[p] >= rank[v]) throw runtime_error("layer graph: priority order is not topological at " + out.dag[v].label);
      out.preds.push_back(p);
    }
    out.stream[v] = uint8_t(out.dag[v].stream);
    out.works[v] = out.dag[v].work;
  }
  out.pred_begin[n] = int(out.preds.size());
  out.work_source.clear();
}
}  // namespace

StepGraph build_step_graph(const ModelPreset& m, const Deployment& dep, const Workload& wl) {
  StepGraph g;
  g.layers = layer_schedule(m);
  build(m, dep, wl, g.layers, true, g);
  return g;
}

bool same_structure(const StepGraph& g, const Deployment& dep, Phase phase) {
  // TP and EP sizes change only the works; whether their collectives exist (size > 1) changes nodes.
  const Deployment& a = g.dep;
  return g.phase == phase && (a.tp > 1) == (dep.tp > 1) && (a.ep > 1) == (dep.ep > 1) && a.mtp == dep.mtp &&
         a.engram_prefetch_layers == dep.engram_prefetch_layers;
}

void refill_step_graph(StepGraph& g, const ModelPreset& m, const Deployment& dep, const Workload& wl) {
  if (g.works.empty() || !same_structure(g, dep, wl.phase))
    throw runtime_error("layer graph refill: the deployment or phase differs from the graph's (build a new graph)");
  build(m, dep, wl, g.layers, true, g, &g.works);
}

Dag build_layer_graph(const ModelPreset& m, const Deployment& dep, const Workload& wl, const LayerSpec& layer) {
  StepGraph g;
  build(m, dep, wl, {layer}, false, g);
  return std::move(g.dag);
}

}  // namespace v4lab::sim
