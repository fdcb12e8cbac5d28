// test_canonical_map.cpp — specs/engram.md §2 canonical-id map: CRC-32 check value, binary and text
// round trips through files, the loader's rejections (duplicate raw id, id ≥ V′, non-surjective,
// first-appearance flag, bad CRC, truncated, missing id) with the offending id in the message, and the
// seeded generator (exact reduction, determinism, identity at r = 0, first-appearance numbering).
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/engram/canonical_map.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

CanonicalMap small_map() {  // raw 0..5 → 0 1 0 2 1 2 (first appearance order), pad raw 2 → 0
  CanonicalMap m;
  m.raw_vocab = 6, m.compressed_vocab = 3, m.raw_pad_id = 2;
  m.ids = {0, 1, 0, 2, 1, 2};
  return m;
}

void expect_reject_bin(const std::vector<uint8_t>& b, const std::string& what) {
  try {
    parse_canonical_map_binary(b, "x.v4cmap");
    FAIL("accepted: " << what);
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(what));
  }
}
void expect_reject_text(const std::string& t, const std::string& what) {
  try {
    parse_canonical_map_text(t, "x.txt");
    FAIL("accepted: " << what);
  } catch (const Error& e) {
    CHECK_THAT(e.what(), Catch::Contains(what));
  }
}

}  // namespace

TEST_CASE("canonical map: CRC-32 check value", "[engram][ref]") {
  CHECK(crc32_ieee("123456789", 9) == 0xCBF43926u);
  CHECK(crc32_ieee("", 0) == 0u);
  CHECK(crc32_ieee("6789", 4, crc32_ieee("12345", 5)) == 0xCBF43926u);
}

TEST_CASE("canonical map: binary and text round trips through files", "[engram][ref]") {
  const CanonicalMap m = small_map();
  const auto bin = encode_canonical_map_binary(m);
  CHECK(bin.size() == 48 + 6 * 4 + 4);
  CHECK(std::string(bin.begin(), bin.begin() + 8) == "V4LCMAP1");
  const CanonicalMap b = parse_canonical_map_binary(bin);
  CHECK(b.ids == m.ids);
  CHECK(b.compressed_pad() == 0);
  const std::string dir = std::string(V4LAB_BIN_DIR) + "/";
  const std::string pb = dir + "test_engram_map.v4cmap", pt = dir + "test_engram_map.txt";
  write_canonical_map(pb, m);
  write_canonical_map(pt, m);
  CHECK(load_canonical_map(pb).ids == m.ids);
  const CanonicalMap t = load_canonical_map(pt);
  CHECK(t.ids == m.ids);
  CHECK(t.raw_pad_id == 2);
  std::remove(pb.c_str());
  std::remove(pt.c_str());
  // Text lines in any order, with a source header and blank lines.
  const CanonicalMap u = parse_canonical_map_text(
      "#raw_vocab=3\n#compressed_vocab=2\n#pad_id=-1\n#source=hand\n\n2,1\n0,0\n1,0\n");
  CHECK(u.ids == std::vector<uint32_t>{0, 0, 1});
  CHECK(u.source == "hand");
}

TEST_CASE("canonical map: the loader rejects every malformed case with the offending id", "[engram][ref]") {
  const CanonicalMap good = small_map();
  auto with = [&](std::vector<uint32_t> ids, uint64_t vp) {
    CanonicalMap m = good;
    m.ids = std::move(ids), m.compressed_vocab = vp;
    return encode_canonical_map_binary(m);
  };
  expect_reject_bin(with({0, 1, 0, 3, 1, 2}, 3), "raw id 3 maps to 3");           // id ≥ V′
  expect_reject_bin(with({0, 1, 0, 1, 1, 0}, 3), "canonical id 2 has no raw id"); // not surjective
  expect_reject_bin(with({0, 2, 0, 1, 1, 2}, 3), "raw id 1 introduces canonical id 2");  // flag bit0
  {
    CanonicalMap m = good;
    m.ids = {0, 2, 0, 1, 1, 2};
    m.flags = 0;  // without the flag the same ids are fine
    CHECK_NOTHROW(parse_canonical_map_binary(encode_canonical_map_binary(m)));
  }
  auto bin = encode_canonical_map_binary(good);
  auto crc = bin;
  crc[48 + 4] ^= 1;  // flip a bit of raw id 1's entry
  expect_reject_bin(crc, "bad CRC-32");
  expect_reject_bin(std::vector<uint8_t>(bin.begin(), bin.end() - 3), "truncated");
  expect_reject_bin(std::vector<uint8_t>(bin.begin(), bin.begin() + 20), "truncated");
  auto magic = bin;
  magic[0] = 'X';
  expect_reject_bin(magic, "bad magic");
  const std::string hdr = "#raw_vocab=3\n#compressed_vocab=2\n";
  expect_reject_text(hdr + "0,0\n1,1\n1,0\n2,1\n", "duplicate raw id 1");
  expect_reject_text(hdr + "0,0\n2,1\n", "raw id 1 is missing");
  expect_reject_text(hdr + "0,0\n1,1\n2,2\n", "raw id 2 maps to 2");
  expect_reject_text(hdr + "0,0\n1,0\n2,0\n", "canonical id 1 has no raw id");
  expect_reject_text(hdr + "0,0\n1,1\n3,1\n", "raw id 3 >= raw_vocab");
  expect_reject_text("#raw_vocab=3\n0,0\n", "compressed_vocab");
  expect_reject_text(hdr + "0;0\n", "expected 'raw_id,canonical_id'");
}

TEST_CASE("canonical map: generator hits the reduction exactly and is seed-deterministic", "[engram][ref]") {
  for (uint64_t V : {1000ull, 129280ull}) {
    for (double r : {0.0, 0.05, 0.2343, 0.6}) {
      INFO("V = " << V << ", r = " << r);
      const CanonicalMap m = generate_canonical_map(V, r, 42, 2);
      CHECK_NOTHROW(validate_canonical_map(m));
      CHECK(m.raw_vocab - m.compressed_vocab == uint64_t(std::llround(r * double(V))));
      CHECK(m.ids == generate_canonical_map(V, r, 42, 2).ids);
      if (r > 0) CHECK(m.ids != generate_canonical_map(V, r, 43, 2).ids);
    }
  }
  CHECK(generate_canonical_map(500, 0.0, 1).ids == identity_canonical_map(500).ids);
  // The whitespace group: the largest group has 163 members at the paper's reduction.
  const CanonicalMap m = generate_canonical_map(129280, 0.2343, 0, 2);
  std::vector<uint32_t> count(m.compressed_vocab, 0);
  for (uint32_t c : m.ids) ++count[c];
  uint32_t biggest = 0;
  for (uint32_t c : count) biggest = std::max(biggest, c);
  CHECK(biggest == 163);
  CHECK(m.raw_vocab - m.compressed_vocab == 30290);  // round(0.2343 · 129280)
  CHECK_THROWS_AS(generate_canonical_map(100, 1.0, 0), Error);
}

TEST_CASE("canonical map: vocab lines merge by ASCII lowercase and whitespace collapse", "[engram][ref]") {
  const CanonicalMap m = canonical_map_from_vocab_lines({"The", " ", "the", "  ", "\t", "A", "a", "b"});
  CHECK(m.ids == std::vector<uint32_t>{0, 1, 0, 1, 1, 2, 2, 3});
  CHECK_NOTHROW(validate_canonical_map(m));
}
