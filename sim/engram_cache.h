// engram_cache.h — multi-tier Engram cache simulator (specs/engram.md §9 stall model, §10): replays a
// trace of Engram row ids (any source: Zipf, a hashed text corpus, a token file) through T0 device hot
// cache (HBM) → T1 host DRAM → T2 NVMe under LRU, LFU with aging, static frequency-ranked pinning, or
// none, and times each step's fetch on the host link against the compute it can hide behind.
// Plain id streams only: the simulator never sees kernel headers (the CLI hashes tokens into ids).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::sim {

enum class CachePolicy { None, Lru, Lfu, Static };
const char* cache_policy_name(CachePolicy p);                          // none, lru, lfu, static
CachePolicy parse_cache_policy(const std::string& s, const std::string& where);  // config_error naming `where`

// Transfer parameters of the stall model (§9 gather+DMA: t = t_gather(rows) + t_launch + bytes/BW).
struct EngramLinkModel {
  double host_link_bytes_per_s = 64e9;   // H2D per direction (hardware preset host_link_gbs)
  double host_link_latency_s = 2e-6;     // one DMA: launch + completion (preset host_link_latency_us)
  double background_util = 0;            // fraction of the link taken by KV offload / expert streaming, [0, 1)
  double gather_s_per_row = 20e-9;       // host gather of one row into staging (assumption; measure with `pipeline`)
  double nvme_bytes_per_s = 7e9;         // T2 read bandwidth (assumption: one PCIe Gen4 x4 drive)
  double nvme_iops = 1e6;                // T2 random-read IOPS (assumption)
  double nvme_latency_s = 80e-6;         // T2 read latency at queue depth (assumption)
};

struct EngramCacheConfig {
  int64_t table_rows = 1 << 20;        // Σp: every id in the trace must be < table_rows
  int64_t row_bytes = 264;             // b_row (FP8 D = 256: 264 B)
  int64_t cache_rows = 0;              // T0 HBM capacity in rows (ignored by policy none)
  int64_t dram_rows = -1;              // T1 capacity in rows; −1: the whole table lives in DRAM (no NVMe traffic)
  CachePolicy policy = CachePolicy::Lru;
  int rows_per_token = 16;             // R = (N−1)·K lookups per token
  int64_t tokens_per_step = 256;       // batch: tokens per step; lookups per step = tokens · R
  int prefetch_distance = 1;           // d: step s's fetch may start when step s − d starts (0: at step s)
  bool dedup = true;                   // fetch each row once per step (§9 step 1); off: every lookup crosses
  double lfu_half_life = 1e6;          // LFU aging: a past access weighs half after this many accesses (0: none)
  double step_s = 2e-3;                // compute time of one step (assumption unless measured)
  double slack_s = 2e-4;               // compute of the layers before the Engram layer within a step
  EngramLinkModel link;
  void validate() const;               // config_error naming the field, value and accepted range
};

struct EngramTierStats {
  int64_t lookups = 0;  // lookups served by this tier
  int64_t rows = 0;     // unique (per step) row fetches served by this tier
  int64_t bytes = 0;    // lookups · row_bytes
  double hit_rate = 0;  // lookups / all lookups
};

struct EngramCacheResult {
  int64_t steps = 0, tokens = 0, lookups = 0;
  int64_t unique_rows = 0;    // Σ per-step unique rows (= lookups without dedup)
  int64_t distinct_rows = 0;  // distinct rows in the whole trace
  int64_t cold_misses = 0;    // first-ever touches (no demand-filled cache avoids them)
  EngramTierStats hbm, dram, nvme;
  int64_t requested_bytes = 0;  // lookups · row_bytes = hbm.bytes + dram.bytes + nvme.bytes
  int64_t link_bytes = 0;       // host → device over PCIe (T1 and T2 fetches)
  int64_t nvme_bytes = 0, nvme_reads = 0;
  int64_t promotions = 0, evictions = 0;  // T0 inserts and evictions
  double hbm_hit_rate_warm = 0;           // T0 hits / (unique accesses − cold misses)
  double link_bytes_per_token = 0, link_bytes_per_step = 0;
  double fetch_mean_s = 0;                // modelled fetch time per step
  double slack_mean_s = 0;                // time between a step's issue and its need
  double stall_total_s = 0, stall_mean_s = 0, stall_p50_s = 0, stall_p99_s = 0, stall_per_token_s = 0;
  double stalled_step_fraction = 0;
  int64_t hbm_used_rows = 0;              // T0 occupancy at the end
  std::vector<double> warmup_curve;       // T0 hit rate (lookups) over each tenth of the trace
};

// Replays `trace` (lookups in token order, R per token; the last step may be short). `profile` is
// the static policy's profiling trace (nullptr: the replayed trace itself, i.e. an oracle ranking).
EngramCacheResult simulate_engram_cache(const EngramCacheConfig& c, const std::vector<uint32_t>& trace,
                                        const std::vector<uint32_t>* profile = nullptr);

}  // namespace v4lab::sim
