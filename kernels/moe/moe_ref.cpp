// moe_ref.cpp — the MoE specification in code (_ref): scalar loops, no threads (specs/moe.md "Math",
// "Precision"; quant.md "Precision / Block-scaled GEMM"). Router logits: FP64 dot products rounded to
// FP32; scoring, top-k and weights: the shared FP32 code of moe.h. Experts: per block of K (128 for
// FP8 weights, 32 for FP4) the products of dequantized codes are summed exactly in FP64, rounded to
// FP32 and added to an FP32 accumulator; BF16 weights: one FP64 sum per output. Combine: FP32 in
// ascending expert id, then the shared expert, one BF16 rounding.
#include <algorithm>
#include <vector>

#include "kernels/moe/moe.h"

namespace v4lab::kernels {

// ---------------------------------------------------------------------------------------------
// moe_gate
// ---------------------------------------------------------------------------------------------
void moe_gate_ref(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                  const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                  int32_t* flags) {
  p.validate(MoeOp::Gate);
  if (p.hash) moe_check_hash_inputs(p, token_ids, tid2eid);
  const int E = p.n_experts, k = p.top_k;
  const int64_t d = p.d_model;
  std::vector<float> z(E);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    for (int e = 0; e < E; ++e) {  // z = W_g·x, FP64 accumulation, rounded once to FP32
      double acc = 0;
      for (int64_t c = 0; c < d; ++c)
        acc += double(bf16_to_f32(x[t * d + c])) * double(bf16_to_f32(w_g[int64_t(e) * d + c]));
      z[e] = float(acc);
    }
    const int32_t* hash_row = p.hash ? tid2eid + int64_t(token_ids[t]) * k : nullptr;
    flags[t] = moe_gate_token(z.data(), E, k, p.scoring, p.use_bias && !p.hash ? bias : nullptr, p.n_group,
                              p.topk_group, p.route_scale, hash_row, scores + t * E, topk_idx + t * k, topk_w + t * k);
  }
}

// ---------------------------------------------------------------------------------------------
// moe_permute: counting sort, stable by (token, slot) inside each expert
// ---------------------------------------------------------------------------------------------
void moe_permute_ref(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                     int32_t* row_map, uint16_t* x_perm) {
  p.validate(MoeOp::Permute);
  moe_check_topk_idx(p, topk_idx, p.n_tokens, "topk_idx");
  const int E = p.n_experts, k = p.top_k;
  const int64_t d = p.d_model, R = p.rows();
  std::vector<int64_t> pos(E + 1, 0);
  for (int64_t i = 0; i < R; ++i) ++pos[topk_idx[i] + 1];
  for (int e = 0; e < E; ++e) pos[e + 1] += pos[e];
  for (int e = 0; e <= E; ++e) offsets[e] = int32_t(pos[e]);
  for (int64_t i = 0; i < R; ++i) row_map[pos[topk_idx[i]]++] = int32_t(i);
  for (int64_t r = 0; r < R; ++r) {
    const uint16_t* src = x + (row_map[r] / k) * d;
    std::copy(src, src + d, x_perm + r * d);
  }
}

// ---------------------------------------------------------------------------------------------
// moe_experts
// ---------------------------------------------------------------------------------------------
namespace {

// Weight row n of expert e, dequantized (exact: code·2^k).
void weight_row(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, int64_t n, float* dst) {
  for (int64_t c = 0; c < in; ++c) dst[c] = moe_weight_at(w, dt, out, in, e, n, c);
}

// One GEMM output: Σ_c a[c]·w[c] with the block-scaled accumulation (block = K for BF16: one FP64 sum).
float dot_ref(const float* a, const float* w, int64_t K, int64_t block) {
  float acc = 0.0f;
  for (int64_t c0 = 0; c0 < K; c0 += block) {
    double part = 0;  // exact: products of dequantized FP8/FP4 values fit in FP64 without rounding
    for (int64_t c = c0; c < std::min(K, c0 + block); ++c) part += double(a[c]) * double(w[c]);
    acc += float(part);
  }
  return acc;
}

// Activations into the GEMM: FP8 1×128 (dequantized) for quantized weights, FP32 copies for BF16.
void quant_row(const float* x, int64_t K, bool quantize, float* out) {
  if (!quantize) {
    std::copy(x, x + K, out);
    return;
  }
  for (int64_t c = 0; c < K; c += 128) moe_fp8_act_block(x + c, int(std::min<int64_t>(128, K - c)), out + c);
}

}  // namespace

