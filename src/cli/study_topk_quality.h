// study_topk_quality.h — the measured half of the top-k study (specs/studies.md (b) "Quality"): the
// five structured synthetic input families, the real indexer (DSA FP8 + Hadamard, or CSA FP4 +
// Hadamard), attn_topk and attn_sparse kernels against dense attention on the same inputs, at reduced
// shapes. Private to the CLI (study_topk.cpp); kernels may be used here, never in sim/.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/studies/topk_cost.h"

namespace v4lab::cli {

enum class TopkFamily { Random, Local, Clustered, Needle, HeavyTail };
const char* topk_family_name(TopkFamily f);
TopkFamily parse_topk_family(const std::string& s);  // usage_error naming the accepted values
const std::vector<TopkFamily>& all_topk_families();

struct TopkQualityConfig {
  int64_t n_cand = 2048;     // N candidates (DSA tokens; CSA compressed entries, context 4N)
  int64_t queries = 8;       // independent decode queries, each seeing all N candidates
  int64_t heads = 8;         // attention heads (production 128 / 64)
  int64_t d_head = 128;      // key width (production 576 DSA / 512 CSA); <= 128 keeps the indexer projection exact
  int64_t idx_heads = 8;     // indexer heads (production 64); q^I_j = P·mean{q_h : h mod idx_heads = j}
  int64_t window = 128;      // CSA window (raw tokens, always attended)
  double sigma_i = 0.0;      // indexer key noise relative to the projected key RMS
  int64_t needles = 4;       // needle: m planted keys per query (background logit std √(γ² + Δ²m/d) ≪ Δ at d 128)
  double rho = 0.8;          // needle: target planted mass (sets the logit gap)
  double gamma = 0.5;        // query noise
  double phi = 0.95;         // local: AR(1) correlation of consecutive keys
  double strength = 8.0;     // local / clustered: query alignment (logit scale)
  int64_t clusters = 16;     // clustered: centroids
  double pareto_alpha = 1.5; // heavy_tail: key-norm tail index
  bool reference = false;    // true: the _ref kernels (FP64), else _cpu
  uint64_t seed = 1;
};

// One measured point (arch, family, k). Recall R = Σ_{e∈S} p̄(e) over the dense softmax without sink
// (window always in S for CSA); statistics over all (query, head) samples.
struct TopkQualityPoint {
  sim::TopkArch arch = sim::TopkArch::Dsa;
  TopkFamily family = TopkFamily::Random;
  int64_t k = 0, k_eff = 0, n_cand = 0, window = 0;
  double recall_mean = 0, recall_p5 = 0, recall_min = 0;          // indexer selection
  double oracle_recall_mean = 0, oracle_recall_p5 = 0, oracle_recall_min = 0;
  double recall_compressed_mean = 0;  // CSA: window excluded, renormalized over the entries (DSA: = recall)
  double overlap_mean = 0;            // |U ∩ O| / |O|
  double random_baseline = 0;         // (k_eff + window) / (N + window)
  double err_mean = 0, err_p99 = 0, err_max = 0;  // ‖o_sparse − o_dense‖ / ‖o_dense‖ (FP32 outputs)
  double cos_min = 0;                             // min cosine(o_sparse, o_dense)
  double needles_found = -1;          // needle family: fraction of planted keys in S (−1: n/a)
  double topk_s = 0, sparse_s = 0;    // measured wall time of this point's kernels (all queries)
  double indexer_s = 0;               // measured indexer time of the family (all queries, once)
  // per (query, head) values, for the acceptance checks
  std::vector<double> recall, oracle_recall;  // [queries·heads]
  bool sparse_equals_dense = false;           // every output bit-identical to the dense run
};

// Runs every k of `ks` for one (arch, family): inputs and indexer scores once, then per k the top-k,
// recall and sparse attention.
std::vector<TopkQualityPoint> measure_topk_quality(sim::TopkArch arch, TopkFamily family, const std::vector<int64_t>& ks,
                                                   const TopkQualityConfig& cfg);

}  // namespace v4lab::cli
