// ucurve.h — the Engram-vs-MoE allocation U-curve study (specs/studies.md (a)): rho <-> expert count,
// Engram table sizing with the engram spec §3 prime rule, the iso-parameter check, the calibrated
// quality model L(rho) = E0 + A·X_m^-alpha + B·(X_e + X_0)^-beta fitted (grid over alpha, beta, X_0 and
// weighted NNLS for E0, A, B) to the calibration CSV, and the modelled cost side per rho (HBM / host
// bytes, distinct experts read per decode step, Engram PCIe bytes from the cache simulator, step time
// and $/Mtok from the cost model on a derived model preset). Quality numbers are a calibrated model,
// not a training run; cost numbers are predictions. No curve constant lives in code: every number
// comes from the two CSV files (data/calibration/) or from the options below.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/presets.h"

namespace v4lab::sim::ucurve {

inline constexpr const char* kQualityLabel = "calibrated model, not a training run";
inline constexpr const char* kCostLabel = "prediction";

// ---- inputs (CSV files; loaders validate and name file:line, column and value) ----

struct CalibrationPoint {
  std::string budget_id;
  double rho = 0;     // [0, 1]
  double loss = 0;    // > 0
  std::string kind;   // published | digitized | qualitative
  double weight = 1;  // > 0
  std::string source, note;
  std::string where;  // "file:line"
};

// One compute budget. Published part: compute, P_tot, P_act, E_base, top-k. Backbone part (optional,
// an assumption): what the cost side needs to build a model preset; has_backbone() is false if absent.
struct BudgetGeometry {
  std::string id;
  double compute_flops = 0;  // training compute C (0: unknown)
  double p_tot_b = 0;        // total params without embedding / LM head, billions
  double p_act_b = 0;        // active params, billions
  int e_base = 0;            // routed experts at rho = 1
  int top_k = 0;             // routed experts per token
  // backbone (0 / "" = not given)
  int n_shared = 0;
  int64_t vocab = 0, d_model = 0, n_layers = 0, n_heads = 0;
  int64_t q_lora_rank = 0, kv_lora_rank = 0, qk_nope_head_dim = 0, qk_rope_head_dim = 0, v_head_dim = 0;
  int hc_mult = 0;
  std::string expert_dtype;  // bf16 | fp8 | fp4
  std::vector<int> engram_layers;
  int engram_max_ngram = 0, engram_heads = 0, engram_head_dim = 0;
  std::string engram_row_dtype;  // bf16 | fp8 | fp32
  std::string source, note, where;

