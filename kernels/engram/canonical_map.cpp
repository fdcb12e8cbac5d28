// canonical_map.cpp — `.v4cmap` binary/text formats, validation, CRC-32 and the seeded generator
// (specs/engram.md §2). See canonical_map.h for the contracts.
#include "kernels/engram/canonical_map.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "core/error.h"
#include "core/rng.h"

namespace v4lab::kernels {
namespace {

constexpr char kMagic[8] = {'V', '4', 'L', 'C', 'M', 'A', 'P', '1'};
constexpr size_t kHeaderBytes = 8 + 4 + 4 + 8 + 8 + 8 + 8;  // 48

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}

template <class T>
void put_le(std::vector<uint8_t>& out, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(uint8_t(uint64_t(v) >> (8 * i)));
}
template <class T>
T get_le(const uint8_t* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t(p[i]) << (8 * i);
  return T(v);
}

std::string trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

uint64_t parse_u64(const std::string& s, const std::string& what, const std::string& where) {
  size_t used = 0;
  unsigned long long v = 0;
  try {
    if (!s.empty() && s[0] == '-') throw std::invalid_argument("negative");
    v = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) throw config_error(what + " '" + s + "' is not a non-negative integer", where);
  return v;
}

int64_t parse_i64(const std::string& s, const std::string& what, const std::string& where) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) throw config_error(what + " '" + s + "' is not an integer", where);
  return v;
}

// Canonical ids numbered by first appearance of each group label over raw ids 0..V−1.
std::vector<uint32_t> number_by_first_appearance(const std::vector<uint32_t>& label, uint64_t& n_ids) {
  std::vector<uint32_t> canon_of_label(label.size(), UINT32_MAX), ids(label.size());
  uint32_t next = 0;
  for (size_t r = 0; r < label.size(); ++r) {
    uint32_t& c = canon_of_label[label[r]];
    if (c == UINT32_MAX) c = next++;
    ids[r] = c;
  }
  n_ids = next;
  return ids;
}

}  // namespace

uint32_t crc32_ieee(const void* data, size_t n, uint32_t crc) {
  static const std::array<uint32_t, 256> table = make_crc_table();
  const uint8_t* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < n; ++i) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void validate_canonical_map(const CanonicalMap& m, const std::string& where) {
  const std::string pre = "canonical map: ";
  if (m.raw_vocab < 1 || m.compressed_vocab < 1 || m.compressed_vocab > m.raw_vocab)
    throw config_error(pre + "need 1 <= V' <= V (V = " + std::to_string(m.raw_vocab) +
                           ", V' = " + std::to_string(m.compressed_vocab) + ")", where);
  if (m.raw_vocab > UINT32_MAX) throw config_error(pre + "V must fit in 32 bits", where);
  if (m.ids.size() != m.raw_vocab)
    throw config_error(pre + "has " + std::to_string(m.ids.size()) + " ids for V = " + std::to_string(m.raw_vocab),
                       where);
  if (m.raw_pad_id >= int64_t(m.raw_vocab))
    throw config_error(pre + "pad id " + std::to_string(m.raw_pad_id) + " >= V = " + std::to_string(m.raw_vocab),
                       where);
  std::vector<int64_t> first(m.compressed_vocab, -1);
  for (size_t r = 0; r < m.ids.size(); ++r) {
    const uint32_t c = m.ids[r];
    if (c >= m.compressed_vocab)
      throw config_error(pre + "raw id " + std::to_string(r) + " maps to " + std::to_string(c) + " >= V' = " +
                             std::to_string(m.compressed_vocab), where);
    if (first[c] < 0) first[c] = int64_t(r);
  }
  for (uint64_t c = 0; c < m.compressed_vocab; ++c)
    if (first[c] < 0)
      throw config_error(pre + "not surjective: canonical id " + std::to_string(c) + " has no raw id", where);
  if (m.flags & kCmapFlagFirstAppearance) {
    uint32_t next = 0;
    for (size_t r = 0; r < m.ids.size(); ++r) {
      const uint32_t c = m.ids[r];
      if (first[c] != int64_t(r)) continue;
      if (c != next)
        throw config_error(pre + "first-appearance flag violated: raw id " + std::to_string(r) +
                               " introduces canonical id " + std::to_string(c) + ", expected " + std::to_string(next),
                           where);
      ++next;
    }
  }
}

std::vector<uint8_t> encode_canonical_map_binary(const CanonicalMap& m) {
  std::vector<uint8_t> out(kMagic, kMagic + 8);
  out.reserve(kHeaderBytes + 4 * m.ids.size() + 4);
  put_le<uint32_t>(out, 1);
  put_le<uint32_t>(out, m.flags);
  put_le<uint64_t>(out, m.raw_vocab);
  put_le<uint64_t>(out, m.compressed_vocab);
  put_le<int64_t>(out, m.raw_pad_id);
  put_le<uint64_t>(out, 0);
  const size_t ids_at = out.size();
  for (uint32_t c : m.ids) put_le<uint32_t>(out, c);
  put_le<uint32_t>(out, crc32_ieee(out.data() + ids_at, 4 * m.ids.size()));
  return out;
}

