// moe_cpu.cpp — optimized host MoE kernels (_cpu): OpenMP threads, AVX2/FMA (scalar fallback),
// Eigen for prefill-shaped expert GEMMs (specs/moe.md "Kernel notes / CPU").
// Router: FP64 SIMD dot products rounded to FP32 (the same logits as _ref), then the shared per-token
// code. Experts: every touched expert's weights are streamed once; FP4/FP8/BF16 rows are decoded on
// the fly to FP32 (exact) and FMA'd against all of the expert's rows (decode shapes), or decoded per
// 64-row tile and multiplied with Eigen (≥ kEigenRows rows). Per-token results never depend on
// other tokens or on the thread count.
// GCC 12 reports a false -Wmaybe-uninitialized inside avx512fintrin.h when Eigen's AVX-512 GEMM
// kernels are instantiated; it is not in this file's code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/moe/moe.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define V4LAB_MOE_AVX2 1
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace v4lab::kernels {
namespace {

typedef double V4d __attribute__((vector_size(32)));

constexpr int64_t kEigenRows = 16;  // an expert with at least this many rows uses the tiled Eigen GEMM
constexpr int64_t kTileN = 64;      // output features per decoded tile (64·7168·4 B = 1.8 MB, in L2)

inline float ue8m0_fast(uint8_t b) { return b != 0 && b != 0xFF ? f32_from_bits(uint32_t(b) << 23) : ue8m0_to_f32(b); }

// ---------------------------------------------------------------------------------------------
// Weight row decoders: row n of expert e of an [E, out, in] stack -> in FP32 values (exact)
// ---------------------------------------------------------------------------------------------
void decode_fp4_row(const uint8_t* codes, const uint8_t* scales, int64_t in, float* dst) {
  for (int64_t b = 0; b < in / 32; ++b) {
    const float s = ue8m0_fast(scales[b]);
    const uint8_t* c = codes + b * 16;
    float* o = dst + b * 32;
#if defined(V4LAB_MOE_AVX2)
    if (scales[b] != 0xFF) {
      // e2m1 ×2 as int8 via a 16-entry byte shuffle (bit 3 = sign), interleaved low/high nibbles.
      const __m128i lut = _mm_setr_epi8(0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12);
      const __m128i m0f = _mm_set1_epi8(0x0F);
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c));
      const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(raw, m0f));
      const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(raw, 4), m0f));
      const __m128i e0 = _mm_unpacklo_epi8(lo, hi), e1 = _mm_unpackhi_epi8(lo, hi);
      const __m256 hs = _mm256_set1_ps(0.5f * s);
      _mm256_storeu_ps(o, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(e0)), hs));
      _mm256_storeu_ps(o + 8, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(e0, 8))), hs));
      _mm256_storeu_ps(o + 16, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(e1)), hs));
      _mm256_storeu_ps(o + 24, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(e1, 8))), hs));
      continue;
    }
#endif
    for (int j = 0; j < 16; ++j) {
      o[2 * j] = fp4_e2m1_to_f32(fp4_lo(c[j])) * s;
      o[2 * j + 1] = fp4_e2m1_to_f32(fp4_hi(c[j])) * s;
    }
  }
}

void decode_fp8_row(const uint8_t* codes, const uint8_t* scale_row, int64_t in, float* dst) {
  for (int64_t b0 = 0; b0 < in; b0 += 128) {
    const float s = ue8m0_fast(scale_row[b0 / 128]);
    const int64_t len = std::min<int64_t>(128, in - b0);
    int64_t c = 0;
#if defined(V4LAB_MOE_AVX2)
    // e4m3 magnitude bits placed at FP32 mantissa/exponent bit 20 read as 2^-120·value (normal and
    // subnormal codes alike), so one multiply by 2^120 restores it exactly; 0x7F/0xFF become NaN.
    const __m256 k2p120 = _mm256_set1_ps(0x1p120f), sv = _mm256_set1_ps(s);
    const __m256i m7f = _mm256_set1_epi32(0x7F), m80 = _mm256_set1_epi32(0x80);
    for (; c + 8 <= len; c += 8) {
      const __m256i q = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(codes + b0 + c)));
      const __m256i mag = _mm256_and_si256(q, m7f);
      const __m256i bits = _mm256_or_si256(_mm256_slli_epi32(mag, 20), _mm256_slli_epi32(_mm256_and_si256(q, m80), 24));
      __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_castsi256_ps(bits), k2p120), sv);
      const __m256 nan_mask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(mag, m7f));
      v = _mm256_blendv_ps(v, _mm256_set1_ps(NAN), nan_mask);
      _mm256_storeu_ps(dst + b0 + c, v);
    }
#endif
    for (; c < len; ++c) dst[b0 + c] = fp8_e4m3_to_f32(codes[b0 + c]) * s;
  }
}

