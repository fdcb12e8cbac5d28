// engram_cpu.cpp — optimized host Engram kernels (_cpu): OpenMP threads, SIMD via the compiler.
// specs/engram.md §3–§5. Hash: compressed ids once, Barrett reduction instead of a 64-bit divide.
// Gather: one flat loop over the T·R rows (decode steps with T = 1 still use every thread), software
// prefetch a few rows ahead (random rows miss every cache level), contiguous row copies/decodes.
// Gate: one pass per (token, branch) with three FP32 sums. Conv: RMS scales once, then the dilated
// taps vectorized over channels with a branch-free exp for the SiLU.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/engram/engram.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace v4lab::kernels {
namespace {

constexpr int kPrefetchRows = 8;          // rows in flight per thread: hides ~100 ns of DRAM latency
constexpr int64_t kMinParallel = 1 << 12; // below ~4K rows/elements of work one thread is faster

// e^x for the SiLU, branch-free so the channel loop vectorizes (libm expf does not here): x clamped to
// [−87, 88], x = n·ln2 + r (Cody–Waite split), e^r by a degree-6 Taylor/Horner polynomial on
// |r| ≤ ln2/2 (relative error ≈ 2e-7), times 2^n built in the exponent bits.
inline float exp_fast(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;  // round to nearest (|x·log2e| < 2^22)
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  return p * f32_from_bits(uint32_t(int32_t(n) + 127) << 23);
}

struct Fp8Lut {
  float v[256];
  Fp8Lut() {
    for (int c = 0; c < 256; ++c) v[c] = fp8_e4m3_to_f32(uint8_t(c));
  }
};
const Fp8Lut& fp8_lut() {
  static const Fp8Lut lut;
  return lut;
}

inline void prefetch_row(const uint8_t* row, int64_t bytes) {
  for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b, 0, 0);
}

// One stored row → out (D values in format `of`). Exact in every combination (same ops as _ref).
inline void decode_row(EngramRowFormat f, int64_t D, const uint8_t* row, EngramOutFormat of, void* out) {
  if (f == EngramRowFormat::F32 && of == EngramOutFormat::F32) {
    std::memcpy(out, row, size_t(4 * D));
  } else if (f == EngramRowFormat::BF16 && of == EngramOutFormat::BF16) {
    std::memcpy(out, row, size_t(2 * D));
  } else if (f == EngramRowFormat::F32) {  // → BF16
    float tmp[64];
    uint16_t* o = static_cast<uint16_t*>(out);
    for (int64_t i0 = 0; i0 < D; i0 += 64) {
      const int64_t len = std::min<int64_t>(64, D - i0);
      std::memcpy(tmp, row + 4 * i0, size_t(4 * len));
      for (int64_t i = 0; i < len; ++i) o[i0 + i] = bf16_from_f32(tmp[i]);
    }
  } else if (f == EngramRowFormat::BF16) {  // → F32
    float* o = static_cast<float*>(out);
    for (int64_t i = 0; i < D; ++i) {
      uint16_t h;
      std::memcpy(&h, row + 2 * i, 2);
      o[i] = bf16_to_f32(h);
    }
  } else {  // FP8 codes × UE8M0 per 32
    const float* lut = fp8_lut().v;
    const uint8_t* scales = row + D;
    for (int64_t b = 0; b < D / 32; ++b) {
      const float s = ue8m0_to_f32(scales[b]);
      const uint8_t* c = row + 32 * b;
      if (of == EngramOutFormat::F32) {
        float* o = static_cast<float*>(out) + 32 * b;
        for (int i = 0; i < 32; ++i) o[i] = lut[c[i]] * s;
      } else {
        uint16_t* o = static_cast<uint16_t*>(out) + 32 * b;
        for (int i = 0; i < 32; ++i) o[i] = bf16_from_f32(lut[c[i]] * s);
      }
    }
  }
}

}  // namespace

