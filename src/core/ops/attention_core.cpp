// attention_core.cpp — op catalogue entries for the attention cores (specs/attention.md §2 MLA, §3 DSA
// indexer, §4.7 V4 sparse core, §5 selection quality): attn_sparse, attn_mla_decode,
// attn_dsa_indexer, attn_select_quality. Formulas live in attention_core_cost.h (tested there).
#include <algorithm>

#include "core/op_catalogue.h"
#include "core/ops/attention_core_cost.h"

namespace v4lab {
namespace {

ParamDef p_tokens(double def, const char* help) { return {"n_tokens", def, 0, double(1 << 24), true, help, ""}; }
ParamDef p_ctx(double def, const char* help) { return {"n_ctx", def, 0, double(1 << 24), true, help, ""}; }

// Σ over queries at positions n_ctx − n_q … n_ctx − 1 of f(n), n = t + 1, from a prefix sum P(N) = Σ_{n≤N} f(n).
template <class Prefix>
double query_sum(int64_t n_q, int64_t n_ctx, Prefix P) {
  return P(n_ctx) - P(n_ctx - n_q);
}

int64_t ctx_of(const ParamMap& p) {
  const int64_t n = param_i(p, "n_ctx");
  return n > 0 ? n : param_i(p, "n_tokens");
}

OpWork sparse_work(const ParamMap& p) {
  SparseAttnShape s;
  s.n_heads = param_i(p, "n_heads"), s.d_head = param_i(p, "d_head"), s.window = std::max<int64_t>(1, param_i(p, "window"));
  s.ratio = param_i(p, "ratio"), s.top_k = param_i(p, "top_k");
  const int64_t nq = param_i(p, "n_tokens"), nc = std::max(ctx_of(p), nq);
  const double entries = query_sum(nq, nc, [&](int64_t N) { return attn_prefill_entries(s, N); });
  const double eb = param_i(p, "kv_layout") == 1 ? kV4EntryBytes : kV4Bf16EntryBytes;
  OpWork w;
  w.flops = attn_core_flops_per_entry(s) * entries;
  w.transcendentals = double(s.n_heads) * (entries + double(nq));
  // Per-query gather (the upper bound of §4.7): every entry read once per query, plus one I32 index,
  // q and o rows (BF16), lse (FP32) and the sink.
  w.bytes_mem = entries * (eb + 4) + double(nq) * double(s.n_heads) * (4.0 * double(s.d_head) + 4) + 4.0 * double(s.n_heads);
  w.precision = Precision::BF16;
  w.bytes_variant = param_i(p, "kv_layout") == 1 ? "kv584_gather" : "bf16_view_gather";
  return w;
}

OpWork mla_work(const ParamMap& p) {
  MlaShape s;
  s.n_heads = param_i(p, "n_heads"), s.d_nope = param_i(p, "d_nope"), s.d_rope = param_i(p, "d_rope");
  s.kv_rank = param_i(p, "kv_rank"), s.d_v = param_i(p, "d_v");
  const int64_t nq = param_i(p, "n_tokens"), nc = std::max(ctx_of(p), nq), k = param_i(p, "top_k");
  const double entries = query_sum(nq, nc, [&](int64_t N) { return k > 0 ? attn_sum_d(N, k) : double(N) * double(N + 1) / 2; });
  const bool absorbed = param_i(p, "form") == 1;
  OpWork w;
  // Absorbed: 278,528 per entry + 33.55M per query (absorb q, up-project ô). Naive: 81,920 per entry
  // + the W_kvb up-projection of every attended latent (per query, as this kernel runs it; at decode
  // n_tokens = 1 that is the spec's 33.55M per cached token).
  w.flops = absorbed ? mla_absorbed_flops_per_entry(s) * entries + mla_kvb_flops(s) * double(nq)
                     : mla_naive_flops_per_entry(s) * entries + mla_kvb_flops(s) * entries;
  w.transcendentals = double(s.n_heads) * entries;
  w.bytes_mem = entries * (mla_kv_entry_bytes_bf16(s) + (k > 0 ? 4 : 0)) +
                2.0 * double(s.n_heads * (s.d_nope + s.d_v) * s.kv_rank) +
                double(nq) * double(s.n_heads) * (2.0 * double(s.d_nope + s.d_rope) + 4.0 * double(s.d_v) + 4);
  w.precision = Precision::BF16;
  w.bytes_variant = absorbed ? (k > 0 ? "absorbed_sparse_bf16" : "absorbed_bf16") : (k > 0 ? "naive_sparse_bf16" : "naive_bf16");
  return w;
}

OpWork dsa_work(const ParamMap& p) {
  DsaShape s;
  s.idx_heads = param_i(p, "idx_heads"), s.idx_dim = param_i(p, "idx_dim");
  const int64_t nq = param_i(p, "n_tokens"), nc = std::max(ctx_of(p), nq);
  const double pairs = query_sum(nq, nc, [](int64_t N) { return double(N) * double(N + 1) / 2; });
  OpWork w;
  w.flops = dsa_indexer_flops_per_pair(s) * pairs;
  // Keys once (codes + UE8M0 byte), q codes + scales + w per query, FP32 scores out.
  w.bytes_mem = double(nc) * double(s.idx_dim + 1) + double(nq) * double(s.idx_heads) * double(s.idx_dim + 1 + 4) +
                4.0 * double(nq) * double(nc);
  w.precision = Precision::FP8;
  w.bytes_variant = "scores_materialized";
  return w;
}

}  // namespace

void register_attention_o_ops();  // core/ops/attention_o.cpp (attn_o_grouped)

void register_attention_core_ops() {
  register_attention_o_ops();
  register_op({"attn_sparse",
               "attention",
               "V4 sparse attention core: one softmax over window + compressed entries + sink, P·V, inverse RoPE",
               {p_tokens(1, "queries (decode: 1-2; prefill: tokens in the chunk)"),
                p_ctx(4096, "context tokens seen by the last query; 0 = prefill (n_ctx = n_tokens)"),
                {"n_heads", 64, 1, 1024, true, "query heads (Flash 64, Pro 128)", "num_attention_heads"},
                {"d_head", 512, 1, 4096, true, "head width; K = V (512)", "head_dim"},
                {"d_rope", 64, 0, 4096, true, "rotary slice, inverse-rotated on the output (64)", "qk_rope_head_dim"},
                {"window", 128, 0, 65536, true, "sliding window incl. the current token (128)", "sliding_window"},
                {"ratio", 4, 0, 65536, true, "0 SWA-only, 4 CSA (selected entries), other HCA (all visible)", ""},
                {"top_k", 512, 0, 65536, true, "CSA selected entries (Flash 512, Pro 1024)", "index_topk"},
                {"o_groups", 8, 1, 1024, true, "O-projection groups (n_heads % o_groups must be 0)", "o_groups"},
                {"ring", 1, 0, 1, true, "1: raw KV is a ring of window + n_tokens - 1 slots (decode); 0: all tokens", ""},
                {"p_bf16", 1, 0, 1, true, "1: round P to BF16 before P·V (the V4 reference); 0: FP32 P", ""},
                {"kv_layout", 0, 0, 1, true, "bytes only: 0 BF16 view (1024 B/entry, what attn_sparse reads), 1 584 B", ""}},
               sparse_work});
  register_op({"attn_mla_decode",
               "attention",
               "V3/V3.2 MLA decode core: naive (W_kvb per token, MHA 192/128) or absorbed (MQA over 576-dim cache)",
               {p_tokens(1, "queries (decode: 1)"),
                p_ctx(4096, "cached tokens; 0 = n_tokens (prefill-shaped causal)"),
                {"n_heads", 128, 1, 1024, true, "query heads (128)", "num_attention_heads"},
                {"d_nope", 128, 1, 1024, true, "qk_nope_head_dim (128)", "qk_nope_head_dim"},
                {"d_rope", 64, 0, 1024, true, "qk_rope_head_dim (64)", "qk_rope_head_dim"},
                {"kv_rank", 512, 1, 4096, true, "kv_lora_rank: latent c_kv width (512)", "kv_lora_rank"},
                {"d_v", 128, 1, 1024, true, "v_head_dim (128)", "v_head_dim"},
                {"form", 1, 0, 1, true, "0 naive (decompressed), 1 weight-absorbed", ""},
                {"top_k", 0, 0, 65536, true, "0 dense causal; > 0 attend only an index list of top_k (DSA S_t)", ""},
                {"max_seq_len", 163840, 1, double(1 << 30), true, "softmax scale gets m^2 = 1.87385 iff > 4096",
                 "max_position_embeddings"}},
               mla_work});
  register_op({"attn_dsa_indexer",
               "attention",
               "V3.2 DSA lightning indexer: I[t,s] = sum_j w_tj ReLU(q_tj . k_s) k_scale_s over FP8 q/k, causal",
               {p_tokens(1, "queries (decode: 1; prefill: n_ctx)"),
                p_ctx(4096, "keys (context tokens); 0 = n_tokens"),
                {"idx_heads", 64, 1, 1024, true, "indexer heads (64)", "index_n_heads"},
                {"idx_dim", 128, 1, 4096, true, "indexer width, power of two (128)", "index_head_dim"}},
               dsa_work});
  register_op({"attn_select_quality",
               "attention",
               "selection quality (§5): planted synthetic inputs, real indexer + top-k + sparse attention vs dense",
               {p_tokens(8, "queries measured (the last positions of the context)"),
                p_ctx(2048, "context tokens n"),
                {"mode", 0, 0, 1, true, "0 DSA token-level, 1 CSA entry-level (compressed keys written directly)", ""},
                {"n_heads", 16, 1, 256, true, "attention heads (scaled down for the FP64 run)", ""},
                {"d_head", 0, 0, 4096, true, "key width; 0 = 576 (DSA) / 512 (CSA)", ""},
                {"top_k", 64, 0, 65536, true, "k", ""},
                {"m_planted", 16, 1, 4096, true, "planted keys per query and head", ""},
                {"rho", 0.8, 0.01, 0.99, false, "target planted mass", ""},
                {"gamma", 0.5, 0, 10, false, "query noise", ""},
                {"sigma_i", 0, 0, 100, false, "indexer key noise, relative to the projected key RMS", ""},
                {"placement", 0, 0, 2, true, "planted positions: 0 uniform, 1 far-only, 2 log-uniform distance", ""},
                {"window", 128, 1, 65536, true, "CSA window (always attended)", ""},
                {"idx_heads", 16, 1, 256, true, "indexer heads", ""},
                {"hadamard", 1, 0, 1, true, "Hadamard before the indexer FP8 quantization", ""},
                {"sink", 0, -100, 100, false, "sink logit for the output-error runs", ""}},
               [](const ParamMap& p) {
                 // An estimate: dense logits + dense and sparse attention over |C| ≈ n per query and head.
                 const double nq = p.at("n_tokens"), n = p.at("n_ctx"), h = p.at("n_heads");
                 const double d = p.at("d_head") > 0 ? p.at("d_head") : (p.at("mode") == 0 ? 576 : 512);
                 OpWork w;
                 w.flops = nq * h * n * d * 6 + nq * n * 16512;
                 w.transcendentals = 2 * nq * h * n;
                 w.bytes_mem = n * d * 2 * nq * 3;
                 w.precision = Precision::FP32;
                 w.bytes_variant = "estimate";
                 return w;
               }});
}

}  // namespace v4lab
