// select_quality.h — selection-quality measurement of the sparse-attention selectors (specs/attention.md
// §5): structured synthetic inputs (RMS-normalized Gaussian keys, m planted keys per query with Δ set
// from the target planted mass ρ, γ query noise, indexer inputs through a fixed random projection with
// σ_I noise), then the real indexer, top-k and sparse-attention kernels against dense attention on the
// same inputs. Host only: the reference run uses the _ref kernels (FP64), the fast run the _cpu ones.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/tensor.h"

namespace v4lab::kernels {

enum class SelectMode { Dsa = 0, CsaEntry = 1 };
enum class PlantPlacement { Uniform = 0, FarOnly = 1, LogUniform = 2 };

struct SelectQualityParams {
  SelectMode mode = SelectMode::Dsa;  // DSA token-level, or CSA entry-level (compressed keys written directly)
  int64_t n_ctx = 2048;     // context tokens n (CSA: n_ctx/4 compressed entries)
  int64_t n_q = 8;          // queries, at positions n_ctx − n_q … n_ctx − 1
  int64_t n_heads = 16;     // attention heads (scaled down from 128 / 64 to keep the FP64 run short)
  int64_t d_head = 0;       // key width; 0 = 576 (DSA, MLA-MQA) or 512 (CSA)
  int64_t top_k = 64;       // k
  int64_t m_planted = 16;   // m planted keys per (query, head); heads draw from a shared pool of 4m
  double rho = 0.8;         // target planted mass ρ in (0, 1)
  double gamma = 0.5;       // query noise γ
  double sigma_i = 0.0;     // indexer key noise σ_I (relative to the projected key's RMS)
  PlantPlacement placement = PlantPlacement::Uniform;
  int64_t window = 128;     // CSA window (always attended)
  int64_t idx_heads = 16;   // indexer heads; q^I_j = P·mean{q_h : h mod idx_heads = j}
  bool hadamard = true;     // Hadamard before the indexer's FP8 quantization
  double sink = 0.0;        // sink logit z_h for the output-error runs
  int64_t d() const { return d_head > 0 ? d_head : (mode == SelectMode::Dsa ? 576 : 512); }
  void validate() const;
};
SelectQualityParams select_quality_params_from(const ParamMap& pm);

// summary [kSelectSummary] F32, in this order:
constexpr int kSelectSummary = 12;
const std::vector<std::string>& select_quality_summary_names();
// recall_mean, recall_min_head (mean over queries of min_h R), recall_p1, recall_p10, recall_p50 (over
// queries of mean_h R), oracle_ratio R(U)/R(O), oracle_overlap |U∩O|/|O|, random_baseline k/|C|,
// err_mean, err_max, recall_compressed (CSA: window excluded, renormalized; DSA: = recall_mean),
// oracle_recall R(O).

// Inputs (make_io) and outputs: recall [n_q, n_heads], err [n_q, n_heads], summary [12] F32.
KernelIO select_quality_make_io(const SelectQualityParams& p, uint64_t seed);
void select_quality_run(const SelectQualityParams& p, bool reference, KernelIO& io);

}  // namespace v4lab::kernels
