// test_engram_cache.cpp — §10 cache simulator on seeded Zipf id streams and the real corpus: hit rates
// non-decreasing in capacity per policy, LFU and static ahead of LRU, full-table and zero-capacity
// limits, byte conservation across tiers, PCIe bytes without dedup, and the stall model's direction.
#include <catch2/catch.hpp>

#include <filesystem>

#include "core/text_corpus.h"
#include "sim/engram_cache.h"
#include "sim/zipf.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {
constexpr int64_t kRows = 20000;
const std::vector<uint32_t>& zipf_trace() {
  static const std::vector<uint32_t> t = zipf_stream(kRows, 1.0, 200000, 7, 99);
  return t;
}
EngramCacheConfig base(CachePolicy pol, int64_t cache_rows) {
  EngramCacheConfig c;
  c.table_rows = kRows, c.row_bytes = 264, c.cache_rows = cache_rows, c.policy = pol;
  c.rows_per_token = 16, c.tokens_per_step = 32;
  return c;
}
}  // namespace

TEST_CASE("zipf sampler: seeded, in range, rank 0 most frequent", "[sim][engram]") {
  auto a = zipf_stream(1000, 1.2, 50000, 3), b = zipf_stream(1000, 1.2, 50000, 3);
  REQUIRE(a == b);
  std::vector<int> n(1000, 0);
  for (auto x : a) {
    REQUIRE(x < 1000u);
    ++n[x];
  }
  REQUIRE(n[0] > n[1]);
  REQUIRE(n[1] > n[10]);
}

TEST_CASE("engram cache: hit rate non-decreasing in cache size for every policy", "[sim][engram]") {
  for (CachePolicy pol : {CachePolicy::Lru, CachePolicy::Lfu, CachePolicy::Static}) {
    double prev = -1;
    for (int64_t cap : {0, 50, 200, 1000, 4000, 12000, 20000}) {
      const auto r = simulate_engram_cache(base(pol, cap), zipf_trace());
      INFO(cache_policy_name(pol) << " cap " << cap);
      REQUIRE(r.hbm.hit_rate >= prev);
      prev = r.hbm.hit_rate;
    }
  }
}

TEST_CASE("engram cache: LFU and static beat LRU on Zipf streams", "[sim][engram]") {
  // s = 1.0, 20k rows, cache 2.5% of the table, seed 7: lru 0.497, lfu 0.639, static 0.647 (measured).
  // Margin asserted: 0.03 absolute, far below the observed gap and far above seed-to-seed noise.
  const auto lru = simulate_engram_cache(base(CachePolicy::Lru, 500), zipf_trace());
  const auto lfu = simulate_engram_cache(base(CachePolicy::Lfu, 500), zipf_trace());
  const auto prof = zipf_stream(kRows, 1.0, 200000, 8, 99);  // independent profiling pass, same ranking
  const auto stat = simulate_engram_cache(base(CachePolicy::Static, 500), zipf_trace(), &prof);
  REQUIRE(lfu.hbm.hit_rate >= lru.hbm.hit_rate + 0.03);
  REQUIRE(stat.hbm.hit_rate >= lru.hbm.hit_rate + 0.03);
}

TEST_CASE("engram cache: full-table cache hits every warm access, zero cache hits nothing", "[sim][engram]") {
  const auto st = simulate_engram_cache(base(CachePolicy::Static, kRows), zipf_trace());
  REQUIRE(st.hbm.hit_rate == 1.0);
  REQUIRE(st.link_bytes == 0);
  for (CachePolicy pol : {CachePolicy::Lru, CachePolicy::Lfu}) {
    const auto r = simulate_engram_cache(base(pol, kRows + 5), zipf_trace());
    REQUIRE(r.hbm_hit_rate_warm == 1.0);
    REQUIRE(r.hbm.rows == r.unique_rows - r.cold_misses);
    REQUIRE(r.evictions == 0);
  }
  for (CachePolicy pol : {CachePolicy::None, CachePolicy::Lru, CachePolicy::Lfu, CachePolicy::Static}) {
    const auto r = simulate_engram_cache(base(pol, 0), zipf_trace());
    REQUIRE(r.hbm.lookups == 0);
    REQUIRE(r.hbm.hit_rate == 0.0);
  }
  const auto none = simulate_engram_cache(base(CachePolicy::None, 5000), zipf_trace());
  REQUIRE(none.hbm.lookups == 0);
}