CanonicalMap parse_canonical_map_binary(const std::vector<uint8_t>& b, const std::string& where) {
  const std::string pre = "canonical map (binary): ";
  if (b.size() < kHeaderBytes)
    throw config_error(pre + "truncated: " + std::to_string(b.size()) + " bytes, the header alone is 48", where);
  if (std::memcmp(b.data(), kMagic, 8) != 0) throw config_error(pre + "bad magic (expected V4LCMAP1)", where);
  const uint32_t version = get_le<uint32_t>(b.data() + 8);
  if (version != 1) throw config_error(pre + "unsupported version " + std::to_string(version), where);
  CanonicalMap m;
  m.flags = get_le<uint32_t>(b.data() + 12);
  m.raw_vocab = get_le<uint64_t>(b.data() + 16);
  m.compressed_vocab = get_le<uint64_t>(b.data() + 24);
  m.raw_pad_id = get_le<int64_t>(b.data() + 32);
  if (m.raw_vocab > UINT32_MAX) throw config_error(pre + "V = " + std::to_string(m.raw_vocab) + " is too large", where);
  const size_t want = kHeaderBytes + 4 * size_t(m.raw_vocab) + 4;
  if (b.size() != want)
    throw config_error(pre + (b.size() < want ? "truncated: " : "trailing bytes: ") + std::to_string(b.size()) +
                           " bytes, expected " + std::to_string(want) + " for V = " + std::to_string(m.raw_vocab),
                       where);
  const uint32_t crc = crc32_ieee(b.data() + kHeaderBytes, 4 * size_t(m.raw_vocab));
  const uint32_t stored = get_le<uint32_t>(b.data() + want - 4);
  if (crc != stored) {
    std::ostringstream os;
    os << pre << "bad CRC-32: stored 0x" << std::hex << stored << ", computed 0x" << crc;
    throw config_error(os.str(), where);
  }
  m.ids.resize(m.raw_vocab);
  for (size_t r = 0; r < m.ids.size(); ++r) m.ids[r] = get_le<uint32_t>(b.data() + kHeaderBytes + 4 * r);
  validate_canonical_map(m, where);
  return m;
}

std::string encode_canonical_map_text(const CanonicalMap& m) {
  std::ostringstream os;
  os << "#raw_vocab=" << m.raw_vocab << "\n#compressed_vocab=" << m.compressed_vocab << "\n#pad_id=" << m.raw_pad_id
     << "\n#flags=" << m.flags << "\n";
  if (!m.source.empty()) os << "#source=" << m.source << "\n";
  for (size_t r = 0; r < m.ids.size(); ++r) os << r << ',' << m.ids[r] << '\n';
  return os.str();
}

CanonicalMap parse_canonical_map_text(const std::string& text, const std::string& where) {
  const std::string pre = "canonical map (text): ";
  CanonicalMap m;
  bool have_v = false, have_vp = false;
  std::vector<std::pair<uint64_t, uint64_t>> pairs;
  std::vector<size_t> line_of;
  std::istringstream in(text);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    const std::string t = trim(line);
    const std::string lw = where.empty() ? "line " + std::to_string(lineno) : where + ":" + std::to_string(lineno);
    if (t.empty()) continue;
    if (t[0] == '#') {
      const size_t eq = t.find('=');
      if (eq == std::string::npos) continue;  // a plain comment
      const std::string key = trim(t.substr(1, eq - 1)), val = trim(t.substr(eq + 1));
      if (key == "raw_vocab") m.raw_vocab = parse_u64(val, key, lw), have_v = true;
      else if (key == "compressed_vocab") m.compressed_vocab = parse_u64(val, key, lw), have_vp = true;
      else if (key == "pad_id") m.raw_pad_id = parse_i64(val, key, lw);
      else if (key == "flags") m.flags = uint32_t(parse_u64(val, key, lw));
      else if (key == "source") m.source = val;
      continue;
    }
    const size_t comma = t.find(',');
    if (comma == std::string::npos) throw config_error(pre + "expected 'raw_id,canonical_id', got '" + t + "'", lw);
    pairs.emplace_back(parse_u64(trim(t.substr(0, comma)), "raw id", lw),
                       parse_u64(trim(t.substr(comma + 1)), "canonical id", lw));
    line_of.push_back(lineno);
  }
  if (!have_v || !have_vp) throw config_error(pre + "header needs #raw_vocab= and #compressed_vocab=", where);
  if (m.raw_vocab > UINT32_MAX) throw config_error(pre + "raw_vocab is too large", where);
  m.ids.assign(m.raw_vocab, 0);
  std::vector<size_t> seen(m.raw_vocab, 0);
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto [r, c] = pairs[i];
    if (r >= m.raw_vocab)
      throw config_error(pre + "raw id " + std::to_string(r) + " >= raw_vocab = " + std::to_string(m.raw_vocab) +
                             " (line " + std::to_string(line_of[i]) + ")", where);
    if (seen[r])
      throw config_error(pre + "duplicate raw id " + std::to_string(r) + " (lines " + std::to_string(seen[r]) +
                             " and " + std::to_string(line_of[i]) + ")", where);
    if (c > UINT32_MAX) throw config_error(pre + "canonical id " + std::to_string(c) + " is too large", where);
    seen[r] = line_of[i];
    m.ids[r] = uint32_t(c);
  }
  for (uint64_t r = 0; r < m.raw_vocab; ++r)
    if (!seen[r]) throw config_error(pre + "raw id " + std::to_string(r) + " is missing", where);
  validate_canonical_map(m, where);
  return m;
}

