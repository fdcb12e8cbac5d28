// primes.h — Engram table sizes and hash multipliers (specs/engram.md §3, §4): deterministic
// Miller–Rabin for u64, the global prime selection rule across all Engram layers, per-head offsets,
// the multiplier bound, SplitMix64 multipliers (labelled non-official: every hash id then differs
// from the demo), and the optional layout file (JSON) whose multipliers and primes override both.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::kernels {

// Deterministic for every n < 2^64 (witnesses 2, 3, 5, …, 37 cover the whole u64 range).
bool is_prime_u64(uint64_t n);
// Smallest prime > n (throws config_error if none fits in u64).
uint64_t next_prime_u64(uint64_t n);

// §3 prime rule. For each layer (in layer_ids order), order n and head k: p = smallest prime > s′
// not used anywhere earlier in the model, s′ = vocab_size_per_order[n−2] − 1 for head 0 of an order
// and the previous head's prime afterwards. Returns primes[layer][(n−2)·K + k] (order-major).
std::vector<std::vector<uint64_t>> engram_select_primes(int n_layers, const std::vector<uint64_t>& vocab_size_per_order,
                                                        int heads);
// Per-head static offsets: offsets[j] = Σ_{i<j} primes[i]; global row = offsets[j] + z.
std::vector<uint64_t> engram_offsets(const std::vector<uint64_t>& primes);
uint64_t engram_table_rows(const std::vector<uint64_t>& primes);  // Σ primes

// §3 bound B = max(1, ⌊⌊(2^63−1)/V′⌋/2⌋): m = 2r + 1 with r < B keeps x′·m < 2^63 for x′ < V′.
uint64_t engram_multiplier_bound(uint64_t compressed_vocab);
// NON-OFFICIAL multipliers: SplitMix64 seeded with seed + 10007·layer_id, r_j = next mod B, m_j =
// 2r_j + 1. The demo uses numpy's PCG64 instead; load a layout file to reproduce it.
std::vector<uint64_t> engram_multipliers_splitmix(int64_t layer_id, uint64_t compressed_vocab, int max_ngram,
                                                  uint64_t seed);

// Layout file (§4, JSON): {"layers": [{"id": ℓ, "multipliers": [N], "primes": [[K] per order],
// "offsets": [R] (optional, checked), "row_dtype": "..." (optional)}], "source": "..."}.
struct EngramLayerLayout {
  int64_t id = 0;
  std::vector<uint64_t> multipliers;  // [N], odd
  std::vector<uint64_t> primes;       // [R] order-major head-minor
  std::vector<uint64_t> offsets;      // [R]
  std::string row_dtype;              // empty if not given
};
struct EngramLayout {
  std::vector<EngramLayerLayout> layers;
  bool official = false;  // true when loaded from a file (multipliers exported by ref.py)
  std::string source;
  uint64_t content_hash = 0;  // FNV-1a 64 of the file bytes; stored with every result that uses it
};
// Parses and validates (all primes prime and distinct model-wide, odd multipliers, consistent counts,
// offsets = prefix sums); errors name the layer and entry. `where` prefixes messages.
EngramLayout parse_engram_layout(const std::string& json_text, const std::string& where);
EngramLayout load_engram_layout(const std::string& path);
// The generated (non-official) layout: the prime rule + SplitMix64 multipliers.
EngramLayout engram_generated_layout(const std::vector<int64_t>& layer_ids,
                                     const std::vector<uint64_t>& vocab_size_per_order, int heads,
                                     uint64_t compressed_vocab, uint64_t seed);

}  // namespace v4lab::kernels
