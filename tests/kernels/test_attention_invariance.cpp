// test_attention_invariance.cpp — specs/attention.md §4.9 "HCA with ratio 1": with no overlap and a
// ratio of 1 the compressor's pooling is the identity (a softmax over one candidate is exactly 1), so
// its entries are the normed, RoPE'd keys of every token; attending all visible entries with the
// window disabled is then dense causal attention with the sink over those keys. Checked against an
// explicit FP64 dense attention written here, for both host backends of the compressor and attention.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "core/numerics.h"
#include "core/rng.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/sparse_attn.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

std::vector<uint16_t> bf16_normal(Rng& rng, size_t n, double sd) {
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = bf16_from_f32(float(sd * rng.normal()));
  return v;
}

}  // namespace

TEST_CASE("HCA with ratio 1 and identity pooling equals dense causal attention with sink on the normed keys",
          "[attention][ref][cpu]") {
  const int64_t T = 11, D = 32, d = 64, H = 3;
  Rng rng(0x4ca1);
  CompressParams cp;
  cp.n_tokens = T, cp.d_model = D, cp.ratio = 1, cp.d = d, cp.d_rope = 16, cp.quant = false;
  const auto x = bf16_normal(rng, size_t(T * D), 1.0);
  const auto w_kv = bf16_normal(rng, size_t(d * D), 1.0 / std::sqrt(double(D)));
  const auto w_gate = bf16_normal(rng, size_t(d * D), 1.0);  // any gate: one candidate gets weight 1
  std::vector<float> ape(static_cast<size_t>(d));
  for (auto& a : ape) a = float(rng.normal());
  std::vector<uint16_t> norm(static_cast<size_t>(d));
  for (auto& n : norm) n = bf16_from_f32(float(0.5 + rng.uniform()));
  const CompressWeights w{w_kv.data(), w_gate.data(), ape.data(), norm.data()};

  for (auto compress : {compress_ref, compress_cpu}) {
    std::vector<uint16_t> entries(static_cast<size_t>(T * d)), normed(static_cast<size_t>(T * d));
    std::vector<float> pooled(static_cast<size_t>(T * d));
    compress(cp, x.data(), w, CompressOut{entries.data(), normed.data(), pooled.data()});
    // Identity pooling: C_j = a_j = W_kv·x_j (FP32 dots: within the FP32 summation bound of FP64).
    for (int64_t j = 0; j < T; ++j)
      for (int64_t c = 0; c < d; ++c) {
        double a = 0, mag = 0;
        for (int64_t k = 0; k < D; ++k) {
          const double t = double(bf16_to_f32(w_kv[size_t(c * D + k)])) * bf16_to_f32(x[size_t(j * D + k)]);
          a += t, mag += std::fabs(t);
        }
        CHECK(std::fabs(pooled[size_t(j * d + c)] - a) <= 1e-6 * mag + 1e-30);
      }

    // Attention over the compressed entries only (window disabled): entry j visible to query t iff
    // (j + 1)·1 <= t + 1, i.e. j <= t — all of them selected (HCA). d_rope = 0: no inverse RoPE, so the
    // FP64 dense attention below is the whole reference.
    SparseAttnParams ap;
    ap.n_q = T, ap.n_heads = H, ap.d_head = d, ap.d_rope = 0, ap.n_kv = 0, ap.n_cmp = T, ap.n_win = 0, ap.n_sel = T;
    ap.p_bf16 = false;
    const auto q = bf16_normal(rng, size_t(T * H * d), 1.0);
    std::vector<float> sink(static_cast<size_t>(H));
    for (auto& z : sink) z = float(rng.normal());
    std::vector<int32_t> sel(size_t(T * T), -1), pos(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) {
      pos[size_t(t)] = int32_t(t);
      for (int64_t j = 0; j <= t; ++j) sel[size_t(t * T + j)] = int32_t(j);
    }
    for (auto attend : {sparse_attn_ref, sparse_attn_cpu}) {
      std::vector<uint16_t> o(static_cast<size_t>(T * H * d));
      std::vector<float> lse(static_cast<size_t>(T * H));
      attend(ap, q.data(), nullptr, normed.data(), nullptr, sel.data(), sink.data(), pos.data(), o.data(), lse.data(),
             nullptr);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t h = 0; h < H; ++h) {
          const uint16_t* qv = q.data() + (t * H + h) * d;
          std::vector<double> l(static_cast<size_t>(t + 1));
          double M = sink[size_t(h)];
          for (int64_t j = 0; j <= t; ++j) {
            double s = 0;
            for (int64_t c = 0; c < d; ++c) s += double(bf16_to_f32(qv[c])) * bf16_to_f32(normed[size_t(j * d + c)]);
            l[size_t(j)] = s / std::sqrt(double(d));
            M = std::max(M, l[size_t(j)]);
          }
          double den = std::exp(double(sink[size_t(h)]) - M);
          for (double v : l) den += std::exp(v - M);
          for (int64_t c = 0; c < d; ++c) {
            double num = 0, mag = 0;
            for (int64_t j = 0; j <= t; ++j) {
              const double term = std::exp(l[size_t(j)] - M) * bf16_to_f32(normed[size_t(j * d + c)]);
              num += term, mag += std::fabs(term);
            }
            const double want = num / den, got = bf16_to_f32(o[size_t((t * H + h) * d + c)]);
            INFO("t " << t << " h " << h << " c " << c);
            // BF16 output: 1 ulp of the FP64 value, or the FP32 accumulation bound where it cancels.
            CHECK(std::fabs(got - want) <= std::fabs(want) / 128 + 1e-5 * mag / den + 1e-30);
          }
        }
    }
  }
}
