// compress_cpu.cpp — optimized host V4 compressor (_cpu; specs/attention.md §4.2, §4.6, §4.8): FP32
// projections by a register-blocked 4-row × 4-token microkernel (AVX-512 via GCC vector types, BF16
// weights widened in registers), OpenMP over row tiles; FP32 pooling; norm, RoPE and quant sim per
// entry. Every projection element is summed in one fixed order whatever the batch (a token is padded
// into a 4-token tile), so streaming/decode ≡ prefill bit for bit — why Eigen's GEMM (whose GEMV and
// GEMM paths sum differently) is not used here.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/numerics.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {
namespace {

typedef float v16f __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));
typedef uint32_t v16u __attribute__((vector_size(64)));

constexpr int kRt = 4;              // W rows per tile
constexpr int kTt = 4;              // tokens per tile
constexpr int64_t kChunk = 64;      // tokens per pass over W (x chunk of 64·D·4 B stays in L2)
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline v16f load_bf16x16(const uint16_t* p) {
  v16h h;
  std::memcpy(&h, p, sizeof h);
  const v16u u = __builtin_convertvector(h, v16u) << 16;
  v16f f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline v16f load_f32x16(const float* p) {
  v16f f;
  std::memcpy(&f, p, sizeof f);
  return f;
}

// out[r][t] = Σ_k w[r][k]·x[t][k]: 16 lanes over k (lane l sums k ≡ l mod 16 in order), lanes added
// in order, then the scalar tail k ≥ 16⌊D/16⌋. The same sequence for every (r, t) slot of the tile.
void dot_tile(const uint16_t* const* w, const float* const* x, int64_t D, float out[kRt][kTt]) {
  v16f acc[kRt][kTt];
#pragma GCC unroll 4
  for (int r = 0; r < kRt; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < kTt; ++t) acc[r][t] = v16f{};
  int64_t k = 0;
  for (; k + 16 <= D; k += 16) {
    v16f xv[kTt];
#pragma GCC unroll 4
    for (int t = 0; t < kTt; ++t) xv[t] = load_f32x16(x[t] + k);
#pragma GCC unroll 4
    for (int r = 0; r < kRt; ++r) {
      const v16f wv = load_bf16x16(w[r] + k);
#pragma GCC unroll 4
      for (int t = 0; t < kTt; ++t) acc[r][t] += wv * xv[t];
    }
  }
  for (int r = 0; r < kRt; ++r)
    for (int t = 0; t < kTt; ++t) {
      float s = 0.0f;
      for (int l = 0; l < 16; ++l) s += acc[r][t][l];
      float tail = 0.0f;
      for (int64_t kk = k; kk < D; ++kk) tail += bf16_to_f32(w[r][kk]) * x[t][kk];
      out[r][t] = s + tail;
    }
}

// a, z of n tokens at positions pos .. pos+n−1 from xf [⌈n/4⌉·4, D] FP32 (padding rows zero), written
// to a_out/z_out + t·stride. Rows 0..cd−1 of the combined space are W_kv, cd..2cd−1 W_gate.
void project_cpu(const CompressParams& p, const float* xf, int64_t n, int64_t pos, const CompressWeights& w,
                 float* a_out, float* z_out, int64_t stride) {
  const int64_t D = p.d_model, cd = p.cd(), rows = 2 * cd;
  const int64_t row_tiles = (rows + kRt - 1) / kRt;
#pragma omp parallel
  for (int64_t c0 = 0; c0 < n; c0 += kChunk) {
    const int64_t c1 = std::min(n, c0 + kChunk), tok_tiles = (c1 - c0 + kTt - 1) / kTt;
#pragma omp for schedule(static)
    for (int64_t it = 0; it < row_tiles * tok_tiles; ++it) {
      const int64_t rt = it / tok_tiles, tt = it % tok_tiles;
      const uint16_t* wp[kRt];
      const float* xp[kTt];
      for (int r = 0; r < kRt; ++r) {
        const int64_t rho = std::min(rows - 1, rt * kRt + r);
        wp[r] = (rho < cd ? w.w_kv + rho * D : w.w_gate + (rho - cd) * D);
      }
      for (int t = 0; t < kTt; ++t) xp[t] = xf + (c0 + tt * kTt + t) * D;
      float out[kRt][kTt];
      dot_tile(wp, xp, D, out);
      for (int r = 0; r < kRt; ++r) {
        const int64_t rho = rt * kRt + r;
        if (rho >= rows) break;
        for (int t = 0; t < kTt; ++t) {
          const int64_t tok = c0 + tt * kTt + t;
          if (tok >= c1) break;
          if (rho < cd) {
            a_out[tok * stride + rho] = out[r][t];
          } else {
            const int64_t ch = rho - cd;
            z_out[tok * stride + ch] = out[r][t] + w.ape[((pos + tok) % p.ratio) * cd + ch];
          }
        }
      }
    }
  }
}

// x rows → FP32 [⌈n/4⌉·4, D], padding rows zero.
std::vector<float> widen_x(const CompressParams& p, const uint16_t* x, int64_t n) {
  const int64_t D = p.d_model, padded = (n + kTt - 1) / kTt * kTt;
  std::vector<float> xf(static_cast<size_t>(padded * D), 0.0f);
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < n; ++t)
    for (int64_t k = 0; k < D; ++k) xf[t * D + k] = bf16_to_f32(x[t * D + k]);
  return xf;
}

