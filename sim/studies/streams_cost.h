// streams_cost.h — the modelled half of the mHC stream-count study (specs/studies.md (c) "Cost"): per
// (n, C) the bytes per token per residual sublayer (fused production path, unfused paper Table 2,
// plain residual), the FLOPs split (pre-GEMM, sum of squares, split, Sinkhorn, pre-apply, post; the
// total equals the op catalogue's mhc_pre + mhc_post), parameters, residual memory and training
// activations with recomputation, and the whole-model step-time overhead vs n from predict_step with
// the preset's hc_mult overridden. Every number is a cost-model prediction.
#pragma once
#include <cstdint>
#include <string>

#include "sim/layer_graph.h"

namespace v4lab {
struct ModelPreset;
struct HardwarePreset;
}  // namespace v4lab

namespace v4lab::sim {

struct StreamsCost {
  int n = 4;             // residual streams (hc_mult)
  int64_t d_model = 0;   // C
  int iters = 20;        // Sinkhorn t_max
  int64_t depth = 0;     // L: residual sublayers of the stack (training-activation estimate)
  // Bytes per token per site
  double bytes_fused = 0;    // 8nC + 4C + 8n + 4n²: catalogue production streams + 4(n²+2n) FP32 reads
  double bytes_plain = 0;    // 6C: plain BF16 residual add
  double bytes_unfused = 0;  // paper Table 2: 2·[(5n+1)C + (3n+1)C] + 4·2·(n²+2n)
  double unfused_read_elems = 0, unfused_write_elems = 0;  // (5n+1)C + n² + 2n, (3n+1)C + n² + 2n
  // FLOPs per token per site (mhc.md Cost table; the sum is the catalogue's mhc_pre + mhc_post)
  double flops_gemm = 0, flops_sumsq = 0, flops_split = 0, flops_sinkhorn = 0, flops_apply = 0, flops_post = 0;
  double flops_total = 0;          // from get_op("mhc_pre") + get_op("mhc_post") at one token
  double transcendentals = 0;      // n² exp + 2n sigmoid + 1 rsqrt
  // Parameters per site: φ [nC, n² + 2n] FP32 + 3 scales + (n² + 2n) biases; two sites per block
  double params_per_site = 0;
  double param_bytes_per_site = 0;
  // Memory
  double residual_bytes_per_token = 0;        // n·C·2 (BF16 stream state)
  double plain_residual_bytes_per_token = 0;  // C·2
  int64_t recompute_block = 1;                // L_r* ≈ round(√(nL/(n+2))), >= 1
  double train_act_elems_per_token = 0;       // nC·⌈L/L_r⌉ + (n+2)C·L_r
};

// n in 1..8 (the catalogue's range), d_model >= 1, iters >= 1, depth >= 1; config_error otherwise.
StreamsCost streams_cost(int n, int64_t d_model, int iters, int64_t depth);

struct StreamsStep {
  int n = 0;               // 0 = plain residual (hc_mult removed)
  double step_s = 0;       // predicted step
  double mhc_s = 0;        // busy time of the mhc family
  double overhead = 0;     // step_s / plain step − 1
};

// Decode (or prefill) step of a V4 preset copy with hc_mult = n (n = 0: the preset without mHC).
// plain_step_s: the n = 0 step used for the overhead (pass <= 0 to report overhead 0).
StreamsStep streams_step(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl,
                         int n, double plain_step_s);

}  // namespace v4lab::sim
