// moe.cpp — op catalogue entries for the MoE family (specs/moe.md): moe_gate, moe_permute,
// moe_experts, moe_shared, moe_combine. Parameters with help strings and preset fields, and the
// OpWork the cost model and the benchmarks share; the formulas live in moe_cost.h.
// String preset fields are not mapped: scoring (scoring_func), weight_before_down and expert_dtype
// are numeric params with V4-Flash defaults (set them for V3: scoring=1, weight_before_down=0,
// expert_dtype=1).
#include "core/op_catalogue.h"
#include "core/ops/moe_cost.h"

namespace v4lab {

namespace {

ParamDef p_tokens(double def) {
  return {"n_tokens", def, 0, double(1 << 24), true, "tokens in the step (batch x sequence); 0 = no launch", ""};
}
ParamDef p_d() { return {"d_model", 4096, 1, 65536, true, "hidden size d (4096 Flash, 7168 V3/Pro)", "hidden_size"}; }
ParamDef p_f() {
  return {"d_expert", 2048, 1, 65536, true, "expert width f (moe_intermediate_size; 2048, Pro 3072)",
          "moe_intermediate_size"};
}
ParamDef p_experts() {
  return {"n_experts", 256, 1, 1024, true, "routed experts E (256; V4-Pro 384)", "n_routed_experts"};
}
ParamDef p_topk() { return {"top_k", 6, 1, 16, true, "experts per token k (V3 8, V4 6)", "num_experts_per_tok"}; }

double fmt_bw(const ParamMap& p, const char* key) {
  return moe_bytes_per_weight(static_cast<MoeWeightFormat>(param_i(p, key)));
}
Precision fmt_precision(const ParamMap& p, const char* key) {
  const int64_t v = param_i(p, key);
  return v == 0 ? Precision::BF16 : v == 1 ? Precision::FP8 : Precision::FP4;
}

}  // namespace

void register_moe_ops() {
  register_op({"moe_gate",
               "moe",
               "MoE router: z = W_g·x, s = φ(z), top-k of s + bias (flat, group-limited or hash), w = normalized s",
               {p_tokens(64),
                p_d(),
                p_experts(),
                p_topk(),
                {"scoring", 2, 0, 2, true, "φ: 0 softmax (V2), 1 sigmoid (V3/V3.2), 2 sqrtsoftplus (V4)", ""},
                {"use_bias", 1, 0, 1, true, "noaux_tc bias: selection uses u = s + b (weights use s)", ""},
                {"n_group", 0, 0, 64, true, "expert groups (V3: 8); 0 = flat top-k (V4)", "n_group"},
                {"topk_group", 0, 0, 64, true, "groups kept (V3: 4); needs topk_group·E/n_group >= top_k", "topk_group"},
                {"hash", 0, 0, 1, true, "1 = V4 hash layer: idx = tid2eid[token_id], no bias, no top-k", ""},
                {"vocab", 1024, 1, double(1 << 20), true, "rows of the seeded tid2eid table (checkpoint: 129280)", ""},
                {"route_scale", 1.5, 0, 100, false, "routed_scaling_factor (V3 2.5, Flash 1.5, Pro 2.5)",
                 "routed_scaling_factor"}},
               [](const ParamMap& p) {
                 const double T = double(param_i(p, "n_tokens")), d = double(param_i(p, "d_model")),
                              E = double(param_i(p, "n_experts")), k = double(param_i(p, "top_k"));
                 OpWork w;
                 w.flops = moe_router_gemm_flops(T, d, E) + moe_router_scoring_flops_estimate(T, E);
                 w.transcendentals = T * E;  // one exp-class φ per logit
                 w.bytes_mem = moe_gate_bytes(T, d, E, k, param_i(p, "hash") != 0);
                 w.precision = Precision::FP32;  // router logits and scores are FP32 (spec Precision)
                 w.bytes_variant = "production";
                 return w;
               }});
  register_op({"moe_permute",
               "moe",
               "MoE permute: counting sort of (token, slot) pairs by expert, offsets, row map, gathered x rows",
               {p_tokens(64), p_d(), p_experts(), p_topk()},
               [](const ParamMap& p) {
                 OpWork w;
                 w.bytes_mem = moe_permute_bytes(double(param_i(p, "n_tokens")), double(param_i(p, "d_model")),
                                                 double(param_i(p, "n_experts")), double(param_i(p, "top_k")));
                 w.precision = Precision::BF16;
                 w.bytes_variant = "production";
                 return w;
               }});
  register_op({"moe_experts",
               "moe",
               "MoE routed experts: grouped SwiGLU y_e = W2·(w·silu(min(W1x,L))·clamp(W3x,±L)), FP8 activations",
               {p_tokens(8),
                p_d(),
                p_f(),
                {"n_experts", 8, 1, 1024, true,
                 "experts holding weights in this run (memory: ~13 MB each at Flash FP4); rows are routed "
                 "uniformly among them",
                 ""},
                p_topk(),
                {"limit", 0, 0, 1000, false, "swiglu_limit L: u in [-L, L], g <= L; 0 = no clamp (V4 presets: 10)",
                 "swiglu_limit"},
                {"weight_before_down", 1, 0, 1, true, "1 = V4 y_e = W2·(w·h); 0 = V3 y_e = w·(W2·h)", ""},
                {"expert_dtype", 2, 0, 2, true,
                 "routed weights: 0 BF16, 1 FP8 e4m3 128x128 UE8M0 (V3), 2 MXFP4 e2m1 1x32 UE8M0 (V4)", ""},
                {"fusion", 0, 0, 1, true, "byte accounting: 0 as run (fused), 1 the spec's unfused activations", ""}},
               [](const ParamMap& p) {
                 const double T = double(param_i(p, "n_tokens")), d = double(param_i(p, "d_model")),
                              f = double(param_i(p, "d_expert")), E = double(param_i(p, "n_experts")),
                              k = double(param_i(p, "top_k"));
                 const bool unfused = param_i(p, "fusion") != 0;
                 OpWork w;
                 w.flops = moe_expert_gemm_flops(T * k, d, f) + moe_swiglu_flops_estimate(T * k, f) +
                           moe_weight_mul_flops(T * k, d, f, param_i(p, "weight_before_down") != 0);
                 w.transcendentals = T * k * f;  // one exp per SwiGLU
                 w.bytes_mem = moe_experts_bytes(T, d, f, E, k, fmt_bw(p, "expert_dtype"), unfused);
                 w.precision = fmt_precision(p, "expert_dtype");
                 w.bytes_variant = unfused ? "unfused" : "fused";
                 return w;
               }});
  register_op({"moe_shared",
               "moe",
               "MoE shared expert: y_s = W2s·(silu(W1s·x)·W3s·x), no clamp, FP8 128x128 weights",
               {p_tokens(8),
                p_d(),
                p_f(),
                {"shared_dtype", 1, 0, 2, true, "shared weights: 0 BF16, 1 FP8 e4m3 128x128 UE8M0 (all presets)", ""}},
               [](const ParamMap& p) {
                 const double T = double(param_i(p, "n_tokens")), d = double(param_i(p, "d_model")),
                              f = double(param_i(p, "d_expert"));
                 OpWork w;
                 w.flops = moe_expert_gemm_flops(T, d, f) + moe_swiglu_flops_estimate(T, f);
                 w.transcendentals = T * f;
                 w.bytes_mem = moe_shared_bytes(T, d, f, fmt_bw(p, "shared_dtype"));
                 w.precision = fmt_precision(p, "shared_dtype");
                 w.bytes_variant = "fused";
                 return w;
               }});
  register_op({"moe_combine",
               "moe",
               "MoE combine: y = BF16(Σ y_e in ascending expert id + y_s), FP32 accumulation, deterministic",
               {p_tokens(64), p_d(), p_experts(), p_topk()},
               [](const ParamMap& p) {
                 const double T = double(param_i(p, "n_tokens")), d = double(param_i(p, "d_model")),
                              k = double(param_i(p, "top_k"));
                 OpWork w;
                 w.flops = moe_combine_flops(T, d, k);
                 w.bytes_mem = moe_combine_bytes(T, d, k);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "fused";
                 return w;
               }});
}

}  // namespace v4lab