void engram_hash_cpu(const EngramHashParams& p, const int32_t* token_ids, const int32_t* context,
                     const int32_t* canonical_map, const uint64_t* mult, const uint64_t* primes, uint32_t* row_ids,
                     uint64_t* offsets, uint64_t* mixes) {
  p.validate();
  const int N = p.max_ngram, R = p.rows_per_token(), H = N - 1;
  const int64_t T = p.n_tokens, V = p.raw_vocab;
  uint64_t acc = 0, inv[8 * 64];
  for (int j = 0; j < R; ++j) offsets[j] = acc, acc += primes[j], inv[j] = engram_mod_inverse(primes[j]);
  if (acc > uint64_t(UINT32_MAX) + 1)
    throw config_error("engram_hash: table of " + std::to_string(acc) + " rows does not fit u32 row ids");
  auto fail = [&](int32_t raw, int64_t pos) {
    throw config_error("engram_hash: raw id " + std::to_string(raw) + " at position " + std::to_string(pos) +
                       " >= raw_vocab = " + std::to_string(V));
  };
  for (int i = 0; i < H; ++i)
    if (context[i] >= V) fail(context[i], i - H);
  const uint32_t pad = uint32_t(canonical_map[p.pad_id]);
  // Raw id → compressed id; masked (< 0) and invalid (≥ V, reported below) ids read as pad.
  auto compress = [&](int32_t r) { return r < 0 || r >= V ? pad : uint32_t(canonical_map[r]); };
  int64_t bad = T;
  // One parallel region (oversubscribed shared cores make every extra barrier expensive).
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) reduction(min : bad) if (T >= kMinParallel / 4)
#endif
  for (int64_t t = 0; t < T; ++t) {
    if (token_ids[t] >= V && t < bad) bad = t;
    uint64_t x[kEngramMaxNgram] = {}, mix[kEngramMaxNgram] = {};
    for (int j = 0; j < N; ++j) x[j] = compress(t - j >= 0 ? token_ids[t - j] : context[H + t - j]);
    engram_mix(x, mult, N, mix);
    for (int n = 0; n < H; ++n) {
      mixes[t * H + n] = mix[n];
      for (int k = 0; k < p.heads; ++k) {
        const int j = n * p.heads + k;
        row_ids[t * R + j] = uint32_t(offsets[j] + engram_mod(mix[n], primes[j], inv[j]));
      }
    }
  }
  if (bad < T) fail(token_ids[bad], bad);
}

void engram_stage_rows_cpu(const void* table, int64_t row_bytes, const uint32_t* ids, int64_t n, void* staging) {
  const uint8_t* tb = static_cast<const uint8_t*>(table);
  uint8_t* dst = static_cast<uint8_t*>(staging);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kMinParallel)
#endif
  for (int64_t f = 0; f < n; ++f) {
    if (f + kPrefetchRows < n) prefetch_row(tb + int64_t(ids[f + kPrefetchRows]) * row_bytes, row_bytes);
    std::memcpy(dst + f * row_bytes, tb + int64_t(ids[f]) * row_bytes, size_t(row_bytes));
  }
}

void engram_decode_rows_cpu(EngramRowFormat f, int64_t D, const void* rows, int64_t n, EngramOutFormat of,
                            void* out) {
  const int64_t rb = engram_row_bytes(f, D), ob = of == EngramOutFormat::F32 ? 4 * D : 2 * D;
  const uint8_t* src = static_cast<const uint8_t*>(rows);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (n >= kMinParallel)
#endif
  for (int64_t i = 0; i < n; ++i) decode_row(f, D, src + i * rb, of, static_cast<uint8_t*>(out) + i * ob);
}

void engram_gather_cpu(const EngramGatherParams& p, const void* table, const uint32_t* row_ids, void* out) {
  p.validate();
  const int64_t n = p.n_tokens * p.rows_per_token, D = p.head_dim, rb = p.row_bytes();
  const int64_t ob = p.out_format == EngramOutFormat::F32 ? 4 * D : 2 * D;
  const uint8_t* tb = static_cast<const uint8_t*>(table);
  uint8_t* o = static_cast<uint8_t*>(out);
  (void)fp8_lut();  // built once, before the threads start
  int64_t bad = n;  // checked in the same pass (one parallel region); a bad id's row is zero-filled
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) reduction(min : bad) if (n * D >= kMinParallel * 16)
#endif
  for (int64_t f = 0; f < n; ++f) {
    if (f + kPrefetchRows < n) {
      const uint32_t next = row_ids[f + kPrefetchRows];
      if (int64_t(next) < p.table_rows) prefetch_row(tb + int64_t(next) * rb, rb);
    }
    const uint32_t id = row_ids[f];
    if (int64_t(id) >= p.table_rows) {
      if (f < bad) bad = f;
      std::memset(o + f * ob, 0, size_t(ob));
      continue;
    }
    decode_row(p.row_format, D, tb + int64_t(id) * rb, p.out_format, o + f * ob);
  }
  if (bad < n)
    throw config_error("engram_gather: row id " + std::to_string(row_ids[bad]) + " (token " +
                       std::to_string(bad / p.rows_per_token) + ", slot " + std::to_string(bad % p.rows_per_token) +
                       ") >= table_rows = " + std::to_string(p.table_rows));
}

