// topk_cpu.cpp — optimized causal top-k (kernels/attention/topk.h): radix select on the order-
// preserving 32-bit keys. Pass 1 histograms the top 11 key bits, pass 2 keeps every candidate above
// the threshold bin and collects the threshold bin (in index order); the two lower digits (11 and 10
// bits) refine that small bin; equal keys are taken in index order (the tie rule). Long queries with k ≤ len/8 first try a sampled lower bound on the k-th key
// and one compacting pass (close to a plain memory pass). Many queries: one thread each. One long query: the passes split over threads
// with per-thread histograms and buffers joined in index order. Results equal _ref exactly.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "core/error.h"
#include "kernels/attention/topk.h"

#include "kernels/detail/threads.h"

namespace v4lab::kernels {
namespace {

struct Entry {
  uint32_t key;
  int32_t idx;
};
constexpr int kBits1 = 11, kBins1 = 1 << kBits1;  // digit 1: key bits 31..21
constexpr int64_t kSplitLen = 1 << 20;             // one query splits over threads from here on (shorter rows:
                                                   // waking the second thread costs more than it saves)
constexpr int64_t kSampleLen = 1 << 15;            // sampled-threshold path from here on (k ≤ len/8)
static_assert(kSampleLen >= 64 * 128, "the sample's runs must fit in the row");

// Within `cand` (all sharing the key bits above `shift + bits`), keep the `need` best: entries whose
// digit beats the threshold digit go to `sel`, the threshold digit's entries stay in `cand` (in index
// order), and `need` is reduced by what was moved. Returns when need == 0 or the digits are used up.
void refine(std::vector<Entry>& cand, std::vector<Entry>& sel, int64_t& need) {
  struct Digit {
    int shift, bits;
  };
  for (Digit d : {Digit{10, 11}, Digit{0, 10}}) {
    if (need == 0 || int64_t(cand.size()) == need) break;
    const uint32_t mask = (1u << d.bits) - 1;
    std::array<int64_t, 2048> hist{};
    for (const Entry& e : cand) ++hist[(e.key >> d.shift) & mask];
    int64_t above = 0;
    int b = int(mask);
    for (; b >= 0; --b) {
      if (above + hist[size_t(b)] >= need) break;
      above += hist[size_t(b)];
    }
    std::vector<Entry> keep;
    keep.reserve(size_t(hist[size_t(b)]));
    for (const Entry& e : cand) {
      const uint32_t g = (e.key >> d.shift) & mask;
      if (g > uint32_t(b)) sel.push_back(e);
      else if (g == uint32_t(b)) keep.push_back(e);
    }
    need -= above;
    cand.swap(keep);
  }
  // Equal keys (or the whole remainder): the lowest indices win; cand is in index order.
  for (int64_t i = 0; i < need; ++i) sel.push_back(cand[size_t(i)]);
  need = 0;
}


// Branch-free twin of topk_key for the hot loops (same value for every input).
inline uint32_t key_fast(float v) {
  uint32_t u = f32_bits(v);
  u = u == 0x80000000u ? 0u : u;
  const uint32_t key = u ^ (uint32_t(int32_t(u) >> 31) | 0x80000000u);
  return (u & 0x7fffffffu) > 0x7f800000u ? 0u : key;
}

// The sampled path's scan of scores [i0, i1): appends (key, index) of every key ≥ bound, in index
// order, to keys/idx (capacity `cap`) and returns the count, or −1 when more than cap − 16 survive
// (the bound was too low to be worth it: the caller falls back to radix select). NaNs are counted.
// AVX-512: 16 keys per step, compress-stored without a branch; AVX2: 8 per step with a hit mask.
int64_t scan_ge(const float* s, int64_t i0, int64_t i1, uint32_t bound, uint32_t* keys, int32_t* idx, int64_t cap,
                int32_t* nan_out) {
  int32_t nn = 0;
  int64_t c = 0, i = i0;
#if defined(__AVX512F__)
  const __m512i neg_zero = _mm512_set1_epi32(int32_t(0x80000000u)), abs_mask = _mm512_set1_epi32(0x7fffffff);
  const __m512i inf = _mm512_set1_epi32(0x7f800000), vb = _mm512_set1_epi32(int32_t(bound));
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (; i + 16 <= i1; i += 16) {
    if (c > cap - 16) return -1;
    __m512i u = _mm512_castps_si512(_mm512_loadu_ps(s + i));
    u = _mm512_maskz_mov_epi32(_mm512_cmpneq_epi32_mask(u, neg_zero), u);  // −0 → +0
    // key = u < 0 ? ~u : u ^ 0x80000000 (a mask select; GCC 12 warns on _mm512_srai_epi32's internals)
    const __mmask16 neg = _mm512_cmplt_epi32_mask(u, _mm512_setzero_si512());
    const __m512i key0 = _mm512_mask_xor_epi32(_mm512_xor_si512(u, neg_zero), neg, u, _mm512_set1_epi32(-1));
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, abs_mask), inf);
    const __m512i key = _mm512_maskz_mov_epi32(__mmask16(~nan), key0);
    nn += __builtin_popcount(unsigned(nan));
    const __mmask16 ge = _mm512_cmpge_epu32_mask(key, vb);
    _mm512_mask_compressstoreu_epi32(keys + c, ge, key);
    _mm512_mask_compressstoreu_epi32(idx + c, ge, _mm512_add_epi32(lane, _mm512_set1_epi32(int32_t(i))));
    c += __builtin_popcount(unsigned(ge));
  }
#elif defined(__AVX2__)
  const __m256i neg_zero = _mm256_set1_epi32(int32_t(0x80000000u)), abs_mask = _mm256_set1_epi32(0x7fffffff);
  const __m256i inf = _mm256_set1_epi32(0x7f800000), vb = _mm256_set1_epi32(int32_t(bound));
  for (; i + 8 <= i1; i += 8) {
    if (c > cap - 16) return -1;
    __m256i u = _mm256_castps_si256(_mm256_loadu_ps(s + i));
    u = _mm256_andnot_si256(_mm256_cmpeq_epi32(u, neg_zero), u);  // −0 → +0
    __m256i key = _mm256_xor_si256(u, _mm256_or_si256(_mm256_srai_epi32(u, 31), neg_zero));
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, abs_mask), inf);
    key = _mm256_andnot_si256(nan, key);
    const __m256i ge = _mm256_cmpeq_epi32(_mm256_max_epu32(key, vb), key);  // unsigned key ≥ bound
    nn += __builtin_popcount(unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(nan))));
    unsigned mask = unsigned(_mm256_movemask_ps(_mm256_castsi256_ps(ge)));
    if (mask) {
      alignas(32) uint32_t kb[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(kb), key);
      while (mask) {
        const int l = __builtin_ctz(mask);
        mask &= mask - 1;
        keys[c] = kb[l], idx[c] = int32_t(i + l), ++c;
      }
    }
  }
