// topk_cost.cpp — modelled cost of the top-k study (see topk_cost.h). FLOPs come from the op catalogue
// entries the step model itself uses; bytes use the production-layout constants of the cost headers.
#include "sim/studies/topk_cost.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "core/ops/attention_core_cost.h"
#include "core/ops/attention_v4_cost.h"
#include "core/presets.h"
#include "sim/step_model.h"

namespace v4lab::sim {

const char* topk_arch_name(TopkArch a) { return a == TopkArch::Dsa ? "dsa" : "csa"; }

namespace {

int64_t num(const ModelPreset& m, const char* key) {
  if (!m.has_number(key)) throw config_error("model preset '" + m.id + "' has no numeric field '" + key + "' (top-k study)");
  return int64_t(m.number(key));
}

double op_flops(const char* name, const ParamMap& over) {
  const OpDef& def = get_op(name);
  return def.work(resolve_params(def, over, std::string("top-k study (") + name + ")")).flops;
}

}  // namespace

TopkArchShape topk_arch_shape(const ModelPreset& m) {
  TopkArchShape s;
  s.model_id = m.id;
  if (!m.has_number("index_topk"))
    throw config_error("model preset '" + m.id + "' has no lightning indexer (index_topk): the top-k study needs V3.2 "
                       "(DSA) or a V4 preset (CSA)");
  s.arch = m.has("compress_ratios") ? TopkArch::Csa : TopkArch::Dsa;
  s.d_model = num(m, "hidden_size");
  s.q_rank = num(m, "q_lora_rank");
  s.n_heads = num(m, "num_attention_heads");
  s.d_rope = num(m, "qk_rope_head_dim");
  s.idx_heads = num(m, "index_n_heads");
  s.idx_dim = num(m, "index_head_dim");
  s.default_k = num(m, "index_topk");
  if (s.arch == TopkArch::Dsa) {
    s.kv_rank = num(m, "kv_lora_rank");
    s.qk_nope = num(m, "qk_nope_head_dim");
    s.v_head = num(m, "v_head_dim");
  } else {
    s.d_head = num(m, "head_dim");
    s.window = num(m, "sliding_window");
  }
  return s;
}

int64_t topk_candidates(TopkArch a, int64_t context) { return a == TopkArch::Dsa ? context : context / 4; }

TopkCost topk_cost(const TopkArchShape& s, int64_t context, int64_t k) {
  if (context < 1) throw config_error("top-k study: context " + std::to_string(context) + " must be >= 1");
  if (k != kTopkDense && k < 1) throw config_error("top-k study: k " + std::to_string(k) + " must be >= 1 (or dense)");
  TopkCost c;
  c.arch = s.arch, c.context = context, c.k = k;
  c.n_cand = topk_candidates(s.arch, context);
  const bool dense = k == kTopkDense;
  c.k_eff = dense ? c.n_cand : std::min(k, c.n_cand);
  const double L = double(context), N = double(c.n_cand);
  if (s.arch == TopkArch::Dsa) {
    if (!dense) {
      c.proj_flops = op_flops("gemm_fp8", {{"n_tokens", 1}, {"k", double(s.q_rank)}, {"n", double(s.idx_heads * s.idx_dim)}}) +
                     op_flops("gemm_fp8", {{"n_tokens", 1}, {"k", double(s.d_model)}, {"n", double(s.idx_dim)}}) +
                     op_flops("gemm_fp8", {{"n_tokens", 1}, {"k", double(s.d_model)}, {"n", double(s.idx_heads)}});
      c.scoring_flops = op_flops("attn_dsa_indexer", {{"n_tokens", 1}, {"n_ctx", L}, {"idx_heads", double(s.idx_heads)},
                                                      {"idx_dim", double(s.idx_dim)}});
    }
    c.attended = c.k_eff;
    c.attn_flops = op_flops("attn_mla_decode", {{"n_tokens", 1}, {"n_ctx", L}, {"n_heads", double(s.n_heads)},
                                                {"d_nope", double(s.qk_nope)}, {"d_rope", double(s.d_rope)},
                                                {"kv_rank", double(s.kv_rank)}, {"d_v", double(s.v_head)}, {"form", 1},
                                                {"top_k", dense ? 0.0 : double(c.k_eff)}});
    if (!dense) c.key_bytes = kDsaKeyBytes * N, c.score_bytes = 4 * N;
    c.kv_bytes = kMlaFp8EntryBytes * double(c.k_eff);
  } else {
    if (!dense) {
      // The compressors are per new token: the prefill form over one block of 4 tokens, divided by 4.
      const double main_cmp = op_flops("attn_compress", {{"n_tokens", 4}, {"d_model", double(s.d_model)}, {"ratio", 4},
                                                         {"d", double(s.d_head)}, {"d_rope", double(s.d_rope)}});
      const double idx_cmp = op_flops("attn_compress", {{"n_tokens", 4}, {"d_model", double(s.d_model)}, {"ratio", 4},
                                                        {"d", double(s.idx_dim)}, {"d_rope", double(s.d_rope)}, {"indexer", 1}});
      c.proj_flops = op_flops("gemm_fp8", {{"n_tokens", 1}, {"k", double(s.q_rank)}, {"n", double(s.idx_heads * s.idx_dim)}}) +
                     op_flops("gemm_fp8", {{"n_tokens", 1}, {"k", double(s.d_model)}, {"n", double(s.idx_heads)}}) +
                     (main_cmp + idx_cmp) / 4;
      c.scoring_flops = op_flops("attn_csa_indexer", {{"n_tokens", 1}, {"n_ctx", L}, {"idx_heads", double(s.idx_heads)},
                                                      {"idx_dim", double(s.idx_dim)}, {"ratio", 4}});
    }
    c.attended = std::min(context, s.window) + c.k_eff;
    c.attn_flops = op_flops("attn_sparse", {{"n_tokens", 1}, {"n_ctx", L}, {"n_heads", double(s.n_heads)},
                                            {"d_head", double(s.d_head)}, {"d_rope", double(s.d_rope)},
                                            {"window", double(s.window)}, {"ratio", 4}, {"top_k", double(c.k_eff)},
                                            {"o_groups", 1}, {"ring", 1}, {"kv_layout", 1}});
    if (!dense) c.key_bytes = v4_compress_entry_bytes(double(s.idx_dim), double(s.d_rope), true) * N, c.score_bytes = 4 * N;
    c.kv_bytes = kV4EntryBytes * double(c.attended);
  }
  if (!dense && c.n_cand > 0)
    c.selection_flops = op_flops("attn_topk", {{"n_tokens", 1}, {"n_cand", N}, {"top_k", double(c.k_eff)}});
  return c;
}

TopkStep topk_step(const ModelPreset& m, const TopkArchShape& s, const HardwarePreset& hw, const Deployment& dep,
                   int64_t batch, int64_t context, int64_t k) {
  TopkStep r;
  r.arch = s.arch, r.context = context, r.k = k;
  ModelPreset mm = m;
  const int64_t n_cand = topk_candidates(s.arch, context);
  if (k == kTopkDense) {
    if (s.arch == TopkArch::Dsa) {
      nlohmann::json kinds = mm.fields.at("attn_kind");
      for (auto& e : kinds)
        if (e.is_string() && e.get<std::string>() == "dsa") e = "mla";
      mm.fields["attn_kind"] = kinds;
      r.note = "dense: dsa layers run as plain MLA (no indexer)";
    } else {
      int64_t kmax = 0;
      for (const ParamDef& d : get_op("attn_sparse").params)
        if (d.key == "top_k") kmax = int64_t(d.max);
      if (n_cand > kmax) {
        r.ok = false;
        r.note = "dense CSA needs top_k = N = " + std::to_string(n_cand) + " > the catalogue's " + std::to_string(kmax);
        return r;
      }
      mm.fields["index_topk"] = std::max<int64_t>(1, n_cand);
      r.note = "dense: index_topk = N (the indexer still runs)";
    }
  } else {
    mm.fields["index_topk"] = k;
  }
  Workload wl;
  wl.phase = Phase::Decode;
  wl.batch = batch;
  wl.context = context - 1;  // the graph's query sees context + 1 tokens
  const StepCost c = predict_step(mm, hw, dep, wl);
  r.step_s = c.step_s;
  r.attention_s = c.by_family_s.count("attention") ? c.by_family_s.at("attention") : 0.0;
  r.flops = c.flops, r.bytes_mem = c.bytes_mem;
  return r;
}

}  // namespace v4lab::sim
