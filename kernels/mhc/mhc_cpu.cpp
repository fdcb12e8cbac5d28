// mhc_cpu.cpp — optimized host mHC kernels (_cpu): FP32 math, OpenMP threads, SIMD via the compiler.
// specs/mhc.md "Kernel notes / CPU": tokens are blocked so each fn chunk is reused from L1 by a block
// of tokens (m accumulators per token), the sum of squares is produced in the same pass, the split +
// Sinkhorn is the shared V4LAB_HD template (the CUDA kernels run the same code), and the pre-apply and
// post are streaming loops. Every token's arithmetic order is fixed (independent of threads and of its
// neighbours), so runs are bit-identical and a NaN in one token cannot reach another (T8).
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/mhc/mhc.h"

#include "kernels/detail/threads.h"

namespace v4lab::kernels {
namespace {

constexpr int kTok = 4;              // tokens per block: each fn vector load feeds kTok FMAs
constexpr int kLanes = 16;           // partial sums per dot product: one AVX-512 or two AVX2 registers
constexpr int64_t kChunk = 2048;     // K elements per pass: kTok × 8 KB of v stay in L1/L2
constexpr int64_t kApplyCols = 512;  // columns per pre-apply / post step (FP32 scratch stays in L1)
constexpr int64_t kMinParallelElems = 1 << 14;  // below ~16K stream elements one thread is faster

// GCC/Clang vector extension: explicit 16-lane FP32 arithmetic, lowered to whatever -march offers.
typedef float V16 __attribute__((vector_size(64)));

inline V16 load16(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Prenorm GEMM (fn rows [m0, m1)) and sum of squares for the nt ≤ kTok tokens starting at x.
// dots[t*M + mm] = Σ_k fn[mm, k]·v_t[k] and ss[t] = Σ_k v_t[k]², both in FP32 with kLanes partial sums
// per K chunk, reduced in a fixed order at the end.
void gemm_block(const uint16_t* x, int nt, int64_t K, const float* fn, int M, int m0, int m1, float* dots, float* ss) {
  alignas(64) float vbuf[kTok][kChunk];
  alignas(64) V16 acc[kMhcMaxM][kTok];
  alignas(64) float acc_tail[kMhcMaxM][kTok][kLanes];
  V16 ss_acc[kTok];
  float ss_tail[kTok][kLanes];
  static_assert(kTok == 4, "the register blocks below are written for 4 tokens");
  const V16 zero = {};
  for (int mm = m0; mm < m1; ++mm)
    for (int t = 0; t < kTok; ++t) acc[mm][t] = zero;
  std::memset(acc_tail, 0, sizeof acc_tail);
  std::memset(ss_tail, 0, sizeof ss_tail);
  for (int t = 0; t < kTok; ++t) ss_acc[t] = zero;

  for (int64_t k0 = 0; k0 < K; k0 += kChunk) {
    const int64_t kc = std::min(kChunk, K - k0);
    const int64_t kv = kc & ~int64_t(kLanes - 1);  // vector part; the rest goes lane by lane
    for (int t = 0; t < kTok; ++t) {
      float* vb = vbuf[t];
      if (t < nt) {
        const uint16_t* xs = x + t * K + k0;
        for (int64_t k = 0; k < kc; ++k) vb[k] = bf16_to_f32(xs[k]);
      } else {
        std::memset(vb, 0, sizeof(float) * kc);  // padding token: contributes zeros, never stored
      }
      for (int64_t k = 0; k < kv; k += kLanes) {
        const V16 v = load16(vb + k);
        ss_acc[t] += v * v;
      }
      for (int64_t k = kv; k < kc; ++k) ss_tail[t][k % kLanes] += vb[k] * vb[k];
    }
    // Register block of 3 fn rows × kTok tokens (12 accumulators): 7 vector loads feed 12 FMAs.
    int mm = m0;
    for (; mm + 3 <= m1; mm += 3) {
      const float* f0 = fn + int64_t(mm) * K + k0;
      const float* f1 = f0 + K;
      const float* f2 = f1 + K;
      V16 a[3][kTok];
      for (int r = 0; r < 3; ++r)
        for (int t = 0; t < kTok; ++t) a[r][t] = acc[mm + r][t];
      for (int64_t k = 0; k < kv; k += kLanes) {
        const V16 v0 = load16(vbuf[0] + k), v1 = load16(vbuf[1] + k), v2 = load16(vbuf[2] + k),
                  v3 = load16(vbuf[3] + k);
        const V16 g0 = load16(f0 + k), g1 = load16(f1 + k), g2 = load16(f2 + k);
        a[0][0] += g0 * v0, a[0][1] += g0 * v1, a[0][2] += g0 * v2, a[0][3] += g0 * v3;
        a[1][0] += g1 * v0, a[1][1] += g1 * v1, a[1][2] += g1 * v2, a[1][3] += g1 * v3;
        a[2][0] += g2 * v0, a[2][1] += g2 * v1, a[2][2] += g2 * v2, a[2][3] += g2 * v3;
      }
      for (int r = 0; r < 3; ++r)
        for (int t = 0; t < kTok; ++t) acc[mm + r][t] = a[r][t];
    }
    for (; mm < m1; ++mm) {  // remaining rows one at a time (same per-element arithmetic)
      const float* f = fn + int64_t(mm) * K + k0;
      V16 a0 = acc[mm][0], a1 = acc[mm][1], a2 = acc[mm][2], a3 = acc[mm][3];
      for (int64_t k = 0; k < kv; k += kLanes) {
        const V16 fv = load16(f + k);
        a0 += fv * load16(vbuf[0] + k);
        a1 += fv * load16(vbuf[1] + k);
        a2 += fv * load16(vbuf[2] + k);
        a3 += fv * load16(vbuf[3] + k);
      }
      acc[mm][0] = a0, acc[mm][1] = a1, acc[mm][2] = a2, acc[mm][3] = a3;
    }
    for (int r = m0; r < m1; ++r) {
      const float* f = fn + int64_t(r) * K + k0;
      for (int64_t k = kv; k < kc; ++k)
        for (int t = 0; t < kTok; ++t) acc_tail[r][t][k % kLanes] += f[k] * vbuf[t][k];
    }
  }
  // Fixed-order lane reduction: lane-wise add of the vector and tail partials, then a pairwise tree.
  auto reduce = [](const V16& v, const float* tail) {
    float l[kLanes];
    for (int i = 0; i < kLanes; ++i) l[i] = v[i] + tail[i];
    for (int w = kLanes / 2; w >= 1; w /= 2)
      for (int i = 0; i < w; ++i) l[i] += l[i + w];
    return l[0];
  };
  for (int t = 0; t < nt; ++t) {
    for (int mm = m0; mm < m1; ++mm) dots[t * M + mm] = reduce(acc[mm][t], acc_tail[mm][t]);
    ss[t] = reduce(ss_acc[t], ss_tail[t]);
  }
}

// y_t = Σ_i pre_i·X[t,i,:] in FP32 (fixed order i = 0..n−1), rounded once to BF16.
void apply_token(const uint16_t* xt, const float* pre, int n, int64_t d, uint16_t* yt) {
  alignas(64) float acc[kApplyCols];
  for (int64_t c0 = 0; c0 < d; c0 += kApplyCols) {
    const int64_t len = std::min(kApplyCols, d - c0);
    const uint16_t* x0 = xt + c0;
    for (int64_t c = 0; c < len; ++c) acc[c] = pre[0] * bf16_to_f32(x0[c]);
    for (int i = 1; i < n; ++i) {
      const uint16_t* xi = xt + int64_t(i) * d + c0;
      const float w = pre[i];
      for (int64_t c = 0; c < len; ++c) acc[c] += w * bf16_to_f32(xi[c]);
    }
    for (int64_t c = 0; c < len; ++c) yt[c0 + c] = bf16_from_f32(acc[c]);
  }
}

// Shared driver of hc_pre and hc_head: GEMM (M = m or n rows), r, per-token split, apply.
// Large batches: one fused pass per token block (X is still in cache for the apply). Small batches
// (fewer blocks than 2 × threads): the GEMM is also split over fn rows so every thread has work,
// then a second pass finalizes each token. Both give the same bits (the per-(token, row) order is
// the same), so the choice depends on nothing but performance.
template <class Finalize>
void prenorm_driver(const MhcParams& p, const uint16_t* x, const float* fn, int M, float* mixes, Finalize&& fin) {
  const int64_t T = p.n_tokens, K = p.k();
  if (T == 0) return;
  const int64_t nblocks = (T + kTok - 1) / kTok;
  const int threads = max_threads();
  const float inv_k = 1.0f / float(K);
  const float norm_eps = float(p.norm_eps);
  auto finalize_token = [&](int64_t t, float ss) {
    const float r = 1.0f / std::sqrt(ss * inv_k + norm_eps);  // step 2, FP32 as in the kernels
    float* mt = mixes + t * M;
    for (int mm = 0; mm < M; ++mm) mt[mm] *= r;  // step 3: r applied after the GEMM
    fin(t, mt);
  };
  if (nblocks >= 2 * threads) {
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t t0 = b * kTok;
      const int nt = int(std::min<int64_t>(kTok, T - t0));
      float ss[kTok];
      gemm_block(x + t0 * K, nt, K, fn, M, 0, M, mixes + t0 * M, ss);
      for (int t = 0; t < nt; ++t) finalize_token(t0 + t, ss[t]);
    }
    return;
  }
  const int groups = int(std::clamp<int64_t>((2 * threads + nblocks - 1) / nblocks, 1, M));
  std::vector<float> ss(size_t(nblocks) * kTok);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t task = 0; task < nblocks * groups; ++task) {
    const int64_t b = task / groups;
    const int g = int(task % groups);
    const int64_t t0 = b * kTok;
    const int nt = int(std::min<int64_t>(kTok, T - t0));
    const int m0 = int(int64_t(M) * g / groups), m1 = int(int64_t(M) * (g + 1) / groups);
    float ss_local[kTok];
    gemm_block(x + t0 * K, nt, K, fn, M, m0, m1, mixes + t0 * M, ss_local);
    if (g == 0)
      for (int t = 0; t < nt; ++t) ss[size_t(t0 + t)] = ss_local[t];
  }
#if defined(_OPENMP)
#pragma omp parallel for schedule(static)
#endif
  for (int64_t t = 0; t < T; ++t) finalize_token(t, ss[size_t(t)]);
}

}  // namespace

