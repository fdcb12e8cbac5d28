// engram_ref.cpp — the Engram reference kernels (_ref, the specification): scalar loops, FP64
// accumulation, no threads. specs/engram.md §3 (hash), §4 (gather), §5 (gate and conv); the
// per-element math is the shared V4LAB_HD code of engram.h. Also the params' validate().
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/engram/engram.h"

namespace v4lab::kernels {
namespace {

void need(bool ok, const char* op, const std::string& msg) {
  if (!ok) throw config_error(std::string(op) + ": " + msg);
}

}  // namespace

const char* engram_row_format_name(EngramRowFormat f) {
  switch (f) {
    case EngramRowFormat::F32:
      return "f32";
    case EngramRowFormat::BF16:
      return "bf16";
    case EngramRowFormat::FP8:
      return "fp8_e4m3_ue8m0_32";
  }
  return "?";
}

int64_t engram_row_bytes(EngramRowFormat f, int64_t d) {
  switch (f) {
    case EngramRowFormat::F32:
      return 4 * d;
    case EngramRowFormat::BF16:
      return 2 * d;
    case EngramRowFormat::FP8:
      return d + d / 32;
  }
  return 0;
}

void EngramHashParams::validate() const {
  need(n_tokens >= 0, "engram_hash", "n_tokens must be >= 0");
  need(max_ngram >= 2 && max_ngram <= kEngramMaxNgram, "engram_hash",
       "max_ngram must be in 2..8, got " + std::to_string(max_ngram));
  need(heads >= 1 && heads <= 64, "engram_hash", "heads must be in 1..64, got " + std::to_string(heads));
  need(raw_vocab >= 1 && raw_vocab <= INT32_MAX, "engram_hash", "raw_vocab must be in 1..2^31-1");
  need(pad_id >= 0 && pad_id < raw_vocab, "engram_hash",
       "pad_id " + std::to_string(pad_id) + " must be in [0, raw_vocab = " + std::to_string(raw_vocab) + ")");
}

void EngramGatherParams::validate() const {
  need(n_tokens >= 0, "engram_gather", "n_tokens must be >= 0");
  need(rows_per_token >= 1, "engram_gather", "rows_per_token must be >= 1");
  need(head_dim >= 1, "engram_gather", "head_dim must be >= 1");
  need(table_rows >= 1 && table_rows <= int64_t(UINT32_MAX) + 1, "engram_gather",
       "table_rows must be in 1..2^32 (row ids are u32), got " + std::to_string(table_rows));
  need(row_format != EngramRowFormat::FP8 || head_dim % 32 == 0, "engram_gather",
       "FP8 rows need head_dim a multiple of 32 (one UE8M0 scale per 32), got " + std::to_string(head_dim));
}

void EngramGateParams::validate() const {
  need(n_tokens >= 0, "engram_gate", "n_tokens must be >= 0");
  need(hc >= 1 && hc <= 16, "engram_gate", "hc must be in 1..16");
  need(d_model >= 1, "engram_gate", "d_model must be >= 1");
  need(gate_norm_eps >= 0, "engram_gate", "gate_norm_eps must be >= 0");
}

void EngramConvParams::validate() const {
  need(n_tokens >= 0, "engram_conv", "n_tokens must be >= 0");
  need(hc >= 1 && hc <= 16, "engram_conv", "hc must be in 1..16");
  need(d_model >= 1, "engram_conv", "d_model must be >= 1");
  need(conv_kernel >= 1 && conv_kernel <= 16, "engram_conv", "conv_kernel must be in 1..16");
  need(conv_dilation >= 1 && conv_dilation <= 64, "engram_conv", "conv_dilation must be in 1..64");
  need(conv_norm_eps >= 0, "engram_conv", "conv_norm_eps must be >= 0");
}

// §3: compressed window → mixes → z = mix mod p (plain %, the definition) → global row.
void engram_hash_ref(const EngramHashParams& p, const int32_t* token_ids, const int32_t* context,
                     const int32_t* canonical_map, const uint64_t* mult, const uint64_t* primes, uint32_t* row_ids,
                     uint64_t* offsets, uint64_t* mixes) {
  p.validate();
  const int N = p.max_ngram, R = p.rows_per_token();
  uint64_t acc = 0;
  for (int j = 0; j < R; ++j) offsets[j] = acc, acc += primes[j];
  if (acc > uint64_t(UINT32_MAX) + 1)
    throw config_error("engram_hash: table of " + std::to_string(acc) + " rows does not fit u32 row ids");
  const uint64_t pad = uint64_t(canonical_map[p.pad_id]);
  auto compress = [&](int32_t raw, int64_t pos) -> uint64_t {
    if (raw < 0) return pad;  // masked / non-text positions hash as pad
    if (raw >= p.raw_vocab)
      throw config_error("engram_hash: raw id " + std::to_string(raw) + " at position " + std::to_string(pos) +
                         " >= raw_vocab = " + std::to_string(p.raw_vocab));
    return uint64_t(canonical_map[raw]);
  };
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    uint64_t x[kEngramMaxNgram] = {};
    for (int j = 0; j < N; ++j) {
      const int64_t pos = t - j;
      x[j] = pos >= 0 ? compress(token_ids[pos], pos) : compress(context[N - 1 + pos], pos);
    }
    uint64_t mix[kEngramMaxNgram] = {};
    engram_mix(x, mult, N, mix);
    for (int n = 2; n <= N; ++n) {
      mixes[t * (N - 1) + (n - 2)] = mix[n - 2];
      for (int k = 0; k < p.heads; ++k) {
        const int j = (n - 2) * p.heads + k;
        row_ids[t * R + j] = uint32_t(offsets[j] + mix[n - 2] % primes[j]);
      }
    }
  }
}

