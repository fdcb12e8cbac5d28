// test_engram_hash.cpp — specs/engram.md §3/§12 hashing tests: the spec's known-answer case, Barrett
// mod against %, Miller–Rabin against a sieve, the global prime rule's test vectors, distinctness,
// multiplier bound, layout file parsing, index bounds and pad handling, _cpu (and _cuda) vs _ref.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/engram/canonical_map.h"
#include "kernels/engram/engram.h"
#include "kernels/engram/primes.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;
using v4lab::test::compare;
using v4lab::test::params;
using v4lab::test::require_all_pass;

namespace {

using HashFn = void (*)(const EngramHashParams&, const int32_t*, const int32_t*, const int32_t*, const uint64_t*,
                        const uint64_t*, uint32_t*, uint64_t*, uint64_t*);

uint64_t layer_total(const std::vector<uint64_t>& p) { return engram_table_rows(p); }

}  // namespace

TEST_CASE("engram hash: spec known-answer case (m = 3, 5, 9, primes 5, 7 | 11, 13)", "[engram][ref][cpu]") {
  EngramHashParams p;
  p.n_tokens = 3, p.max_ngram = 3, p.heads = 2, p.raw_vocab = 14, p.pad_id = 0;
  std::vector<int32_t> cmap(14);
  for (int i = 0; i < 14; ++i) cmap[i] = i;  // identity: pad (raw 0) → 0
  const int32_t tok[3] = {7, 11, 13}, ctx[2] = {-1, -1};
  const uint64_t m[3] = {3, 5, 9}, pr[4] = {5, 7, 11, 13};
  for (HashFn fn : {engram_hash_ref, engram_hash_cpu}) {
    uint32_t rows[12];
    uint64_t off[4], mix[6];
    fn(p, tok, ctx, cmap.data(), m, pr, rows, off, mix);
    CHECK(std::vector<uint64_t>(off, off + 4) == std::vector<uint64_t>{0, 5, 12, 23});
    CHECK(std::vector<uint64_t>(mix, mix + 6) == std::vector<uint64_t>{21, 21, 2, 2, 16, 47});
    // head indices t0 [1, 0, 10, 8], t1 [2, 2, 2, 2], t2 [1, 2, 3, 8] plus the offsets
    CHECK(std::vector<uint32_t>(rows, rows + 12) == std::vector<uint32_t>{1, 5, 22, 31, 2, 7, 14, 25, 1, 7, 15, 31});
  }
}

TEST_CASE("engram hash: context ring, masked ids and bad ids", "[engram][ref][cpu]") {
  EngramHashParams p;
  p.n_tokens = 2, p.max_ngram = 3, p.heads = 1, p.raw_vocab = 20, p.pad_id = 2;
  std::vector<int32_t> cmap(20);
  for (int i = 0; i < 20; ++i) cmap[i] = i / 2;  // pad raw 2 → 1
  const uint64_t m[3] = {3, 5, 9}, pr[2] = {101, 103};
  for (HashFn fn : {engram_hash_ref, engram_hash_cpu}) {
    uint32_t rows[4];
    uint64_t off[2], mix[4];
    // Decode-style context: the two previous raw ids 10, 12 (compressed 5, 6).
    const int32_t tok[2] = {14, -1}, ctx[2] = {10, 12};
    fn(p, tok, ctx, cmap.data(), m, pr, rows, off, mix);
    CHECK(mix[0] == ((7u * 3) ^ (6u * 5)));
    CHECK(mix[1] == (((7u * 3) ^ (6u * 5)) ^ (5u * 9)));
    CHECK(mix[2] == ((1u * 3) ^ (7u * 5)));  // masked −1 hashes as the compressed pad (1)
    CHECK(mix[3] == (((1u * 3) ^ (7u * 5)) ^ (6u * 9)));
    CHECK(rows[1] == 101 + mix[1] % 103);
    const int32_t bad[2] = {3, 20};
    try {
      fn(p, bad, ctx, cmap.data(), m, pr, rows, off, mix);
      FAIL("no error for raw id >= V");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains("raw id 20") && Catch::Contains("position 1"));
    }
  }
}

