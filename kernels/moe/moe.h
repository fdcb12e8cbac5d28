// moe.h — DeepSeekMoE kernels as V3 / V3.2 / V4 ship them (specs/moe.md "Math", "Precision"):
// moe_gate (router: softmax / sigmoid / sqrtsoftplus, noaux bias, flat or group-limited top-k, hash
// routing), moe_permute (counting sort into per-expert segments), moe_experts (grouped SwiGLU with
// the V4 clamp, BF16 / FP8 128×128 / MXFP4 weights, FP8 1×128 activations), moe_shared, moe_combine.
// Per-element math (scoring φ, top-k order, routing weights, FP8 activation quantization) is written
// once here (V4LAB_HD) and used by _ref, _cpu and _cuda.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/numerics.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {

constexpr int kMoeMaxExperts = 1024;  // router / permute bound (V4-Pro has 384)
constexpr int kMoeMaxTopK = 16;
constexpr int kMoeMaxGroups = 64;
constexpr float kMoeDenEps = 1e-20f;  // v4lab's zero-denominator guard (spec "Weights")

// Flags per token (moe_gate output "flags", I32).
constexpr int kMoeFlagZeroDen = 1;    // Σ s[idx] == 0: weights guarded by +1e-20 (all 0)
constexpr int kMoeFlagNonFinite = 2;  // a non-finite score or weight
constexpr int kMoeFlagBadToken = 4;   // hash mode: token id outside [0, vocab) (CUDA only; host rejects)

enum class MoeOp { Gate, Permute, Experts, Shared, Combine };
enum class MoeScoring { Softmax = 0, Sigmoid = 1, SqrtSoftplus = 2 };
enum class ExpertDtype { BF16 = 0, FP8 = 1, FP4 = 2 };  // FP8: e4m3 128×128 UE8M0; FP4: e2m1 1×32 UE8M0
const char* moe_scoring_name(MoeScoring s);
const char* expert_dtype_name(ExpertDtype d);

struct MoeParams {
  int64_t n_tokens = 0;      // T: tokens (gate, permute, shared, combine); experts: rows = T·top_k
  int64_t d_model = 4096;    // d: hidden size; x is [T, d] BF16
  int64_t d_expert = 2048;   // f: expert width (moe_intermediate_size); W1, W3 [E, f, d], W2 [E, d, f]
  int n_experts = 256;       // E: routed experts (gate/permute/combine); experts op: experts holding weights
  int top_k = 6;             // k: experts per token; topk_idx / topk_w are [T, k]
  MoeScoring scoring = MoeScoring::SqrtSoftplus;  // φ of s = φ(z)
  bool use_bias = true;      // noaux_tc: u = s + b selects, s weights; bias is [E] FP32
  int n_group = 0;           // V3 group-limited routing: E/n_group experts per group; 0 = flat (V4)
  int topk_group = 0;        // groups kept (V3: 4 of 8)
  bool hash = false;         // V4 hash layer: idx = tid2eid[token_id] ([vocab, k] I32), no bias, no top-k
  int64_t vocab = 1024;      // rows of tid2eid (129280 in the checkpoint; small in tests)
  float route_scale = 1.5f;  // routed_scaling_factor
  float limit = 10.0f;       // swiglu_limit L (experts only; 0 = no clamp; the shared expert never clamps)
  bool weight_before_down = true;  // V4: y_e = W2·(w·h); V3: y_e = w·(W2·h)
  ExpertDtype expert_dtype = ExpertDtype::FP4;  // routed (experts op) or shared (shared op) weight format

  int64_t rows() const { return n_tokens * top_k; }  // (token, slot) pairs = permuted rows
  int group_size() const { return n_group > 0 ? n_experts / n_group : n_experts; }
  // Throws config_error naming the field, its value and the accepted range.
  void validate(MoeOp op) const;
};

// From resolved op-catalogue params (absent keys keep the defaults above).
MoeParams moe_params_from(MoeOp op, const ParamMap& params);

