// test_kv_layout.cpp — KV-cache byte layouts (kernels/attention/kv_layout.h; specs/quant.md Q9,
// specs/attention.md §4.4, §4.9 "Layouts"): sizes 656 / 132 / 584 / 68 B and the 37,440 B page,
// byte offsets of token t, pack → unpack round trips (RoPE BF16 bytes exact, FP8 within
// 2^-4|x| + s·2^-10), stored ≡ simulated quant bit for bit, and invalid layouts naming the field.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/quant/quant.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

// BF16 entries: N(0,1) with a ×100 outlier per row and an all-small tile (the a_floor path).
std::vector<uint16_t> random_entries(int64_t n, int64_t d, uint64_t seed) {
  Rng rng(seed);
  std::vector<uint16_t> e(static_cast<size_t>(n * d));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < d; ++i) {
      double v = rng.normal();
      if (i == (t * 7) % d) v *= 100;
      if (i >= 64 && i < 128) v *= 1e-7;
      e[size_t(t * d + i)] = bf16_from_f32(float(v));
    }
  return e;
}

}  // namespace

TEST_CASE("kv layout: sizes and page size (Q9)", "[attention][ref]") {
  const V4KvLayout l;
  CHECK(l.entry_bytes() == 584);
  CHECK(l.data_bytes() == 576);
  CHECK(l.scale_bytes() == 8);
  CHECK(l.page_bytes() == 37440);
  CHECK(kV4KvEntryBytes == 584);
  CHECK(kV4IdxKeyBytes == 68);
  CHECK(kV32MlaEntryBytes == 656);
  CHECK(kV32IdxKeyBytes == 132);
  CHECK(V4IdxLayout{}.key_bytes() == 68);
  CHECK(v32_idx_page_bytes() == 64 * 132);
  V4KvLayout one;
  one.page_tokens = 1;
  CHECK(one.page_bytes() == 2 * 576);  // 584 rounded up to a multiple of 576
  for (int64_t P : {1, 2, 63, 64, 65, 72})
    CHECK((V4KvLayout{512, 64, P}.page_bytes() % 576 == 0 && V4KvLayout{512, 64, P}.page_bytes() >= 584 * P));
}

TEST_CASE("kv layout: byte offsets of token t in its page (Q9)", "[attention][ref]") {
  const V4KvLayout l;
  CHECK(l.data_offset(0) == 0);
  CHECK(l.rope_offset(0) == 448);
  CHECK(l.data_offset(5) == 5 * 576);
  CHECK(l.rope_offset(63) == 63 * 576 + 448);
  CHECK(l.scale_offset(0) == 64 * 576);
  CHECK(l.scale_offset(63) == 64 * 576 + 63 * 8);
  CHECK(l.scale_offset(63) + 8 <= l.page_bytes());
  const V4IdxLayout k;
  CHECK(k.value_offset(3) == 3 * 64);
  CHECK(k.scale_offset(0) == 64 * 64);
  CHECK(k.scale_offset(63) + 4 == k.page_bytes());
  CHECK(v32_idx_value_offset(2) == 256);
  CHECK(v32_idx_scale_offset(2) == 8192 + 8);
}

TEST_CASE("kv layout: V4 584 B pack/unpack round trip", "[attention][ref]") {
  const V4KvLayout l;
  for (int64_t n : {int64_t(64), int64_t(13)}) {
    const std::vector<uint16_t> e = random_entries(n, 512, 11 + uint64_t(n));
    std::vector<uint8_t> page(static_cast<size_t>(l.page_bytes()), 0xAB);
    v4_kv_pack_page(l, e.data(), n, page.data());
    std::vector<uint16_t> back(512), sim(512);
    for (int64_t t = 0; t < n; ++t) {
      const uint16_t* x = e.data() + t * 512;
      v4_kv_decode(l, page.data(), t, back.data());
      // RoPE BF16 bytes exact, little-endian at rope_offset(t)
      for (int i = 0; i < 64; ++i) {
        const uint8_t* b = page.data() + l.rope_offset(t) + 2 * i;
        CHECK(uint16_t(b[0] | (b[1] << 8)) == x[448 + i]);
        CHECK(back[448 + i] == x[448 + i]);
      }
      // FP8 bound per element (Q7): |x − x̂| ≤ 2^-4·|x| + s·2^-10
      for (int i = 0; i < 448; ++i) {
        const float s = ue8m0_to_f32(page[size_t(l.scale_offset(t) + i / 64)]);
        const double xv = bf16_to_f32(x[i]), xh = bf16_to_f32(back[i]);
        CHECK(std::fabs(xv - xh) <= 0x1p-4 * std::fabs(xv) + s * 0x1p-10);
      }
      CHECK(page[size_t(l.scale_offset(t) + 7)] == 0);  // pad byte
      kv_quant_sim_main(x, 512, 64, sim.data());       // stored ≡ simulated, bit for bit
      CHECK(std::memcmp(sim.data(), back.data(), 1024) == 0);
    }
    for (int64_t t = n; t < 64; ++t)  // unused slots and the page padding are zero
      for (int64_t b = 0; b < 576; ++b) CHECK(page[size_t(l.data_offset(t) + b)] == 0);
    for (int64_t b = l.scale_offset(64); b < l.page_bytes(); ++b) CHECK(page[size_t(b)] == 0);
  }
}

