// sparse_attn_cpu.cpp — threaded FP32 V4 sparse attention core (specs/attention.md §4.2, §4.8): per
// query, the attended rows are gathered once into an FP32 tile K [E, D] (invalid entries never
// enter it), then S = Q·Kᵀ and O = P·K run as Eigen GEMMs so every head of the query shares each KV
// row load. Prefill threads over queries; decode (few queries) threads over head blocks of one query.
// GCC 12 flags Eigen's AVX-512 float GEMM packing (a `__m512 x = x` idiom in avx512fintrin.h) as
// maybe-uninitialized at our instantiation points; a known false positive, silenced for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <cmath>
#include <limits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "kernels/attention/sparse_attn.h"

namespace v4lab::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMat = Eigen::Map<RowMat>;

// e^x for the softmax in straight-line FP32 arithmetic, so the exp loops vectorize (libm's expf is a
// call): 2^n·e^r with n = round(x·log2 e), a Cody–Waite split of n·ln 2 and the degree-6 Cephes
// polynomial for e^r, |r| ≤ ln2/2 (≈ 1 ulp vs correctly rounded over the range used). x < −87 → 0
// (e^−87 ≈ 1.6e-38: below any weight that matters; −inf → 0), NaN → NaN. Only x ≤ 0 occurs here.
inline float exp_softmax(float x) {
  const float xc = x < -87.0f ? -87.0f : (x <= 0.0f ? x : 0.0f);  // NaN → 0 here (no UB in the int cast), NaN out
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  const float two_n = f32_from_bits(uint32_t(int32_t(n) + 127) << 23);
  return x < -87.0f ? 0.0f : (x != x ? x : y * two_n);
}

inline void bf16_row_to_f32(const uint16_t* src, float* dst, int64_t n) {
#pragma omp simd
  for (int64_t c = 0; c < n; ++c) dst[c] = f32_from_bits(uint32_t(src[c]) << 16);
}

int n_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Valid rows of query i (window first, then compressed), in list order.
void gather_rows(const SparseAttnParams& p, int64_t i, const uint16_t* kv, const uint16_t* cmp, const int32_t* win_idx,
                 const int32_t* sel_idx, std::vector<const uint16_t*>& rows) {
  rows.clear();
  for (int64_t j = 0; j < p.n_win; ++j) {
    const int32_t s = win_idx[i * p.n_win + j];
    if (s >= 0 && s < p.n_kv) rows.push_back(kv + int64_t(s) * p.d_head);
  }
  for (int64_t j = 0; j < p.n_sel; ++j) {
    const int32_t s = sel_idx[i * p.n_sel + j];
    if (s >= 0 && s < p.n_cmp) rows.push_back(cmp + int64_t(s) * p.d_head);
  }
}

// Heads [h0, h1) of query i against the FP32 tile K [E, D]. Scratch: qf [nh, D], s [nh, E], of [nh, D].
void heads_block(const SparseAttnParams& p, int64_t i, int64_t h0, int64_t h1, const float* kf, int64_t E,
                 const uint16_t* q, const float* sink, const float* cs, float* qf, float* s, float* of, uint16_t* o,
                 float* lse, float* o_f32) {
  const int64_t D = p.d_head, nh = h1 - h0;
  const float scale = float(p.softmax_scale());
  for (int64_t h = 0; h < nh; ++h) bf16_row_to_f32(q + (i * p.n_heads + h0 + h) * D, qf + h * D, D);
  MapMat Q(qf, nh, D), S(s, nh, E), O(of, nh, D);
  const Eigen::Map<const RowMat> K(kf, E, D);
  if (E > 0) {
    S.noalias() = Q * K.transpose();
  }
  const float kInf = std::numeric_limits<float>::infinity();
  std::vector<float> den(static_cast<size_t>(nh));
  for (int64_t h = 0; h < nh; ++h) {
    float* sr = s + h * E;
    float m_l = -kInf;
    int n_nan = 0;
#pragma omp simd reduction(max : m_l) reduction(+ : n_nan)
    for (int64_t e = 0; e < E; ++e) {
      sr[e] *= scale;
      n_nan += sr[e] != sr[e];
      m_l = sr[e] > m_l ? sr[e] : m_l;
    }
    if (n_nan > 0) {  // a NaN logit poisons the head's weights, lse and output, as in _ref
      const float nan = std::numeric_limits<float>::quiet_NaN();
      for (int64_t e = 0; e < E; ++e) sr[e] = nan;
      lse[i * p.n_heads + h0 + h] = nan;
      den[size_t(h)] = nan;
      continue;
    }
    const float z = sink[h0 + h];
    const float M = z > m_l ? z : m_l;
    // One exp per entry: w_e = e^{l_e − m_l} gives lse (sink left out, from its own max, so a large
    // z cannot underflow it); the softmax weights e^{l_e − M} are w_e·e^{m_l − M}.
    float sum_l = 0, sum = 0;
    if (m_l > -kInf) {
#pragma omp simd reduction(+ : sum_l)
      for (int64_t e = 0; e < E; ++e) {
        const float w = exp_softmax(sr[e] - m_l);
        sr[e] = w;
        sum_l += w;
      }
    } else {
      for (int64_t e = 0; e < E; ++e) sr[e] = 0;  // no finite logit: every weight is e^{−inf} = 0
    }
    lse[i * p.n_heads + h0 + h] = E == 0 ? -kInf : m_l + std::log(sum_l);
    if (M > -kInf && m_l > -kInf) {
      const float f = m_l >= M ? 1.0f : std::exp(m_l - M);
      sum = sum_l * f;
      if (p.p_bf16) {
#pragma omp simd
        for (int64_t e = 0; e < E; ++e) sr[e] = bf16_round(sr[e] * f);
      } else if (f != 1.0f) {
#pragma omp simd
        for (int64_t e = 0; e < E; ++e) sr[e] *= f;
      }
    } else {
      for (int64_t e = 0; e < E; ++e) sr[e] = 0;
    }
    const float ez = z >= M ? 1.0f : std::exp(z - M);
    const float d = sum + ez;
    den[size_t(h)] = M == kInf ? 0.0f : (d > 0 || d != d ? 1.0f / d : 0.0f);  // z = +inf → o = 0; NaN poisons
  }
  if (E > 0) {
    O.noalias() = S * K;
  } else {
    O.setZero();
  }
  const int64_t off = D - p.d_rope;
  for (int64_t h = 0; h < nh; ++h) {
    float* orow = of + h * D;
    const float inv = den[size_t(h)];
    for (int64_t c = 0; c < D; ++c) orow[c] = inv == 0.0f ? 0.0f : orow[c] * inv;
    for (int k = 0; k < p.d_rope / 2; ++k) {  // inverse RoPE (−angle), interleaved pairs
      const float u = orow[off + 2 * k], v = orow[off + 2 * k + 1], c = cs[2 * k], sn = -cs[2 * k + 1];
      orow[off + 2 * k] = u * c - v * sn;
      orow[off + 2 * k + 1] = u * sn + v * c;
    }
    uint16_t* dst = o + (i * p.n_heads + h0 + h) * D;
    for (int64_t c = 0; c < D; ++c) dst[c] = bf16_from_f32(orow[c]);
    if (o_f32) std::copy(orow, orow + D, o_f32 + (i * p.n_heads + h0 + h) * D);
  }
}

}  // namespace

