// mhc.h — mHC (manifold-constrained hyper-connections) kernels: hc_pre, hc_post, hc_head.
// Math: specs/mhc.md "Math" (hc_pre steps 1–6, Sinkhorn-Knopp as V4 ships it, hc_post, hc_head).
// Backends share one signature per op: _ref (FP64 oracle, mhc_ref.cpp), _cpu (threaded FP32,
// mhc_cpu.cpp); the CUDA launchers (mhc_cuda.h) add a workspace and a stream. The per-token split +
// Sinkhorn step is written once here (V4LAB_HD) and used by _ref (T = double), _cpu and _cuda (float).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/numerics.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"

#if defined(__CUDA_ARCH__)  // device pass only; the host compiler would warn about an unknown pragma
#define V4LAB_UNROLL _Pragma("unroll")
#else
#define V4LAB_UNROLL
#endif

namespace v4lab::kernels {

constexpr int kMhcMaxHc = 8;
constexpr int kMhcMaxM = (2 + kMhcMaxHc) * kMhcMaxHc;  // 80

enum class SinkhornVariant { V4 = 0, Paper = 1 };
enum class MhcOp { Pre, Post, Head };

struct MhcParams {
  int64_t n_tokens = 0;    // T: tokens; streams X are [T, hc, d_model] BF16
  int hc = 4;              // n: residual streams (hc_mult), 1..8
  int64_t d_model = 4096;  // d: hidden size, >= 1
  int iters = 20;          // I: Sinkhorn iterations (hc_sinkhorn_iters), >= 1 (unused by hc_head)
  double hc_eps = 1e-6;    // hc_eps: added to pre_i and inside every Sinkhorn normalization
  double norm_eps = 1e-6;  // rms_norm_eps of r = 1/sqrt(mean(v²) + eps)
  SinkhornVariant sinkhorn = SinkhornVariant::V4;

