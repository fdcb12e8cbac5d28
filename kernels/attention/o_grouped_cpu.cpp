// o_grouped_cpu.cpp — threaded FP32 V4 grouped output projection (o_grouped.h; specs/attention.md §4.2
// "Output", §4.8 "Grouped O": o_groups × ([T, D_in] × [D_in, R])). Activations are FP8 round-tripped
// per 1×128 block (or widened from BF16) once into an FP32 [T, H·D] buffer; group g's GEMM reads its
// columns through a strided map. Decode (T ≤ 64): W_oa is streamed as codes in tiles of 32 rows, each
// decoded into a cache-resident FP32 tile and multiplied at once, so the weights are read once from
// memory as FP8 (the decode bound). Prefill: each group's weights are decoded whole and one Eigen GEMM
// (which blocks for the caches and threads itself) runs per group.
// GCC 12 flags Eigen's AVX-512 float GEMM packing as maybe-uninitialized (a known false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#include <algorithm>
#include <memory>
#include <vector>

#include "kernels/attention/o_grouped.h"

namespace v4lab::kernels {
namespace {

using RowMat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using StridedA = Eigen::Map<const RowMat, 0, Eigen::OuterStride<>>;
constexpr int64_t kSmallT = 64, kTileRows = 32;

// Row r of group g decoded into dst [D_in] (code × its block's power-of-two scale: exact in FP32).
inline void decode_row(const OGroupedParams& p, const uint8_t* w_codes, const uint8_t* w_scale, int64_t g, int64_t r,
                       float* dst) {
  const int64_t Din = p.d_in(), KB = p.k_blocks(), RB = p.r_blocks();
  const uint8_t* codes = w_codes + (g * p.o_rank + r) * Din;
  for (int64_t kb = 0; kb < KB; ++kb) {
    const float sb = ue8m0_to_f32(w_scale[o_grouped_scale_index(g, r, kb * 128, RB, KB)]);
    const int64_t c0 = kb * 128, c1 = std::min(Din, c0 + 128);
#pragma omp simd
    for (int64_t c = c0; c < c1; ++c) dst[c] = o_grouped_weight_value(codes[c], sb);
  }
}

}  // namespace

void o_grouped_cpu(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                   uint16_t* y) {
  p.validate();
  const int64_t T = p.n_tokens, HD = p.n_heads * p.d_head, Din = p.d_in(), R = p.o_rank, G = p.o_groups;
  if (T == 0) return;
  // 1. Activations → FP32 af [T, H·D]: blocks of 128 restart at every group boundary.
  std::unique_ptr<float[]> af(new float[size_t(T * HD)]);
  const int64_t KB = p.k_blocks();
#pragma omp parallel for schedule(static) collapse(2)
  for (int64_t t = 0; t < T; ++t)
    for (int64_t g = 0; g < G; ++g) {
      const uint16_t* x = o + t * HD + g * Din;
      float* a = af.get() + t * HD + g * Din;
      for (int64_t kb = 0; kb < KB; ++kb) {
        const int64_t c0 = kb * 128, c1 = std::min(Din, c0 + 128);
        if (!p.act_fp8) {
          for (int64_t c = c0; c < c1; ++c) a[c] = bf16_to_f32(x[c]);
          continue;
        }
        float amax = 0;
        for (int64_t c = c0; c < c1; ++c) amax = o_grouped_amax_step(amax, bf16_to_f32(x[c]));
        const BlockScale b = o_grouped_act_scale(amax);
#pragma omp simd
        for (int64_t c = c0; c < c1; ++c) a[c] = o_grouped_act_value(bf16_to_f32(x[c]), b);
      }
    }
  const int64_t YC = G * R;  // y row width
  if (T <= kSmallT) {
    // 2a. Decode: tiles of ≤ 32 weight rows inside one group, threads over all tiles of all groups.
    const int64_t tpg = (R + kTileRows - 1) / kTileRows, tiles = G * tpg;
#pragma omp parallel
    {
      std::unique_ptr<float[]> tile(new float[size_t(kTileRows * Din)]);
      RowMat ct(T, kTileRows);
#pragma omp for schedule(static)
      for (int64_t i = 0; i < tiles; ++i) {
        const int64_t g = i / tpg, r0 = (i % tpg) * kTileRows, nr = std::min(kTileRows, R - r0);
        for (int64_t r = 0; r < nr; ++r) decode_row(p, w_codes, w_scale, g, r0 + r, tile.get() + r * Din);
        const StridedA A(af.get() + g * Din, T, Din, Eigen::OuterStride<>(HD));
        const Eigen::Map<const RowMat> B(tile.get(), nr, Din);
        ct.leftCols(nr).noalias() = A * B.transpose();
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = 0; r < nr; ++r) y[t * YC + g * R + r0 + r] = bf16_from_f32(ct(t, r));
      }
    }
    return;
  }
  // 2b. Prefill: per group, decode W_oa,g [R, D_in] whole, then one (internally threaded) GEMM.
  std::unique_ptr<float[]> wf(new float[size_t(R * Din)]);
  RowMat c(T, R);
  for (int64_t g = 0; g < G; ++g) {
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < R; ++r) decode_row(p, w_codes, w_scale, g, r, wf.get() + r * Din);
    const StridedA A(af.get() + g * Din, T, Din, Eigen::OuterStride<>(HD));
    const Eigen::Map<const RowMat> B(wf.get(), R, Din);
    c.noalias() = A * B.transpose();
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = 0; r < R; ++r) y[t * YC + g * R + r] = bf16_from_f32(c(t, r));
  }
}

}  // namespace v4lab::kernels
