// mla_cpu.cpp — threaded FP32 MLA decode (specs/attention.md §2 kernel notes): q̃ is absorbed per
// query (never into the cache), the attended tokens are split over threads (split-KV), each split runs
// an online softmax over 64-token tiles with Eigen GEMMs (all heads share each cache-tile load), and
// the splits merge by log-sum-exp. The naive form up-projects each tile with W_kvb (FP32 copy).
// GCC 12 flags Eigen's AVX-512 float GEMM packing (a `__m512 x = x` idiom in avx512fintrin.h) as
// maybe-uninitialized at our instantiation points; a known false positive, silenced for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/numerics.h"
#include "kernels/attention/mla.h"

namespace v4lab::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MapMat = Eigen::Map<RowMat>;
using CMapMat = Eigen::Map<const RowMat>;
constexpr int64_t kTile = 64;
constexpr float kInf = std::numeric_limits<float>::infinity();

inline float bf(uint16_t v) { return f32_from_bits(uint32_t(v) << 16); }

int n_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

struct Split {  // online-softmax state of one KV split: m, l [H], acc [H, vw]
  std::vector<float> m, l, acc;
  std::vector<char> bad;  // [H] a NaN or +inf logit was seen: the head's output is NaN, as in _ref
  void reset(int64_t H, int64_t vw) {
    bad.assign(size_t(H), 0);
    m.assign(size_t(H), -kInf);
    l.assign(size_t(H), 0.0f);
    acc.assign(size_t(H * vw), 0.0f);
  }
};

// Online update of row h with scaled logits s[0..B): rescales acc_h, returns p in s.
inline void online_row(float* s, int64_t B, float& m, float& l, float* acc, int64_t vw, char& bad) {
  float mx = m;
  int n_nan = 0;
  for (int64_t e = 0; e < B; ++e) {
    n_nan += s[e] != s[e];
    mx = s[e] > mx ? s[e] : mx;
  }
  if (n_nan > 0 || mx == kInf) bad = 1;
  if (bad || mx == -kInf) {
    for (int64_t e = 0; e < B; ++e) s[e] = 0;
    return;
  }
  const float alpha = std::exp(m - mx);
  float sum = 0;
  for (int64_t e = 0; e < B; ++e) sum += (s[e] = std::exp(s[e] - mx));
  l = l * alpha + sum;
  m = mx;
  if (alpha != 1.0f)
    for (int64_t c = 0; c < vw; ++c) acc[c] *= alpha;
}

}  // namespace

