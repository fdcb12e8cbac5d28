// csa_indexer_cpu.cpp — optimized host CSA indexer scores (_cpu; specs/attention.md §4.2, §4.8): keys
// widened once to FP32 tiles of 32 keys stored dim-major [idx_dim][32], q transposed to [idx_dim][H];
// the microkernel keeps 8 heads × 32 keys in 16 AVX-512 accumulators (broadcast q, vector over keys,
// no horizontal sums), then ReLU·w and the head sum vectorized over keys. OpenMP over (query, tile);
// tiles past a query's causal length are skipped (−inf). At decode the work is 16 FLOP per key byte
// of BF16 keys, so it is bound by FMA throughput, not bandwidth.
#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/numerics.h"
#include "kernels/attention/csa_indexer.h"

namespace v4lab::kernels {
namespace {

typedef float v16f __attribute__((vector_size(64)));
constexpr int kKeys = 32;   // keys per tile (2 vectors)
constexpr int kHeads = 8;   // heads per pass (8 × 2 accumulators)

inline v16f load16(const float* p) {
  v16f f;
  std::memcpy(&f, p, sizeof f);
  return f;
}
inline void store16(float* p, v16f v) { std::memcpy(p, &v, sizeof v); }

// One query × one 32-key tile: kt [K][32] FP32, qt [K][H] FP32, w [H]; out[32] (all keys of the tile).
void score_tile(const float* kt, const float* qt, const float* w, int64_t H, int64_t K, float* out) {
  v16f s0 = v16f{}, s1 = v16f{};
  const v16f zero = v16f{};
  int64_t h0 = 0;
  for (; h0 + kHeads <= H; h0 += kHeads) {
    v16f a0[kHeads], a1[kHeads];
#pragma GCC unroll 8
    for (int i = 0; i < kHeads; ++i) a0[i] = v16f{}, a1[i] = v16f{};
    for (int64_t k = 0; k < K; ++k) {
      const v16f k0 = load16(kt + k * kKeys), k1 = load16(kt + k * kKeys + 16);
      const float* qk = qt + k * H + h0;
#pragma GCC unroll 8
      for (int i = 0; i < kHeads; ++i) {
        a0[i] += qk[i] * k0;
        a1[i] += qk[i] * k1;
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < kHeads; ++i) {  // ReLU keeps NaN (NaN < 0 is false)
      s0 += w[h0 + i] * (a0[i] < zero ? zero : a0[i]);
      s1 += w[h0 + i] * (a1[i] < zero ? zero : a1[i]);
    }
  }
  for (; h0 < H; ++h0) {  // heads beyond a multiple of 8
    v16f a0 = v16f{}, a1 = v16f{};
    for (int64_t k = 0; k < K; ++k) {
      a0 += qt[k * H + h0] * load16(kt + k * kKeys);
      a1 += qt[k * H + h0] * load16(kt + k * kKeys + 16);
    }
    s0 += w[h0] * (a0 < zero ? zero : a0);
    s1 += w[h0] * (a1 < zero ? zero : a1);
  }
  store16(out, s0);
  store16(out + 16, s1);
}

}  // namespace

void csa_indexer_cpu(const CsaIndexerParams& p, const uint16_t* q, const uint16_t* keys, const float* w,
                     float* scores, int32_t* lengths) {
  p.validate();
  const int64_t T = p.n_tokens, H = p.idx_heads, K = p.idx_dim, N = p.n_entries();
  const int64_t tiles = (N + kKeys - 1) / kKeys;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int64_t t = 0; t < T; ++t) lengths[t] = int32_t(p.length(t));
  if (T == 0) return;
  // Decode (few queries): each tile is used by at most 4 queries, so it is widened on the fly into a
  // per-thread buffer (no N·K·4 B round trip through memory); prefill widens every tile once.
  const bool pre = T > 4;
  std::vector<float> kt(static_cast<size_t>((pre ? tiles : 0) * K * kKeys)), qt(static_cast<size_t>(T * K * H));
  auto widen_tile = [&](int64_t b, float* dst) {
    for (int i = 0; i < kKeys; ++i) {
      const int64_t j = b * kKeys + i;
      for (int64_t k = 0; k < K; ++k) dst[k * kKeys + i] = j < N ? bf16_to_f32(keys[j * K + k]) : 0.0f;
    }
  };
#pragma omp parallel
  {
    std::vector<float> local(static_cast<size_t>(pre ? 0 : K * kKeys));
    if (pre) {
#pragma omp for schedule(static)
      for (int64_t b = 0; b < tiles; ++b) widen_tile(b, kt.data() + b * K * kKeys);
    }
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t)  // q [H][K] → [K][H] FP32
      for (int64_t h = 0; h < H; ++h)
        for (int64_t k = 0; k < K; ++k) qt[(t * K + k) * H + h] = bf16_to_f32(q[(t * H + h) * K + k]);
    // Decode iterates tile-major so a widened tile serves all of its (≤ 4) queries.
#pragma omp for schedule(dynamic, 8)
    for (int64_t it = 0; it < T * tiles; ++it) {
      const int64_t t = pre ? it / tiles : it % T, b = pre ? it % tiles : it / T, len = p.length(t);
      float* row = scores + t * N;
      const int64_t j0 = b * kKeys, j1 = std::min(N, j0 + kKeys);
      if (j0 >= len) {
        for (int64_t j = j0; j < j1; ++j) row[j] = neg_inf;
        continue;
      }
      const float* tile = kt.data() + b * K * kKeys;
      if (!pre) {
        widen_tile(b, local.data());  // re-widened per query: T ≤ 4
        tile = local.data();
      }
      float out[kKeys];
      score_tile(tile, qt.data() + t * K * H, w + t * H, H, K, out);
      for (int64_t j = j0; j < j1; ++j) row[j] = j < len ? out[j - j0] : neg_inf;
    }
  }
}

}  // namespace v4lab::kernels
