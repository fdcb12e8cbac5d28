// study_streams_stability.h — the measured half of the mHC streams study (specs/studies.md (c)
// "Stability"): a stack of L residual sublayers whose raw residual logits R_l = diag·I + E_l + D_l(x)
// get their dynamic term from the real mhc_pre kernel (pre-norm GEMM with a random φ scaled so the
// term's std ≈ dyn_std), the streams advanced by the real mhc_post kernel; mHC H_l = Sinkhorn(exp R_l)
// in the paper and production (V4) conventions over t_max, unconstrained HC H_l = I + E_l + D_l from the
// same draws, plain residual H_l = I; composite gains over depth in FP64 on the host. Private to the CLI.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::cli {

struct StreamsStabilityConfig {
  int64_t depth = 60;       // L sublayers (30 blocks × 2)
  int64_t d_model = 1024;   // C
  int64_t tokens = 64;      // random tokens
  double diag = 2.0;        // diagonal of the static logits
  double sigma_b = 0.2;     // std of the static logits E_l
  double dyn_std = 0.1;     // target std of the dynamic term D_l (scales φ)
  std::vector<int> t_max = {1, 3, 10, 20};
  bool reference = false;   // _ref kernels (FP64) instead of _cpu
  uint64_t seed = 1;
};

// One composite-gain curve: values at depth 1..L (index l−1).
struct GainCurve {
  int n = 4;
  std::string method;      // mhc, hc, plain
  std::string convention;  // paper, v4 (mhc only; "" otherwise)
  int t_max = 0;           // mhc only
  std::vector<double> fwd_mean, bwd_mean, fwd_max, bwd_max;  // max abs row / column sum of the composite
  std::vector<double> log_col_max;  // max over tokens of max_j |log |column sum j||
  std::vector<double> spectral_mean;  // mean over tokens of ‖M‖₂
  bool bwd_within_bound = true;       // per token: bwd ≤ Π_l max column sum of |H_l| (·(1 + 1e-9))
  double final_bwd_mean() const { return bwd_mean.empty() ? 0 : bwd_mean.back(); }
  double final_fwd_mean() const { return fwd_mean.empty() ? 0 : fwd_mean.back(); }
};

// Single-layer Sinkhorn error in the paper orientation (H_res = combᵀ), max over layers and tokens.
struct SinkhornError {
  int n = 4;
  std::string convention;
  int t_max = 0;
  double row_err = 0;   // max |Σ_j H[i][j] − 1|
  double col_err = 0;   // max |Σ_i H[i][j] − 1|
  double min_entry = 0; // smallest entry (non-negativity)
};

struct StreamsStability {
  int n = 4;
  std::vector<GainCurve> curves;
  std::vector<SinkhornError> sinkhorn;
  double dyn_std_measured = 0;     // std of D_l over layers, tokens and entries (kernel mixes)
  double conventions_max_diff = 0; // max |comb_paper − comb_v4| at t_max = max(t_max)
  double kernel_vs_template = 0;   // max |kernel comb − shared template comb| (V4, t_max 20): 0 expected
  double pre_s = 0, post_s = 0;    // measured median wall time per call of mhc_pre / mhc_post (tokens × C)
};

StreamsStability measure_streams_stability(int n, const StreamsStabilityConfig& cfg);

}  // namespace v4lab::cli