void mla_decode_cpu(const MlaParams& p, const uint16_t* q, const uint16_t* cache, const uint16_t* w_kvb,
                    const int32_t* pos, const int32_t* idx, float* o, float* lse) {
  p.validate();
  const int64_t H = p.n_heads, R = p.kv_rank, Dc = p.d_cache(), Dq = p.d_qk(), Wr = p.d_nope + p.d_v;
  const bool absorbed = p.form == MlaForm::Absorbed;
  const int64_t vw = absorbed ? R : p.d_v;  // width of the accumulated value
  const float scale = float(p.softmax_scale());
  const int nt = n_threads();
  std::vector<float> wf;  // naive only: W_kvb in FP32 [H·Wr, R]
  if (!absorbed) {
    wf.resize(size_t(H * Wr * R));
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < H * Wr * R; ++k) wf[size_t(k)] = bf(w_kvb[k]);
  }
  std::vector<float> qt(static_cast<size_t>(H * (absorbed ? Dc : Dq)));
  std::vector<Split> splits(static_cast<size_t>(nt));
  std::vector<int64_t> toks;
  for (int64_t i = 0; i < p.n_q; ++i) {
    toks.clear();
    if (p.top_k > 0) {
      for (int64_t j = 0; j < p.top_k; ++j) {
        const int32_t s = idx[i * p.top_k + j];
        if (s >= 0 && s < p.n_ctx) toks.push_back(s);
      }
    } else {
      const int64_t last = std::min<int64_t>(pos[i], p.n_ctx - 1);
      for (int64_t s = 0; s <= last; ++s) toks.push_back(s);
    }
    const int64_t n = int64_t(toks.size());
    const int64_t per = ((n + nt - 1) / nt + kTile - 1) / kTile * kTile;  // split length, whole tiles
#pragma omp parallel
    {
      // Query prologue: absorbed q̃_h = [W_UK,hᵀ q_nope; q_rope] (row-axpy over W_UK rows, vectorized);
      // naive: q in FP32.
#pragma omp for schedule(static)
      for (int64_t h = 0; h < H; ++h) {
        const uint16_t* qh = q + (i * H + h) * Dq;
        if (absorbed) {
          float* t = qt.data() + h * Dc;
          std::fill(t, t + R, 0.0f);
          const uint16_t* wk = w_kvb + h * Wr * R;
          for (int64_t r = 0; r < p.d_nope; ++r) {
            const float a = bf(qh[r]);
            const uint16_t* wr = wk + r * R;
            for (int64_t c = 0; c < R; ++c) t[c] += a * bf(wr[c]);
          }
          for (int64_t r = 0; r < p.d_rope; ++r) t[R + r] = bf(qh[p.d_nope + r]);
        } else {
          for (int64_t c = 0; c < Dq; ++c) qt[size_t(h * Dq + c)] = bf(qh[c]);
        }
      }
      // Split-KV: split b owns toks [b·per, (b+1)·per).
      std::vector<float> cf(static_cast<size_t>(kTile * Dc)), s(static_cast<size_t>(H * kTile)), dk(absorbed ? 0 : static_cast<size_t>(kTile * H * Wr));
#pragma omp for schedule(static)
      for (int b = 0; b < nt; ++b) {
        Split& sp = splits[size_t(b)];
        sp.reset(H, vw);
        const int64_t e0 = std::min(n, b * per), e1 = std::min(n, e0 + per);
        for (int64_t t0 = e0; t0 < e1; t0 += kTile) {
          const int64_t B = std::min(kTile, e1 - t0);
          for (int64_t e = 0; e < B; ++e) {
            const uint16_t* kr = cache + toks[size_t(t0 + e)] * Dc;
            for (int64_t c = 0; c < Dc; ++c) cf[size_t(e * Dc + c)] = bf(kr[c]);
          }
          const CMapMat C(cf.data(), B, Dc);
          MapMat S(s.data(), H, B), A(sp.acc.data(), H, vw);
          if (absorbed) {
            S.noalias() = CMapMat(qt.data(), H, Dc) * C.transpose();
            S *= scale;
            for (int64_t h = 0; h < H; ++h) online_row(s.data() + h * B, B, sp.m[size_t(h)], sp.l[size_t(h)],
                                                      sp.acc.data() + h * vw, vw, sp.bad[size_t(h)]);
            A.noalias() += S * C.leftCols(R);
          } else {
            // [k_nope; v] per head for the tile: Dk [B, H·Wr] = c_kv·W_kvbᵀ.
            MapMat Dk(dk.data(), B, H * Wr);
            Dk.noalias() = C.leftCols(R) * CMapMat(wf.data(), H * Wr, R).transpose();
            for (int64_t h = 0; h < H; ++h) {
              const float* qh = qt.data() + h * Dq;
              float* sr = s.data() + h * B;
              for (int64_t e = 0; e < B; ++e) {
                const float* kn = dk.data() + e * H * Wr + h * Wr;
                const float* kp = cf.data() + e * Dc + R;
                float d = 0;
                for (int64_t r = 0; r < p.d_nope; ++r) d += qh[r] * kn[r];
                for (int64_t r = 0; r < p.d_rope; ++r) d += qh[p.d_nope + r] * kp[r];
                sr[e] = scale * d;
              }
              float* ah = sp.acc.data() + h * vw;
              online_row(sr, B, sp.m[size_t(h)], sp.l[size_t(h)], ah, vw, sp.bad[size_t(h)]);
              for (int64_t e = 0; e < B; ++e) {
                const float* v = dk.data() + e * H * Wr + h * Wr + p.d_nope;
                for (int64_t r = 0; r < p.d_v; ++r) ah[r] += sr[e] * v[r];
              }
            }
          }
        }
      }
      // Merge the splits by log-sum-exp, then (absorbed) o_h = W_UV,h·ô_h.
      std::vector<float> oh(static_cast<size_t>(vw));
#pragma omp for schedule(static)
      for (int64_t h = 0; h < H; ++h) {
        float M = -kInf;
        for (const Split& sp : splits) M = std::max(M, sp.m[size_t(h)]);
        float L = 0;
        std::fill(oh.begin(), oh.end(), 0.0f);
        if (M > -kInf)
          for (const Split& sp : splits) {
            if (sp.m[size_t(h)] == -kInf) continue;
            const float w = std::exp(sp.m[size_t(h)] - M);
            L += w * sp.l[size_t(h)];
            const float* a = sp.acc.data() + h * vw;
            for (int64_t c = 0; c < vw; ++c) oh[size_t(c)] += w * a[c];
          }
        const float inv = L > 0 ? 1.0f / L : 0.0f;
        lse[i * H + h] = M > -kInf ? M + std::log(L) : -kInf;
        float* out = o + (i * H + h) * p.d_v;
        bool poisoned = false;
        for (const Split& sp : splits) poisoned = poisoned || sp.bad[size_t(h)];
        if (poisoned) {  // a non-finite query or key poisons the head (specs/attention.md), as _ref's softmax does
          lse[i * H + h] = std::numeric_limits<float>::quiet_NaN();
          std::fill(out, out + p.d_v, std::numeric_limits<float>::quiet_NaN());
          continue;
        }
        if (absorbed) {
          const uint16_t* wv = w_kvb + (h * Wr + p.d_nope) * R;
          for (int64_t r = 0; r < p.d_v; ++r) {
            float a = 0;
            for (int64_t c = 0; c < R; ++c) a += bf(wv[r * R + c]) * oh[size_t(c)];
            out[r] = a * inv;
          }
        } else {
          for (int64_t r = 0; r < p.d_v; ++r) out[r] = oh[size_t(r)] * inv;
        }
      }
    }
  }
}

}  // namespace v4lab::kernels