void mhc_pre_cpu(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                 uint16_t* y, float* pre, float* post, float* comb, float* mixes) {
  p.validate();
  const int n = p.hc;
  const float hc_eps = float(p.hc_eps);
  prenorm_driver(p, x, fn, p.m(), mixes, [&](int64_t t, const float* mt) {
    float* pt = pre + t * n;
    mhc_split_sinkhorn<float>(mt, base, scale, n, p.iters, hc_eps, p.sinkhorn, pt, post + t * n,
                              comb + t * n * n);                      // steps 4–5
    apply_token(x + t * p.k(), pt, n, p.d_model, y + t * p.d_model);  // step 6
  });
}

void mhc_head_cpu(const MhcParams& p, const uint16_t* x, const float* fn, const float* base, const float* scale,
                  uint16_t* y, float* pre, float* mixes) {
  p.validate();
  const int n = p.hc;
  const float hc_eps = float(p.hc_eps);
  prenorm_driver(p, x, fn, n, mixes, [&](int64_t t, const float* mt) {
    float* pt = pre + t * n;
    mhc_head_split<float>(mt, base, scale, n, hc_eps, pt);
    apply_token(x + t * p.k(), pt, n, p.d_model, y + t * p.d_model);
  });
}

// hc_post, column j of comb per output stream j (X' = combᵀ·X + post ⊗ F), FP32, fixed order:
// post_j·F first, then comb[0][j]·X_0, ..., comb[n−1][j]·X_{n−1}.
void mhc_post_cpu(const MhcParams& p, const uint16_t* f, const uint16_t* x, const float* post, const float* comb,
                  uint16_t* x_out) {
  p.validate();
  const int n = p.hc;
  const int64_t d = p.d_model, K = p.k(), T = p.n_tokens;
  // Tasks are (token, column chunk) pairs, so a decode step with one token still uses every thread;
  // tiny steps stay on one thread, where the parallel region would cost more than the work.
  const int64_t chunks = (d + kApplyCols - 1) / kApplyCols;
  const int64_t tasks = T * chunks;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (T * K >= kMinParallelElems)
#endif
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t t = task / chunks, c0 = (task % chunks) * kApplyCols;
    alignas(64) float xs[kMhcMaxHc][kApplyCols];
    alignas(64) float fs[kApplyCols];
    alignas(64) float acc[kApplyCols];
    const uint16_t* xt = x + t * K;
    const float* ct = comb + t * n * n;
    {
      const int64_t len = std::min(kApplyCols, d - c0);
      for (int64_t c = 0; c < len; ++c) fs[c] = bf16_to_f32(f[t * d + c0 + c]);
      for (int i = 0; i < n; ++i) {
        const uint16_t* xi = xt + int64_t(i) * d + c0;
        for (int64_t c = 0; c < len; ++c) xs[i][c] = bf16_to_f32(xi[c]);
      }
      for (int j = 0; j < n; ++j) {
        const float pj = post[t * n + j];
        for (int64_t c = 0; c < len; ++c) acc[c] = pj * fs[c];
        for (int i = 0; i < n; ++i) {
          const float w = ct[i * n + j];  // column j: the transposed mix
          for (int64_t c = 0; c < len; ++c) acc[c] += w * xs[i][c];
        }
        uint16_t* o = x_out + t * K + int64_t(j) * d + c0;
        for (int64_t c = 0; c < len; ++c) o[c] = bf16_from_f32(acc[c]);
      }
    }
  }
}

}  // namespace v4lab::kernels
