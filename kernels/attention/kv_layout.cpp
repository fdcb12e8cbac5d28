// kv_layout.cpp — encoders and decoders of the KV-cache byte layouts (kernels/attention/kv_layout.h;
// specs/quant.md "KV-cache entry layouts", "V4 page", test Q9). Every byte is written explicitly
// (little-endian BF16 and FP32), so a page is the same on any host.
#include "kernels/attention/kv_layout.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "core/error.h"

namespace v4lab::kernels {
namespace {

[[noreturn]] void bad(const char* what, const char* field, int64_t value, const std::string& rule) {
  throw config_error(std::string(what) + ": " + field + " = " + std::to_string(value) + " " + rule, field);
}

bool pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

void put_u16(uint8_t* p, uint16_t v) {
  p[0] = uint8_t(v & 0xFF);
  p[1] = uint8_t(v >> 8);
}
uint16_t get_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
void put_f32(uint8_t* p, float f) {
  const uint32_t u = f32_bits(f);
  for (int i = 0; i < 4; ++i) p[i] = uint8_t(u >> (8 * i));
}
float get_f32(const uint8_t* p) {
  return f32_from_bits(uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24));
}

// FP8 tile of FP32 values with a power-of-two scale (UE8M0 rule, a_floor 1e-4); returns s.
float fp8_tile_encode_f32(const float* x, int n, uint8_t* codes) {
  float amax = 0.0f;
  for (int i = 0; i < n; ++i)
    if (quant_isfinite(x[i])) amax = std::max(amax, std::fabs(x[i]));
  const BlockScale s = block_scale_ue8m0_bits(std::max(amax, kFp8AmaxFloor), kFp8Max);
  for (int i = 0; i < n; ++i) codes[i] = fp8_e4m3_from_f32_bits(x[i] * s.inv_s);
  return s.s;
}

}  // namespace

void V4KvLayout::validate() const {
  if (d_rope < 0 || d_rope % 2 != 0 || d_rope > d_head)
    bad("v4 kv layout", "d_rope", d_rope, "must be even and in [0, d_head = " + std::to_string(d_head) + "]");
  if ((d_head - d_rope) % kKvTile != 0 || d_head - d_rope < kKvTile)
    bad("v4 kv layout", "d_head", d_head,
        "- d_rope = " + std::to_string(d_head - d_rope) +
            " must be a positive multiple of 64 for the 584 B layout (FP8 tiles of 64; V4: 512 - 64 = 448)");
  if (page_tokens < 1) bad("v4 kv layout", "page_tokens", page_tokens, "must be >= 1 (V4: 64)");
}

void V4IdxLayout::validate() const {
  if (!pow2(idx_dim) || idx_dim % kFp4Block != 0)
    bad("v4 indexer key layout", "idx_dim", idx_dim, "must be a power of two and a multiple of 32 (V4: 128)");
  if (page_tokens < 1) bad("v4 indexer key layout", "page_tokens", page_tokens, "must be >= 1 (V4: 64)");
}

void v4_kv_encode(const V4KvLayout& l, const uint16_t* entry, int64_t t, uint8_t* page) {
  uint8_t* data = page + l.data_offset(t);
  uint8_t* scales = page + l.scale_offset(t);
  for (int64_t k = 0; k < l.tiles(); ++k) scales[k] = fp8_tile_encode_bf16(entry + k * kKvTile, kKvTile, data + k * kKvTile);
  for (int64_t k = l.tiles(); k < l.scale_bytes(); ++k) scales[k] = 0;  // pad: written 0, ignored on read
  uint8_t* rope = page + l.rope_offset(t);
  for (int64_t i = 0; i < l.d_rope; ++i) put_u16(rope + 2 * i, entry[l.nope() + i]);
}

void v4_kv_decode(const V4KvLayout& l, const uint8_t* page, int64_t t, uint16_t* entry) {
  const uint8_t* data = page + l.data_offset(t);
  const uint8_t* scales = page + l.scale_offset(t);
  for (int64_t i = 0; i < l.nope(); ++i) entry[i] = fp8_decode_bf16(data[i], scales[i / kKvTile]);
  const uint8_t* rope = page + l.rope_offset(t);
  for (int64_t i = 0; i < l.d_rope; ++i) entry[l.nope() + i] = get_u16(rope + 2 * i);
}

void v4_kv_pack_page(const V4KvLayout& l, const uint16_t* entries, int64_t n, uint8_t* page) {
  l.validate();
  if (n < 0 || n > l.page_tokens)
    bad("v4_kv_pack_page", "n_tokens", n, "must be in [0, page_tokens = " + std::to_string(l.page_tokens) + "]");
  std::memset(page, 0, size_t(l.page_bytes()));
  for (int64_t t = 0; t < n; ++t) v4_kv_encode(l, entries + t * l.d_head, t, page);
}

void v4_idx_encode(const V4IdxLayout& l, const float* rotated, int64_t t, uint8_t* page) {
  uint8_t* values = page + l.value_offset(t);
  uint8_t* scales = page + l.scale_offset(t);
  for (int64_t b = 0; b < l.scale_bytes(); ++b)
    scales[b] = fp4_block_encode_f32(rotated + b * kFp4Block, kFp4Block, values + b * (kFp4Block / 2));
}

void v4_idx_decode(const V4IdxLayout& l, const uint8_t* page, int64_t t, uint16_t* key) {
  const uint8_t* values = page + l.value_offset(t);
  const uint8_t* scales = page + l.scale_offset(t);
  for (int64_t i = 0; i < l.idx_dim; ++i) {
    const uint8_t byte = values[i / 2];
    key[i] = fp4_decode_bf16(i % 2 ? fp4_hi(byte) : fp4_lo(byte), scales[i / kFp4Block]);
  }
}

void v32_mla_encode(const uint16_t* entry, uint8_t* record) {
  for (int64_t k = 0; k < kV32MlaNope / kV32MlaTile; ++k) {
    const uint8_t s = fp8_tile_encode_bf16(entry + k * kV32MlaTile, int(kV32MlaTile), record + k * kV32MlaTile);
    put_f32(record + kV32MlaNope + 4 * k, ue8m0_to_f32(s));
  }
  for (int64_t i = 0; i < kV32MlaRope; ++i) put_u16(record + kV32MlaNope + 16 + 2 * i, entry[kV32MlaNope + i]);
}

void v32_mla_decode(const uint8_t* record, uint16_t* entry) {
  for (int64_t i = 0; i < kV32MlaNope; ++i)
    entry[i] = bf16_from_f32(fp8_e4m3_to_f32(record[i]) * get_f32(record + kV32MlaNope + 4 * (i / kV32MlaTile)));
  for (int64_t i = 0; i < kV32MlaRope; ++i) entry[kV32MlaNope + i] = get_u16(record + kV32MlaNope + 16 + 2 * i);
}

void v32_idx_encode(const float* key, int64_t t, uint8_t* page) {
  const float s = fp8_tile_encode_f32(key, int(kV32IdxDim), page + v32_idx_value_offset(t));
  put_f32(page + v32_idx_scale_offset(t), s);
}

void v32_idx_decode(const uint8_t* page, int64_t t, float* key) {
  const float s = get_f32(page + v32_idx_scale_offset(t));
  const uint8_t* v = page + v32_idx_value_offset(t);
  for (int64_t i = 0; i < kV32IdxDim; ++i) key[i] = fp8_e4m3_to_f32(v[i]) * s;
}

}  // namespace v4lab::kernels