#endif
  for (; i < i1; ++i) {
    if (c > cap - 16) return -1;
    const uint32_t key = key_fast(s[i]);
    nn += s[i] != s[i];
    if (key >= bound) keys[c] = key, idx[c] = int32_t(i), ++c;
  }
  *nan_out = nn;
  return c;
}

// From n candidates in index order (keys/idx) that contain the top k: the k-th key T, then one
// ordered pass taking keys > T and the first keys == T. T comes from a 2048-bin histogram of
// (key − min) scaled to the survivors' narrow key range (one pass), then nth_element inside the
// threshold bin only (a few dozen keys), instead of nth_element over all n (≈ 2k) survivors.
void take_top_in_index_order(const uint32_t* keys, const int32_t* idx, int64_t n, int64_t k, std::vector<Entry>& sel) {
  uint32_t lo = ~0u, hi = 0;
  for (int64_t i = 0; i < n; ++i) lo = std::min(lo, keys[i]), hi = std::max(hi, keys[i]);
  const uint32_t range = hi - lo;
  const int shift = range >> kBits1 ? 32 - __builtin_clz(range) - kBits1 : 0;
  std::array<int32_t, kBins1> hist{};
  for (int64_t i = 0; i < n; ++i) ++hist[size_t((keys[i] - lo) >> shift)];
  int64_t above = 0;
  int b = kBins1 - 1;
  for (; b > 0; --b) {
    if (above + hist[size_t(b)] >= k) break;
    above += hist[size_t(b)];
  }
  std::vector<uint32_t> bin;
  bin.reserve(size_t(hist[size_t(b)]));
  for (int64_t i = 0; i < n; ++i)
    if (((keys[i] - lo) >> shift) == uint32_t(b)) bin.push_back(keys[i]);
  const int64_t r = k - above - 1;  // 0-based rank of T inside the bin, descending
  std::nth_element(bin.begin(), bin.begin() + r, bin.end(), std::greater<uint32_t>());
  const uint32_t T = bin[size_t(r)];
  int64_t gt = above;
  for (uint32_t v : bin) gt += v > T;
  int64_t eq_left = k - gt;
  sel.clear();
  sel.reserve(size_t(k));
  for (int64_t i = 0; i < n; ++i)
    if (keys[i] > T || (keys[i] == T && eq_left-- > 0)) sel.push_back({keys[i], idx[i]});
}