void decode_bf16_row(const uint16_t* codes, int64_t in, float* dst) {
  for (int64_t c = 0; c < in; ++c) dst[c] = bf16_to_f32(codes[c]);
}

// Elements [c0, c0 + len) of row n (c0 and len multiples of 32 for FP4 and of 128, or the row end,
// for FP8: chunks never split a scale block).
void decode_range(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, int64_t n, int64_t c0,
                  int64_t len, float* dst) {
  const int64_t row = int64_t(e) * out + n;
  switch (dt) {
    case ExpertDtype::BF16:
      decode_bf16_row(static_cast<const uint16_t*>(w.codes) + row * in + c0, len, dst);
      break;
    case ExpertDtype::FP8: {
      const int64_t so = (out + 127) / 128, si = (in + 127) / 128;
      decode_fp8_row(static_cast<const uint8_t*>(w.codes) + row * in + c0,
                     w.scales + (int64_t(e) * so + n / 128) * si + c0 / 128, len, dst);
      break;
    }
    case ExpertDtype::FP4:
      decode_fp4_row(static_cast<const uint8_t*>(w.codes) + row * (in / 2) + c0 / 2,
                     w.scales + row * (in / 32) + c0 / 32, len, dst);
      break;
  }
}

// 8-lane FP32 vectors (one AVX2 register): 512-bit registers measured slower on the test machine.
typedef float V8 __attribute__((vector_size(32)));
inline V8 load8(const float* p) {
  V8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline float hsum8(V8 v) {  // fixed-order lane reduction
  float l[8];
  std::memcpy(l, &v, sizeof l);
  return ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]));
}

constexpr int64_t kKc = 512;  // K chunk: kNf decoded weight rows + the rows' activations stay in L1
constexpr int kNf = 4;        // output features per tile: each activation load feeds kNf FMAs

// Decode-shaped GEMM tile: OUT[r·ldo + n0 + f] for f < nf (≤ kNf) and every row r < m. K is walked in
// L1-sized chunks; per chunk the kNf weight rows are decoded once and serve all m rows, two rows at a
// time (8 independent FMA chains). Chunk partials are reduced in a fixed order and summed in FP32.
void small_m_tile(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, int64_t n0, int nf,
                  const float* A, int64_t m, float* OUT, int64_t ldo, float* wbuf) {
  for (int64_t r = 0; r < m; ++r)
    for (int f = 0; f < nf; ++f) OUT[r * ldo + n0 + f] = 0.0f;
  for (int64_t c0 = 0; c0 < in; c0 += kKc) {
    const int64_t kc = std::min(kKc, in - c0), kv = kc & ~int64_t(7);
    for (int f = 0; f < kNf; ++f) {
      if (f < nf) decode_range(w, dt, out, in, e, n0 + f, c0, kc, wbuf + f * kKc);
      else std::memset(wbuf + f * kKc, 0, sizeof(float) * size_t(kc));
    }
    for (int64_t r = 0; r < m; r += 2) {
      const bool two = r + 1 < m;
      const float* x0 = A + r * in + c0;
      const float* x1 = two ? x0 + in : x0;
      V8 a0[kNf] = {}, a1[kNf] = {};
      for (int64_t c = 0; c < kv; c += 8) {
        const V8 v0 = load8(x0 + c), v1 = load8(x1 + c);
        for (int f = 0; f < kNf; ++f) {
          const V8 wv = load8(wbuf + f * kKc + c);
          a0[f] += wv * v0;
          a1[f] += wv * v1;
        }
      }
      for (int f = 0; f < nf; ++f) {
        float s0 = hsum8(a0[f]), s1 = hsum8(a1[f]);
        for (int64_t c = kv; c < kc; ++c) s0 += wbuf[f * kKc + c] * x0[c], s1 += wbuf[f * kKc + c] * x1[c];
        OUT[r * ldo + n0 + f] += s0;
        if (two) OUT[(r + 1) * ldo + n0 + f] += s1;
      }
    }
  }
}

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// OUT[m, out] (row stride ldo) = A[m, in] · W_eᵀ, streaming W_e once. Small m: small_m_tile. Large m: per tile of kTileN output rows, decode to FP32 and run Eigen.
void expert_gemm(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, const float* A, int64_t m,
                 float* OUT, int64_t ldo) {
  if (m < kEigenRows) {
#if defined(_OPENMP)
#pragma omp parallel
#endif
    {
      std::vector<float> wbuf(static_cast<size_t>(kNf * kKc));
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
      for (int64_t n0 = 0; n0 < out; n0 += kNf)
        small_m_tile(w, dt, out, in, e, n0, int(std::min<int64_t>(kNf, out - n0)), A, m, OUT, ldo, wbuf.data());
    }
    return;
  }
  const int64_t tiles = (out + kTileN - 1) / kTileN;
  const Eigen::Map<const RowMat> Am(A, m, in);
#if defined(_OPENMP)
#pragma omp parallel
#endif
  {
    std::vector<float> wt(static_cast<size_t>(kTileN * in));
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (int64_t tI = 0; tI < tiles; ++tI) {
      const int64_t n0 = tI * kTileN, nt = std::min(kTileN, out - n0);
      for (int64_t n = 0; n < nt; ++n) decode_range(w, dt, out, in, e, n0 + n, 0, in, wt.data() + n * in);
      const Eigen::Map<const RowMat> Wm(wt.data(), nt, in);
      Eigen::Map<RowMat, 0, Eigen::OuterStride<>> Om(OUT + n0, m, nt, Eigen::OuterStride<>(ldo));
      Om.noalias() = Am * Wm.transpose();  // Eigen runs single-threaded inside the OpenMP region
    }
  }
}

