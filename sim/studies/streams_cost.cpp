// streams_cost.cpp — modelled cost of the mHC streams study (see streams_cost.h). Totals come from the
// op catalogue (mhc_pre, mhc_post) and the mhc_cost.h helpers it is built on; the split follows the
// Cost table of specs/mhc.md and is checked against the catalogue total in tests/sim/test_streams_cost.cpp.
#include "sim/studies/streams_cost.h"

#include <cmath>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "core/ops/mhc_cost.h"
#include "core/presets.h"
#include "sim/step_model.h"

namespace v4lab::sim {

StreamsCost streams_cost(int n, int64_t d_model, int iters, int64_t depth) {
  if (n < 1 || n > 8) throw config_error("streams study: n = " + std::to_string(n) + " must be in [1, 8]");
  if (d_model < 1) throw config_error("streams study: d_model = " + std::to_string(d_model) + " must be >= 1");
  if (iters < 1) throw config_error("streams study: t_max = " + std::to_string(iters) + " must be >= 1");
  if (depth < 1) throw config_error("streams study: depth = " + std::to_string(depth) + " must be >= 1");
  StreamsCost c;
  c.n = n, c.d_model = d_model, c.iters = iters, c.depth = depth;
  MhcShape s;
  s.n_tokens = 1, s.hc = n, s.d_model = d_model, s.iters = iters;
  const double N = n, C = double(d_model), m = double(mhc_m(n)), I = iters;
  // Fused: the production stream traffic plus the FP32 coefficients read by the apply and post
  // (pre n, post n, comb n²); studies.md (c) leaves out the mixes written by the GEMM pass.
  c.bytes_fused = mhc_site_bytes_per_token(s, MhcFusion::Production) + 4 * (N * N + 2 * N);
  c.bytes_plain = 6 * C;
  c.bytes_unfused = mhc_site_bytes_per_token(s, MhcFusion::Unfused) + mhc_site_small_bytes_per_token(s, MhcFusion::Unfused);
  c.unfused_read_elems = (5 * N + 1) * C + N * N + 2 * N;
  c.unfused_write_elems = (3 * N + 1) * C + N * N + 2 * N;
  c.flops_gemm = 2 * N * C * m;
  c.flops_sumsq = 2 * N * C + 2;
  c.flops_split = 3 * N * N + 8 * N;
  c.flops_sinkhorn = N * N * (4 * I + 3) + N * (2 * I - 1);
  c.flops_apply = 2 * N * C;
  c.flops_post = N * C * (2 * N + 1);
  const OpDef& pre = get_op("mhc_pre");
  const OpDef& post = get_op("mhc_post");
  const ParamMap pm = {{"n_tokens", 1}, {"hc", N}, {"d_model", C}, {"iters", I}};
  const OpWork wp = pre.work(resolve_params(pre, pm, "streams study")), wq = post.work(resolve_params(post, {{"n_tokens", 1}, {"hc", N}, {"d_model", C}}, "streams study"));
  c.flops_total = wp.flops + wq.flops;
  c.transcendentals = wp.transcendentals + wq.transcendentals;
  c.params_per_site = N * C * m + 3 + m;
  c.param_bytes_per_site = mhc_fn_bytes(s) + 4 * (3 + m);
  c.residual_bytes_per_token = 2 * N * C;
  c.plain_residual_bytes_per_token = 2 * C;
  c.recompute_block = std::max<int64_t>(1, std::llround(std::sqrt(N * double(depth) / (N + 2))));
  const double blocks = std::ceil(double(depth) / double(c.recompute_block));
  c.train_act_elems_per_token = N * C * blocks + (N + 2) * C * double(c.recompute_block);
  return c;
}

StreamsStep streams_step(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl,
                         int n, double plain_step_s) {
  if (n < 0 || n > 8) throw config_error("streams study: n = " + std::to_string(n) + " must be in [0, 8] (0 = plain)");
  ModelPreset mm = m;
  if (n == 0) mm.fields.erase("hc_mult");
  else mm.fields["hc_mult"] = n;
  const StepCost c = predict_step(mm, hw, dep, wl);
  StreamsStep r;
  r.n = n;
  r.step_s = c.step_s;
  r.mhc_s = c.by_family_s.count("mhc") ? c.by_family_s.at("mhc") : 0.0;
  r.overhead = plain_step_s > 0 ? c.step_s / plain_step_s - 1 : 0.0;
  return r;
}

}  // namespace v4lab::sim
