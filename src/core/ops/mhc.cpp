// mhc.cpp — op catalogue entries for the mHC family: mhc_pre, mhc_post, mhc_head, and the
// unconstrained-HC baseline hc_pre (specs/mhc.md).
// Parameters, help strings and the OpWork (FLOPs, transcendentals, bytes) the cost model and the
// benchmarks share. The formulas live in mhc_cost.h so the cost tests (T9) can call them directly.
#include "core/op_catalogue.h"
#include "core/ops/mhc_cost.h"

namespace v4lab {

const char* mhc_fusion_name(MhcFusion f) {
  switch (f) {
    case MhcFusion::Production:
      return "production";
    case MhcFusion::Unfused:
      return "unfused";
    case MhcFusion::BigFused:
      return "big_fused";
    case MhcFusion::PostPreFused:
      return "post_pre_fused";
  }
  return "?";
}

namespace {

ParamDef p_tokens() {
  return {"n_tokens", 64, 0, double(1 << 24), true, "tokens in the step (batch x sequence); 0 = no launch", ""};
}
ParamDef p_hc() { return {"hc", 4, 1, 8, true, "residual streams n (hc_mult); V4 uses 4", "hc_mult"}; }
ParamDef p_d() { return {"d_model", 4096, 1, 65536, true, "hidden size d (4096 Flash, 7168 Pro)", "hidden_size"}; }
ParamDef p_iters() {
  return {"iters", 20, 1, 1000, true, "Sinkhorn-Knopp iterations (hc_sinkhorn_iters)", "hc_sinkhorn_iters"};
}
ParamDef p_hc_eps() {
  return {"hc_eps", 1e-6, 0, 1, false, "eps added to pre and inside every Sinkhorn normalization", "hc_eps"};
}
ParamDef p_norm_eps() {
  return {"norm_eps",    1e-6, 0, 1, false, "eps of r = 1/sqrt(mean(v^2)+eps) in hc_pre (paper trains with 1e-20)",
          "rms_norm_eps"};
}
ParamDef p_variant() {
  return {"sinkhorn_variant", 0, 0, 1, true, "0 = V4 loop (default); 1 = paper Eq. 9, no eps (comparison only)", ""};
}
ParamDef p_fusion() {
  return {"fusion",
          0,
          0,
          3,
          true,
          "byte accounting only (cost model): 0 production, 1 unfused (paper Table 2), 2 big-fused pre, "
          "3 post fused with the next pre (lower bound)",
          ""};
}

MhcShape shape_of(const ParamMap& p) {
  MhcShape s;
  s.n_tokens = param_i(p, "n_tokens");
  s.hc = static_cast<int>(param_i(p, "hc"));
  s.d_model = param_i(p, "d_model");
  s.iters = p.count("iters") ? static_cast<int>(param_i(p, "iters")) : 0;
  return s;
}

MhcFusion fusion_of(const ParamMap& p) {
  return p.count("fusion") ? static_cast<MhcFusion>(param_i(p, "fusion")) : MhcFusion::Production;
}

}  // namespace

void register_mhc_ops() {
  register_op({"mhc_pre",
               "mhc",
               "mHC hc_pre: prenorm GEMM fn·v, r = rms, split, Sinkhorn (comb), y = sum_i pre_i X_i (per site)",
               {p_tokens(), p_hc(), p_d(), p_iters(), p_hc_eps(), p_norm_eps(), p_variant(), p_fusion()},
               [](const ParamMap& p) {
                 const MhcShape s = shape_of(p);
                 const MhcFusion f = fusion_of(p);
                 OpWork w;
                 w.flops = mhc_pre_flops(s);
                 w.transcendentals = double(s.n_tokens) * mhc_pre_transcendentals_per_token(s);
                 w.bytes_mem = mhc_pre_bytes(s, f);  // n_tokens·B_tok(pre) + W_fn
                 w.precision = Precision::FP32;      // the pre-GEMM runs in FP32 (TF32 allowed, not modelled)
                 w.bytes_variant = mhc_fusion_name(f);
                 return w;
               }});
  register_op({"mhc_post",
               "mhc",
               "mHC hc_post: X'_j = post_j F + sum_i comb[i][j] X_i (transposed mix, fused residual merge)",
               {p_tokens(), p_hc(), p_d(), p_fusion()},
               [](const ParamMap& p) {
                 const MhcShape s = shape_of(p);
                 const MhcFusion f = fusion_of(p);
                 OpWork w;
                 w.flops = mhc_post_flops(s);
                 w.bytes_mem = mhc_post_bytes(s, f);
                 w.precision = Precision::FP32;
                 w.bytes_variant = mhc_fusion_name(f);
                 return w;
               }});
  register_op({"hc_pre",
               "mhc",
               "unconstrained HC (Zhu et al.) for comparison: per-stream RMSNorm, tanh-gated H_pre/H_post/H_res, "
               "y = sum_i H_pre[i] X_i; comb = H_res^T feeds mhc_post",
               {p_tokens(), p_hc(), p_d(), p_norm_eps()},
               [](const ParamMap& p) {
                 const MhcShape s = shape_of(p);
                 OpWork w;
                 w.flops = hc_pre_flops(s);
                 w.transcendentals = double(s.n_tokens) * hc_pre_transcendentals_per_token(s);
                 w.bytes_mem = hc_pre_bytes(s);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "one_pass";
                 return w;
               }});
  register_op({"mhc_head",
               "mhc",
               "mHC hc_head: final collapse y = sum_i pre_i X_i, pre = sigmoid(...) + eps",
               {p_tokens(), p_hc(), p_d(), p_hc_eps(), p_norm_eps()},
               [](const ParamMap& p) {
                 const MhcShape s = shape_of(p);
                 OpWork w;
                 w.flops = mhc_head_flops(s);
                 w.transcendentals = double(s.n_tokens) * mhc_head_transcendentals_per_token(s);
                 w.bytes_mem = mhc_head_bytes(s);
                 w.precision = Precision::FP32;
                 w.bytes_variant = "production";
                 return w;
               }});
}

}  // namespace v4lab