// Activations into a GEMM: FP8 1×128 (dequantized) for quantized weights, FP32 for BF16 weights.
void quant_rows(const float* X, int64_t m, int64_t K, bool quantize, float* out) {
  if (!quantize) {
    std::memcpy(out, X, sizeof(float) * size_t(m * K));
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (m * K >= 65536)
#endif
  for (int64_t i = 0; i < m; ++i)
    for (int64_t c = 0; c < K; c += 128) moe_fp8_act_block(X + i * K + c, 128, out + i * K + c);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// moe_gate
// ---------------------------------------------------------------------------------------------
void moe_gate_cpu(const MoeParams& p, const uint16_t* x, const uint16_t* w_g, const float* bias,
                  const int32_t* token_ids, const int32_t* tid2eid, int32_t* topk_idx, float* topk_w, float* scores,
                  int32_t* flags) {
  p.validate(MoeOp::Gate);
  if (p.hash) moe_check_hash_inputs(p, token_ids, tid2eid);
  const int E = p.n_experts, k = p.top_k;
  const int64_t d = p.d_model, T = p.n_tokens;
  if (T == 0) return;
  constexpr int64_t kTok = 8;  // tokens per block: each W_g row converted once per block
  std::vector<float> z(size_t(T * E));
  const int64_t dv = d & ~int64_t(7);
  for (int64_t t0 = 0; t0 < T; t0 += kTok) {
    const int64_t nt = std::min(kTok, T - t0);
    std::vector<double> xd(size_t(nt * d));
    for (int64_t i = 0; i < nt * d; ++i) xd[size_t(i)] = bf16_to_f32(x[t0 * d + i]);
#if defined(_OPENMP)
#pragma omp parallel
#endif
    {
      std::vector<double> wd(static_cast<size_t>(d));
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
      for (int e = 0; e < E; ++e) {
        for (int64_t c = 0; c < d; ++c) wd[size_t(c)] = bf16_to_f32(w_g[int64_t(e) * d + c]);
        for (int64_t i = 0; i < nt; ++i) {  // FP64: the products of BF16 values are exact, sums nearly so
          const double* xr = xd.data() + i * d;
          V4d a0 = {}, a1 = {};
          for (int64_t c = 0; c < dv; c += 8) {
            V4d w0, w1, x0, x1;
            std::memcpy(&w0, wd.data() + c, 32), std::memcpy(&w1, wd.data() + c + 4, 32);
            std::memcpy(&x0, xr + c, 32), std::memcpy(&x1, xr + c + 4, 32);
            a0 += w0 * x0, a1 += w1 * x1;
          }
          const V4d a = a0 + a1;
          double acc = (a[0] + a[2]) + (a[1] + a[3]);
          for (int64_t c = dv; c < d; ++c) acc += wd[size_t(c)] * xr[c];
          z[size_t((t0 + i) * E + e)] = float(acc);
        }
      }
    }
  }
  const float* b = p.use_bias && !p.hash ? bias : nullptr;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (T >= 16)
#endif
  for (int64_t t = 0; t < T; ++t) {
    const int32_t* hash_row = p.hash ? tid2eid + int64_t(token_ids[t]) * k : nullptr;
    flags[t] = moe_gate_token(z.data() + t * E, E, k, p.scoring, b, p.n_group, p.topk_group, p.route_scale, hash_row,
                              scores + t * E, topk_idx + t * k, topk_w + t * k);
  }
}

// ---------------------------------------------------------------------------------------------
// moe_permute
// ---------------------------------------------------------------------------------------------
void moe_permute_cpu(const MoeParams& p, const int32_t* topk_idx, const uint16_t* x, int32_t* offsets,
                     int32_t* row_map, uint16_t* x_perm) {
  p.validate(MoeOp::Permute);
  moe_check_topk_idx(p, topk_idx, p.n_tokens, "topk_idx");
  const int E = p.n_experts, k = p.top_k;
  const int64_t d = p.d_model, R = p.rows();
  std::vector<int32_t> pos(size_t(E) + 1, 0);
  for (int64_t i = 0; i < R; ++i) ++pos[size_t(topk_idx[i]) + 1];
  for (int e = 0; e < E; ++e) pos[size_t(e) + 1] += pos[size_t(e)];
  std::memcpy(offsets, pos.data(), sizeof(int32_t) * (size_t(E) + 1));
  for (int64_t i = 0; i < R; ++i) row_map[pos[size_t(topk_idx[i])]++] = int32_t(i);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (R * d >= 65536)
#endif
  for (int64_t r = 0; r < R; ++r) std::memcpy(x_perm + r * d, x + (row_map[r] / k) * d, sizeof(uint16_t) * size_t(d));
}

// ---------------------------------------------------------------------------------------------
// moe_experts
// ---------------------------------------------------------------------------------------------
void moe_experts_cpu(const MoeParams& p, int64_t rows, const int32_t* offsets, const uint16_t* x_perm,
                     const float* w_perm, const MoeWeight& w1, const MoeWeight& w3, const MoeWeight& w2, float* y_e) {
  const int64_t d = p.d_model, f = p.d_expert;
  const ExpertDtype dt = p.expert_dtype;
  const bool q = dt != ExpertDtype::BF16;
  const int E = offsets ? p.n_experts : 1;
  std::vector<float> xf, xa, g, u, a;
  for (int e = 0; e < E; ++e) {
    const int64_t r0 = offsets ? offsets[e] : 0, r1 = offsets ? offsets[e + 1] : rows, m = r1 - r0;
    if (m <= 0) continue;  // untouched experts: weights never read
    xf.resize(size_t(m * d)), xa.resize(size_t(m * d));
    g.resize(size_t(m * f)), u.resize(size_t(m * f)), a.resize(size_t(m * f));
    for (int64_t i = 0; i < m * d; ++i) xf[size_t(i)] = bf16_to_f32(x_perm[r0 * d + i]);
    quant_rows(xf.data(), m, d, q, xa.data());  // x -> FP8 1×128 before W1/W3
    expert_gemm(w1, dt, f, d, e, xa.data(), m, g.data(), f);
    expert_gemm(w3, dt, f, d, e, xa.data(), m, u.data(), f);
    for (int64_t i = 0; i < m; ++i) {  // clamp + SwiGLU, routing weight before W2 (V4)
      const float wt = p.weight_before_down && w_perm ? w_perm[r0 + i] : 1.0f;
      for (int64_t c = 0; c < f; ++c) g[size_t(i * f + c)] = wt * swiglu_f32(g[size_t(i * f + c)], u[size_t(i * f + c)], p.limit);
    }
    quant_rows(g.data(), m, f, q, a.data());  // (w·)h -> FP8 1×128 before W2
    float* y = y_e + r0 * d;
    expert_gemm(w2, dt, d, f, e, a.data(), m, y, d);
    if (!p.weight_before_down && w_perm)  // V3: y_e = w·(W2·h)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t c = 0; c < d; ++c) y[i * d + c] *= w_perm[r0 + i];
  }
}

// ---------------------------------------------------------------------------------------------
// moe_combine: per token, FP32 sum over slots by ascending expert id, then y_s; one BF16 rounding
// ---------------------------------------------------------------------------------------------
void moe_combine_cpu(const MoeParams& p, const float* y_e, const int32_t* row_map, const int32_t* topk_idx,
                     const float* y_s, uint16_t* y) {
  p.validate(MoeOp::Combine);
  moe_check_topk_idx(p, topk_idx, p.n_tokens, "topk_idx");
  const int k = p.top_k;
  const int64_t d = p.d_model, R = p.rows(), T = p.n_tokens;
  std::vector<int64_t> inv(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) inv[size_t(row_map[r])] = r;
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (T * d >= 65536)
#endif
  for (int64_t t = 0; t < T; ++t) {
    int order[kMoeMaxTopK];
    for (int j = 0; j < k; ++j) {  // insertion sort by (expert id, slot): stable
      int pos = j;
      while (pos > 0 && topk_idx[t * k + order[pos - 1]] > topk_idx[t * k + j]) order[pos] = order[pos - 1], --pos;
      order[pos] = j;
    }
    const float* src[kMoeMaxTopK];
    for (int j = 0; j < k; ++j) src[j] = y_e + inv[size_t(t * k + order[j])] * d;
    const float* ys = y_s + t * d;
    uint16_t* yt = y + t * d;
    for (int64_t c = 0; c < d; ++c) {
      float acc = 0.0f;
      for (int j = 0; j < k; ++j) acc += src[j][c];
      yt[c] = bf16_from_f32(acc + ys[c]);
    }
  }
}

}  // namespace v4lab::kernels