// ---------------------------------------------------------------------------------------------
// Shared per-element math (host and device)
// ---------------------------------------------------------------------------------------------
// softplus(z) = z for z > 20 (where log1p(e^z) equals z in FP32), else log1p(e^z): no overflow,
// and the tiny tail keeps its subnormal value (z = −100 → 3.7e-44).
V4LAB_HD float moe_softplus(float z) { return z > 20.0f ? z : log1pf(expf(z)); }
// Element-wise φ for sigmoid and sqrtsoftplus (softmax is a row operation: moe_softmax_row).
V4LAB_HD float moe_score(float z, MoeScoring s) {
  return s == MoeScoring::Sigmoid ? 1.0f / (1.0f + expf(-z)) : sqrtf(moe_softplus(z));
}
// Softmax over one token's E logits: max-subtracted, summed in ascending expert id (fixed order).
V4LAB_HD void moe_softmax_row(const float* z, int E, float* s) {
  float mx = z[0];
  for (int e = 1; e < E; ++e) mx = z[e] > mx ? z[e] : mx;
  float sum = 0.0f;
  for (int e = 0; e < E; ++e) {
    s[e] = expf(z[e] - mx);
    sum += s[e];
  }
  for (int e = 0; e < E; ++e) s[e] = s[e] / sum;
}

// The one ranking order of every top-k (experts and groups): larger value first; equal values: the
// lower id first; NaN below every number (including −∞), NaNs among themselves by id.
V4LAB_HD bool moe_ranks_before(float a, int ia, float b, int ib) {
  const bool an = a != a, bn = b != b;
  if (an != bn) return bn;
  if (!an && a != b) return a > b;
  return ia < ib;
}

// Value used for selection: u = s + b (b = 0 without bias), −∞ outside the kept groups.
struct MoeSelectValue {
  const float* s;
  const float* bias;     // nullptr: no bias
  uint64_t kept_groups;  // bit g set: group g kept (all ones when flat)
  int group_size;
  V4LAB_HD float operator()(int e) const {
    if (!((kept_groups >> (e / group_size)) & 1u)) return -INFINITY;
    return bias ? s[e] + bias[e] : s[e];
  }
};

struct MoeArrayValue {
  const float* a;
  V4LAB_HD float operator()(int i) const { return a[i]; }
};

// Top-k of v(0..E−1) in the order above, written in rank order. Each pass takes the best element
// ranked after the previous pick, so no marks are needed (O(k·E), k ≤ 16, E ≤ 1024).
template <class V>
V4LAB_HD void moe_topk(const V& v, int E, int k, int* idx) {
  float prev_v = 0.0f;
  int prev_i = -1;
  for (int j = 0; j < k; ++j) {
    int best = -1;
    float best_v = 0.0f;
    for (int e = 0; e < E; ++e) {
      const float x = v(e);
      if (prev_i >= 0 && !moe_ranks_before(prev_v, prev_i, x, e)) continue;
      if (best < 0 || moe_ranks_before(x, e, best_v, best)) best = e, best_v = x;
    }
    idx[j] = best;
    prev_i = best, prev_v = best_v;
  }
}

// Group-limited routing (V3): group score = sum of the two largest u of the group (with bias) or the
// max s (without); keep the topk_group best groups (same order, lower group id on ties).
V4LAB_HD uint64_t moe_kept_groups(const float* s, const float* bias, int E, int n_group, int topk_group) {
  if (n_group <= 0) return ~uint64_t(0);
  const int gs = E / n_group;
  float gscore[kMoeMaxGroups];
  for (int g = 0; g < n_group; ++g) {
    const MoeSelectValue v{s + g * gs, bias ? bias + g * gs : nullptr, ~uint64_t(0), gs};
    int top[2];
    const int n = bias && gs >= 2 ? 2 : 1;
    moe_topk(v, gs, n, top);
    gscore[g] = n == 2 ? v(top[0]) + v(top[1]) : v(top[0]);
  }
  int keep[kMoeMaxGroups];
  moe_topk(MoeArrayValue{gscore}, n_group, topk_group, keep);
  uint64_t mask = 0;
  for (int j = 0; j < topk_group; ++j) mask |= uint64_t(1) << keep[j];
  return mask;
}

