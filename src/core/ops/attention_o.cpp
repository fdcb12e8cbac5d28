// attention_o.cpp — op catalogue entry of V4's grouped output projection (specs/attention.md §4.2
// "Output", §4.4, §4.8 "Grouped O"): attn_o_grouped, y_g = W_oa,g·o_g for o_groups groups of
// consecutive heads, FP8 W_oa (128×128 UE8M0) × FP8 1×128 activations. Formulas: attention_o_cost.h.
#include "core/op_catalogue.h"
#include "core/ops/attention_o_cost.h"

namespace v4lab {
namespace {

OGroupedShape o_grouped_shape_of(const ParamMap& p) {
  OGroupedShape s;
  s.n_tokens = param_i(p, "n_tokens");
  s.n_heads = param_i(p, "n_heads");
  s.d_head = param_i(p, "d_head");
  s.o_groups = param_i(p, "o_groups");
  s.o_rank = param_i(p, "o_rank");
  s.act_fp8 = param_i(p, "act_fp8") != 0;
  return s;
}

}  // namespace

void register_attention_o_ops() {
  register_op({"attn_o_grouped",
               "attention",
               "V4 grouped output projection: heads split into o_groups groups, y_g = W_oa,g o_g (FP8 W_oa 128x128 "
               "UE8M0 x FP8 1x128 activations, FP32 accumulate, BF16 out); W_ob follows as a plain GEMM",
               {{"n_tokens", 1, 0, double(1 << 24), true, "tokens (decode: 1 per sequence; prefill: the chunk)", ""},
                {"n_heads", 64, 1, 1024, true, "query heads (Flash 64, Pro 128)", "num_attention_heads"},
                {"d_head", 512, 1, 4096, true, "head width (512)", "head_dim"},
                {"o_groups", 8, 1, 1024, true, "groups of n_heads/o_groups heads (Flash 8, Pro 16); must divide n_heads",
                 "o_groups"},
                {"o_rank", 1024, 1, 65536, true, "outputs per group (o_lora_rank 1024)", "o_lora_rank"},
                {"act_fp8", 1, 0, 1, true,
                 "1: FP8 e4m3 1x128 activations (v4lab, §4.4); 0: BF16 activations x the dequantized weights "
                 "(the reference's BF16 einsum, deviation (c))", ""}},
               [](const ParamMap& p) {
                 const OGroupedShape s = o_grouped_shape_of(p);
                 OpWork w;
                 if (s.o_groups < 1 || s.n_heads % s.o_groups != 0) return w;  // rejected by the kernels
                 w.flops = o_grouped_flops(s);
                 w.bytes_mem = o_grouped_bytes(s);
                 w.precision = s.act_fp8 ? Precision::FP8 : Precision::BF16;
                 w.bytes_variant = s.act_fp8 ? "fp8_weights_fp8_act" : "fp8_weights_bf16_act";
                 return w;
               }});
}

}  // namespace v4lab
