// context_dist.h — a workload's context lengths as a distribution (cost-model issue: "a batch with a
// context-length distribution"). Deterministic: K equal-probability buckets at their mid-quantiles
// (or a user histogram), never random samples, so two runs give the same doubles.
//
// A mixed batch of B sequences holds B·w_k sequences at context c_k. Its decode step (and prefill
// chunk) is priced as Σ_k w_k · step(B, c_k): every context-dependent node (attention, indexer,
// compressor) then costs the sum over the batch's sequences of its per-sequence cost, and the
// context-independent nodes (GEMMs, MoE, norms) cost what they cost at batch B. KV memory is the sum
// over sequences; TTFT is per request, reported as mean, p50 and p99 over the distribution
// (docs/cost-model.md §Context-length distributions).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sim/step_model.h"

namespace v4lab::sim {

struct ContextDist {
  std::string spec;              // as given: lognormal:mean=..,sigma=..  uniform:lo,hi  csv:path  point:N
  std::vector<int64_t> context;  // bucket contexts (tokens), ≥ 1
  std::vector<double> weight;    // probabilities, Σ = 1
  double mean() const;           // Σ w_k c_k
  // Smallest bucket context whose cumulative weight reaches q (q in [0, 1]).
  int64_t quantile(double q) const;
};

// Parses `spec` (forms above; `buckets=K` optional for lognormal/uniform, default 16, 1..1024) and
// checks it: every context in [1, max_context], weights ≥ 0 with a positive sum. Throws config_error
// naming `field`, the bad value and the accepted range.
ContextDist parse_context_dist(const std::string& spec, const std::string& field, int64_t max_context = int64_t(1) << 24);

// Weighted quantile of values v under weights w (Σ w = 1): the smallest v whose cumulative weight ≥ q.
double weighted_quantile(std::vector<double> v, std::vector<double> w, double q);

struct DistServingMetrics {
  ServingMetrics mixed;                   // step/decode/memory/TPOT/throughput of the mixed batch
  double context_mean = 0;
  double ttft_mean_s = 0, ttft_p50_s = 0, ttft_p99_s = 0;  // over requests (per-request prompt = c_k)
  std::vector<double> ttft_by_bucket_s;   // TTFT of a prompt of context[k] tokens
  std::vector<double> decode_by_bucket_s; // decode step with every sequence at context[k]
};

// The mixed-batch prediction: predict_serving at each bucket's context, combined as above. A one-
// bucket distribution at context c gives exactly predict_serving(wl with context = c).
DistServingMetrics predict_serving_dist(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                        const Workload& wl, const ContextDist& dist);

// Memory of a mixed batch: KV bytes summed over the sequences (per-seq mean × sequences), the
// rest as at one context; fits / shortfall / max batch recomputed from the mean per-sequence bytes.
MemoryFootprint memory_footprint_dist(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                      const Workload& wl, const ContextDist& dist);

}  // namespace v4lab::sim
