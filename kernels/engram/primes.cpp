// primes.cpp — Miller–Rabin, the global prime rule, multipliers and the layout file
// (specs/engram.md §3, §4). See primes.h for the contracts.
#include "kernels/engram/primes.h"

#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace v4lab::kernels {
namespace {

uint64_t mul_mod(uint64_t a, uint64_t b, uint64_t m) { return uint64_t((unsigned __int128)a * b % m); }

uint64_t pow_mod(uint64_t a, uint64_t e, uint64_t m) {
  uint64_t r = 1;
  a %= m;
  while (e) {
    if (e & 1) r = mul_mod(r, a, m);
    a = mul_mod(a, a, m);
    e >>= 1;
  }
  return r;
}

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

bool is_prime_u64(uint64_t n) {
  static const uint64_t kWitness[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  if (n < 2) return false;
  for (uint64_t w : kWitness) {
    if (n == w) return true;
    if (n % w == 0) return false;
  }
  uint64_t d = n - 1;
  int s = 0;
  while ((d & 1) == 0) d >>= 1, ++s;
  for (uint64_t a : kWitness) {
    uint64_t x = pow_mod(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s; ++r) {
      x = mul_mod(x, x, n);
      if (x == n - 1) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

uint64_t next_prime_u64(uint64_t n) {
  for (uint64_t c = n + 1; c > n; ++c)
    if (is_prime_u64(c)) return c;
  throw config_error("no prime above " + std::to_string(n) + " fits in 64 bits");
}

std::vector<std::vector<uint64_t>> engram_select_primes(int n_layers, const std::vector<uint64_t>& sizes, int heads) {
  if (n_layers < 0 || heads < 1 || sizes.empty())
    throw config_error("engram prime rule: need n_layers >= 0, heads >= 1 and at least one order size");
  std::set<uint64_t> used;
  std::vector<std::vector<uint64_t>> out(static_cast<size_t>(n_layers));
  for (int l = 0; l < n_layers; ++l) {
    for (uint64_t s : sizes) {
      if (s < 1) throw config_error("engram prime rule: vocab_size_per_order must be >= 1");
      uint64_t prev = s - 1;  // head 0: a configured size that is an unused prime is taken
      for (int k = 0; k < heads; ++k) {
        uint64_t p = next_prime_u64(prev);
        while (used.count(p)) p = next_prime_u64(p);
        used.insert(p);
        out[size_t(l)].push_back(p);
        prev = p;
      }
    }
  }
  return out;
}

std::vector<uint64_t> engram_offsets(const std::vector<uint64_t>& primes) {
  std::vector<uint64_t> off(primes.size());
  uint64_t acc = 0;
  for (size_t j = 0; j < primes.size(); ++j) off[j] = acc, acc += primes[j];
  return off;
}

uint64_t engram_table_rows(const std::vector<uint64_t>& primes) {
  uint64_t acc = 0;
  for (uint64_t p : primes) acc += p;
  return acc;
}

uint64_t engram_multiplier_bound(uint64_t v) {
  if (v < 1) throw config_error("engram multipliers: compressed vocab must be >= 1");
  const uint64_t b = ((uint64_t(1) << 63) - 1) / v / 2;
  return b < 1 ? 1 : b;
}

std::vector<uint64_t> engram_multipliers_splitmix(int64_t layer_id, uint64_t v, int max_ngram, uint64_t seed) {
  const uint64_t bound = engram_multiplier_bound(v);
  uint64_t state = seed + 10007ull * uint64_t(layer_id);
  std::vector<uint64_t> m(static_cast<size_t>(max_ngram));
  for (auto& x : m) x = 2 * (splitmix64(state) % bound) + 1;
  return m;
}

EngramLayout parse_engram_layout(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw config_error(std::string("layout file is not valid JSON: ") + e.what(), where);
  }
  EngramLayout L;
  L.official = true;
  if (j.contains("source")) L.source = j.at("source").get<std::string>();
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a 64 of the bytes
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  L.content_hash = h;
  if (!j.contains("layers") || !j.at("layers").is_array() || j.at("layers").empty())
    throw config_error("layout file needs a non-empty 'layers' array", where);
  std::set<uint64_t> used;
  size_t n_mult = 0, n_rows = 0;
  for (const auto& lj : j.at("layers")) {
    EngramLayerLayout ly;
    try {
      ly.id = lj.at("id").get<int64_t>();
      ly.multipliers = lj.at("multipliers").get<std::vector<uint64_t>>();
      for (const auto& order : lj.at("primes")) {
        const auto ps = order.get<std::vector<uint64_t>>();
        ly.primes.insert(ly.primes.end(), ps.begin(), ps.end());
      }
      if (lj.contains("offsets")) ly.offsets = lj.at("offsets").get<std::vector<uint64_t>>();
      if (lj.contains("row_dtype")) ly.row_dtype = lj.at("row_dtype").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
      throw config_error(std::string("layout layer entry: ") + e.what(), where);
    }
    const std::string lw = "layer " + std::to_string(ly.id);
    const size_t orders = lj.at("primes").size();
    if (ly.multipliers.size() != orders + 1)
      throw config_error(lw + ": " + std::to_string(ly.multipliers.size()) + " multipliers for " +
                             std::to_string(orders) + " orders (need orders + 1)", where);
    if (n_mult && (ly.multipliers.size() != n_mult || ly.primes.size() != n_rows))
      throw config_error(lw + ": orders or heads differ from the first layer", where);
    n_mult = ly.multipliers.size(), n_rows = ly.primes.size();
    for (uint64_t m : ly.multipliers)
      if ((m & 1) == 0) throw config_error(lw + ": multiplier " + std::to_string(m) + " is even", where);
    for (uint64_t p : ly.primes) {
      if (!is_prime_u64(p)) throw config_error(lw + ": table size " + std::to_string(p) + " is not prime", where);
      if (!used.insert(p).second)
        throw config_error(lw + ": prime " + std::to_string(p) + " is used twice in the model", where);
    }
    const auto off = engram_offsets(ly.primes);
    if (!ly.offsets.empty() && ly.offsets != off)
      throw config_error(lw + ": offsets are not the prefix sums of the primes", where);
    ly.offsets = off;
    L.layers.push_back(std::move(ly));
  }
  return L;
}

EngramLayout load_engram_layout(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw config_error("cannot open layout file", path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EngramLayout L = parse_engram_layout(text, path);
  if (L.source.empty()) L.source = path;
  return L;
}

EngramLayout engram_generated_layout(const std::vector<int64_t>& layer_ids, const std::vector<uint64_t>& sizes,
                                     int heads, uint64_t compressed_vocab, uint64_t seed) {
  EngramLayout L;
  L.official = false;
  L.source = "generated: global prime rule + SplitMix64 multipliers (non-official)";
  const auto primes = engram_select_primes(int(layer_ids.size()), sizes, heads);
  for (size_t l = 0; l < layer_ids.size(); ++l) {
    EngramLayerLayout ly;
    ly.id = layer_ids[l];
    ly.multipliers = engram_multipliers_splitmix(ly.id, compressed_vocab, int(sizes.size()) + 1, seed);
    ly.primes = primes[l];
    ly.offsets = engram_offsets(ly.primes);
    L.layers.push_back(std::move(ly));
  }
  return L;
}

}  // namespace v4lab::kernels