TEST_CASE("engram hash: Barrett mod equals % on edge and random inputs", "[engram][ref]") {
  Rng rng(7);
  const uint64_t ps[] = {2, 3, 5, 646403, 16000057, 4294967291ull, 4294967311ull, (1ull << 61) - 1};
  for (uint64_t p : ps) {
    const uint64_t inv = engram_mod_inverse(p);
    const uint64_t xs[] = {0, 1, p - 1, p, p + 1, (1ull << 63) - 1, ~0ull, ~0ull - 1, p * (~0ull / p), p * (~0ull / p) - 1};
    for (uint64_t x : xs) REQUIRE(engram_mod(x, p, inv) == x % p);
    for (int i = 0; i < 20000; ++i) {
      const uint64_t x = rng.next_u64() >> (i % 40);
      REQUIRE(engram_mod(x, p, inv) == x % p);
    }
  }
}

TEST_CASE("engram primes: Miller-Rabin agrees with a sieve, and on large known cases", "[engram][ref]") {
  const int n = 200000;
  std::vector<bool> comp(n + 1, false);
  comp[0] = comp[1] = true;
  for (int i = 2; i * i <= n; ++i)
    if (!comp[i])
      for (int j = i * i; j <= n; j += i) comp[j] = true;
  for (int i = 0; i <= n; ++i) REQUIRE(is_prime_u64(uint64_t(i)) == !comp[i]);
  CHECK(is_prime_u64(18446744073709551557ull));  // largest u64 prime
  CHECK_FALSE(is_prime_u64(18446744073709551615ull));
  CHECK_FALSE(is_prime_u64(3215031751ull));          // strong pseudoprime to bases 2, 3, 5, 7
  CHECK_FALSE(is_prime_u64(3825123056546413051ull)); // strong pseudoprime to bases 2..23
  CHECK(is_prime_u64((1ull << 61) - 1));
  CHECK(next_prime_u64(16000000) == 16000057);
}

TEST_CASE("engram primes: the global rule reproduces the spec's test vectors", "[engram][ref]") {
  const auto demo = engram_select_primes(2, {646400, 646400}, 8);
  CHECK(std::vector<uint64_t>(demo[0].begin(), demo[0].begin() + 9) ==
        std::vector<uint64_t>{646403, 646411, 646421, 646423, 646433, 646453, 646519, 646523, 646537});
  CHECK(demo[0][15] == 646619);
  CHECK(layer_total(demo[0]) == 10344164);
  CHECK(layer_total(demo[1]) == 10348242);
  const auto p27 = engram_select_primes(2, {2262400, 2262400}, 8);
  CHECK(layer_total(p27[0]) == 36199972);
  CHECK(layer_total(p27[1]) == 36204260);
  const auto p40 = engram_select_primes(2, {7239680, 7239680}, 8);
  CHECK(layer_total(p40[0]) == 115837464);
  CHECK(layer_total(p40[1]) == 115841428);
  const auto v41 = engram_select_primes(2, {16000000, 16000000, 16000000}, 8);
  CHECK(std::vector<uint64_t>(v41[0].begin(), v41[0].begin() + 3) ==
        std::vector<uint64_t>{16000057, 16000079, 16000081});
  CHECK(layer_total(v41[0]) == 384006168);
  CHECK(layer_total(v41[1]) == 384016682);
  // Distinct model-wide; head 0 ≥ its size, later heads increase.
  std::set<uint64_t> all;
  for (const auto& l : v41) {
    for (size_t j = 0; j < l.size(); ++j) {
      CHECK(is_prime_u64(l[j]));
      CHECK(all.insert(l[j]).second);
      if (j % 8 == 0) CHECK(l[j] >= 16000000);
      else CHECK(l[j] > l[j - 1]);
    }
  }
  // A configured size that is itself an unused prime is taken.
  const auto small = engram_select_primes(2, {11, 11}, 2);
  CHECK(small[0] == std::vector<uint64_t>{11, 13, 17, 19});
  CHECK(small[1] == std::vector<uint64_t>{23, 29, 31, 37});
  CHECK(engram_offsets({5, 7, 11, 13}) == std::vector<uint64_t>{0, 5, 12, 23});
}

