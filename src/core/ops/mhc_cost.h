// mhc_cost.h — exact FLOP, transcendental and byte formulas of the mHC ops (specs/mhc.md, "Cost").
// Pure functions of the shape, shared by the op catalogue (core/ops/mhc.cpp), the cost tests (T9)
// and the docs (docs/kernels/mhc.md). Per-token functions are per token per site; the op totals
// multiply by n_tokens and add the once-per-call parameter read W_fn.
#pragma once
#include <cstdint>

namespace v4lab {

struct MhcShape {
  int64_t n_tokens = 0;  // T: tokens in the step
  int hc = 4;            // n: residual streams
  int64_t d_model = 0;   // d: hidden size
  int iters = 20;        // I: Sinkhorn iterations
};

// Byte-accounting variants of the spec's Bytes table (rows in table order).
enum class MhcFusion {
  Production = 0,    // pre-GEMM+sumsq, split+Sinkhorn, pre-apply; post fused with the residual merge
  Unfused = 1,       // paper Table 2 accounting
  BigFused = 2,      // GEMM, norm, Sinkhorn and apply in one kernel; fused post
  PostPreFused = 3,  // post(s) fused with pre(s+1): lower bound
};
const char* mhc_fusion_name(MhcFusion f);  // "production", "unfused", "big_fused", "post_pre_fused"

constexpr int64_t mhc_m(int hc) { return int64_t(2 + hc) * hc; }  // m_hc = (2+n)·n

// ---- FLOPs per token per site (attention.md §0 convention) ----
// pre = pre-GEMM 2ndm + sumsq (2nd+2) + ×r/split (3n²+8n) + Sinkhorn n²(4I+3)+n(2I−1) + pre-apply 2nd.
constexpr double mhc_pre_flops_per_token(const MhcShape& s) {
  const double n = s.hc, d = double(s.d_model), m = double(mhc_m(s.hc)), I = s.iters;
  return 2 * n * d * m + (2 * n * d + 2) + (3 * n * n + 8 * n) + (n * n * (4 * I + 3) + n * (2 * I - 1)) + 2 * n * d;
}
// post = n·d·(2n+1): per output stream j and column, n multiply-adds (comb) plus post_j·F and its add.
constexpr double mhc_post_flops_per_token(const MhcShape& s) {
  const double n = s.hc, d = double(s.d_model);
  return n * d * (2 * n + 1);
}
// Site total d·(2nm + 2n² + 5n) + n²(4I+6) + n(2I+7) + 2; = 244·d + 1566 at n = 4, I = 20.
constexpr double mhc_site_flops_per_token(const MhcShape& s) {
  return mhc_pre_flops_per_token(s) + mhc_post_flops_per_token(s);
}
// hc_head: 2n²d + 4nd + 4n + 2 (GEMM with m = n, sumsq, apply, ×r/scale/+base/+eps).
constexpr double mhc_head_flops_per_token(const MhcShape& s) {
  const double n = s.hc, d = double(s.d_model);
  return 2 * n * n * d + 4 * n * d + 4 * n + 2;
}

// ---- Transcendentals per token per site ----
constexpr double mhc_pre_transcendentals_per_token(const MhcShape& s) {  // n² exp + 2n sigmoid + 1 rsqrt
  const double n = s.hc;
  return n * n + 2 * n + 1;
}
constexpr double mhc_site_transcendentals_per_token(const MhcShape& s) { return mhc_pre_transcendentals_per_token(s); }
constexpr double mhc_head_transcendentals_per_token(const MhcShape& s) { return s.hc + 1.0; }  // n sigmoid + rsqrt

// ---- Bytes per token per site: stream traffic (BF16 streams, y and F at 2 B/element) ----
// Split between the ops (d-element units, ×2 for bytes):
//   production:     pre reads 2nd (GEMM pass + apply pass) writes d;  post reads (n+1)d writes nd
//   unfused:        pre reads 2nd writes d;                           post reads (3n+1)d writes 3nd
//   big_fused:      pre reads nd writes d;                            post reads (n+1)d writes nd
//   post_pre_fused: pre reads 0 writes d;                             post reads (n+1)d writes nd
// The sums are the table's rows: (3n+1)d/(n+1)d, (5n+1)d/(3n+1)d, (2n+1)d/(n+1)d, (n+1)d/(n+1)d.
constexpr double mhc_pre_stream_bytes_per_token(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  const double n = s.hc, d = double(s.d_model);
  const double reads = f == MhcFusion::BigFused ? n * d : f == MhcFusion::PostPreFused ? 0.0 : 2 * n * d;
  return 2 * (reads + d);
}
constexpr double mhc_post_stream_bytes_per_token(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  const double n = s.hc, d = double(s.d_model);
  if (f == MhcFusion::Unfused) return 2 * ((3 * n + 1) * d + 3 * n * d);
  return 2 * ((n + 1) * d + n * d);
}
// Site total of stream bytes: 36·d at n = 4 on the production path (258,048 B for d = 7168).
constexpr double mhc_site_bytes_per_token(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  return mhc_pre_stream_bytes_per_token(s, f) + mhc_post_stream_bytes_per_token(s, f);
}

// Small FP32 terms (4 B each) of the Bytes table, per token per site. Reported separately and NOT in
// bytes_mem: the spec's per-token site figure (36·d, T9) leaves them out; they are 196 B at n = 4.
//   production: m+1 written (mixes, sumsq) by pre; n²+2n read (pre by the apply; post, comb by post)
//   unfused: n²+2n written and read; big_fused / post_pre_fused: none.
constexpr double mhc_site_small_bytes_per_token(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  const double n = s.hc, m = double(mhc_m(s.hc));
  if (f == MhcFusion::Production) return 4 * ((m + 1) + (n * n + 2 * n));
  if (f == MhcFusion::Unfused) return 4 * 2 * (n * n + 2 * n);
  return 0;
}

// Parameter bytes read once per call: W_fn = 4·m·n·d (FP32 fn); 384·d at n = 4.
constexpr double mhc_fn_bytes(const MhcShape& s) { return 4.0 * double(mhc_m(s.hc)) * s.hc * double(s.d_model); }
// hc_head: fn_h is [n, n·d] FP32 = 4·n²·d bytes.
constexpr double mhc_head_fn_bytes(const MhcShape& s) { return 4.0 * s.hc * s.hc * double(s.d_model); }
// hc_head per token: reads the n·d stream (2nd B) and writes y (2d B; the spec lists reads only).
constexpr double mhc_head_stream_bytes_per_token(const MhcShape& s) {
  return 2.0 * s.hc * double(s.d_model) + 2.0 * double(s.d_model);
}

// ---- Unconstrained HC (specs/mhc.md "Unconstrained HC"), per token per site ----
// Per stream i: sumsq 2d + mean/eps 2 (+1 rsqrt); n+2 projections θ·X_i (2d each, 2nd(n+2) in all,
// the spec's figure); ×r_i on the n+2 dots; per coefficient α·tanh(·) + b (2 FLOPs + 1 tanh) for the
// n² + 2n coefficients; pre-apply 2nd. Total d·(2n² + 8n) + 3n² + 8n.
constexpr double hc_pre_flops_per_token(const MhcShape& s) {
  const double n = s.hc, d = double(s.d_model);
  return n * (2 * d + 2) + 2 * n * d * (n + 2) + n * (n + 2) + 2 * (n * n + 2 * n) + 2 * n * d;
}
constexpr double hc_pre_transcendentals_per_token(const MhcShape& s) {  // n rsqrt + (n² + 2n) tanh
  const double n = s.hc;
  return n + n * n + 2 * n;
}
// Stream traffic: X read once (2nd B: the projections and the apply share one pass per token), y
// written (2d B). Parameters θ [(n+2), d] FP32 are read once per call.
constexpr double hc_pre_stream_bytes_per_token(const MhcShape& s) {
  return 2.0 * s.hc * double(s.d_model) + 2.0 * double(s.d_model);
}
constexpr double hc_theta_bytes(const MhcShape& s) { return 4.0 * (s.hc + 2) * double(s.d_model); }
constexpr double hc_pre_flops(const MhcShape& s) { return double(s.n_tokens) * hc_pre_flops_per_token(s); }
constexpr double hc_pre_bytes(const MhcShape& s) {
  return s.n_tokens > 0 ? double(s.n_tokens) * hc_pre_stream_bytes_per_token(s) + hc_theta_bytes(s) : 0.0;
}

// ---- Op totals (bytes_step = n_tokens·B_tok + W_fn; no tokens, no launch, no bytes) ----
constexpr double mhc_pre_flops(const MhcShape& s) { return double(s.n_tokens) * mhc_pre_flops_per_token(s); }
constexpr double mhc_post_flops(const MhcShape& s) { return double(s.n_tokens) * mhc_post_flops_per_token(s); }
constexpr double mhc_site_flops(const MhcShape& s) { return mhc_pre_flops(s) + mhc_post_flops(s); }
constexpr double mhc_head_flops(const MhcShape& s) { return double(s.n_tokens) * mhc_head_flops_per_token(s); }
constexpr double mhc_pre_bytes(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  return s.n_tokens > 0 ? double(s.n_tokens) * mhc_pre_stream_bytes_per_token(s, f) + mhc_fn_bytes(s) : 0.0;
}
constexpr double mhc_post_bytes(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  return double(s.n_tokens) * mhc_post_stream_bytes_per_token(s, f);
}
constexpr double mhc_site_bytes(const MhcShape& s, MhcFusion f = MhcFusion::Production) {
  return mhc_pre_bytes(s, f) + mhc_post_bytes(s, f);  // n_tokens·B_tok + W_fn
}
constexpr double mhc_head_bytes(const MhcShape& s) {
  return s.n_tokens > 0 ? double(s.n_tokens) * mhc_head_stream_bytes_per_token(s) + mhc_head_fn_bytes(s) : 0.0;
}

}  // namespace v4lab