void sparse_attn_cpu(const SparseAttnParams& p, const uint16_t* q, const uint16_t* kv, const uint16_t* cmp,
                     const int32_t* win_idx, const int32_t* sel_idx, const float* sink, const int32_t* pos, uint16_t* o,
                     float* lse, float* o_f32) {
  p.validate();
  const int64_t H = p.n_heads, D = p.d_head, E_max = p.n_win + p.n_sel;
  const RopeFreqs freqs(p.rope);
  const int nt = n_threads();
  const int64_t cs_len = p.d_rope > 0 ? p.d_rope : 2;
  if (p.n_q >= 2 * nt || H < 2) {
    // Prefill: one query per work item, all heads at once (one GEMM pair per query).
#pragma omp parallel
    {
      std::vector<const uint16_t*> rows;
      std::vector<float> kf(static_cast<size_t>(E_max * D)), qf(static_cast<size_t>(H * D)), s(static_cast<size_t>(H * E_max)), of(static_cast<size_t>(H * D)),
          cs(static_cast<size_t>(cs_len));
#pragma omp for schedule(dynamic, 1)
      for (int64_t i = 0; i < p.n_q; ++i) {
        gather_rows(p, i, kv, cmp, win_idx, sel_idx, rows);
        const int64_t E = int64_t(rows.size());
        for (int64_t e = 0; e < E; ++e) bf16_row_to_f32(rows[size_t(e)], kf.data() + e * D, D);
        if (p.d_rope > 0) freqs.row(p.rope, pos[i], cs.data());
        heads_block(p, i, 0, H, kf.data(), E, q, sink, cs.data(), qf.data(), s.data(), of.data(), o, lse, o_f32);
      }
    }
    return;
  }
  // Decode: the tile is converted once (rows split over threads), then head blocks run in parallel.
  std::vector<const uint16_t*> rows;
  std::vector<float> kf(static_cast<size_t>(E_max * D)), cs(static_cast<size_t>(cs_len));
  const int64_t hb = (H + nt - 1) / nt;
  for (int64_t i = 0; i < p.n_q; ++i) {
    gather_rows(p, i, kv, cmp, win_idx, sel_idx, rows);
    const int64_t E = int64_t(rows.size());
    if (p.d_rope > 0) freqs.row(p.rope, pos[i], cs.data());
#pragma omp parallel
    {
#pragma omp for schedule(static)
      for (int64_t e = 0; e < E; ++e) bf16_row_to_f32(rows[size_t(e)], kf.data() + e * D, D);
      std::vector<float> qf(static_cast<size_t>(hb * D)), s(static_cast<size_t>(hb * (E > 0 ? E : 1))), of(static_cast<size_t>(hb * D));
#pragma omp for schedule(static)
      for (int64_t b = 0; b < nt; ++b) {
        const int64_t h0 = b * hb, h1 = std::min(H, h0 + hb);
        if (h0 < h1)
          heads_block(p, i, h0, h1, kf.data(), E, q, sink, cs.data(), qf.data(), s.data(), of.data(), o, lse, o_f32);
      }
    }
  }
}

}  // namespace v4lab::kernels