TEST_CASE("engram multipliers: odd, below the bound, deterministic, no overflow", "[engram][ref]") {
  for (uint64_t v : {129280ull, 99092ull, 1ull}) {
    const uint64_t B = engram_multiplier_bound(v);
    const auto m = engram_multipliers_splitmix(14, v, 4, 0);
    CHECK(m == engram_multipliers_splitmix(14, v, 4, 0));
    CHECK(m != engram_multipliers_splitmix(1, v, 4, 0));
    for (uint64_t x : m) {
      CHECK((x & 1) == 1);
      CHECK(x < 2 * B + 1);
      // x′·m < 2^63 for the largest compressed id.
      CHECK((unsigned __int128)(v - 1) * x < ((unsigned __int128)1 << 63));
    }
  }
  CHECK(engram_multiplier_bound(129280) == ((1ull << 63) - 1) / 129280 / 2);
}

TEST_CASE("engram layout file: parse, validate, reject", "[engram][ref]") {
  const std::string ok = R"({"source": "test", "layers": [
      {"id": 1, "multipliers": [3, 5, 9], "primes": [[5, 7], [11, 13]], "offsets": [0, 5, 12, 23]},
      {"id": 15, "multipliers": [7, 11, 13], "primes": [[17, 19], [23, 29]]}]})";
  const EngramLayout L = parse_engram_layout(ok, "t.json");
  REQUIRE(L.layers.size() == 2);
  CHECK(L.official);
  CHECK(L.layers[1].offsets == std::vector<uint64_t>{0, 17, 36, 59});
  CHECK(L.content_hash != 0);
  auto bad = [&](const std::string& j, const char* what) {
    try {
      parse_engram_layout(j, "t.json");
      FAIL("accepted: " << what);
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(what));
    }
  };
  bad(R"({"layers": [{"id": 1, "multipliers": [3, 5, 9], "primes": [[5, 7], [11, 15]]}]})", "15 is not prime");
  bad(R"({"layers": [{"id": 1, "multipliers": [3, 4, 9], "primes": [[5, 7], [11, 13]]}]})", "4 is even");
  bad(R"({"layers": [{"id": 1, "multipliers": [3, 5, 9], "primes": [[5, 7], [11, 5]]}]})", "5 is used twice");
  bad(R"({"layers": [{"id": 1, "multipliers": [3, 5], "primes": [[5, 7], [11, 13]]}]})", "2 multipliers");
  bad(R"({"layers": [{"id": 1, "multipliers": [3, 5, 9], "primes": [[5, 7], [11, 13]], "offsets": [0, 5, 12, 24]}]})",
      "prefix sums");
  const EngramLayout G = engram_generated_layout({1, 15}, {646400, 646400}, 8, 99000, 0);
  CHECK_FALSE(G.official);
  CHECK(engram_table_rows(G.layers[0].primes) == 10344164);
}

TEST_CASE("engram hash: _cpu equals _ref, bounds, determinism", "[engram][cpu]") {
  for (int64_t T : {1, 13, 257}) {
    for (int N : {3, 4}) {
      INFO("T = " << T << ", N = " << N);
      const ParamMap pm = params("engram_hash", {{"n_tokens", double(T)}, {"max_ngram", double(N)},
                                                 {"vocab_size_per_order", N == 4 ? 16000000.0 : 646400.0},
                                                 {"layer_index", 1}, {"layer_id", 15}});
      require_all_pass(compare("engram_hash", Backend::Cpu, pm, 3));
    }
  }
  const ParamMap pm = params("engram_hash", {{"n_tokens", 500}});
  const KernelIO a = run_once("engram_hash", Backend::Cpu, pm, 11), b = run_once("engram_hash", Backend::Cpu, pm, 11);
  CHECK(std::memcmp(a.out("row_ids").raw(), b.out("row_ids").raw(), a.out("row_ids").nbytes()) == 0);
  // 0 ≤ z < p for every head: row − offset < prime.
  const auto* rows = a.out("row_ids").data<uint32_t>();
  const auto* off = a.out("offsets").data<uint64_t>();
  const auto* pr = a.in("primes").data<uint64_t>();
  for (int64_t t = 0; t < 500; ++t)
    for (int j = 0; j < 16; ++j) {
      REQUIRE(rows[t * 16 + j] >= off[j]);
      REQUIRE(rows[t * 16 + j] - off[j] < pr[j]);
    }
}

TEST_CASE("engram hash: _cuda equals _ref", "[engram][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  for (int64_t T : {1, 31, 1000}) {
    const ParamMap pm = params("engram_hash", {{"n_tokens", double(T)}, {"max_ngram", 4}});
    require_all_pass(compare("engram_hash", Backend::Cuda, pm, 5));
  }
}