// Routing weights from the selected unbiased scores (spec "Weights"): sigmoid / sqrtsoftplus are
// renormalized, w_j = s_j / (Σ s + 1e-20) · route_scale (sum in slot order, FP32); softmax is not,
// w_j = s_j · route_scale. Returns the token's flags.
V4LAB_HD int moe_route_weights(const float* s_sel, int k, MoeScoring scoring, float route_scale, float* w) {
  int flags = 0;
  if (scoring == MoeScoring::Softmax) {
    for (int j = 0; j < k; ++j) w[j] = s_sel[j] * route_scale;
  } else {
    float sum = 0.0f;
    for (int j = 0; j < k; ++j) sum += s_sel[j];
    if (sum == 0.0f) flags |= kMoeFlagZeroDen;
    const float den = sum + kMoeDenEps;
    for (int j = 0; j < k; ++j) w[j] = s_sel[j] / den * route_scale;
  }
  for (int j = 0; j < k; ++j)
    if (!quant_isfinite(w[j])) flags |= kMoeFlagNonFinite;
  return flags;
}

// One token of moe_gate after the router GEMM: z [E] -> s [E] (scores), idx [k], w [k]; returns flags.
// hash_row: the token's tid2eid row (hash mode) or nullptr. bias: nullptr without bias (and in hash mode).
V4LAB_HD int moe_gate_token(const float* z, int E, int k, MoeScoring scoring, const float* bias, int n_group,
                            int topk_group, float route_scale, const int32_t* hash_row, float* s, int32_t* idx,
                            float* w) {
  if (scoring == MoeScoring::Softmax) {
    moe_softmax_row(z, E, s);
  } else {
    for (int e = 0; e < E; ++e) s[e] = moe_score(z[e], scoring);
  }
  if (hash_row) {  // idx = tid2eid[token_id]: the row's order, no bias, no top-k
    for (int j = 0; j < k; ++j) idx[j] = hash_row[j];
  } else {
    const uint64_t kept = moe_kept_groups(s, bias, E, n_group, topk_group);
    int sel[kMoeMaxTopK];
    moe_topk(MoeSelectValue{s, bias, kept, n_group > 0 ? E / n_group : E}, E, k, sel);
    for (int j = 0; j < k; ++j) idx[j] = sel[j];
  }
  float s_sel[kMoeMaxTopK];
  for (int j = 0; j < k; ++j) s_sel[j] = s[idx[j]];
  int flags = moe_route_weights(s_sel, k, scoring, route_scale, w);
  for (int e = 0; e < E; ++e)
    if (!quant_isfinite(s[e])) flags |= kMoeFlagNonFinite;
  return flags;
}

// FP8 e4m3 1×128 UE8M0 activation quantization of one block of n ≤ 128 values (amax over the finite
// values, floored at 1e-4), returned dequantized (code·s, exact in FP32). Non-finite values get the
// NaN code and come back as NaN. Used before W1/W3 (on x) and before W2 (on w·h or h).
V4LAB_HD void moe_fp8_act_block(const float* x, int n, float* out) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float a = fabsf(x[i]);
    if (quant_isfinite(x[i]) && a > amax) amax = a;
  }
  amax = amax > kFp8AmaxFloor ? amax : kFp8AmaxFloor;
  const BlockScale bs = block_scale(amax, kFp8Max, ScaleFmt::Ue8m0);
  for (int i = 0; i < n; ++i) out[i] = fp8_e4m3_to_f32(fp8_e4m3_from_f32(x[i] * bs.inv_s)) * bs.s;
}