void engram_gate_cpu(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                     const float* q_norm_w, const float* k_norm_w, float* score, float* alpha, float* v_gated) {
  p.validate();
  const int64_t d = p.d_model, M = p.hc, T = p.n_tokens;
  const float inv_d = 1.0f / float(d), inv_sqrt_d = float(1.0 / std::sqrt(double(d)));
  const float eps = float(p.gate_norm_eps);
#if defined(_OPENMP)
#pragma omp parallel for schedule(static) if (T * M * d >= kMinParallel * 16)
#endif
  for (int64_t tm = 0; tm < T * M; ++tm) {
    const int64_t t = tm / M, m = tm % M, base = tm * d;
    const uint16_t* hq = h + base;
    const float* kk = key + base;
    const float* wq = q_norm_w + m * d;
    const float* wk = k_norm_w + m * d;
    float sq = 0, sk = 0, dot = 0;
#pragma omp simd reduction(+ : sq, sk, dot)
    for (int64_t i = 0; i < d; ++i) {
      const float q = bf16_to_f32(hq[i]), k = kk[i];
      sq += q * q;
      sk += k * k;
      dot += (q * wq[i]) * (k * wk[i]);
    }
    const float rq = 1.0f / std::sqrt(sq * inv_d + eps), rk = 1.0f / std::sqrt(sk * inv_d + eps);
    const float s = dot * rq * rk * inv_sqrt_d;
    const float a = engram_alpha_store(engram_sigmoid(engram_signed_sqrt(s, p.sign_zero)));
    score[tm] = s;
    alpha[tm] = a;
    const float* v = value + t * d;
    float* out = v_gated + base;
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) out[i] = a * v[i];
  }
}

void engram_conv_cpu(const EngramConvParams& p, const float* vg, const float* norm_w, const float* conv_w,
                     const float* state, float* y, float* state_out) {
  p.validate();
  const int64_t T = p.n_tokens, d = p.d_model, C = p.channels(), L = p.history(), M = p.hc;
  const int w = p.conv_kernel, dl = p.conv_dilation;
  // Only the T·M RMS scales are materialized (x̂ = Ṽ·r·w_norm is recomputed per tap: a full x̂ buffer
  // would cost a fresh T·M·d allocation and its page faults on every call).
  std::vector<float> r(static_cast<size_t>(T * M));
  std::vector<float> wt(static_cast<size_t>(w * C));  // taps transposed to [w, C]: unit stride in c
  for (int64_t c = 0; c < C; ++c)
    for (int j = 0; j < w; ++j) wt[size_t(j * C + c)] = conv_w[c * w + j];
  const float inv_d = 1.0f / float(d), eps = float(p.conv_norm_eps);
#if defined(_OPENMP)
#pragma omp parallel if (T * C >= kMinParallel * 16)
#endif
  {
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (int64_t tm = 0; tm < T * M; ++tm) {
      const float* x = vg + tm * d;
      float ss = 0;
#pragma omp simd reduction(+ : ss)
      for (int64_t i = 0; i < d; ++i) ss += x[i] * x[i];
      r[size_t(tm)] = 1.0f / std::sqrt(ss * inv_d + eps);
    }
#if defined(_OPENMP)
#pragma omp for schedule(static)
#endif
    for (int64_t tm = 0; tm < T * M; ++tm) {
      const int64_t t = tm / M, m = tm % M;
      const float* nw = norm_w + m * d;
      constexpr int64_t kBlk = 256;
      float acc[kBlk];
      for (int64_t i0 = 0; i0 < d; i0 += kBlk) {
        const int64_t len = std::min(kBlk, d - i0), c0 = m * d + i0;
        for (int64_t i = 0; i < len; ++i) acc[i] = 0.0f;
        for (int j = 0; j < w; ++j) {  // tap w−1−j reads x̂_{t−jδ}
          const int64_t pos = t - int64_t(j) * dl;
          const float* wr = wt.data() + int64_t(w - 1 - j) * C + c0;
          if (pos >= 0) {
            const float* xr = vg + pos * C + c0;
            const float rr = r[size_t(pos * M + m)];
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) acc[i] += wr[i] * (xr[i] * rr * nw[i0 + i]);
          } else {
            const float* sr = state + (L + pos) * C + c0;
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) acc[i] += wr[i] * sr[i];
          }
        }
        float* yt = y + t * C + c0;
        const float* res = vg + t * C + c0;
        if (p.add_residual) {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) yt[i] = acc[i] / (1.0f + exp_fast(-acc[i])) + res[i];
        } else {
#pragma omp simd
          for (int64_t i = 0; i < len; ++i) yt[i] = acc[i] / (1.0f + exp_fast(-acc[i]));
        }
      }
    }
  }
  for (int64_t i = 0; i < L * C; ++i) {  // state_out = x̂ at positions T−L..T−1
    const int64_t pos = T - L + i / C, c = i % C, m = c / d;
    state_out[i] = pos < 0 ? state[(L + pos) * C + c] : vg[pos * C + c] * r[size_t(pos * M + m)] * norm_w[c];
  }
}

}  // namespace v4lab::kernels
