// kv_layout.h — byte-exact KV-cache entry layouts (specs/quant.md "KV-cache entry layouts", "V4 page";
// specs/attention.md §4.4–4.5): V4 main KV (584 B logical, paged: data 576·P, then 8 B scale records,
// page padded to a multiple of 576 B), V4 FP4 indexer key (68 B, paged: values then scales), V3.2 MLA
// entry (656 B contiguous) and V3.2 indexer key (132 B, paged per 64 tokens: values then FP32 scales).
// Also the tile quantize→dequantize helpers (V4LAB_HD) that the compressor's quant simulation shares,
// so simulated and stored-layout values agree bit for bit on every backend.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/numerics.h"
#include "kernels/quant/quant_math.h"

namespace v4lab::kernels {

// Fixed V4 / V3.2 sizes (the defaults of the layout structs below).
constexpr int64_t kV4KvEntryBytes = 584;    // 448 FP8 + 128 B RoPE (data) + 7 UE8M0 + 1 pad (scales)
constexpr int64_t kV4KvDataBytes = 576;
constexpr int64_t kV4KvScaleBytes = 8;
constexpr int64_t kV4IdxKeyBytes = 68;      // 64 B packed e2m1 + 4 UE8M0
constexpr int64_t kV32MlaEntryBytes = 656;  // 512 FP8 + 4 FP32 scales + 64 BF16 RoPE
constexpr int64_t kV32IdxKeyBytes = 132;    // 128 FP8 + 1 FP32 scale
constexpr int kKvTile = 64;                 // V4 KV FP8 tile (1×64, UE8M0)
constexpr int kFp4Block = 32;               // MXFP4 block

// ---------------------------------------------------------------------------------------------
// Layout descriptions
// ---------------------------------------------------------------------------------------------
// V4 main KV page of P tokens. Token t: bytes [data_offset(t), +nope) FP8 codes, then 2·d_rope BF16
// RoPE bytes (little-endian); bytes [scale_offset(t), +scale_bytes) its UE8M0 tile scales, then pad 0.
struct V4KvLayout {
  int64_t d_head = 512;      // entry width: FP8 NoPE dims followed by BF16 RoPE dims
  int64_t d_rope = 64;       // BF16 dims at the end of the entry
  int64_t page_tokens = 64;  // P
  void validate() const;     // config_error: (d_head − d_rope) % 64 ≠ 0, d_rope odd or > d_head, P < 1
  V4LAB_HD int64_t nope() const { return d_head - d_rope; }
  V4LAB_HD int64_t tiles() const { return nope() / kKvTile; }
  V4LAB_HD int64_t data_bytes() const { return nope() + 2 * d_rope; }           // 576
  V4LAB_HD int64_t scale_bytes() const { return (tiles() + 7) / 8 * 8; }        // 7 scales + 1 pad = 8
  V4LAB_HD int64_t entry_bytes() const { return data_bytes() + scale_bytes(); }  // 584
  V4LAB_HD int64_t page_bytes() const {  // P·584 rounded up to a multiple of 576: 37,440 at P = 64
    const int64_t raw = page_tokens * entry_bytes();
    return (raw + data_bytes() - 1) / data_bytes() * data_bytes();
  }
  V4LAB_HD int64_t data_offset(int64_t t) const { return t * data_bytes(); }
  V4LAB_HD int64_t rope_offset(int64_t t) const { return t * data_bytes() + nope(); }
  V4LAB_HD int64_t scale_offset(int64_t t) const { return page_tokens * data_bytes() + t * scale_bytes(); }
};

// V4 FP4 indexer key page of P tokens (DeepGEMM paged format): values [P, idx_dim/2] packed e2m1 (element
// 2j in the low nibble), then scales [P, idx_dim/32] UE8M0. No page padding.
struct V4IdxLayout {
  int64_t idx_dim = 128;
  int64_t page_tokens = 64;
  void validate() const;  // config_error: idx_dim not a power of two or % 32 ≠ 0, P < 1
  V4LAB_HD int64_t value_bytes() const { return idx_dim / 2; }
  V4LAB_HD int64_t scale_bytes() const { return idx_dim / kFp4Block; }
  V4LAB_HD int64_t key_bytes() const { return value_bytes() + scale_bytes(); }  // 68
  V4LAB_HD int64_t page_bytes() const { return page_tokens * key_bytes(); }
  V4LAB_HD int64_t value_offset(int64_t t) const { return t * value_bytes(); }
  V4LAB_HD int64_t scale_offset(int64_t t) const { return page_tokens * value_bytes() + t * scale_bytes(); }
};

// V3.2 layouts (fixed shapes). MLA record: [0, 512) FP8 NoPE (4 tiles of 128), [512, 528) 4 FP32
// power-of-two scales, [528, 656) 64 BF16 RoPE. Indexer page of 64: [0, 8192) values, then 64 FP32 scales.
constexpr int64_t kV32MlaNope = 512, kV32MlaRope = 64, kV32MlaTile = 128;
constexpr int64_t kV32IdxDim = 128, kV32IdxPageTokens = 64;
constexpr int64_t v32_idx_page_bytes() { return kV32IdxPageTokens * kV32IdxKeyBytes; }  // 8448
constexpr int64_t v32_idx_value_offset(int64_t t) { return t * kV32IdxDim; }
constexpr int64_t v32_idx_scale_offset(int64_t t) { return kV32IdxPageTokens * kV32IdxDim + 4 * t; }

// ---------------------------------------------------------------------------------------------
// Tile codecs (host and device): the canonical block quantizer of quant.md with the V4 settings
// ---------------------------------------------------------------------------------------------
// FP8 e4m3 tile of n values (BF16 in), UE8M0 scale, a_floor 1e-4: codes[n]; returns the scale byte.
V4LAB_HD uint8_t fp8_tile_encode_bf16(const uint16_t* x, int n, uint8_t* codes) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i) {
    const float v = bf16_to_f32(x[i]);
    if (quant_isfinite(v)) amax = fabsf(v) > amax ? fabsf(v) : amax;
  }
  const BlockScale s = block_scale_ue8m0_bits(amax > kFp8AmaxFloor ? amax : kFp8AmaxFloor, kFp8Max);
  for (int i = 0; i < n; ++i) codes[i] = fp8_e4m3_from_f32_bits(bf16_to_f32(x[i]) * s.inv_s);
  return s.byte;
}
// Decoded FP8 code times a UE8M0 scale, as BF16 (exact in the normal range).
V4LAB_HD uint16_t fp8_decode_bf16(uint8_t code, uint8_t scale) {
  return bf16_from_f32(fp8_e4m3_to_f32(code) * ue8m0_to_f32(scale));
}
// MXFP4 block of n (even) FP32 values, a_floor 6·2^-126: packed[n/2]; returns the scale byte (0xFF and
// zero codes when any element is non-finite, quant.md policy).
V4LAB_HD uint8_t fp4_block_encode_f32(const float* x, int n, uint8_t* packed) {
  float amax = 0.0f;
  bool bad = false;
  for (int i = 0; i < n; ++i) {
    if (quant_isfinite(x[i])) {
      amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    } else {
      bad = true;
    }
  }
  if (bad) {
    for (int i = 0; i < n / 2; ++i) packed[i] = 0;
    return kUe8m0Nan;
  }
  const BlockScale s = block_scale_ue8m0_bits(amax > kFp4AmaxFloor ? amax : kFp4AmaxFloor, kFp4Max);
  for (int i = 0; i < n; i += 2)
    packed[i / 2] = fp4_pack(fp4_e2m1_from_f32_bits(x[i] * s.inv_s), fp4_e2m1_from_f32_bits(x[i + 1] * s.inv_s));
  return s.byte;
}
V4LAB_HD uint16_t fp4_decode_bf16(uint8_t code, uint8_t scale) {
  return bf16_from_f32(fp4_e2m1_to_f32(code) * ue8m0_to_f32(scale));
}

