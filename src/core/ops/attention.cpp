// attention.cpp — op catalogue entries for the attention family (specs/attention.md). So far:
// attn_topk, the causal top-k of the DSA / CSA lightning indexers (§3, §4.2).
#include "core/op_catalogue.h"

namespace v4lab {

void register_attention_ops() {
  register_op({"attn_topk",
               "attention",
               "causal top-k of index scores: k_t = min(top_k, len_t), score desc then index asc, NaN lowest",
               {{"n_tokens", 1, 0, double(1 << 24), true, "queries (decode: 1; prefill: tokens in the chunk)", ""},
                {"n_cand", 65536, 0, double(1 << 24), true,
                 "candidates per query (context tokens for DSA, compressed entries for CSA)", ""},
                {"top_k", 2048, 0, 65536, true, "k (V3.2: 2048; V4-Flash 512, V4-Pro 1024)", "index_topk"}},
               [](const ParamMap& p) {
                 const double q = p.at("n_tokens"), n = p.at("n_cand"), k = p.at("top_k");
                 OpWork w;
                 // One compare per candidate (an estimate: radix select compares digits, not values).
                 w.flops = q * n;
                 // One pass over the FP32 scores plus lengths in and indices out (the target is a
                 // selection within 2x of this single memory pass).
                 w.bytes_mem = q * (4 * n + 4 + 4 * k + 4);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "one_pass";
                 return w;
               }});
}

}  // namespace v4lab
