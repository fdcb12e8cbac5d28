// dsa_indexer_cpu.cpp — threaded FP32 DSA lightning indexer (specs/attention.md §3 kernel notes): the
// MQA-logits GEMM [4 queries·idx_heads, idx_dim] × [256 keys, idx_dim]ᵀ per tile (Eigen), with the
// ReLU·w head-sum epilogue fused; tiles above the causal bound are skipped. Keys are decoded from
// FP8 once per call; e4m3 products are exact in FP32, so only the sums round.
// GCC 12 flags Eigen's AVX-512 float GEMM packing (a `__m512 x = x` idiom in avx512fintrin.h) as
// maybe-uninitialized at our instantiation points; a known false positive, silenced for this file.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/attention/dsa_indexer.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {
namespace {
using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
constexpr int64_t kQTile = 4, kKTile = 256;
}  // namespace

void dsa_indexer_cpu(const DsaIndexerParams& p, const uint8_t* q_codes, const uint8_t* q_scale, const uint8_t* k_codes,
                     const uint8_t* k_scale, const float* w, const int32_t* pos, float* scores) {
  p.validate();
  const int64_t H = p.idx_heads, D = p.idx_dim, N = p.n_ctx;
  if (p.n_q == 0) return;
  std::vector<float> kf(static_cast<size_t>(N * D)), ks(static_cast<size_t>(N));
  float lut[256];
  for (int c = 0; c < 256; ++c) lut[c] = fp8_e4m3_to_f32(uint8_t(c));
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < N; ++s) {
    for (int64_t c = 0; c < D; ++c) kf[size_t(s * D + c)] = lut[k_codes[s * D + c]];
    ks[size_t(s)] = ue8m0_to_f32(k_scale[s]);
  }
  // Tile list (query block, key block) up to each block's causal bound.
  std::vector<std::pair<int64_t, int64_t>> tiles;
  for (int64_t q0 = 0; q0 < p.n_q; q0 += kQTile) {
    const int64_t q1 = std::min(p.n_q, q0 + kQTile);
    int64_t last = -1;
    for (int64_t i = q0; i < q1; ++i) last = std::max<int64_t>(last, std::min<int64_t>(pos[i], N - 1));
    for (int64_t k0 = 0; k0 <= last; k0 += kKTile) tiles.emplace_back(q0, k0);
    for (int64_t i = q0; i < q1; ++i)  // keys past every tile of this block
      for (int64_t s = last < 0 ? 0 : (last / kKTile + 1) * kKTile; s < N; ++s) scores[i * N + s] = -std::numeric_limits<float>::infinity();
  }
  const int64_t n_tiles = int64_t(tiles.size());
#pragma omp parallel
  {
    RowMat qf(kQTile * H, D), S(kQTile * H, kKTile);
    std::vector<float> wq(static_cast<size_t>(kQTile * H));
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < n_tiles; ++t) {
      const int64_t q0 = tiles[size_t(t)].first, k0 = tiles[size_t(t)].second;
      const int64_t nq = std::min(kQTile, p.n_q - q0), nk = std::min(kKTile, N - k0);
      for (int64_t r = 0; r < nq * H; ++r) {
        const uint8_t* qc = q_codes + (q0 * H + r) * D;
        for (int64_t c = 0; c < D; ++c) qf(r, c) = lut[qc[c]];
        wq[size_t(r)] = w[q0 * H + r] * ue8m0_to_f32(q_scale[q0 * H + r]);
      }
      const Eigen::Map<const RowMat> K(kf.data() + k0 * D, nk, D);
      S.topLeftCorner(nq * H, nk).noalias() = qf.topRows(nq * H) * K.transpose();
      for (int64_t a = 0; a < nq; ++a) {
        const int64_t i = q0 + a;
        float* out = scores + i * N + k0;
        std::vector<float> acc(static_cast<size_t>(nk), 0.0f);
        for (int64_t j = 0; j < H; ++j) {
          const float wj = wq[size_t(a * H + j)];
          const float* row = S.data() + (a * H + j) * kKTile;
          for (int64_t s = 0; s < nk; ++s) {
            const float x = row[s];
            acc[size_t(s)] += wj * (x < 0.0f ? 0.0f : x);  // ReLU keeps NaN
          }
        }
        for (int64_t s = 0; s < nk; ++s)
          out[s] = k0 + s > pos[i] ? -std::numeric_limits<float>::infinity() : acc[size_t(s)] * ks[size_t(k0 + s)];
      }
    }
  }
}

}  // namespace v4lab::kernels
