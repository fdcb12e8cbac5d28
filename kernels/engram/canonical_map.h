// canonical_map.h — the Engram tokenizer compression map P: V → V′ (specs/engram.md §2): the binary
// `.v4cmap` and text formats (load, validate, write), an own CRC-32 (IEEE 802.3, reflected, as zlib),
// and the seeded synthetic generator (one whitespace group of 163, power-law groups of 2..60).
// Tokenizers cannot be downloaded here, so the map is always an input file or generated.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::kernels {

constexpr uint32_t kCmapFlagFirstAppearance = 1u;  // flags bit0: ids numbered in first-appearance order

struct CanonicalMap {
  uint64_t raw_vocab = 0;         // V
  uint64_t compressed_vocab = 0;  // V′
  int64_t raw_pad_id = -1;        // raw pad id (−1: none); mapped through ids like any other
  uint32_t flags = kCmapFlagFirstAppearance;
  std::string source;             // text header `source=`; not stored in the binary format
  std::vector<uint32_t> ids;      // [V] canonical id of each raw id
  // Compressed pad id (ids[raw_pad_id]), or 0 when the map has no pad.
  uint32_t compressed_pad() const { return raw_pad_id >= 0 ? ids[size_t(raw_pad_id)] : 0; }
  double reduction() const { return raw_vocab ? 1.0 - double(compressed_vocab) / double(raw_vocab) : 0.0; }
};

// CRC-32 (polynomial 0xEDB88320 reflected, init and final xor 0xFFFFFFFF); chainable via `crc`.
uint32_t crc32_ieee(const void* data, size_t n, uint32_t crc = 0);

// Validation (§2): V, V′ ≥ 1 with V′ ≤ V; ids.size() = V; every id < V′; the image is exactly
// [0, V′); pad < V; with flag bit0, first occurrences of canonical ids appear in increasing order.
// Throws config_error naming the offending raw and canonical id; `where` prefixes the message.
void validate_canonical_map(const CanonicalMap& m, const std::string& where = {});

// Binary `.v4cmap`, little-endian: "V4LCMAP1", u32 version = 1, u32 flags, u64 V, u64 V′, i64 pad,
// u64 reserved (0), V × u32 ids, u32 CRC-32 of the id bytes. Parsing checks size, magic, version,
// CRC, then validate_canonical_map.
std::vector<uint8_t> encode_canonical_map_binary(const CanonicalMap& m);
CanonicalMap parse_canonical_map_binary(const std::vector<uint8_t>& bytes, const std::string& where = {});

// Text: `#key=value` header lines (raw_vocab, compressed_vocab, pad_id, source; also flags), then
// `raw_id,canonical_id` lines in any order; blank lines ignored. Every raw id must appear exactly once.
std::string encode_canonical_map_text(const CanonicalMap& m);
CanonicalMap parse_canonical_map_text(const std::string& text, const std::string& where = {});

// Files: binary if the content starts with the magic, text otherwise. write_* picks binary for a
// `.v4cmap` suffix and text for anything else.
CanonicalMap load_canonical_map(const std::string& path);
void write_canonical_map(const std::string& path, const CanonicalMap& m);

// Identity map (r = 0) and the §2 fallback generator. Merge groups until Σ(size − 1) = round(r·V):
// first one "whitespace" group of 163 (fewer if the target is smaller), then sizes from P(s) ∝ s^−2 on
// 2..60 (the last one trimmed to hit the target exactly; if the remaining ids could not otherwise
// finish, the final group takes all it needs), members drawn from a seeded permutation of the raw ids;
// canonical ids numbered by first appearance over raw ids 0..V−1. Deterministic from seed.
CanonicalMap identity_canonical_map(uint64_t raw_vocab, int64_t raw_pad_id = -1);
CanonicalMap generate_canonical_map(uint64_t raw_vocab, double reduction, uint64_t seed, int64_t raw_pad_id = -1);

// Optional §2 path: a vocab text file (one decoded token per line, raw id = line number) merged by
// ASCII lowercase + whitespace-run collapse (no NFKC: this build has no ICU).
CanonicalMap canonical_map_from_vocab_lines(const std::vector<std::string>& tokens, int64_t raw_pad_id = -1);

}  // namespace v4lab::kernels
