// engram.cpp — op catalogue entries of the Engram family (specs/engram.md §3–§5, cost §8):
// engram_hash, engram_gather, engram_gate, engram_conv. Parameters (defaults at the demo geometry:
// N = 3, K = 8, 646,400 rows per head seed, D = 64 FP32, M = 4, d = 1024, conv 4/3) with help
// strings and preset fields; the OpWork formulas live in engram_cost.h.
#include "core/op_catalogue.h"
#include "core/ops/engram_cost.h"

namespace v4lab {
namespace {

ParamDef p_tokens() { return {"n_tokens", 64, 0, double(1 << 24), true, "tokens in the step; 0 = no launch", ""}; }
ParamDef p_ngram() {
  return {"max_ngram", 3, 2, 8, true, "highest N-gram order N (orders 2..N); demo 3, V4.1-like 4", "engram_max_ngram"};
}
ParamDef p_heads() { return {"heads", 8, 1, 64, true, "hash heads per order K", "engram_heads"}; }
ParamDef p_head_dim() { return {"head_dim", 64, 1, 4096, true, "table row width D (demo 64, V4.1 256)", "engram_head_dim"}; }
ParamDef p_hc() { return {"hc", 4, 1, 16, true, "mHC branches M (hc_mult); 1 = no mHC", "hc_mult"}; }
ParamDef p_d() { return {"d_model", 1024, 1, 65536, true, "backbone width d (demo 1024, V4.1 5120)", "hidden_size"}; }

EngramShape shape_of(const ParamMap& p) {
  EngramShape s;
  auto get = [&](const char* k, double def) { return p.count(k) ? p.at(k) : def; };
  s.n_tokens = param_i(p, "n_tokens");
  s.max_ngram = int(get("max_ngram", 3));
  s.heads = int(get("heads", 8));
  s.head_dim = int64_t(get("head_dim", 64));
  s.row_dtype = EngramRowDtype(int(get("row_dtype", 0)));
  s.out_bytes = int(get("out_dtype", 0)) == 1 ? 2 : 4;
  s.hc = int(get("hc", 4));
  s.d_model = int64_t(get("d_model", 1024));
  s.conv_kernel = int(get("conv_kernel", 4));
  s.conv_dilation = int64_t(get("conv_dilation", 3));
  return s;
}

}  // namespace

void register_engram_ops() {
  register_op({"engram_hash",
               "engram",
               "Engram index: raw ids -> canonical ids -> multiplicative-XOR N-gram mixes -> mix mod prime per head "
               "-> global row = offset + z (u32), order-major head-minor",
               {p_tokens(), p_ngram(), p_heads(),
                {"vocab_size_per_order", 646400, 2, 4e9, true,
                 "table-size seed of every order (demo 646,400; 27B 2,262,400; V4.1-like 16,000,000)", ""},
                {"raw_vocab", 129280, 1, 2147483647.0, true, "raw tokenizer vocab V", "vocab_size"},
                {"reduction", 0.2343, 0, 0.99, false,
                 "synthetic canonical map: fraction of raw ids merged away (paper 23.43%; 0 = identity)", ""},
                {"pad_id", 2, 0, 2147483646.0, true, "raw pad id (demo 2), hashed through the canonical map", ""},
                {"layer_id", 1, 0, 1000, true, "Engram layer l: seeds the multipliers (seed + 10007 l)", ""},
                {"layer_index", 0, 0, 63, true,
                 "position of the layer in layer_ids (earlier layers consume primes first)", ""},
                {"seed", 0, 0, 1e15, true, "hash seed (demo 0); multipliers are SplitMix64, non-official", ""}},
               [](const ParamMap& p) {
                 const EngramShape s = shape_of(p);
                 OpWork w;
                 w.flops = double(s.n_tokens) * engram_hash_int_ops_per_token(s);  // integer ops
                 w.bytes_mem = double(s.n_tokens) * engram_hash_bytes_per_token(s);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "u32_ids";
                 return w;
               }});
  register_op({"engram_gather",
               "engram",
               "Engram table gather: R = (N-1)K rows per token (global ids), decoded and concatenated -> "
               "[n_tokens, d_mem] F32 or BF16",
               {p_tokens(), p_ngram(), p_heads(), p_head_dim(),
                {"table_rows", 4194304, 1, 4294967296.0, true,
                 "rows of the synthetic table (real layers: 10.3M demo, 36.2M 27B, 384M V4.1); checked against "
                 "MemAvailable",
                 ""},
                {"row_dtype", 0, 0, 2, true, "table rows: 0 FP32 (demo), 1 BF16 (27B), 2 FP8 E4M3 + UE8M0 per 32 (V4.1)",
                 ""},
                {"out_dtype", 0, 0, 1, true, "gathered output: 0 FP32, 1 BF16", ""}},
               [](const ParamMap& p) {
                 const EngramShape s = shape_of(p);
                 OpWork w;
                 w.flops = double(s.n_tokens) * engram_gather_flops_per_token(s);
                 w.bytes_mem = double(s.n_tokens) * engram_gather_bytes_per_token(s);
                 w.precision = s.row_dtype == EngramRowDtype::FP8 ? Precision::FP8 : Precision::FP32;
                 w.bytes_variant = "random_rows";
                 return w;
               }});
  register_op({"engram_gate",
               "engram",
               "Engram context-aware gate per mHC branch: alpha = sigmoid(signed_sqrt(<RMSNorm(h), RMSNorm(k)>/sqrt d)), "
               "v_gated = alpha v",
               {p_tokens(), p_hc(), p_d(),
                {"gate_norm_eps", 1.1920928955078125e-7, 0, 1, false, "RMSNorm eps of q and k (2^-23, demo default)",
                 "engram_gate_norm_eps"},
                {"sign_zero", 0, 0, 1, true, "sgn(0) in the signed sqrt: 0 sign0 (demo, alpha = 0.5), 1 copysign (V4.1)",
                 ""}},
               [](const ParamMap& p) {
                 const EngramShape s = shape_of(p);
                 OpWork w;
                 w.flops = double(s.n_tokens) * engram_gate_flops_per_token(s);
                 w.transcendentals = double(s.n_tokens) * engram_gate_transcendentals_per_token(s);
                 w.bytes_mem = s.n_tokens > 0
                                   ? double(s.n_tokens) * engram_gate_bytes_per_token(s) + engram_gate_weight_bytes(s)
                                   : 0.0;
                 w.precision = Precision::FP32;
                 w.bytes_variant = "unfused";
                 return w;
               }});
  register_op({"engram_conv",
               "engram",
               "Engram short conv: y = SiLU(depthwise causal conv(RMSNorm(v_gated))) + v_gated (residual outside "
               "the SiLU; H += y is the caller's)",
               {p_tokens(), p_hc(), p_d(),
                {"conv_kernel", 4, 1, 16, true, "conv taps w", "engram_conv_kernel"},
                {"conv_dilation", 3, 1, 64, true, "dilation (default max N-gram order; V4.1-like 4)",
                 "engram_conv_dilation"},
                {"conv_norm_eps", 1e-5, 0, 1, false, "per-branch RMSNorm eps before the conv", "engram_conv_norm_eps"},
                {"add_residual", 1, 0, 1, true, "1: y includes + v_gated; 0: SiLU(conv) only", ""}},
               [](const ParamMap& p) {
                 const EngramShape s = shape_of(p);
                 OpWork w;
                 w.flops = double(s.n_tokens) * engram_conv_flops_per_token(s);
                 w.transcendentals = double(s.n_tokens) * engram_conv_transcendentals_per_token(s);
                 w.bytes_mem = s.n_tokens > 0
                                   ? double(s.n_tokens) * engram_conv_bytes_per_token(s) + engram_conv_once_bytes(s)
                                   : 0.0;
                 w.precision = Precision::FP32;
                 w.bytes_variant = "unfused";
                 return w;
               }});
}

}  // namespace v4lab