TEST_CASE("engram cache: bytes per tier add up to the requested bytes", "[sim][engram]") {
  for (int64_t dram : {int64_t(-1), int64_t(3000)}) {
    for (CachePolicy pol : {CachePolicy::Lru, CachePolicy::Lfu, CachePolicy::Static}) {
      auto c = base(pol, 700);
      c.dram_rows = dram;
      const auto r = simulate_engram_cache(c, zipf_trace());
      REQUIRE(r.requested_bytes == int64_t(zipf_trace().size()) * c.row_bytes);
      REQUIRE(r.hbm.bytes + r.dram.bytes + r.nvme.bytes == r.requested_bytes);
      REQUIRE(r.hbm.lookups + r.dram.lookups + r.nvme.lookups == r.lookups);
      REQUIRE(r.link_bytes == (r.dram.rows + r.nvme.rows) * c.row_bytes);
      REQUIRE((dram < 0 ? r.nvme.lookups == 0 : r.nvme.lookups > 0));
    }
  }
  auto c = base(CachePolicy::None, 0);
  c.dedup = false;
  const auto r = simulate_engram_cache(c, zipf_trace());
  REQUIRE(r.link_bytes == r.lookups * c.row_bytes);  // §12: capacity 0 → PCIe bytes = lookups × b_row
}

TEST_CASE("engram cache: stall model — prefetch distance and bandwidth never make it worse", "[sim][engram]") {
  auto c = base(CachePolicy::Lru, 200);
  c.link.host_link_bytes_per_s = 2e9, c.step_s = 1e-4, c.slack_s = 1e-5;
  c.prefetch_distance = 0;
  const auto d0 = simulate_engram_cache(c, zipf_trace());
  c.prefetch_distance = 4;
  const auto d4 = simulate_engram_cache(c, zipf_trace());
  REQUIRE(d0.stall_total_s > 0);
  REQUIRE(d4.stall_total_s <= d0.stall_total_s);
  c.link.host_link_bytes_per_s = 1e15, c.link.host_link_latency_s = 0, c.link.gather_s_per_row = 0;
  const auto fast = simulate_engram_cache(c, zipf_trace());
  REQUIRE(fast.stall_total_s == 0);
  REQUIRE(d0.stall_p99_s >= d0.stall_p50_s);
}

TEST_CASE("text corpus: deterministic tokenizer, the fortunes corpus replays", "[sim][engram]") {
  std::unordered_map<std::string, int32_t> idx;
  std::vector<std::string> vocab;
  std::vector<int32_t> ids;
  tokenize_words("Hello, hello WORLD! 42x -- caf\xc3\xa9", idx, vocab, ids);
  REQUIRE(ids == std::vector<int32_t>{0, 0, 1, 2, 3});
  REQUIRE(vocab == std::vector<std::string>{"hello", "world", "42x", "caf"});
  if (!std::filesystem::exists(kDefaultCorpusPath)) {
    WARN("skipped: " << kDefaultCorpusPath << " missing (apt-get install fortunes)");
    return;
  }
  const TextCorpus corpus = load_text_corpus(kDefaultCorpusPath);
  REQUIRE(corpus.name == "fortunes");
  REQUIRE(corpus.token_ids.size() > 100000);
  // Replay the word ids themselves as rows (the CLI hashes them into N-gram rows instead).
  std::vector<uint32_t> t(corpus.token_ids.begin(), corpus.token_ids.end());
  auto c = base(CachePolicy::Lfu, 1000);
  c.table_rows = int64_t(corpus.vocab.size()), c.rows_per_token = 1, c.tokens_per_step = 256;
  const auto r = simulate_engram_cache(c, t);
  REQUIRE(r.hbm.hit_rate > 0.3);  // a 1000-word cache of real English covers well over a third of tokens
  REQUIRE(r.hbm.bytes + r.dram.bytes == r.requested_bytes);
}
