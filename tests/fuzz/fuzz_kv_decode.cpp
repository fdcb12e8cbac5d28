// fuzz_kv_decode.cpp — fuzz target: the KV-cache byte-layout decoders (kernels/attention/kv_layout.h) on
// arbitrary page bytes. Input: byte 0 selects the layout; for the V4 layouts the next bytes are the layout
// fields as the fuzzer wrote them (signed, so invalid layouts reach validate()); the rest is the page,
// copied into a buffer of exactly page_bytes() (zero-padded / cut), so ASan flags any read past it.
//   0: V4 main KV, 584 B entries   [1..2] d_head (int16)  [3] d_rope (int8)  [4] page_tokens (int8)
//   1: V4 FP4 indexer key, 68 B     [1..2] idx_dim (int16) [3] page_tokens (int8)
//   2: V3.2 MLA record, 656 B       records = max(1, rest / 656), at most 64
//   3: V3.2 indexer page, 132 B keys, 64 slots
// Oracle: RoPE bytes decode verbatim (V4 main KV, V3.2 MLA); decoding is deterministic; a V4 entry
// re-encoded from its decoded values decodes to a finite value wherever the first decode was finite and
// the stored scale was a normal one.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "fuzz_targets.h"
#include "kernels/attention/kv_layout.h"

namespace v4lab::fuzz {
namespace k = v4lab::kernels;

namespace {

int16_t rd_i16(const uint8_t* p) { return int16_t(uint16_t(p[0] | (p[1] << 8))); }

std::vector<uint8_t> page_of(const uint8_t* data, size_t size, size_t header, int64_t page_bytes) {
  std::vector<uint8_t> page(size_t(page_bytes), 0);
  if (size > header) std::memcpy(page.data(), data + header, std::min(size - header, page.size()));
  return page;
}

uint16_t u16_at(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }

void v4_kv(const uint8_t* data, size_t size) {
  if (size < 5) return;
  k::V4KvLayout l;
  l.d_head = rd_i16(data + 1);
  l.d_rope = int8_t(data[3]);
  l.page_tokens = int8_t(data[4]);
  l.validate();  // config_error for invalid layouts: fine
  if (l.d_head > 2048) return;  // bound the work per input (a 32K-wide layout x 127 tokens timed out; V4: 512)
  std::vector<uint8_t> page = page_of(data, size, 5, l.page_bytes());
  std::vector<uint16_t> e(size_t(l.d_head)), e2(size_t(l.d_head));
  std::vector<uint8_t> one(size_t(l.page_bytes()), 0);
  for (int64_t t = 0; t < l.page_tokens; ++t) {
    k::v4_kv_decode(l, page.data(), t, e.data());
    k::v4_kv_decode(l, page.data(), t, e2.data());
    if (e != e2) fuzz_fail("kv_decode", "v4_kv_decode is not deterministic");
    for (int64_t i = 0; i < l.d_rope; ++i)
      if (e[size_t(l.nope() + i)] != u16_at(page.data() + l.rope_offset(t) + 2 * i))
        fuzz_fail("kv_decode", "v4 kv RoPE bytes not decoded verbatim");
    k::v4_kv_encode(l, e.data(), 0, one.data());
    k::v4_kv_decode(l, one.data(), 0, e2.data());
    for (int64_t i = 0; i < l.nope(); ++i) {
      const uint8_t s = page[size_t(l.scale_offset(t) + i / k::kKvTile)];
      const float a = bf16_to_f32(e[size_t(i)]), b = bf16_to_f32(e2[size_t(i)]);
      if (std::isfinite(a) && s != k::kUe8m0Nan && !std::isfinite(b))
        fuzz_fail("kv_decode", "v4 kv re-encode of a finite decoded value is not finite");
    }
  }
}

void v4_idx(const uint8_t* data, size_t size) {
  if (size < 4) return;
  k::V4IdxLayout l;
  l.idx_dim = rd_i16(data + 1);
  l.page_tokens = int8_t(data[3]);
  l.validate();
  std::vector<uint8_t> page = page_of(data, size, 4, l.page_bytes());
  std::vector<uint16_t> key(size_t(l.idx_dim)), key2(size_t(l.idx_dim));
  for (int64_t t = 0; t < l.page_tokens; ++t) {
    k::v4_idx_decode(l, page.data(), t, key.data());
    k::v4_idx_decode(l, page.data(), t, key2.data());
    if (key != key2) fuzz_fail("kv_decode", "v4_idx_decode is not deterministic");
  }
}

void v32_mla(const uint8_t* data, size_t size) {
  const size_t rest = size > 1 ? size - 1 : 0;
  const int64_t n = std::clamp<int64_t>(int64_t(rest / size_t(k::kV32MlaEntryBytes)), 1, 64);
  std::vector<uint8_t> recs = page_of(data, size, 1, n * k::kV32MlaEntryBytes);
  std::vector<uint16_t> e(size_t(k::kV32MlaNope + k::kV32MlaRope));
  for (int64_t r = 0; r < n; ++r) {
    const uint8_t* rec = recs.data() + r * k::kV32MlaEntryBytes;
    k::v32_mla_decode(rec, e.data());
    for (int64_t i = 0; i < k::kV32MlaRope; ++i)
      if (e[size_t(k::kV32MlaNope + i)] != u16_at(rec + k::kV32MlaNope + 16 + 2 * i))
        fuzz_fail("kv_decode", "v3.2 MLA RoPE bytes not decoded verbatim");
  }
}

void v32_idx(const uint8_t* data, size_t size) {
  std::vector<uint8_t> page = page_of(data, size, 1, k::v32_idx_page_bytes());
  std::vector<float> key(static_cast<size_t>(k::kV32IdxDim));
  for (int64_t t = 0; t < k::kV32IdxPageTokens; ++t) k::v32_idx_decode(page.data(), t, key.data());
}

}  // namespace

int fuzz_kv_decode(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  try {
    switch (data[0] % 4) {
      case 0: v4_kv(data, size); break;
      case 1: v4_idx(data, size); break;
      case 2: v32_mla(data, size); break;
      default: v32_idx(data, size); break;
    }
  } catch (const Error&) {
  } catch (const std::exception& e) {
    fuzz_fail("kv_decode", std::string("non-v4lab exception: ") + e.what());
  }
  return 0;
}

}  // namespace v4lab::fuzz

V4LAB_FUZZ_ENTRY(fuzz_kv_decode)
