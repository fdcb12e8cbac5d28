// numerics.cpp — op catalogue entries for the numerics family: rmsnorm, rope, swiglu
// (specs/attention.md §1.1–1.3 and §1.6; specs/moe.md "Experts"). Parameters with help strings and
// the model-preset fields that supply their defaults, and the OpWork the cost model and the
// benchmarks share. The formulas live in numerics_cost.h so the cost tests call them directly.
#include "core/op_catalogue.h"
#include "core/ops/numerics_cost.h"

namespace v4lab {
namespace {

ParamDef p_tokens(const char* help) { return {"n_tokens", 64, 0, double(1 << 24), true, help, ""}; }

RmsNormShape rmsnorm_shape(const ParamMap& p) {
  return {param_i(p, "n_tokens"), param_i(p, "width"), param_i(p, "weighted") != 0};
}
RopeShape rope_shape(const ParamMap& p) { return {param_i(p, "n_tokens"), param_i(p, "n_heads"), param_i(p, "d_rope")}; }
SwigluShape swiglu_shape(const ParamMap& p) {
  return {param_i(p, "n_tokens"), param_i(p, "width"), p.at("limit") > 0};
}

}  // namespace

void register_numerics_ops() {
  register_op({"rmsnorm",
               "numerics",
               "RMSNorm y = w * x / sqrt(mean(x^2) + eps) per row; BF16 in/out, FP32 math (weightless: w = 1)",
               {p_tokens("rows: tokens in the step (V4 q-head norm: tokens x n_heads); 0 = no launch"),
                {"width", 4096, 1, 1 << 20, true,
                 "values per row (d_model 4096 Flash / 7168 Pro; q latent 1024/1536; kv 512; q head 512)",
                 "hidden_size"},
                {"weighted", 1, 0, 1, true, "1 = multiply by the FP32 weight [width]; 0 = weightless (V4 q heads)",
                 ""},
                {"eps", 1e-6, 0, 1, false, "eps inside the square root (rms_norm_eps; 1e-6 in V3, V3.2, V4)",
                 "rms_norm_eps"}},
               [](const ParamMap& p) {
                 const RmsNormShape s = rmsnorm_shape(p);
                 OpWork w;
                 w.flops = rmsnorm_flops(s);
                 w.transcendentals = rmsnorm_transcendentals(s);
                 w.bytes_mem = rmsnorm_bytes(s);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "unfused";
                 return w;
               }});
  register_op(
      {"rope",
       "numerics",
       "RoPE with optional YaRN: rotate d_rope dims of each [n_tokens, n_heads, d_head] BF16 vector at pos0 + t",
       {p_tokens("tokens in the step; token t sits at position pos0 + t; 0 = no launch"),
        {"n_heads", 64, 1, 4096, true, "rotated vectors per token (query heads; 1 for a shared key)",
         "num_attention_heads"},
        {"d_head", 512, 2, 65536, true, "values per vector (V4 head 512; MLA query head 192)", "head_dim"},
        {"d_rope", 64, 2, 4096, true, "rotated values per vector, even, <= d_head (64 in every DeepSeek model)",
         "qk_rope_head_dim"},
        {"rope_offset", -1, -1, 65534, true,
         "first rotated value inside the vector; -1 = the last d_rope (V3/V4), 0 = the first (V3.2 indexer)", ""},
        {"interleaved", 1, 0, 1, true, "1 = GPT-J pairs (x[2i], x[2i+1]) (V3, V4); 0 = NeoX half split (V3.2 indexer)",
         ""},
        {"inverse", 0, 0, 1, true, "1 = rotate by -angle (V4 de-rotates the attention output)", ""},
        {"theta", 160000, 1, 1e12, false, "RoPE base (V4 CSA/HCA layers 160000; SWA-only layers and V3 10000)",
         "compress_rope_theta"},
        {"yarn_factor", 16, 1, 1e6, false, "YaRN scale s; 1 = YaRN off (V4 16, V3 40 when max_seq_len > 4096)",
         "rope_scaling.factor"},
        {"yarn_orig_len", 65536, 1, double(1 << 30), true, "YaRN original context length L (V4 65536, V3 4096)",
         "rope_scaling.original_max_position_embeddings"},
        {"beta_fast", 32, 0, 1e6, false, "YaRN beta_fast: sets the low pair index", "rope_scaling.beta_fast"},
        {"beta_slow", 1, 0, 1e6, false, "YaRN beta_slow: sets the high pair index (< beta_fast)",
         "rope_scaling.beta_slow"},
        {"pos0", 0, 0, double(1 << 24), true, "position of token 0 (decode: the context length so far)", ""},
        {"fp32_angles", 0, 0, 1, true,
         "1 = build the table in FP32 like the reference code (loses accuracy at large positions); 0 = FP64", ""}},
       [](const ParamMap& p) {
         const RopeShape s = rope_shape(p);
         OpWork w;
         w.flops = rope_flops(s);
         w.transcendentals = rope_transcendentals(s);
         w.bytes_mem = rope_bytes(s);  // rotated slices + cos/sin table written and read once
         w.precision = Precision::FP32;
         w.bytes_variant = "unfused";
         return w;
       }});
  register_op({"swiglu",
               "numerics",
               "SwiGLU h = silu(min(g, L)) * clamp(u, -L, L) per element; FP32 in and out (limit 0 = no clamp)",
               {p_tokens("rows: tokens (x routed experts) in the step; 0 = no launch"),
                {"width", 2048, 1, 1 << 20, true, "values per row (d_expert: 2048 Flash / 3072 Pro)",
                 "moe_intermediate_size"},
                {"limit", 0, 0, 1e6, false,
                 "clamp L (swiglu_limit: 10 in V4 routed experts); 0 = none (V3/V3.2, which lack the field, and "
                 "every shared expert)",
                 "swiglu_limit"}},
               [](const ParamMap& p) {
                 const SwigluShape s = swiglu_shape(p);
                 OpWork w;
                 w.flops = swiglu_flops(s);
                 w.transcendentals = swiglu_transcendentals(s);
                 w.bytes_mem = swiglu_bytes(s);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "unfused";
                 return w;
               }});
  // Cost-model entry without a kernel (yet): the BF16 GEMMs of the model (LM head; V3 dense paths
  // priced at BF16 where the checkpoint stores BF16). `v4lab kernel gemm_bf16` reports no backend.
  register_op({"gemm_bf16", "numerics", "C = A*B^T with BF16 A [M,K] and B [N,K], FP32 accumulation, BF16 C (LM head)",
               {p_tokens("M: rows of A and C (tokens); 0 = no launch"),
                {"k", 4096, 0, double(1 << 24), true, "K: reduction length (d_model)", "hidden_size"},
                {"n", 129280, 0, double(1 << 24), true, "N: output columns (vocab / TP for the head)", "vocab_size"},
                {"out_dtype", 0, 0, 1, true, "output C dtype: 0 = BF16, 1 = FP32", ""}},
               [](const ParamMap& p) {
                 const double m = double(param_i(p, "n_tokens")), n = double(param_i(p, "n")), k = double(param_i(p, "k"));
                 OpWork w;
                 w.flops = m > 0 ? 2 * m * n * k : 0;
                 w.bytes_mem = m > 0 ? 2 * m * k + 2 * n * k + (param_i(p, "out_dtype") == 1 ? 4 : 2) * m * n : 0;
                 w.precision = Precision::BF16;
                 w.bytes_variant = "bf16";
                 return w;
               }});
}

}  // namespace v4lab