void moe_experts_ref(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                     const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e) {
  const int64_t d = p.d_model, f = p.d_expert;
  const ExpertDtype dt = p.expert_dtype;
  const bool q = dt != ExpertDtype::BF16;
  const int64_t blk_d = dt == ExpertDtype::FP8 ? 128 : dt == ExpertDtype::FP4 ? 32 : d;
  const int64_t blk_f = dt == ExpertDtype::FP8 ? 128 : dt == ExpertDtype::FP4 ? 32 : f;
  const int E = offsets ? p.n_experts : 1;
  std::vector<float> xr(d), w1r(d), w3r(d), w2r(f), hr(f);
  for (int e = 0; e < E; ++e) {
    const int64_t r0 = offsets ? offsets[e] : 0, r1 = offsets ? offsets[e + 1] : rows, m = r1 - r0;
    if (m <= 0) continue;  // untouched experts: weights never read
    std::vector<float> xa(m * d), g(m * f), u(m * f), a(m * f);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t c = 0; c < d; ++c) xr[c] = bf16_to_f32(x_perm[(r0 + i) * d + c]);
      quant_row(xr.data(), d, q, xa.data() + i * d);  // x -> FP8 1×128 before W1/W3
    }
    for (int64_t n = 0; n < f; ++n) {  // g = W1·x, u = W3·x
      weight_row(w1, dt, f, d, e, n, w1r.data());
      weight_row(w3, dt, f, d, e, n, w3r.data());
      for (int64_t i = 0; i < m; ++i) {
        g[i * f + n] = dot_ref(xa.data() + i * d, w1r.data(), d, blk_d);
        u[i * f + n] = dot_ref(xa.data() + i * d, w3r.data(), d, blk_d);
      }
    }
    for (int64_t i = 0; i < m; ++i) {  // clamp + SwiGLU (FP32), routing weight before W2 (V4)
      const float wt = w_perm ? w_perm[r0 + i] : 1.0f;
      for (int64_t c = 0; c < f; ++c) {
        const float h = swiglu_f32(g[i * f + c], u[i * f + c], p.limit);
        hr[c] = p.weight_before_down ? wt * h : h;
      }
      quant_row(hr.data(), f, q, a.data() + i * f);  // (w·)h -> FP8 1×128 before W2
    }
    for (int64_t n = 0; n < d; ++n) {  // y_e = W2·a (· w after W2 for V3)
      weight_row(w2, dt, d, f, e, n, w2r.data());
      for (int64_t i = 0; i < m; ++i) {
        const float y = dot_ref(a.data() + i * f, w2r.data(), f, blk_f);
        y_e[(r0 + i) * d + n] = p.weight_before_down ? y : (w_perm ? w_perm[r0 + i] : 1.0f) * y;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// moe_combine
// ---------------------------------------------------------------------------------------------
void moe_combine_ref(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                     const float* y_s, uint16_t* y) {
  p.validate(MoeOp::Combine);
  moe_check_topk_idx(p, topk_idx, p.n_tokens, "topk_idx");
  const int k = p.top_k;
  const int64_t d = p.d_model, R = p.rows();
  std::vector<int64_t> inv(R);
  for (int64_t r = 0; r < R; ++r) inv[row_map[r]] = r;
  std::vector<int> order(k);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    for (int j = 0; j < k; ++j) order[j] = j;  // ascending expert id; a repeated expert: by slot
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return topk_idx[t * k + a] < topk_idx[t * k + b]; });
    for (int64_t c = 0; c < d; ++c) {
      float acc = 0.0f;
      for (int j : order) acc += y_e[inv[t * k + j] * d + c];
      acc += y_s[t * d + c];
      y[t * d + c] = bf16_from_f32(acc);
    }
  }
}

}  // namespace v4lab::kernels