// §4: e_t = concat_j row(id[t, j]); element by element through the shared decode.
void engram_gather_ref(const EngramGatherParams& p, const void* table, const uint32_t* row_ids, void* out) {
  p.validate();
  const int64_t R = p.rows_per_token, D = p.head_dim, rb = p.row_bytes();
  const uint8_t* tb = static_cast<const uint8_t*>(table);
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int64_t j = 0; j < R; ++j) {
      const uint32_t id = row_ids[t * R + j];
      if (int64_t(id) >= p.table_rows)
        throw config_error("engram_gather: row id " + std::to_string(id) + " (token " + std::to_string(t) + ", slot " +
                           std::to_string(j) + ") >= table_rows = " + std::to_string(p.table_rows));
      const uint8_t* row = tb + int64_t(id) * rb;
      for (int64_t i = 0; i < D; ++i) {
        const double v = engram_row_value(p.row_format, row, D, i);
        const int64_t o = (t * R + j) * D + i;
        if (p.out_format == EngramOutFormat::F32)
          static_cast<float*>(out)[o] = float(v);
        else
          static_cast<uint16_t*>(out)[o] = bf16_from_f32(float(v));
      }
    }
}

// §5 steps 1–4 in FP64: q̂ = RMSNorm(h)·w_q, k̂ = RMSNorm(k)·w_k, s = ⟨q̂, k̂⟩/√d, α = σ(s′), ṽ = α·v.
void engram_gate_ref(const EngramGateParams& p, const uint16_t* h, const float* key, const float* value,
                     const float* q_norm_w, const float* k_norm_w, float* score, float* alpha, float* v_gated) {
  p.validate();
  const int64_t d = p.d_model;
  std::vector<double> q(d), k(d);
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int m = 0; m < p.hc; ++m) {
      const int64_t base = (t * p.hc + m) * d;
      double sq = 0, sk = 0;
      for (int64_t i = 0; i < d; ++i) {
        q[i] = bf16_to_f32(h[base + i]);
        k[i] = key[base + i];
        sq += q[i] * q[i];
        sk += k[i] * k[i];
      }
      const double rq = 1.0 / std::sqrt(sq / double(d) + p.gate_norm_eps);
      const double rk = 1.0 / std::sqrt(sk / double(d) + p.gate_norm_eps);
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += (q[i] * rq * q_norm_w[m * d + i]) * (k[i] * rk * k_norm_w[m * d + i]);
      const double s = dot / std::sqrt(double(d));
      const double a = engram_sigmoid(engram_signed_sqrt(s, p.sign_zero));
      score[t * p.hc + m] = float(s);
      const float af = engram_alpha_store(a);
      alpha[t * p.hc + m] = af;
      for (int64_t i = 0; i < d; ++i) v_gated[base + i] = float(double(af) * value[t * d + i]);
    }
}

// §5 conv: per-branch RMSNorm in FP64, causal dilated depthwise taps (PyTorch left-pad alignment),
// SiLU, residual outside the SiLU.
void engram_conv_ref(const EngramConvParams& p, const float* vg, const float* norm_w, const float* conv_w,
                     const float* state, float* y, float* state_out) {
  p.validate();
  const int64_t T = p.n_tokens, d = p.d_model, C = p.channels(), L = p.history();
  const int w = p.conv_kernel, dl = p.conv_dilation;
  std::vector<double> xn(size_t((T + L) * C));  // normalized positions −L..T−1
  for (int64_t i = 0; i < L * C; ++i) xn[size_t(i)] = state[i];
  for (int64_t t = 0; t < T; ++t)
    for (int m = 0; m < p.hc; ++m) {
      const float* x = vg + t * C + m * d;
      double ss = 0;
      for (int64_t i = 0; i < d; ++i) ss += double(x[i]) * x[i];
      const double r = 1.0 / std::sqrt(ss / double(d) + p.conv_norm_eps);
      for (int64_t i = 0; i < d; ++i) xn[size_t((L + t) * C + m * d + i)] = x[i] * r * norm_w[m * d + i];
    }
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = 0;
      for (int j = 0; j < w; ++j) {
        const int64_t pos = t - int64_t(j) * dl;  // tap w−1−j sees x_{t−jδ}; zeros before −L
        if (pos < -L) continue;
        acc += double(conv_w[c * w + (w - 1 - j)]) * xn[size_t((L + pos) * C + c)];
      }
      const double out = engram_silu(acc) + (p.add_residual ? double(vg[t * C + c]) : 0.0);
      y[t * C + c] = float(out);
    }
  for (int64_t i = 0; i < L * C; ++i) state_out[i] = float(xn[size_t(T * C + i)]);
}

}  // namespace v4lab::kernels
