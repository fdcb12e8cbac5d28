// hc_ref.cpp — FP64 reference of unconstrained HC's hc_pre (specs/mhc.md "Unconstrained HC"):
// X̃_i = RMSNorm(X_i) per stream (weightless), dots = θ·X̃_i, tanh-gated coefficients, y = Σ H_pre[i] X_i.
#include <cmath>
#include <vector>

#include "kernels/mhc/hc.h"

namespace v4lab::kernels {

void hc_pre_ref(const MhcParams& p, const uint16_t* x, const float* theta, const float* alpha, const float* bias,
                uint16_t* y, float* h_pre, float* h_post, float* comb, float* dots) {
  p.validate();
  const int n = p.hc, w = n + 2;
  const int64_t d = p.d_model;
  std::vector<double> v(d), dot(n * w), hp(n), hq(n), hc(n * n);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xt = x + t * n * d;
    for (int i = 0; i < n; ++i) {
      double ss = 0;
      for (int64_t c = 0; c < d; ++c) {
        v[c] = bf16_to_f32(xt[i * d + c]);
        ss += v[c] * v[c];
      }
      const double r = 1.0 / std::sqrt(ss / double(d) + p.norm_eps);  // RMSNorm of stream i
      for (int row = 0; row < w; ++row) {
        const float* th = theta + int64_t(row) * d;
        double acc = 0;
        for (int64_t c = 0; c < d; ++c) acc += double(th[c]) * v[c];
        dot[i * w + row] = acc * r;
      }
    }
    hc_coefficients<double>(dot.data(), alpha, bias, n, hp.data(), hq.data(), hc.data());
    for (int64_t c = 0; c < d; ++c) {
      double acc = 0;
      for (int i = 0; i < n; ++i) acc += hp[i] * double(bf16_to_f32(xt[i * d + c]));
      y[t * d + c] = bf16_from_f64(acc);
    }
    for (int k = 0; k < n * w; ++k) dots[t * n * w + k] = float(dot[k]);
    for (int i = 0; i < n; ++i) h_pre[t * n + i] = float(hp[i]), h_post[t * n + i] = float(hq[i]);
    for (int k = 0; k < n * n; ++k) comb[t * n * n + k] = float(hc[k]);
  }
}

void hc_init_site(int n, int64_t d, int site_index, float* theta, float* alpha, float* bias) {
  for (int64_t k = 0; k < int64_t(n + 2) * d; ++k) theta[k] = 0.0f;
  alpha[0] = alpha[1] = alpha[2] = 0.01f;
  for (int i = 0; i < n; ++i) bias[i] = i == site_index % n ? 1.0f : 0.0f;  // b_pre: one-hot
  for (int i = 0; i < n; ++i) bias[n + i] = 1.0f;                          // b_post = 1
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) bias[2 * n + j * n + i] = i == j ? 1.0f : 0.0f;  // b_res = I
}

}  // namespace v4lab::kernels