// One entry's pooling in FP32 (§4.2), channels vectorized; m, num, den are per-thread [d] scratch.
void pool_cpu(const CompressParams& p, const float* a_prev, const float* z_prev, const float* a_cur, const float* z_cur,
              float* m, float* num, float* den, float* out) {
  const int64_t d = p.d, cd = p.cd(), r = p.ratio, off = p.overlap() ? d : 0;
  for (int64_t ch = 0; ch < d; ++ch) m[ch] = kNegInf, num[ch] = 0.0f, den[ch] = 0.0f;
  auto candidates = [&](auto&& fn) {
    if (p.overlap())
      for (int64_t i = 0; i < r; ++i) fn(a_prev + i * cd, z_prev + i * cd);
    for (int64_t i = 0; i < r; ++i) fn(a_cur + i * cd + off, z_cur + i * cd + off);
  };
  candidates([&](const float* a, const float* z) {
    (void)a;
#pragma omp simd
    for (int64_t ch = 0; ch < d; ++ch) m[ch] = z[ch] > m[ch] ? z[ch] : m[ch];
  });
  candidates([&](const float* a, const float* z) {
    for (int64_t ch = 0; ch < d; ++ch) {
      const float e = std::exp(z[ch] - m[ch]);  // −∞ (absent block) → 0; NaN propagates
      den[ch] += e;
      num[ch] += e * a[ch];
    }
  });
#pragma omp simd
  for (int64_t ch = 0; ch < d; ++ch) out[ch] = num[ch] / den[ch];
}

// pooled row → normed (BF16 → RMSNorm → BF16 → RoPE at j·r) → entries. `work` is [d] scratch.
void finish_cpu(const CompressParams& p, const RopeParams& rp, const RopeFreqs& fr, const float* normw,
                const float* pooled, int64_t j_abs, uint16_t* normed, uint16_t* entries, float* work) {
  const int64_t d = p.d;
  double ss = 0;
  for (int64_t i = 0; i < d; ++i) {
    work[i] = bf16_round(pooled[i]);
    ss += double(work[i]) * work[i];
  }
  const float rs = float(rms_scale<double>(ss, double(d), p.eps));
  for (int64_t i = 0; i < d; ++i) normed[i] = bf16_from_f32(work[i] * rs * normw[i]);
  const int64_t pos = j_abs * p.ratio, off = d - p.d_rope;
  for (int i = 0; i < int(p.d_rope / 2); ++i) {
    float c, s, yu, yv;
    if (rp.fp32_angles)
      rope_cos_sin<float>(pos, fr.f32[i], c, s);
    else
      rope_cos_sin<double>(pos, fr.f64[i], c, s);
    rope_rotate_pair<float>(bf16_to_f32(normed[off + 2 * i]), bf16_to_f32(normed[off + 2 * i + 1]), c, s, yu, yv);
    normed[off + 2 * i] = bf16_from_f32(yu);
    normed[off + 2 * i + 1] = bf16_from_f32(yv);
  }
  if (!p.quant) {
    std::memcpy(entries, normed, size_t(d) * 2);
  } else if (p.indexer) {
    kv_quant_sim_indexer(normed, int(d), work, entries);
  } else {
    kv_quant_sim_main(normed, int(d), int(p.d_rope), entries);
  }
}