// Sylvester-ordered FWHT in FP32, in place: stages h = 1, 2, ..., n/2 of (a+b, a−b), then one multiply
// by fl32(1/sqrt(n)) — the same operations in the same order as hadamard_cpu, hence the same bits.
V4LAB_HD void fwht_f32(float* v, int n) {
  for (int h = 1; h < n; h *= 2)
    for (int i = 0; i < n; i += 2 * h)
      for (int j = i; j < i + h; ++j) {
        const float a = v[j], b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
  const float scale = float(1.0 / sqrt(double(n)));
  for (int i = 0; i < n; ++i) v[i] *= scale;
}

// ---------------------------------------------------------------------------------------------
// Quant simulation of one entry (§1.5 "Simulated quant"): quantize, then dequantize to BF16.
// ---------------------------------------------------------------------------------------------
// Main KV: FP8 tiles of 64 on dims [0, d − d_rope), BF16 RoPE dims copied. ≡ decode(encode(x)).
V4LAB_HD void kv_quant_sim_main(const uint16_t* x, int d, int d_rope, uint16_t* out) {
  uint8_t codes[kKvTile];
  for (int t0 = 0; t0 + kKvTile <= d - d_rope; t0 += kKvTile) {
    const uint8_t s = fp8_tile_encode_bf16(x + t0, kKvTile, codes);
    for (int i = 0; i < kKvTile; ++i) out[t0 + i] = fp8_decode_bf16(codes[i], s);
  }
  for (int i = d - d_rope; i < d; ++i) out[i] = x[i];
}
// Indexer: Hadamard over all n dims (FP32, from the BF16 entry), then MXFP4 blocks of 32, dequantized.
// `work` holds n floats (on exit: the rotated values, the input of the 68 B encoder).
V4LAB_HD void kv_quant_sim_indexer(const uint16_t* x, int n, float* work, uint16_t* out) {
  for (int i = 0; i < n; ++i) work[i] = bf16_to_f32(x[i]);
  fwht_f32(work, n);
  uint8_t packed[kFp4Block / 2];
  for (int b0 = 0; b0 < n; b0 += kFp4Block) {
    const uint8_t s = fp4_block_encode_f32(work + b0, kFp4Block, packed);
    for (int i = 0; i < kFp4Block; ++i) out[b0 + i] = fp4_decode_bf16(i % 2 ? fp4_hi(packed[i / 2]) : fp4_lo(packed[i / 2]), s);
  }
}

// ---------------------------------------------------------------------------------------------
// Encoders / decoders (host). `page` points at the page base; t is the token's slot in the page.
// ---------------------------------------------------------------------------------------------
// V4 main KV: entry [d_head] BF16 → page slot t (codes, RoPE bytes, scales, pad 0).
void v4_kv_encode(const V4KvLayout& l, const uint16_t* entry, int64_t t, uint8_t* page);
// Page slot t → entry [d_head] BF16 (FP8 codes × scale, RoPE bytes as stored).
void v4_kv_decode(const V4KvLayout& l, const uint8_t* page, int64_t t, uint16_t* entry);
// Whole page: zero it (padding, unused slots), then encode n ≤ P entries [n, d_head].
void v4_kv_pack_page(const V4KvLayout& l, const uint16_t* entries, int64_t n, uint8_t* page);

// V4 indexer key: `rotated` [idx_dim] FP32 (after RoPE + Hadamard) → page slot t; decode → BF16.
void v4_idx_encode(const V4IdxLayout& l, const float* rotated, int64_t t, uint8_t* page);
void v4_idx_decode(const V4IdxLayout& l, const uint8_t* page, int64_t t, uint16_t* key);

// V3.2 MLA record: entry [576] BF16 (512 NoPE + 64 RoPE) ↔ 656 B; FP8 tiles of 128, power-of-two
// scales (UE8M0 rule, a_floor 1e-4) stored as FP32.
void v32_mla_encode(const uint16_t* entry, uint8_t* record);
void v32_mla_decode(const uint8_t* record, uint16_t* entry);
// V3.2 indexer key: key [128] FP32 (after Hadamard) → page slot t (FP8, one power-of-two FP32 scale);
// decode → FP32 values (code × scale).
void v32_idx_encode(const float* key, int64_t t, uint8_t* page);
void v32_idx_decode(const uint8_t* page, int64_t t, float* key);

}  // namespace v4lab::kernels