  int m() const { return (2 + hc) * hc; }              // m_hc: mix vector [pre(n) | post(n) | comb(n²)]
  int64_t k() const { return int64_t(hc) * d_model; }  // flattened token row length n·d
  void validate() const;  // throws config_error: hc outside 1..8, d_model < 1, iters < 1, n_tokens < 0
};

// From resolved op-catalogue params (mhc_pre / mhc_post / mhc_head keys; absent keys keep defaults).
MhcParams mhc_params_from(const ParamMap& params);

// ---------------------------------------------------------------------------------------------
// Shared per-token math (host and device). T = double in _ref, float in _cpu and _cuda.
// ---------------------------------------------------------------------------------------------
V4LAB_HD float mhc_exp(float x) { return expf(x); }
V4LAB_HD double mhc_exp(double x) { return exp(x); }
template <class T>
V4LAB_HD T mhc_sigmoid(T x) {
  return T(1) / (T(1) + mhc_exp(-x));
}

// Sinkhorn-Knopp on one token, in place: s holds the logits L[N][N] (row-major) on entry and comb on
// return. V4: row softmax (max-subtracted) + eps, column normalize, then iters−1 × (row, column)
// normalizations, each dividing by (sum + eps); the last step is a column normalization, so comb's
// columns sum to 1 (to about eps). Paper (Eq. 9 on H_res = combᵀ, no eps): exp(L − max L), then
// iters × (row, column) normalization — in comb's frame T_c on H_res is a row step and T_r a column
// step, so no transpose is needed here (sinkhorn_paper_f64 does it the literal way, for T2).
template <class T, int N>
V4LAB_HD void mhc_sinkhorn_n(T* s, int iters, T eps, SinkhornVariant variant) {
  if (variant == SinkhornVariant::V4) {
    V4LAB_UNROLL for (int i = 0; i < N; ++i) {
      // max over all N entries (j = 0 compares s[0] with itself): an N-term reduction counts N (T9).
      T mx = s[i * N];
      V4LAB_UNROLL for (int j = 0; j < N; ++j) mx = s[i * N + j] > mx ? s[i * N + j] : mx;
      T sum = 0;
      V4LAB_UNROLL for (int j = 0; j < N; ++j) {
        s[i * N + j] = mhc_exp(s[i * N + j] - mx);
        sum += s[i * N + j];
      }
      V4LAB_UNROLL for (int j = 0; j < N; ++j) s[i * N + j] = s[i * N + j] / sum + eps;
    }
  } else {
    T mx = s[0];
    V4LAB_UNROLL for (int k = 1; k < N * N; ++k) mx = s[k] > mx ? s[k] : mx;
    V4LAB_UNROLL for (int k = 0; k < N * N; ++k) s[k] = mhc_exp(s[k] - mx);
    eps = T(0);
  }
  // V4: the first column step follows the softmax; paper: every iteration is (row, column).
  const int row_steps = variant == SinkhornVariant::V4 ? iters - 1 : iters;
  if (variant == SinkhornVariant::V4) {
    V4LAB_UNROLL for (int j = 0; j < N; ++j) {
      T sum = 0;
      V4LAB_UNROLL for (int i = 0; i < N; ++i) sum += s[i * N + j];
      const T den = sum + eps;
      V4LAB_UNROLL for (int i = 0; i < N; ++i) s[i * N + j] = s[i * N + j] / den;
    }
  }
  for (int it = 0; it < row_steps; ++it) {
    V4LAB_UNROLL for (int i = 0; i < N; ++i) {
      T sum = 0;
      V4LAB_UNROLL for (int j = 0; j < N; ++j) sum += s[i * N + j];
      const T den = sum + eps;
      V4LAB_UNROLL for (int j = 0; j < N; ++j) s[i * N + j] = s[i * N + j] / den;
    }
    V4LAB_UNROLL for (int j = 0; j < N; ++j) {
      T sum = 0;
      V4LAB_UNROLL for (int i = 0; i < N; ++i) sum += s[i * N + j];
      const T den = sum + eps;
      V4LAB_UNROLL for (int i = 0; i < N; ++i) s[i * N + j] = s[i * N + j] / den;
    }
  }
}

// hc_pre steps 4–5 for one token: mixes [m] (already × r) -> pre [N], post [N], comb [N·N].
template <class T, int N>
V4LAB_HD void mhc_split_sinkhorn_n(const T* mixes, const float* base, const float* scale, int iters, T hc_eps,
                                   SinkhornVariant variant, T* pre, T* post, T* comb) {
  const T s0 = T(scale[0]), s1 = T(scale[1]), s2 = T(scale[2]);
  V4LAB_UNROLL for (int i = 0; i < N; ++i) pre[i] = mhc_sigmoid(s0 * mixes[i] + T(base[i])) + hc_eps;
  V4LAB_UNROLL for (int i = 0; i < N; ++i) post[i] = T(2) * mhc_sigmoid(s1 * mixes[N + i] + T(base[N + i]));
  T s[N * N];
  V4LAB_UNROLL for (int k = 0; k < N * N; ++k) s[k] = s2 * mixes[2 * N + k] + T(base[2 * N + k]);
  mhc_sinkhorn_n<T, N>(s, iters, hc_eps, variant);
  V4LAB_UNROLL for (int k = 0; k < N * N; ++k) comb[k] = s[k];
}

// Runtime-hc dispatchers: pick the compile-time N = hc (1..8; anything else is rejected earlier by
// MhcParams::validate and does nothing here).
template <class T, int N = 1>
V4LAB_HD void mhc_sinkhorn(T* s, int hc, int iters, T eps, SinkhornVariant variant) {
  if constexpr (N <= kMhcMaxHc) {
    if (hc == N) {
      mhc_sinkhorn_n<T, N>(s, iters, eps, variant);
    } else {
      mhc_sinkhorn<T, N + 1>(s, hc, iters, eps, variant);
    }
  }
}

template <class T, int N = 1>
V4LAB_HD void mhc_split_sinkhorn(const T* mixes, const float* base, const float* scale, int hc, int iters, T hc_eps,
                                 SinkhornVariant variant, T* pre, T* post, T* comb) {
  if constexpr (N <= kMhcMaxHc) {
    if (hc == N) {
      mhc_split_sinkhorn_n<T, N>(mixes, base, scale, iters, hc_eps, variant, pre, post, comb);
    } else {
      mhc_split_sinkhorn<T, N + 1>(mixes, base, scale, hc, iters, hc_eps, variant, pre, post, comb);
    }
  }
}

// hc_head split: pre_i = σ(scale_h·mixes_i + base_h[i]) + hc_eps (no post, no Sinkhorn).
template <class T>
V4LAB_HD void mhc_head_split(const T* mixes, const float* base, const float* scale, int hc, T hc_eps, T* pre) {
  for (int i = 0; i < hc; ++i) pre[i] = mhc_sigmoid(T(scale[0]) * mixes[i] + T(base[i])) + hc_eps;
}

// FP64 -> BF16, rounded once (RNE). Going through float could round twice; the one case where that
// matters (the float lands exactly on a BF16 midpoint but the double does not) is fixed by hand.
inline uint16_t bf16_from_f64(double v) {
  const float f = static_cast<float>(v);
  const uint32_t u = f32_bits(f);
  if ((u & 0xffffu) == 0x8000u && std::isfinite(v) && static_cast<double>(f) != v)
    return static_cast<uint16_t>(std::fabs(v) > std::fabs(static_cast<double>(f)) ? (u >> 16) + 1 : (u >> 16));
  return bf16_from_f32(f);
}

// ---------------------------------------------------------------------------------------------
// Entry points. All buffers are dense row-major; BF16 is raw uint16 bits. n_tokens = 0 does nothing.
// ---------------------------------------------------------------------------------------------
// hc_pre. In: x [T, n, d] BF16; fn [m, n·d] f32; base [m] f32; scale [3] f32.
// Out: y [T, d] BF16; pre [T, n], post [T, n], comb [T, n, n] (comb[i][j] row-major), mixes [T, m]
// (= (fn·v)·r, before scale/base) — all f32.
void mhc_pre_ref(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                 uint16_t* y, float* pre, float* post, float* comb, float* mixes);
void mhc_pre_cpu(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                 uint16_t* y, float* pre, float* post, float* comb, float* mixes);

// hc_post (transposed mix — the spec's trap, correct as shipped): X'[t,j,:] = post_j·F_t +
// Σ_i comb[i][j]·X[t,i,:]. In: f [T, d] BF16; x [T, n, d] BF16; post [T, n]; comb [T, n, n].
// Out: x_out [T, n, d] BF16.
void mhc_post_ref(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                  uint16_t* x_out);
void mhc_post_cpu(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                  uint16_t* x_out);

// hc_head. In: x [T, n, d] BF16; fn [n, n·d] f32; base [n]; scale [1]. Out: y [T, d] BF16;
// pre [T, n]; mixes [T, n] (= (fn·v)·r).
void mhc_head_ref(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* mixes);
void mhc_head_cpu(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* mixes);

// FP64 pre-apply with given (e.g. a backend's own) pre: y = Σ_i pre_i·X_i rounded once to BF16.
// Verification uses it to check a backend's y against its own pre (see docs/kernels/mhc.md).
void mhc_apply_ref(const MhcParams& p, const uint16_t* x, const float* pre, uint16_t* y);

// FP64 Sinkhorn for tests: the V4 loop (mhc_sinkhorn_n<double>) and the paper's Eq. 9 written in its
// own frame (M⁰ = exp(Lᵀ − max L), iters × M ← T_r(T_c(M)), comb = Mᵀ, no eps). comb is [n, n].
void sinkhorn_v4_f64(const double* logits, int n, int iters, double eps, double* comb);
void sinkhorn_paper_f64(const double* logits, int n, int iters, double* comb);

// ---------------------------------------------------------------------------------------------
// Tensor-level contract (names, dtypes, shapes) shared by make_io, prepare and T6.
// ---------------------------------------------------------------------------------------------
struct MhcTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<MhcTensorSpec> mhc_io_spec(MhcOp op, const MhcParams& p);  // inputs first, then outputs
// Throws config_error naming the tensor, expected and actual shape/dtype, for any mismatch.
void mhc_check_io(MhcOp op, const MhcParams& p, const KernelIO& io);

}  // namespace v4lab::kernels