CanonicalMap load_canonical_map(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw config_error("cannot open canonical map", path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kMagic, 8) == 0) return parse_canonical_map_binary(bytes, path);
  return parse_canonical_map_text(std::string(bytes.begin(), bytes.end()), path);
}

void write_canonical_map(const std::string& path, const CanonicalMap& m) {
  validate_canonical_map(m, path);
  const bool binary = path.size() >= 7 && path.compare(path.size() - 7, 7, ".v4cmap") == 0;
  std::ofstream f(path, std::ios::binary);
  if (!f) throw runtime_error("cannot write canonical map", path);
  if (binary) {
    const auto b = encode_canonical_map_binary(m);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  } else {
    f << encode_canonical_map_text(m);
  }
  if (!f) throw runtime_error("write failed", path);
}

CanonicalMap identity_canonical_map(uint64_t v, int64_t pad) {
  CanonicalMap m;
  m.raw_vocab = m.compressed_vocab = v;
  m.raw_pad_id = pad;
  m.source = "identity";
  m.ids.resize(v);
  for (uint64_t r = 0; r < v; ++r) m.ids[r] = uint32_t(r);
  return m;
}

CanonicalMap generate_canonical_map(uint64_t v, double reduction, uint64_t seed, int64_t pad) {
  if (v < 1 || v > UINT32_MAX) throw config_error("canonical map generator: V must be in 1..2^32-1");
  if (!(reduction >= 0.0 && reduction < 1.0))
    throw config_error("canonical map generator: reduction must be in [0, 1), got " + std::to_string(reduction));
  const uint64_t target = uint64_t(std::llround(reduction * double(v)));
  if (target > v - 1)
    throw config_error("canonical map generator: reduction " + std::to_string(reduction) + " would merge " +
                       std::to_string(target) + " of " + std::to_string(v) + " ids");
  Rng rng(seed);
  std::vector<uint32_t> perm(v);
  for (uint64_t i = 0; i < v; ++i) perm[i] = uint32_t(i);
  for (uint64_t i = v - 1; i > 0; --i) std::swap(perm[i], perm[rng.below(i + 1)]);
  // P(s) ∝ s^-2 on 2..60, inverted through the cumulative table.
  std::vector<double> cdf;
  double acc = 0;
  for (int s = 2; s <= 60; ++s) cdf.push_back(acc += 1.0 / (double(s) * s));
  std::vector<uint32_t> label(v, UINT32_MAX);
  uint64_t pos = 0, remaining = target;
  uint32_t group = 0;
  auto take = [&](uint64_t size) {
    for (uint64_t i = 0; i < size; ++i) label[perm[pos++]] = group;
    ++group;
    remaining -= size - 1;
  };
  if (remaining > 0) take(std::min<uint64_t>(163, remaining + 1));  // the whitespace group
  while (remaining > 0) {
    const double u = rng.uniform() * acc;
    uint64_t s = uint64_t(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()) + 2;
    s = std::min<uint64_t>(s, 60);
    s = std::min(s, remaining + 1);
    // ids_left − remaining drops by one per unfinished group; at 1 the last group must finish.
    if (v - pos < remaining + 2) s = remaining + 1;
    take(s);
  }
  for (uint64_t r = 0; r < v; ++r)
    if (label[r] == UINT32_MAX) label[r] = group++;
  CanonicalMap m;
  m.raw_vocab = v;
  m.raw_pad_id = pad;
  m.ids = number_by_first_appearance(label, m.compressed_vocab);
  m.source = "generated: seed " + std::to_string(seed) + ", reduction " + std::to_string(reduction);
  return m;
}

CanonicalMap canonical_map_from_vocab_lines(const std::vector<std::string>& tokens, int64_t pad) {
  if (tokens.empty()) throw config_error("canonical map from vocab: no tokens");
  std::map<std::string, uint32_t> label_of;
  std::vector<uint32_t> label(tokens.size());
  for (size_t r = 0; r < tokens.size(); ++r) {
    std::string key;
    bool in_space = false;
    for (unsigned char c : tokens[r]) {
      if (std::isspace(c)) {
        if (!in_space) key.push_back(' ');
        in_space = true;
      } else {
        key.push_back(char(std::tolower(c)));
        in_space = false;
      }
    }
    label[r] = label_of.emplace(key, uint32_t(label_of.size())).first->second;
  }
  CanonicalMap m;
  m.raw_vocab = tokens.size();
  m.raw_pad_id = pad;
  m.ids = number_by_first_appearance(label, m.compressed_vocab);
  m.source = "vocab file: ASCII lowercase + whitespace collapse";
  return m;
}

}  // namespace v4lab::kernels
