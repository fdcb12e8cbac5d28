// efficiency.h — calibrated efficiencies of the cost model (cost-model v2, docs/cost-model.md §Calibration).
//
// The roofline (op_cost.h) says how fast an op could run; an Efficiency says what share of each roof a
// class of kernels reaches on a given device, and what fixed time it pays per call:
//   compute_s = F / (P · e_compute),  memory_s = B / (W · e_memory),  comm_s = N / (W_net · e_net),
//   total_s   = max(...) + overhead_s            (additive entries: the sum — no overlap of the tiers)
// Entries come from data, never from constants in code: for GPU presets from published kernel anchors
// (data/calibration/efficiency/<hw>.toml, each entry with its source), for the `local` preset from a
// fit to this machine's `v4lab bench` measurements (`v4lab calibrate --fit`, stored in the DB).
#pragma once
#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace v4lab::sim {

struct Efficiency {
  double compute = 1, memory = 1, net = 1, host = 1;            // shares of each roof, (0, 1e9]
  double overhead_s = std::numeric_limits<double>::quiet_NaN();  // NaN: the hardware's launch overhead
  bool additive = false;  // tier times add instead of overlapping (fitted CPU kernels that do not overlap)
  // Cache-aware memory roof (docs/cost-model.md §Cache-aware memory roof): share of the memory roof the
  // bytes inside the cache reach. NaN: one share for all bytes (memory_s = B / (W · memory)). Else
  //   memory_s = min(B, C) / (W · memory_cached) + max(0, B − C) / (W · memory),  C = cache capacity.
  double memory_cached = std::numeric_limits<double>::quiet_NaN();
  std::string key;     // op name, "family:<f>" or "default"
  std::string kind;    // anchor | derived | fit | assumption
  std::string source;  // citation, or the bench run the fit used
  std::string note;
  // Fit statistics (kind = fit): points used, median and max |pred − meas| / meas in-sample, and the
  // leave-one-out median (each point predicted by a fit without it; NaN when fewer than 3 points).
  int n_points = 0;
  double fit_median_rel_err = std::numeric_limits<double>::quiet_NaN();
  double fit_max_rel_err = std::numeric_limits<double>::quiet_NaN();
  double loo_median_rel_err = std::numeric_limits<double>::quiet_NaN();
};

struct EfficiencyTable {
  std::string hardware;  // preset id it describes
  std::string source;    // file path or "db:<path> run <id>"
  std::string label;     // "calibrated fit" (local) or "published anchors" (GPU presets)
  std::map<std::string, Efficiency> entries;  // by key
  // Effective cache capacity C (bytes) the entries' memory_cached applies to. NaN: the hardware
  // preset's l2_mb (GPU L2, CPU last-level cache). A fit sets it (the VM's sysfs LLC is host-wide).
  double cache_bytes = std::numeric_limits<double>::quiet_NaN();
  std::string cache_note;

  bool empty() const { return entries.empty(); }
  // "<op>@<bytes_variant>" first (e.g. attn_mla_decode@absorbed_sparse_bf16), then the op name, then
  // "family:<family>", then "default"; nullptr when none applies (pure roofline).
  const Efficiency* lookup(const std::string& op, const std::string& family, const std::string& variant = {}) const;
  nlohmann::json to_json() const;
};

// JSON form: {"hardware", "source", "label", "entries": [{key, compute, memory, net, host, overhead_us,
// kind, source, note, n_points, ...}]}. Throws config_error naming `where`, the entry and the field
// for unknown keys and values outside (0, 1e9] (efficiencies; a fitted tier that never mattered holds 1e9) or [0, 1 s] (overhead).
EfficiencyTable efficiency_from_json(const nlohmann::json& j, const std::string& where);

// One measured call for the fit: its roofline time on this machine with efficiency 1 and no overhead.
struct FitPoint {
  std::string op, family, shape;
  double compute_s = 0;   // F / P at efficiency 1
  double memory_s = 0;    // B / W at efficiency 1
  double measured_s = 0;  // median wall time
  double bytes_mem = 0;   // catalogue device-memory bytes: the working set the cache roof compares to C
  std::string variant;    // the catalogue work's bytes_variant (which form of the kernel ran)
  double roofline_s() const { return compute_s > memory_s ? compute_s : memory_s; }
  // memory_s split at cache capacity C: the first min(B, C) bytes and the rest (C ≤ 0: all outside).
  double memory_in_s(double C) const { return bytes_mem > 0 && C > 0 ? memory_s * std::min(bytes_mem, C) / bytes_mem : 0.0; }
  double memory_out_s(double C) const { return memory_s - memory_in_s(C); }
};

// Per op, two candidate forms fitted by weighted least squares on relative error (weights 1/t²),
// all coefficients ≥ 0 (exhaustive active set):
//   overlap:  t = a · max(compute_s, memory_s) + b   → e_compute = e_memory = 1/a, overhead b
//   additive: t = α · compute_s + β · memory_s + b   → e_compute = 1/α, e_memory = 1/β, no overlap
//   cached:   t = α · compute_s + β_c · memory_in_s(C) + β · memory_out_s(C) + b
//             → additive with memory_cached = 1/β_c (the cache-aware memory roof)
// (Hockney's r∞ / n½ form per resource). A form with more coefficients is kept only when it lowers the
// weighted SSE of the simpler one by more than 10%. Entries get kind "fit" and the statistics above
// (leave-one-out refits the chosen form). Points are grouped by op; an op whose points come in more
// than one bytes_variant (different forms of the kernel, e.g. attn_compress's prefill form and its
// token-by-token streaming form) gets one entry per form, keyed "<op>@<variant>" (the lookup's first
// key). `cache_candidates` (bytes): capacities C tried for the
// cached form; the one with the lowest total weighted SSE over all ops becomes the table's
// cache_bytes (empty: no cached form).
EfficiencyTable fit_efficiency(const std::vector<FitPoint>& points, const std::string& hardware,
                               const std::string& source, const std::vector<double>& cache_candidates = {});

// Cache capacities the fit tries: a √2 grid from 256 KiB up to max(llc_bytes, 64 MiB).
std::vector<double> cache_capacity_grid(double llc_bytes);

// Predicted time of point p under table t (the hardware's overhead for entries without one).
double fit_predict_s(const EfficiencyTable& t, const FitPoint& p, double default_overhead_s);
// |pred − meas| / meas of point p under table t (the hardware's overhead for entries without one).
double fit_rel_error(const EfficiencyTable& t, const FitPoint& p, double default_overhead_s);

}  // namespace v4lab::sim
