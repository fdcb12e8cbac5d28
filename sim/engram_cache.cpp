// engram_cache.cpp — the §10 cache simulator: per step, dedup the step's row ids, classify each row by
// the tier holding it (T0 policy cache, T1 DRAM, T2 NVMe), update the policy, and push the step's
// misses through the §9 fetch model on one copy link to get ready time, need time and stall.
// LRU and LFU keep the inclusion property (one priority order independent of capacity), so their hit
// rates are non-decreasing in capacity; static pins a prefix of one frequency ranking.
#include "sim/engram_cache.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/error.h"

namespace v4lab::sim {

const char* cache_policy_name(CachePolicy p) {
  switch (p) {
    case CachePolicy::None: return "none";
    case CachePolicy::Lru: return "lru";
    case CachePolicy::Lfu: return "lfu";
    case CachePolicy::Static: return "static";
  }
  return "?";
}

CachePolicy parse_cache_policy(const std::string& s, const std::string& where) {
  if (s == "none") return CachePolicy::None;
  if (s == "lru") return CachePolicy::Lru;
  if (s == "lfu") return CachePolicy::Lfu;
  if (s == "static") return CachePolicy::Static;
  throw config_error("unknown cache policy '" + s + "' (accepted: none, lru, lfu, static)", where);
}

void EngramCacheConfig::validate() const {
  auto num = [](double v) {
    return v == std::floor(v) && std::fabs(v) < 1e15 ? std::to_string(int64_t(v)) : std::to_string(v);
  };
  auto range = [&](const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw config_error(std::string(name) + " = " + num(v) + " is out of range [" + num(lo) + ", " + num(hi) + "]");
  };
  range("table_rows", double(table_rows), 1, 4294967296.0);
  range("row_bytes", double(row_bytes), 1, 1 << 20);
  range("cache_rows", double(cache_rows), 0, 4294967296.0);
  if (dram_rows != -1) range("dram_rows", double(dram_rows), 0, 4294967296.0);
  range("rows_per_token", rows_per_token, 1, 4096);
  range("tokens_per_step", double(tokens_per_step), 1, 1e7);
  range("prefetch_distance", prefetch_distance, 0, 1024);
  range("lfu_half_life", lfu_half_life, 0, 1e15);
  range("step_s", step_s, 0, 1e3);
  range("slack_s", slack_s, 0, 1e3);
  range("link.host_link_bytes_per_s", link.host_link_bytes_per_s, 1, 1e15);
  range("link.host_link_latency_s", link.host_link_latency_s, 0, 1);
  range("link.background_util", link.background_util, 0, 0.99);
  range("link.gather_s_per_row", link.gather_s_per_row, 0, 1);
  range("link.nvme_bytes_per_s", link.nvme_bytes_per_s, 1, 1e15);
  range("link.nvme_iops", link.nvme_iops, 1, 1e12);
  range("link.nvme_latency_s", link.nvme_latency_s, 0, 1);
}

namespace {

// Intrusive LRU list over row ids (O(1) per access); also used for a bounded T1.
class LruSet {
 public:
  LruSet(int64_t rows, int64_t cap) : cap_(cap), prev_(cap > 0 ? rows : 0, -1), next_(cap > 0 ? rows : 0, -1),
                                      in_(cap > 0 ? rows : 0, 0) {}
  bool contains(uint32_t r) const { return cap_ > 0 && in_[r]; }
  // Touch r; returns true when r was inserted (it was absent), and sets *evicted when a row left.
  bool access(uint32_t r, bool* evicted) {
    *evicted = false;
    if (cap_ <= 0) return false;
    if (in_[r]) {
      unlink(r);
      push_front(r);
      return false;
    }
    if (size_ == cap_) {
      const int64_t victim = tail_;
      unlink(uint32_t(victim));
      in_[victim] = 0, --size_, *evicted = true;
    }
    push_front(r);
    in_[r] = 1, ++size_;
    return true;
  }
  int64_t size() const { return size_; }