// The `rank`-th largest key of a sample (0-based) by a small min-heap: most keys fail the first
// compare, so this is a predictable pass rather than nth_element's branchy partitioning.
uint32_t sample_rank_key(const std::vector<uint32_t>& sample, int64_t rank) {
  std::vector<uint32_t> heap(sample.begin(), sample.begin() + rank + 1);
  std::make_heap(heap.begin(), heap.end(), std::greater<uint32_t>());
  for (size_t i = size_t(rank) + 1; i < sample.size(); ++i)
    if (sample[i] > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<uint32_t>());
      heap.back() = sample[i];
      std::push_heap(heap.begin(), heap.end(), std::greater<uint32_t>());
    }
  return heap.front();
}

// Sampled threshold (long queries, k ≪ len): the key at a safe rank of a sample bounds the k-th key
// from below with high probability; one pass then keeps only candidates ≥ that bound (in index
// order), and the exact top k is taken among them. Returns false (the caller falls back to radix
// select) when the bound turns out too high (fewer than k survive) or too low (too many survive).
bool select_sampled(const float* s, int64_t len, int64_t k, int nt, std::vector<Entry>& sel, int32_t* nan_out) {
  // 64 evenly spaced runs of 128 scores: 8192 samples from 512 cache lines (a strided sample of the
  // same size would touch most lines of the row and cost more than the scan itself).
  constexpr int64_t kRuns = 64, kRun = 128;
  std::vector<uint32_t> sample;
  sample.reserve(size_t(kRuns * kRun));
  for (int64_t r = 0; r < kRuns; ++r) {
    const int64_t i0 = (len - kRun) * r / (kRuns - 1);
    for (int64_t i = i0; i < i0 + kRun; ++i) sample.push_back(key_fast(s[i]));
  }
  const double expect = double(k) * double(sample.size()) / double(len);  // sample ranks above the k-th
  const int64_t rank = std::min<int64_t>(int64_t(sample.size()) - 1,
                                         int64_t(expect * 1.25 + 4 * std::sqrt(expect) + 16));
  const uint32_t bound = sample_rank_key(sample, rank);
  // Each thread's share of candidates: 4× the expected count plus slack, else fall back.
  const int64_t cap = 4 * (k + 1024) / nt + 64;
  // Uninitialized buffers (a zero fill would cost as much as the selection at k = 2048).
  std::unique_ptr<uint32_t[]> keys_buf(new uint32_t[size_t(cap) * nt]);
  std::unique_ptr<int32_t[]> idx_buf(new int32_t[size_t(cap) * nt]);
  uint32_t* const keys = keys_buf.get();
  int32_t* const idx = idx_buf.get();
  std::vector<int64_t> count(static_cast<size_t>(nt));
  std::vector<int32_t> nans(static_cast<size_t>(nt), 0);
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
  for (int t = 0; t < nt; ++t) {
    const int64_t i0 = len * t / nt, i1 = len * (t + 1) / nt;
    count[size_t(t)] = scan_ge(s, i0, i1, bound, keys + t * cap, idx + t * cap, cap, &nans[size_t(t)]);
  }
  int64_t total = 0;
  for (int t = 0; t < nt; ++t) {
    if (count[size_t(t)] < 0) return false;
    // Join the threads' runs in index order (they scanned consecutive ranges).
    std::memmove(keys + total, keys + t * cap, sizeof(uint32_t) * size_t(count[size_t(t)]));
    std::memmove(idx + total, idx + t * cap, sizeof(int32_t) * size_t(count[size_t(t)]));
    total += count[size_t(t)];
  }
  if (total < k) return false;
  int32_t nan_total = 0;
  for (int32_t v : nans) nan_total += v;
  *nan_out = nan_total;
  take_top_in_index_order(keys, idx, total, k, sel);
  return true;
}