TEST_CASE("kv layout: V4 68 B indexer key ≡ the indexer quant sim", "[attention][ref]") {
  const V4IdxLayout l;
  const std::vector<uint16_t> e = random_entries(64, 128, 5);
  std::vector<uint8_t> page(static_cast<size_t>(l.page_bytes()));
  std::vector<float> rot(128), via_cpu(128);
  std::vector<uint16_t> sim(128), back(128);
  for (int64_t t = 0; t < 64; ++t) {
    kv_quant_sim_indexer(e.data() + t * 128, 128, rot.data(), sim.data());  // rot: the Hadamard output
    for (int i = 0; i < 128; ++i) via_cpu[i] = bf16_to_f32(e[size_t(t * 128 + i)]);
    HadamardParams hp;
    hp.rows = 1, hp.n = 128;
    hadamard_cpu(hp, via_cpu.data(), via_cpu.data());  // the shared FWHT matches hadamard_cpu bit for bit
    CHECK(std::memcmp(rot.data(), via_cpu.data(), 512) == 0);
    v4_idx_encode(l, rot.data(), t, page.data());
    v4_idx_decode(l, page.data(), t, back.data());
    CHECK(std::memcmp(sim.data(), back.data(), 256) == 0);
  }
  // Nibble order: element 0 in the low nibble (quant.md "FP4 packing").
  std::vector<float> v(128, 0.0f);
  v[0] = 1.0f, v[1] = -6.0f;
  v4_idx_encode(l, v.data(), 0, page.data());
  CHECK(page[0] == 0xF2);
  CHECK(page[size_t(l.scale_offset(0))] == 0x7F);  // amax 6 → s = 1
}

TEST_CASE("kv layout: V3.2 656 B MLA record and 132 B indexer key", "[attention][ref]") {
  const std::vector<uint16_t> e = random_entries(8, 576, 9);
  std::vector<uint8_t> rec(656);
  std::vector<uint16_t> back(576);
  for (int64_t t = 0; t < 8; ++t) {
    const uint16_t* x = e.data() + t * 576;
    v32_mla_encode(x, rec.data());
    v32_mla_decode(rec.data(), back.data());
    for (int i = 0; i < 64; ++i) CHECK(back[512 + i] == x[512 + i]);
    for (int k = 0; k < 4; ++k) {
      float s;
      std::memcpy(&s, rec.data() + 512 + 4 * k, 4);
      int e2;
      CHECK(std::frexp(s, &e2) == 0.5f);  // power-of-two scale
      for (int i = 128 * k; i < 128 * (k + 1); ++i) {
        const double xv = bf16_to_f32(x[i]), xh = bf16_to_f32(back[i]);
        CHECK(std::fabs(xv - xh) <= 0x1p-4 * std::fabs(xv) + s * 0x1p-10);
      }
    }
  }
  std::vector<uint8_t> page(static_cast<size_t>(v32_idx_page_bytes()));
  std::vector<float> key(128), kb(128);
  Rng rng(3);
  for (int64_t t = 0; t < 64; t += 21) {
    for (auto& v : key) v = float(rng.normal());
    v32_idx_encode(key.data(), t, page.data());
    v32_idx_decode(page.data(), t, kb.data());
    float s;
    std::memcpy(&s, page.data() + v32_idx_scale_offset(t), 4);
    for (int i = 0; i < 128; ++i) CHECK(std::fabs(key[i] - kb[i]) <= 0x1p-4 * std::fabs(key[i]) + s * 0x1p-10);
  }
}

TEST_CASE("kv layout: invalid layouts name the field", "[attention][ref]") {
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(msg([] { V4KvLayout{520, 64, 64}.validate(); }).find("d_head") != std::string::npos);
  CHECK(msg([] { V4KvLayout{512, 63, 64}.validate(); }).find("d_rope") != std::string::npos);
  CHECK(msg([] { V4KvLayout{512, 64, 0}.validate(); }).find("page_tokens") != std::string::npos);
  CHECK(msg([] { V4IdxLayout{96, 64}.validate(); }).find("idx_dim") != std::string::npos);
  CHECK(msg([] { V4IdxLayout{16, 64}.validate(); }).find("idx_dim") != std::string::npos);
  CHECK_THROWS_AS((V4KvLayout{512, 520, 64}.validate()), v4lab::Error);
  CHECK_NOTHROW((V4KvLayout{512, 0, 64}.validate()));  // 8 FP8 tiles, no RoPE: a valid layout
}

TEST_CASE("kv_pack_v4: cpu equals ref through the registry", "[attention][cpu]") {
  using v4lab::test::compare;
  for (double n : {1.0, 64.0, 129.0})
    v4lab::test::require_all_pass(compare("kv_pack_v4", Backend::Cpu, v4lab::test::params("kv_pack_v4", {{"n_tokens", n}}), 4));
}