RopeParams rope_of(const CompressParams& p) {
  RopeParams rp;
  rp.n_heads = 1, rp.d_head = std::max<int64_t>(p.d, 2), rp.d_rope = int(std::max<int64_t>(p.d_rope, 2));
  rp.theta = p.theta, rp.yarn_factor = p.yarn_factor, rp.yarn_orig_len = p.yarn_orig_len;
  rp.beta_fast = p.beta_fast, rp.beta_slow = p.beta_slow;
  return rp;
}

std::vector<float> norm_weight(const CompressParams& p, const uint16_t* norm) {
  std::vector<float> w(static_cast<size_t>(p.d));
  for (int64_t i = 0; i < p.d; ++i) w[i] = bf16_to_f32(norm[i]);
  return w;
}

}  // namespace

void compress_cpu(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o) {
  p.validate();
  const int64_t cd = p.cd(), r = p.ratio, ne = p.n_entries(), d = p.d;
  if (ne == 0) return;
  const int64_t T = ne * r;
  const std::vector<float> xf = widen_x(p, x, T);
  std::vector<float> a(static_cast<size_t>(T * cd)), z(static_cast<size_t>(T * cd));
  project_cpu(p, xf.data(), T, p.pos0, w, a.data(), z.data(), cd);
  const std::vector<float> empty_a(static_cast<size_t>(r * cd), 0.0f), empty_z(static_cast<size_t>(r * cd), kNegInf);
  const RopeParams rp = rope_of(p);
  const RopeFreqs fr(rp);
  const std::vector<float> nw = norm_weight(p, w.norm);
  std::vector<float> pooled_tmp(o.pooled ? 0 : size_t(ne * d));
  float* pooled = o.pooled ? o.pooled : pooled_tmp.data();
#pragma omp parallel
  {
    std::vector<float> m(static_cast<size_t>(d)), num(static_cast<size_t>(d)), den(static_cast<size_t>(d)), work(static_cast<size_t>(d));
#pragma omp for schedule(static)
    for (int64_t j = 0; j < ne; ++j) {
      const float* ap = j == 0 ? empty_a.data() : a.data() + (j - 1) * r * cd;
      const float* zp = j == 0 ? empty_z.data() : z.data() + (j - 1) * r * cd;
      pool_cpu(p, ap, zp, a.data() + j * r * cd, z.data() + j * r * cd, m.data(), num.data(), den.data(),
               pooled + j * d);
      finish_cpu(p, rp, fr, nw.data(), pooled + j * d, p.first_entry() + j, o.normed + j * d, o.entries + j * d,
                 work.data());
    }
  }
}

int64_t compress_step_cpu(const CompressParams& p, const uint16_t* x, const CompressWeights& w, CompressState s,
                          const CompressOut& o) {
  p.validate();
  const int64_t cd = p.cd(), r = p.ratio, d = p.d, cur0 = p.overlap() ? r : 0;
  const RopeParams rp = rope_of(p);
  const RopeFreqs fr(rp);
  const std::vector<float> nw = norm_weight(p, w.norm);
  std::vector<float> m(static_cast<size_t>(d)), num(static_cast<size_t>(d)), den(static_cast<size_t>(d)), work(static_cast<size_t>(d)), pooled(static_cast<size_t>(d));
  int64_t emitted = 0;
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const int64_t pos = p.pos0 + t, slot = cur0 + pos % r;
    const std::vector<float> xf = widen_x(p, x + t * p.d_model, 1);
    project_cpu(p, xf.data(), 1, pos, w, s.kv + slot * cd, s.score + slot * cd, cd);
    if ((pos + 1) % r != 0) continue;
    float* pr = o.pooled ? o.pooled + emitted * d : pooled.data();
    pool_cpu(p, s.kv, s.score, s.kv + cur0 * cd, s.score + cur0 * cd, m.data(), num.data(), den.data(), pr);
    finish_cpu(p, rp, fr, nw.data(), pr, (pos + 1) / r - 1, o.normed + emitted * d, o.entries + emitted * d,
               work.data());
    ++emitted;
    if (p.overlap()) {
      std::memcpy(s.kv, s.kv + cur0 * cd, size_t(r * cd) * 4);
      std::memcpy(s.score, s.score + cur0 * cd, size_t(r * cd) * 4);
    }
  }
  return emitted;
}

}  // namespace v4lab::kernels
