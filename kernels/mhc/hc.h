// hc.h — unconstrained hyper-connections (Zhu et al., ICLR 2025; specs/mhc.md "Unconstrained HC"),
// the baseline mHC is compared against (composite gain, streams study). hc_pre computes the per-token
// coefficients from the per-stream RMS-normalized streams and the pre-applied y; the residual update
// X'_j = Σ_i H_res[j][i]·X_i + H_post[j]·F is mhc_post run with comb = H_resᵀ (the paper's relation
// H_res[j][i] = comb[i][j]), so hc_pre returns comb in mHC's frame and no second post kernel exists.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/mhc/mhc.h"

namespace v4lab::kernels {

// Tensors (dense, row-major; BF16 as raw uint16 bits):
//   X     [T, n, d] BF16   residual streams
//   theta [n+2, d]  f32    row 0 θ_pre, row 1 θ_post, rows 2..n+1 θ_res (one row per output stream j)
//   alpha [3]       f32    α_pre, α_post, α_res
//   bias  [2n+n²]   f32    [b_pre (n) | b_post (n) | b_res (n², row-major b_res[j][i])]
//   y     [T, d]    BF16   Σ_i H_pre[i]·X_i rounded once
//   h_pre [T, n], h_post [T, n] f32; comb [T, n, n] f32 with comb[i][j] = H_res[j][i]
//   dots  [T, n, n+2] f32  r_i·(θ_row·X_i) for stream i and θ row (before tanh), for verification
// Params: MhcParams (n_tokens, hc, d_model, norm_eps; iters/hc_eps/sinkhorn unused).

// Coefficients of one token from its dots (T = double in _ref, float in _cpu/_cuda):
// H_pre[i] = α0·tanh(dot[i][0]) + b_pre[i]; H_post[j] = α1·tanh(dot[j][1]) + b_post[j];
// H_res[j][i] = α2·tanh(dot[i][2+j]) + b_res[j][i], stored as comb[i·n + j].
V4LAB_HD float hc_tanh(float x) { return tanhf(x); }
V4LAB_HD double hc_tanh(double x) { return tanh(x); }

template <class T>
V4LAB_HD void hc_coefficients(const T* dots, const float* alpha, const float* bias, int n, T* h_pre, T* h_post,
                              T* comb) {
  const int w = n + 2;
  for (int i = 0; i < n; ++i) {
    h_pre[i] = T(alpha[0]) * hc_tanh(dots[i * w + 0]) + T(bias[i]);
    h_post[i] = T(alpha[1]) * hc_tanh(dots[i * w + 1]) + T(bias[n + i]);
  }
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) comb[i * n + j] = T(alpha[2]) * hc_tanh(dots[i * w + 2 + j]) + T(bias[2 * n + j * n + i]);
}

void hc_pre_ref(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots);
void hc_pre_cpu(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots);

// The HC paper's Pre-Norm-equivalent initialisation at one site (workbench default; specs/mhc.md):
// θ = 0, α = 0.01, b_res = I, b_post = 1, b_pre = one-hot(site_index mod n) with
// site_index = 2·block + (0 attention, 1 FFN). Fills theta [(n+2)·d], alpha [3], bias [2n+n²].
void hc_init_site(int n, int64_t d, int site_index, float* theta, float* alpha, float* bias);

}  // namespace v4lab::kernels