 private:
  void unlink(uint32_t r) {
    const int64_t p = prev_[r], n = next_[r];
    (p >= 0 ? next_[p] : head_) = n;
    (n >= 0 ? prev_[n] : tail_) = p;
  }
  void push_front(uint32_t r) {
    prev_[r] = -1, next_[r] = head_;
    (head_ >= 0 ? prev_[head_] : tail_) = r;
    head_ = r;
  }
  int64_t cap_, size_ = 0, head_ = -1, tail_ = -1;
  std::vector<int64_t> prev_, next_;
  std::vector<char> in_;
};

// LFU with exponential aging: every access adds w_t = 2^(t / half_life), which equals halving all past
// counts every half_life accesses but leaves the order of untouched rows unchanged. The cache holds the
// top `cap` rows by (score, id): only the touched row's priority moves, so one admission test suffices.
class LfuSet {
 public:
  LfuSet(int64_t rows, int64_t cap, double half_life)
      : cap_(cap), score_(cap > 0 ? rows : 0, 0.0), in_(cap > 0 ? rows : 0, 0),
        growth_(half_life > 0 ? std::exp2(1.0 / half_life) : 1.0) {}
  bool contains(uint32_t r) const { return cap_ > 0 && in_[r]; }
  bool access(uint32_t r, bool* evicted) {
    *evicted = false;
    if (cap_ <= 0) return false;
    if (w_ > 0x1p256) renormalize();
    bool inserted = false;
    if (in_[r]) {
      set_.erase({score_[r], r});
      score_[r] += w_;
      set_.insert({score_[r], r});
    } else {
      score_[r] += w_;
      if (int64_t(set_.size()) < cap_) {
        set_.insert({score_[r], r}), in_[r] = 1, inserted = true;
      } else if (std::pair<double, uint32_t>{score_[r], r} > *set_.begin()) {
        in_[set_.begin()->second] = 0, set_.erase(set_.begin()), *evicted = true;
        set_.insert({score_[r], r}), in_[r] = 1, inserted = true;
      }
    }
    w_ *= growth_;
    return inserted;
  }
  int64_t size() const { return int64_t(set_.size()); }

 private:
  void renormalize() {  // scaling by a power of two is exact: the order of every score is kept
    for (auto& s : score_) s *= 0x1p-256;
    w_ *= 0x1p-256;
    std::set<std::pair<double, uint32_t>> s2;
    for (auto& e : set_) s2.insert({score_[e.second], e.second});
    set_.swap(s2);
  }
  int64_t cap_;
  std::vector<double> score_;
  std::vector<char> in_;
  std::set<std::pair<double, uint32_t>> set_;
  double growth_, w_ = 1.0;
};

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, size_t(std::ceil(q * double(v.size()))) - (q > 0 ? 1 : 0));
  return v[i];
}

}  // namespace