  double p_sparse_b() const { return p_tot_b - p_act_b; }
  // Parameters of one routed expert summed over all MoE layers: P_sparse / (E_base − k) [derived].
  double p_expert_b() const { return p_sparse_b() / double(e_base - top_k); }
  double tokens_b() const { return compute_flops > 0 ? compute_flops / (6.0 * p_act_b * 1e9) / 1e9 : 0; }
  bool has_backbone() const;
  bool has_embedding() const { return vocab > 0 && d_model > 0; }
  double engram_row_bytes() const;  // D·b_elem (+ FP8 scales)
};

std::vector<CalibrationPoint> parse_calibration_points(const std::string& csv_text, const std::string& display_path);
std::vector<CalibrationPoint> load_calibration_points(const std::string& path);
std::vector<BudgetGeometry> parse_budgets(const std::string& csv_text, const std::string& display_path);
std::vector<BudgetGeometry> load_budgets(const std::string& path);
// config_error naming the id, the file and the ids it has.
const BudgetGeometry& find_budget(const std::vector<BudgetGeometry>& budgets, const std::string& id,
                                  const std::string& file);
// FNV-1a 64 of a file's bytes as 16 hex digits (stored with every result as the inputs' hash).
std::string file_hash(const std::string& path);

// ---- rho <-> expert count and Engram sizing ----

// Exact rho of an expert count: (E − k)/(E_base − k).
double rho_of_experts(int experts, int e_base, int top_k);
// E = round(k + rho·(E_base − k)) (config_error for rho outside [0, 1]).
int experts_for_rho(double rho, int e_base, int top_k);

// The engram spec §3 rule (kernels/engram/primes.h engram_select_primes): primes[layer][(n−2)·K + k].
// Passed in by the caller because sim never includes kernel headers.
using PrimeRule =
    std::function<std::vector<std::vector<uint64_t>>(int n_layers, const std::vector<uint64_t>& sizes, int heads)>;

struct Allocation {
  double rho_requested = 0;
  int experts = 0;                       // E(rho)
  double rho_exact = 0;                  // (E − k)/(E_base − k)
  double p_moe_sparse_b = 0;             // (E − k)·p_expert
  double p_engram_target_b = 0;          // (E_base − E)·p_expert
  double p_engram_b = 0;                 // achieved: Σ table rows · D (0 without backbone: = target)
  double p_tot_b = 0;                    // P_act + P_MoE,sparse + P_Engram (achieved)
  double p_tot_deviation = 0;            // (P_tot(rho) − P_tot)/P_tot
  double p_act_b = 0;                    // constant (iso-FLOPs)
  uint64_t vocab_size_per_order = 0;     // P_Engram / (layers·(N−1)·K·D), before the prime rule
  std::vector<uint64_t> rows_per_layer;  // Σ primes per Engram layer
  std::vector<std::vector<uint64_t>> primes;
  double engram_dense_params_b = 0;  // W_K (M branches) + W_V + conv + norms: active, constant for rho < 1
  double x_m = 0, x_e = 0;           // quality-model capacities at rho_exact (billions)
};

// Sizes the Engram tables for rho (backbone Engram template; without one only the target is known).
// `rule` may be empty when the budget has no backbone.
Allocation allocate(const BudgetGeometry& g, double rho, const PrimeRule& rule);

// ---- quality model (calibrated) ----

struct QualityParams {
  double e0 = 0, a = 0, b = 0;  // NNLS: >= 0
  double alpha = 0, beta = 0;   // exponents
  double x0 = 0;                // memory floor at rho = 1, billions
};
// L(rho) with X_m = P_act + rho·P_sparse, X_e = (1 − rho)·P_sparse in billions.
double quality_loss(const QualityParams& q, const BudgetGeometry& g, double rho);
double quality_dloss_drho(const QualityParams& q, const BudgetGeometry& g, double rho);

struct FitOptions {
  double alpha_lo = 0.05, alpha_hi = 2.0, alpha_step = 0.05;
  double beta_lo = 0.05, beta_hi = 2.0, beta_step = 0.05;
  std::vector<double> x0_values;      // empty: V·d_model/1e9 if the budget knows it, else 0.05:1.0:0.05
  double lambda = 1e-8;               // tie-break weight of the prior (labelled prior, not data)
  double alpha_prior = 0.34;          // Chinchilla's parameter exponent [prior]
  double beta_prior = 0.5;            // placeholder [prior]
  double band_tol = 1e-6;             // band: every cell with weighted SSE <= SSE_min + band_tol
  double rho_lo = 0.0, rho_hi = 1.0;  // search interval of rho*
  void validate() const;              // config_error naming the field, value and accepted range
};

struct FitCell {
  double alpha = 0, beta = 0, x0 = 0;
  double e0 = 0, a = 0, b = 0;
  double sse = 0;         // weighted SSE
  double objective = 0;   // sse + lambda·prior
  bool feasible = false;  // some NNLS solution exists (always true: E0-only is feasible)
};

struct PointResidual {
  CalibrationPoint point;
  double fitted = 0, residual = 0;  // residual = loss − fitted
};

struct UcurveFit {
  std::string budget_id;
  QualityParams best;
  double sse_min = 0, objective_min = 0;
  std::vector<PointResidual> residuals;
  double max_abs_residual_published = 0;                              // over kind == published
  double rho_star = 0, loss_star = 0, loss_at_1 = 0, delta_star = 0;  // delta = L(rho*) − L(1)
  double loss_at_0_1 = 0, dloss_drho_at_1 = 0;
  bool u_shaped = false;  // L(0.1) > L(1) and dL/drho(1) > 0
  // grid and heat map (min SSE over X_0 per (alpha, beta)), row-major alpha-major
  std::vector<double> alphas, betas, x0s;
  std::vector<double> heat_sse;  // [alphas.size() × betas.size()]
  std::vector<FitCell> cells;    // every grid cell
  // band
  int band_cells = 0;
  double band_sse_max = 0;  // SSE_min + band_tol
  double band_rho_star_lo = 0, band_rho_star_hi = 0;
  double band_delta_lo = 0, band_delta_hi = 0;
  std::vector<double> band_rho, band_lo, band_hi, curve;  // on the curve grid
  std::string x0_source;                                  // "embedding V·d_model" or "grid"
};

// Fits the points of g.id (config_error when fewer than 3 points or none for the budget; names the
// file). `curve_rho` is the grid on which the curve and band are tabulated.
UcurveFit fit_ucurve(const std::vector<CalibrationPoint>& points, const BudgetGeometry& g, const FitOptions& o,
                     const std::vector<double>& curve_rho);
// Loss band (min, max over band cells) at one rho.
void band_at(const UcurveFit& f, const BudgetGeometry& g, double rho, double& lo, double& hi);
// argmin over [lo, hi] (fine grid + golden-section refinement), deterministic.
double argmin_rho(const QualityParams& q, const BudgetGeometry& g, double lo, double hi);

// Parses "lo:hi:step" (or one value) into a grid of values in [0, 1]; usage_error naming `flag`.
std::vector<double> parse_rho_grid(const std::string& spec, const std::string& flag);

// ---- cost side (modelled) ----

// Row ids (< Σ primes of the layer) of `n_tokens` tokens, (N−1)·K per token in token order, for the
// Engram layer with these primes. Supplied by the caller (the CLI hashes a seeded Zipf token stream
// with the real hash kernel).
using TraceFn =
    std::function<std::vector<uint32_t>(const std::vector<uint64_t>& primes, int layer_id, int64_t n_tokens)>;

struct CostOptions {
  HardwarePreset hw;
  int64_t batch = 64;                // decode: sequences = tokens per step
  int64_t context = 4096;            // cached tokens per sequence (also the TTFT prompt)
  std::string residency = "host";    // Engram tables: host | hbm
  int64_t cache_rows = 0;            // HBM hot-row cache per layer (host residency); 0 = the paper's no-cache setting
  std::string cache_policy = "lru";  // when cache_rows > 0: lru | lfu | static
  int64_t sim_tokens = 16384;        // tokens replayed through the cache simulator per rho
  int engram_prefetch_layers = 1;
  double price_usd_per_gpu_hour = -1;  // < 0: the hardware preset's price
  TraceFn trace;                       // required when the budget has Engram tables
  void validate() const;
};

struct CostPoint {
  double hbm_weight_bytes = 0;  // per GPU: cost-model weights (+ Engram table when HBM-resident, + hot cache)
  double hbm_total_bytes = 0;   // + KV + activations
  double host_bytes = 0;        // Engram tables when host-resident
  double engram_table_bytes = 0;
  double experts_touched = 0;                                // U = E(1 − (1 − k/E)^B) per MoE layer
  double expert_bytes_per_step = 0;                          // U·p_expert_layer·b_expert summed over MoE layers
  double engram_lookups_per_step = 0;                        // B·(N−1)·K·L_e
  double pcie_bytes_per_step = 0, pcie_bytes_per_token = 0;  // misses·b_row (simulator, × layers)
  double hbm_hit_rate = 0;
  double engram_stall_s = 0;  // simulator stall per step (mean), not included in decode_step_s
  double decode_step_s = 0, tpot_s = 0, ttft_s = 0;
  double decode_tokens_per_s_per_gpu = 0, prefill_tokens_per_s_per_gpu = 0;
  double usd_per_m_output_tokens = 0, usd_per_m_input_tokens = 0;
  double flops_per_token = 0;           // decode step FLOPs / tokens (iso-FLOPs check)
  double backbone_active_params_b = 0;  // the derived preset's active count (vs the budget's P_act)
  bool fits = false;
};

// The model preset the cost model runs for one allocation (backbone + E(rho) experts of the derived
// width + the Engram tables sized for rho). config_error when the budget has no backbone.
ModelPreset derived_preset(const BudgetGeometry& g, const Allocation& a);
CostPoint ucurve_cost(const BudgetGeometry& g, const Allocation& a, const CostOptions& o);

}  // namespace v4lab::sim::ucurve