void select_query(const float* s, int64_t len, int64_t top_k, int threads, int32_t* out, int32_t* nan_out) {
  const int64_t k = std::min(top_k, len);
  std::vector<Entry> sel;
  const int nt = len >= kSplitLen ? threads : 1;
  if (k > 0 && len >= kSampleLen && 8 * k <= len && select_sampled(s, len, k, nt, sel, nan_out)) {
    for (int64_t j = 0; j < top_k; ++j) out[j] = j < k ? sel[size_t(j)].idx : -1;
    return;
  }
  sel.reserve(size_t(k));
  // Pass 1: per-thread histograms of digit 1 and NaN counts over contiguous index ranges.
  std::vector<std::array<int64_t, kBins1>> hist(static_cast<size_t>(nt));
  std::vector<int32_t> nans(static_cast<size_t>(nt), 0);
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
  for (int t = 0; t < nt; ++t) {
    auto& h = hist[size_t(t)];
    h.fill(0);
    const int64_t i0 = len * t / nt, i1 = len * (t + 1) / nt;
    int32_t nn = 0;
    // Scores cluster in few bins; four interleaved sub-histograms break the increment dependency.
    std::vector<std::array<int32_t, kBins1>> sub(4);
    for (auto& a : sub) a.fill(0);
    for (int64_t i = i0; i < i1; ++i) {
      const float v = s[i];
      nn += v != v;
      ++sub[size_t(i & 3)][key_fast(v) >> (32 - kBits1)];
    }
    for (int b = 0; b < kBins1; ++b) h[size_t(b)] = int64_t(sub[0][size_t(b)]) + sub[1][size_t(b)] + sub[2][size_t(b)] + sub[3][size_t(b)];
    nans[size_t(t)] = nn;
  }
  int32_t nan_total = 0;
  for (int32_t v : nans) nan_total += v;
  *nan_out = nan_total;
  if (k > 0) {
    std::array<int64_t, kBins1> total{};
    for (auto& h : hist)
      for (int b = 0; b < kBins1; ++b) total[size_t(b)] += h[size_t(b)];
    int64_t above = 0;
    int b1 = kBins1 - 1;
    for (; b1 >= 0; --b1) {
      if (above + total[size_t(b1)] >= k) break;
      above += total[size_t(b1)];
    }
    // Pass 2: everything above bin b1 is selected; bin b1 is collected in index order.
    std::vector<std::vector<Entry>> sel_t(static_cast<size_t>(nt)), cand_t(static_cast<size_t>(nt));
#pragma omp parallel for num_threads(nt) schedule(static, 1) if (nt > 1)
    for (int t = 0; t < nt; ++t) {
      const int64_t i0 = len * t / nt, i1 = len * (t + 1) / nt;
      auto& st = sel_t[size_t(t)];
      auto& ct = cand_t[size_t(t)];
      for (int64_t i = i0; i < i1; ++i) {
        const uint32_t key = key_fast(s[i]);
        const int bin = int(key >> (32 - kBits1));
        if (bin > b1) st.push_back({key, int32_t(i)});
        else if (bin == b1) ct.push_back({key, int32_t(i)});
      }
    }
    std::vector<Entry> cand;
    for (int t = 0; t < nt; ++t) {
      sel.insert(sel.end(), sel_t[size_t(t)].begin(), sel_t[size_t(t)].end());
      cand.insert(cand.end(), cand_t[size_t(t)].begin(), cand_t[size_t(t)].end());
    }
    int64_t need = k - above;
    refine(cand, sel, need);
    std::sort(sel.begin(), sel.end(), [](const Entry& a, const Entry& b) { return a.idx < b.idx; });
  }
  for (int64_t j = 0; j < top_k; ++j) out[j] = j < k ? sel[size_t(j)].idx : -1;
}

}  // namespace

void topk_cpu(const TopkParams& p, const float* scores, const int32_t* lengths, int32_t* idx, int32_t* nan_count) {
  p.validate();
  for (int64_t q = 0; q < p.n_queries; ++q)
    if (lengths[q] < 0 || lengths[q] > p.n_cand)
      throw config_error("topk: lengths[" + std::to_string(q) + "] = " + std::to_string(lengths[q]) +
                         " outside [0, " + std::to_string(p.n_cand) + "]");
  const int threads = max_threads();
  if (p.n_queries >= threads) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t q = 0; q < p.n_queries; ++q)
      select_query(scores + q * p.n_cand, lengths[q], p.top_k, 1, idx + q * p.top_k, nan_count + q);
  } else {
    for (int64_t q = 0; q < p.n_queries; ++q)
      select_query(scores + q * p.n_cand, lengths[q], p.top_k, threads, idx + q * p.top_k, nan_count + q);
  }
}

}  // namespace v4lab::kernels
