// attention_v4.cpp — op catalogue entries for the first half of V4 hybrid attention (specs/attention.md
// §4.2, §4.4–4.7): attn_compress (CSA/HCA/indexer compressor, prefill or streaming), attn_csa_indexer
// (lightning-indexer scores on compressed keys) and kv_pack_v4 (584 B paged KV layout). The formulas
// live in attention_v4_cost.h so the cost tests and the cost model call them directly.
#include "core/op_catalogue.h"
#include "core/ops/attention_v4_cost.h"

namespace v4lab {
namespace {

ParamDef p_d_model() { return {"d_model", 4096, 1, 65536, true, "hidden size (4096 Flash, 7168 Pro)", "hidden_size"}; }
ParamDef p_d_rope() {
  return {"d_rope", 64, 0, 512, true, "rotated dims at the end of each vector (interleaved)", "qk_rope_head_dim"};
}
ParamDef p_ratio() {
  return {"ratio", 4, 1, 65536, true, "compression ratio r: 4 CSA (overlapping 8-token pooling), 128 HCA, 1 test", ""};
}

}  // namespace

void register_attention_v4_ops() {
  register_op({"attn_compress",
               "attention",
               "V4 token compressor: a = W_kv x, z = W_gate x + ape; per-channel softmax pooling over a block of r "
               "(overlap at r = 4), BF16 -> RMSNorm -> RoPE at j*r -> quant sim (FP8 KV or Hadamard + FP4 indexer)",
               {{"n_tokens", 512, 0, double(1 << 24), true, "tokens of the call (prefill chunk; streaming: decoded one at a time)", ""},
                p_d_model(),
                p_ratio(),
                {"d", 512, 1, 4096, true, "entry width: 512 main KV (head_dim), 128 indexer (index_head_dim)", "head_dim"},
                p_d_rope(),
                {"indexer", 0, 0, 1, true, "quant sim: 0 = FP8 tiles of 64 + BF16 RoPE (584 B), 1 = Hadamard + FP4 (68 B)", ""},
                {"quant", 1, 0, 1, true, "1 = quant simulation on; 0 = entries are the normed BF16 values", ""},
                {"streaming", 0, 0, 1, true, "1 = decode form: token by token through the reference-layout state", ""},
                {"pos0", 0, 0, double(1 << 24), true, "position of the first token (prefill: a multiple of ratio)", ""},
                {"theta", 160000, 2, 1e9, false, "RoPE base of compressed layers (YaRN s = 16 on top)", "compress_rope_theta"},
                {"norm_eps", 1e-6, 0, 1, false, "RMSNorm eps", "rms_norm_eps"}},
               [](const ParamMap& p) {
                 V4CompressShape s;
                 s.n_tokens = param_i(p, "n_tokens");
                 s.d_model = param_i(p, "d_model");
                 s.ratio = param_i(p, "ratio");
                 s.d = param_i(p, "d");
                 s.d_rope = param_i(p, "d_rope");
                 s.indexer = p.at("indexer") != 0;
                 s.streaming = p.at("streaming") != 0;
                 OpWork w;
                 w.flops = v4_compress_flops(s);
                 w.transcendentals = v4_compress_transcendentals(s);
                 w.bytes_mem = v4_compress_bytes(s);
                 w.precision = Precision::FP32;  // BF16 weights, FP32 math (§4.4)
                 w.bytes_variant = s.streaming ? "reference_state" : "prefill";
                 return w;
               }});
  register_op({"attn_csa_indexer",
               "attention",
               "V4 CSA lightning-indexer scores I[t,j] = sum_h w_th ReLU(q_th . k_j) over visible compressed keys "
               "j < floor((pos+1)/4); invisible = -inf; feeds attn_topk",
               {{"n_tokens", 1, 0, double(1 << 20), true, "queries (decode: 1, or 2 with MTP; prefill: the chunk)", ""},
                {"n_ctx", 65536, 0, double(1 << 24), true, "context seen by the last query (prefill: = n_tokens)", ""},
                {"idx_heads", 64, 1, 1024, true, "indexer heads", "index_n_heads"},
                {"idx_dim", 128, 32, 1024, true, "indexer head / key width (power of two, % 32 == 0)", "index_head_dim"},
                {"ratio", 4, 1, 1024, true, "key compression ratio (CSA: 4)", ""}},
               [](const ParamMap& p) {
                 const int64_t T = param_i(p, "n_tokens"), n = param_i(p, "n_ctx"), H = param_i(p, "idx_heads"),
                               K = param_i(p, "idx_dim"), r = param_i(p, "ratio");
                 OpWork w;
                 w.flops = csa_indexer_flops(T, n, H, K, r);  // causal: Σ_t ⌊(pos_t+1)/4⌋ keys
                 w.bytes_mem = csa_indexer_bytes(T, n, H, K, r);
                 w.precision = Precision::FP4;  // FP4 MQA logits in production (_cpu: FP32 FMAs)
                 w.bytes_variant = "fp4_cache_scores_materialized";
                 return w;
               }});
  register_op({"kv_pack_v4",
               "attention",
               "pack BF16 KV entries into V4 584 B pages (FP8 tiles of 64 + BF16 RoPE, then 8 B scale records, "
               "page padded to a multiple of 576 B)",
               {{"n_tokens", 4096, 0, double(1 << 24), true, "entries to pack (pages of page_tokens)", ""},
                {"d_head", 512, 64, 4096, true, "entry width", "head_dim"},
                p_d_rope(),
                {"page_tokens", 64, 1, 4096, true, "tokens per page P (V4: 64 -> 37,440 B)", ""}},
               [](const ParamMap& p) {
                 const double n = p.at("n_tokens"), d = p.at("d_head"), dr = p.at("d_rope"), P = p.at("page_tokens");
                 const double data = (d - dr) + 2 * dr, entry = v4_compress_entry_bytes(d, dr, false);
                 const double pages = double((int64_t(n) + int64_t(P) - 1) / int64_t(P));
                 const double page_bytes = double(int64_t((P * entry + data - 1) / data)) * data;
                 OpWork w;
                 w.flops = n * (4 * (d - dr) + 2 * (d - dr) / 64);  // quantize (quant.md "Cost")
                 w.bytes_mem = 2 * n * d + pages * page_bytes;
                 w.precision = Precision::FP32;
                 w.bytes_variant = "one_pass";
                 return w;
               }});
}

}  // namespace v4lab