// ---------------------------------------------------------------------------------------------
// Weights of one projection stack: codes [E, out, in] (BF16 bits, FP8 bytes) or [E, out, in/2]
// (FP4 nibbles, element 2j low); scales [E, ⌈out/128⌉, ⌈in/128⌉] (FP8) or [E, out, in/32] (FP4)
// UE8M0 bytes, none for BF16.
// ---------------------------------------------------------------------------------------------
struct MoeWeight {
  const void* codes = nullptr;
  const uint8_t* scales = nullptr;
};
// Element (e, n, k) of an [E, out, in] weight, decoded to FP32 (for _ref and tests; not hot loops).
float moe_weight_at(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, int64_t n, int64_t k);

// ---------------------------------------------------------------------------------------------
// Entry points (dense row-major buffers; BF16 = raw uint16 bits; n_tokens = 0 does nothing)
// ---------------------------------------------------------------------------------------------
// moe_gate. In: x [T, d] BF16, w_g [E, d] BF16, bias [E] F32, token_ids [T] I32, tid2eid [vocab, k] I32.
// Out: topk_idx [T, k] I32 (rank order; hash: the table row's order), topk_w [T, k] F32,
// scores [T, E] F32 (unbiased s), flags [T] I32. z = W_g·x is accumulated in FP64 and rounded to FP32
// in every backend, so all backends see the same logits.
void moe_gate_ref(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                  const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                  int32_t* flags);
void moe_gate_cpu(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                  const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                  int32_t* flags);

// moe_permute. In: topk_idx [T, k] I32, x [T, d] BF16. Out: offsets [E+1] I32 (segment e is rows
// offsets[e]..offsets[e+1]), row_map [T·k] I32 (permuted row -> t·k + j, sorted by (expert, token,
// slot)), x_perm [T·k, d] BF16 (row r = x[row_map[r] / k]).
void moe_permute_ref(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                     int32_t* row_map, uint16_t* x_perm);
void moe_permute_cpu(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                     int32_t* row_map, uint16_t* x_perm);

// moe_experts. In: offsets [E+1] I32 (nullptr: one expert, all rows), x_perm [rows, d] BF16,
// w_perm [rows] F32 (routing weight per row; nullptr: 1), W1, W3 [E, f, d], W2 [E, d, f].
// Out: y_e [rows, d] F32. rows = offsets[E].
void moe_experts_ref(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                     const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e);
void moe_experts_cpu(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                     const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e);

// moe_combine. In: y_e [T·k, d] F32 (permuted rows), row_map [T·k] I32, topk_idx [T, k] I32,
// y_s [T, d] F32. Out: y [T, d] BF16 = BF16(Σ_{slots by ascending expert id} y_e + y_s), FP32 sums.
void moe_combine_ref(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                     const float* y_s, uint16_t* y);
void moe_combine_cpu(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                     const float* y_s, uint16_t* y);

// Host validation of index inputs (all backends call it before launching): topk_idx / tid2eid
// entries in [0, E), no duplicate expert within a tid2eid row, token ids in [0, vocab).
void moe_check_topk_idx(const MoeParams& p, const int32_t* topk_idx, int64_t n_rows, const char* what);
void moe_check_hash_inputs(const MoeParams& p, const int32_t* token_ids, const int32_t* tid2eid);

// ---------------------------------------------------------------------------------------------
// Tensor contract (names, dtypes, shapes), shared by make_io, prepare and the tests
// ---------------------------------------------------------------------------------------------
struct MoeTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<MoeTensorSpec> moe_io_spec(MoeOp op, const MoeParams& p);  // inputs first, then outputs
void moe_check_io(MoeOp op, const MoeParams& p, const KernelIO& io);  // config_error on any mismatch
// Shape of one weight stack's codes / scales for [E, out, in].
std::vector<int64_t> moe_weight_codes_shape(ExpertDtype dt, int64_t E, int64_t out, int64_t in);
std::vector<int64_t> moe_weight_scales_shape(ExpertDtype dt, int64_t E, int64_t out, int64_t in);
DType moe_weight_codes_dtype(ExpertDtype dt);

}  // namespace v4lab::kernels