EngramCacheResult simulate_engram_cache(const EngramCacheConfig& c, const std::vector<uint32_t>& trace,
                                        const std::vector<uint32_t>* profile) {
  c.validate();
  const int64_t n_rows = c.table_rows, rb = c.row_bytes;
  for (size_t i = 0; i < trace.size(); ++i)
    if (int64_t(trace[i]) >= n_rows)
      throw config_error("trace entry " + std::to_string(i) + " = " + std::to_string(trace[i]) +
                         " >= table_rows = " + std::to_string(n_rows));
  const int64_t cap = c.policy == CachePolicy::None ? 0 : std::min(c.cache_rows, n_rows);

  LruSet lru(n_rows, c.policy == CachePolicy::Lru ? cap : 0);
  LfuSet lfu(n_rows, c.policy == CachePolicy::Lfu ? cap : 0, c.lfu_half_life);
  std::vector<char> pinned;
  if (c.policy == CachePolicy::Static && cap > 0) {  // profiling pass: rank by count, ties by id
    const std::vector<uint32_t>& prof = profile ? *profile : trace;
    std::vector<int64_t> count(size_t(n_rows), 0);
    for (uint32_t r : prof)
      if (int64_t(r) < n_rows) ++count[r];
    std::vector<uint32_t> order(static_cast<size_t>(n_rows));
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return count[a] > count[b]; });
    pinned.assign(size_t(n_rows), 0);
    for (int64_t i = 0; i < cap; ++i) pinned[order[i]] = 1;
  }
  const bool dram_full = c.dram_rows < 0 || c.dram_rows >= n_rows;
  LruSet dram(n_rows, dram_full ? 0 : c.dram_rows);
  auto in_t0 = [&](uint32_t r) {
    switch (c.policy) {
      case CachePolicy::Lru: return lru.contains(r);
      case CachePolicy::Lfu: return lfu.contains(r);
      case CachePolicy::Static: return !pinned.empty() && pinned[r] != 0;
      case CachePolicy::None: return false;
    }
    return false;
  };

  EngramCacheResult res;
  const int64_t per_step = c.tokens_per_step * c.rows_per_token;
  const int64_t n_look = int64_t(trace.size());
  res.lookups = n_look;
  res.tokens = (n_look + c.rows_per_token - 1) / c.rows_per_token;
  res.steps = (n_look + per_step - 1) / per_step;
  res.requested_bytes = n_look * rb;

  std::vector<char> seen(size_t(n_rows), 0);
  std::vector<int64_t> mark(size_t(n_rows), -1), mult(size_t(n_rows), 0);
  std::vector<uint32_t> uniq;
  std::vector<double> start(size_t(res.steps) + 1, 0.0), stalls, curve_hits(10, 0), curve_all(10, 0);
  double link_free = 0, fetch_sum = 0, slack_sum = 0;
  int64_t t0_hits = 0, warm_access = 0, done = 0;
  const double link_bw = c.link.host_link_bytes_per_s * (1.0 - c.link.background_util);

  for (int64_t s = 0; s < res.steps; ++s) {
    const int64_t b = s * per_step, e = std::min(n_look, b + per_step);
    uniq.clear();
    for (int64_t i = b; i < e; ++i) {
      const uint32_t r = trace[i];
      if (!c.dedup) {
        uniq.push_back(r), mult[r] = 1;  // each lookup is its own access (mult read right after)
        continue;
      }
      if (mark[r] != s) mark[r] = s, mult[r] = 0, uniq.push_back(r);
      ++mult[r];
    }
    int64_t n_dram = 0, n_nvme = 0;
    for (uint32_t r : uniq) {
      const int64_t m = c.dedup ? mult[r] : 1;
      const bool cold = !seen[r];
      seen[r] = 1;
      EngramTierStats* tier;
      if (in_t0(r)) {
        tier = &res.hbm, ++t0_hits;
      } else if (dram_full || dram.contains(r)) {
        tier = &res.dram, ++n_dram;
      } else {
        tier = &res.nvme, ++n_nvme;
      }
      tier->lookups += m, tier->rows += 1, tier->bytes += m * rb;
      res.cold_misses += cold, warm_access += !cold;
      const int dec = int(std::min<int64_t>(9, (done * 10) / std::max<int64_t>(1, n_look)));
      curve_all[dec] += double(m);
      if (tier == &res.hbm) curve_hits[dec] += double(m);
      done += m;
      bool ev = false, ins = false;
      if (c.policy == CachePolicy::Lru) ins = lru.access(r, &ev);
      if (c.policy == CachePolicy::Lfu) ins = lfu.access(r, &ev);
      res.promotions += ins, res.evictions += ev;
      if (!dram_full && tier != &res.hbm) dram.access(r, &ev);  // NVMe reads land in DRAM too
    }
    res.unique_rows += int64_t(uniq.size());
    const int64_t link_rows = n_dram + n_nvme;
    res.link_bytes += link_rows * rb;
    res.nvme_bytes += n_nvme * rb, res.nvme_reads += n_nvme;

    // §9 gather+DMA on one copy stream; NVMe rows are read first (latency + max(IOPS, bandwidth) bound).
    double fetch = 0;
    if (link_rows > 0)
      fetch = double(link_rows) * c.link.gather_s_per_row + c.link.host_link_latency_s + double(link_rows * rb) / link_bw;
    if (n_nvme > 0)
      fetch += c.link.nvme_latency_s +
               std::max(double(n_nvme) / c.link.nvme_iops, double(n_nvme * rb) / c.link.nvme_bytes_per_s);
    const double issue = start[size_t(std::max<int64_t>(0, s - c.prefetch_distance))];
    const double need = start[s] + c.slack_s;
    const double ready = fetch > 0 ? std::max(issue, link_free) + fetch : issue;
    if (fetch > 0) link_free = ready;
    const double stall = std::max(0.0, ready - need);
    stalls.push_back(stall);
    fetch_sum += fetch, slack_sum += need - issue;
    start[s + 1] = start[s] + c.step_s + stall;
  }

  for (EngramTierStats* t : {&res.hbm, &res.dram, &res.nvme})
    t->hit_rate = n_look ? double(t->lookups) / double(n_look) : 0.0;
  res.distinct_rows = std::accumulate(seen.begin(), seen.end(), int64_t(0));
  res.hbm_hit_rate_warm = warm_access ? double(t0_hits) / double(warm_access) : 0.0;
  res.link_bytes_per_token = res.tokens ? double(res.link_bytes) / double(res.tokens) : 0.0;
  res.link_bytes_per_step = res.steps ? double(res.link_bytes) / double(res.steps) : 0.0;
  if (res.steps) {
    res.fetch_mean_s = fetch_sum / double(res.steps), res.slack_mean_s = slack_sum / double(res.steps);
    res.stall_total_s = std::accumulate(stalls.begin(), stalls.end(), 0.0);
    res.stall_mean_s = res.stall_total_s / double(res.steps);
    res.stall_p50_s = percentile(stalls, 0.5), res.stall_p99_s = percentile(stalls, 0.99);
    res.stalled_step_fraction =
        double(std::count_if(stalls.begin(), stalls.end(), [](double x) { return x > 0; })) / double(res.steps);
  }
  res.stall_per_token_s = res.tokens ? res.stall_total_s / double(res.tokens) : 0.0;
  res.hbm_used_rows = c.policy == CachePolicy::Lru   ? lru.size()
                      : c.policy == CachePolicy::Lfu ? lfu.size()
                                                     : (c.policy == CachePolicy::Static ? cap : 0);
  for (int i = 0; i < 10; ++i) res.warmup_curve.push_back(curve_all[i] > 0 ? curve_hits[i] / curve_all[i] : 0.0);
  return res;
}

}  // namespace v4lab::sim
