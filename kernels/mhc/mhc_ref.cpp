// mhc_ref.cpp — the mHC specification in code (_ref): scalar loops, FP64 arithmetic, no threads.
// specs/mhc.md "Math": hc_pre steps 1–6 (paper arXiv:2512.24880 Eq. 14–16 for the prenorm GEMM),
// Sinkhorn-Knopp as V4 ships it (paper Eq. 9 up to eps), hc_post (transposed mix), hc_head.
// Every quantity is computed in double from the BF16/FP32 inputs; y and X' are rounded to BF16 once.
// Also: parameter validation, the tensor contract (names, dtypes, shapes) and the FP64 Sinkhorns.
#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "kernels/mhc/mhc.h"

namespace v4lab::kernels {

void MhcParams::validate() const {
  if (hc < 1 || hc > kMhcMaxHc) throw config_error("mhc: hc = " + std::to_string(hc) + " is out of range [1, 8]", "hc");
  if (d_model < 1) throw config_error("mhc: d_model = " + std::to_string(d_model) + " must be >= 1", "d_model");
  if (iters < 1) throw config_error("mhc: iters = " + std::to_string(iters) + " must be >= 1", "iters");
  if (n_tokens < 0) throw config_error("mhc: n_tokens = " + std::to_string(n_tokens) + " must be >= 0", "n_tokens");
  if (!(hc_eps >= 0) || !(norm_eps >= 0)) throw config_error("mhc: hc_eps and norm_eps must be >= 0", "hc_eps");
}

// ---------------------------------------------------------------------------------------------
// Tensor contract
// ---------------------------------------------------------------------------------------------
std::vector<MhcTensorSpec> mhc_io_spec(MhcOp op, const MhcParams& p) {
  const int64_t T = p.n_tokens, n = p.hc, d = p.d_model, m = p.m();
  switch (op) {
    case MhcOp::Pre:
      return {{"X", DType::BF16, {T, n, d}, true}, {"fn", DType::F32, {m, n * d}, true},
              {"base", DType::F32, {m}, true},     {"scale", DType::F32, {3}, true},
              {"y", DType::BF16, {T, d}, false},   {"pre", DType::F32, {T, n}, false},
              {"post", DType::F32, {T, n}, false}, {"comb", DType::F32, {T, n, n}, false},
              {"mixes", DType::F32, {T, m}, false}};
    case MhcOp::Post:
      return {{"F", DType::BF16, {T, d}, true},
              {"X", DType::BF16, {T, n, d}, true},
              {"post", DType::F32, {T, n}, true},
              {"comb", DType::F32, {T, n, n}, true},
              {"X_out", DType::BF16, {T, n, d}, false}};
    case MhcOp::Head:
      return {{"X", DType::BF16, {T, n, d}, true}, {"fn", DType::F32, {n, n * d}, true},
              {"base", DType::F32, {n}, true},     {"scale", DType::F32, {1}, true},
              {"y", DType::BF16, {T, d}, false},   {"pre", DType::F32, {T, n}, false},
              {"mixes", DType::F32, {T, n}, false}};
  }
  return {};
}

static std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

void mhc_check_io(MhcOp op, const MhcParams& p, const KernelIO& io) {
  p.validate();
  for (const auto& spec : mhc_io_spec(op, p)) {
    const auto& list = spec.input ? io.inputs : io.outputs;
    const Tensor* t = nullptr;
    for (const auto& c : list)
      if (c.name() == spec.name) t = &c;
    const std::string what = std::string(spec.input ? "input" : "output") + " '" + spec.name + "'";
    if (!t) throw config_error("mhc: missing " + what);
    if (t->dtype() != spec.dtype)
      throw config_error("mhc: " + what + " has dtype " + dtype_name(t->dtype()) + ", expected " +
                         dtype_name(spec.dtype));
    if (t->shape() != spec.shape)
      throw config_error("mhc: " + what + " has shape " + t->shape_str() + ", expected " + shape_str(spec.shape) +
                         " (hc = " + std::to_string(p.hc) + ", d_model = " + std::to_string(p.d_model) +
                         ", m = (2+hc)·hc = " + std::to_string(p.m()) + ")");
  }
}

// ---------------------------------------------------------------------------------------------
// Shared FP64 pieces
// ---------------------------------------------------------------------------------------------
namespace {

// Steps 1–3 for one token: v = flatten(X[t]) (stream-major), r = 1/sqrt(mean(v²) + eps_norm),
// mixes = (fn·v)·r — the GEMM on the raw v, r applied after it (paper Eq. 14–16).
void prenorm_gemm_f64(const MhcParams& p, const uint16_t* xt, const float* fn, int rows, std::vector<double>& v,
                      double* mixes) {
  const int64_t K = p.k();
  double ss = 0;
  for (int64_t k = 0; k < K; ++k) {
    v[k] = bf16_to_f32(xt[k]);
    ss += v[k] * v[k];
  }
  const double r = 1.0 / std::sqrt(ss / double(K) + p.norm_eps);  // step 2
  for (int mm = 0; mm < rows; ++mm) {                             // step 3
    const float* row = fn + int64_t(mm) * K;
    double acc = 0;
    for (int64_t k = 0; k < K; ++k) acc += double(row[k]) * v[k];
    mixes[mm] = acc * r;
  }
}

// Step 6: y = Σ_i pre_i·X[t,i,:], accumulated in double and rounded once to BF16.
void apply_f64(const MhcParams& p, const uint16_t* xt, const double* pre, uint16_t* yt) {
  for (int64_t c = 0; c < p.d_model; ++c) {
    double acc = 0;
    for (int i = 0; i < p.hc; ++i) acc += pre[i] * double(bf16_to_f32(xt[int64_t(i) * p.d_model + c]));
    yt[c] = bf16_from_f64(acc);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// hc_pre
// ---------------------------------------------------------------------------------------------
void mhc_pre_ref(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                 uint16_t* y, float* pre, float* post, float* comb, float* mixes) {
  p.validate();
  const int n = p.hc, m = p.m();
  const int64_t K = p.k();
  std::vector<double> v(K), mix(m), pre_d(n), post_d(n), comb_d(n * n);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xt = x + t * K;
    prenorm_gemm_f64(p, xt, fn, m, v, mix.data());  // steps 1–3
    // Steps 4–5: split and Sinkhorn, the same template the FP32 backends use, at T = double.
    mhc_split_sinkhorn<double>(mix.data(), base, scale, n, p.iters, p.hc_eps, p.sinkhorn, pre_d.data(), post_d.data(),
                               comb_d.data());
    apply_f64(p, xt, pre_d.data(), y + t * p.d_model);  // step 6, with the unrounded FP64 pre
    for (int i = 0; i < m; ++i) mixes[t * m + i] = float(mix[i]);
    for (int i = 0; i < n; ++i) pre[t * n + i] = float(pre_d[i]);
    for (int i = 0; i < n; ++i) post[t * n + i] = float(post_d[i]);
    for (int i = 0; i < n * n; ++i) comb[t * n * n + i] = float(comb_d[i]);
  }
}

void mhc_apply_ref(const MhcParams& p, const uint16_t* x, const float* pre, uint16_t* y) {
  p.validate();
  std::vector<double> pre_d(p.hc);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    for (int i = 0; i < p.hc; ++i) pre_d[i] = pre[t * p.hc + i];
    apply_f64(p, x + t * p.k(), pre_d.data(), y + t * p.d_model);
  }
}

// ---------------------------------------------------------------------------------------------
// hc_post: X'[t,j,:] = post_j·F_t + Σ_i comb[i][j]·X[t,i,:] — column j of comb (X' = combᵀ·X).
// Summing row j (comb[j][i]) is the known third-party bug; test T3 pins the transpose.
// ---------------------------------------------------------------------------------------------
void mhc_post_ref(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                  uint16_t* x_out) {
  p.validate();
  const int n = p.hc;
  const int64_t d = p.d_model, K = p.k();
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xt = x + t * K;
    const float* ct = comb + t * n * n;
    for (int j = 0; j < n; ++j) {
      const double pj = post[t * n + j];
      for (int64_t c = 0; c < d; ++c) {
        double acc = pj * double(bf16_to_f32(f[t * d + c]));
        for (int i = 0; i < n; ++i) acc += double(ct[i * n + j]) * double(bf16_to_f32(xt[int64_t(i) * d + c]));
        x_out[t * K + int64_t(j) * d + c] = bf16_from_f64(acc);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// hc_head: mixes = (fn_h·v)·r, pre_i = σ(scale_h·mixes_i + base_h[i]) + hc_eps, y = Σ_i pre_i X_i.
// ---------------------------------------------------------------------------------------------
void mhc_head_ref(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* mixes) {
  p.validate();
  const int n = p.hc;
  const int64_t K = p.k();
  std::vector<double> v(K), mix(n), pre_d(n);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xt = x + t * K;
    prenorm_gemm_f64(p, xt, fn, n, v, mix.data());
    mhc_head_split<double>(mix.data(), base, scale, n, p.hc_eps, pre_d.data());
    apply_f64(p, xt, pre_d.data(), y + t * p.d_model);
    for (int i = 0; i < n; ++i) mixes[t * n + i] = float(mix[i]);
    for (int i = 0; i < n; ++i) pre[t * n + i] = float(pre_d[i]);
  }
}

// ---------------------------------------------------------------------------------------------
// FP64 Sinkhorns (tests T1, T2)
// ---------------------------------------------------------------------------------------------
void sinkhorn_v4_f64(const double* logits, int n, int iters, double eps, double* comb) {
  if (n < 1 || n > kMhcMaxHc) throw config_error("sinkhorn_v4_f64: n must be in [1, 8]");
  for (int k = 0; k < n * n; ++k) comb[k] = logits[k];
  mhc_sinkhorn<double>(comb, n, iters, eps, SinkhornVariant::V4);
}

// Paper Eq. 9 in its own frame: H_res = combᵀ, so the input is H̃ = Lᵀ. M⁰ = exp(H̃ − max),
// Mᵗ = T_r(T_c(Mᵗ⁻¹)) with T_c dividing each column by its sum and T_r each row; comb = Mᵀ.
void sinkhorn_paper_f64(const double* logits, int n, int iters, double* comb) {
  if (n < 1 || n > kMhcMaxHc) throw config_error("sinkhorn_paper_f64: n must be in [1, 8]");
  std::vector<double> M(n * n);
  double mx = logits[0];
  for (int k = 1; k < n * n; ++k) mx = std::max(mx, logits[k]);
  for (int a = 0; a < n; ++a)
    for (int b = 0; b < n; ++b) M[a * n + b] = std::exp(logits[b * n + a] - mx);  // Lᵀ
  for (int it = 0; it < iters; ++it) {
    for (int b = 0; b < n; ++b) {  // T_c: columns of M
      double s = 0;
      for (int a = 0; a < n; ++a) s += M[a * n + b];
      for (int a = 0; a < n; ++a) M[a * n + b] /= s;
    }
    for (int a = 0; a < n; ++a) {  // T_r: rows of M
      double s = 0;
      for (int b = 0; b < n; ++b) s += M[a * n + b];
      for (int b = 0; b < n; ++b) M[a * n + b] /= s;
    }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) comb[i * n + j] = M[j * n + i];
}

}  // namespace v4lab::kernels
