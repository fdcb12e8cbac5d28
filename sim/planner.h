// planner.h — capacity planning (issue 6): search parallel layouts, batch sizes and GPU counts for the
// fewest GPUs (or the lowest cost) that meet a service throughput target and TTFT/TPOT SLOs at a
// context length. Every number is a cost-model prediction (ServingPredictor, the exact fast path of
// predict_serving); equations and assumptions: docs/planning.md.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/presets.h"
#include "sim/layer_graph.h"

namespace v4lab::sim {

enum class PlanObjective { Gpus, Cost };
const char* objective_name(PlanObjective o);
PlanObjective parse_objective(const std::string& s);  // usage_error naming --objective and the accepted values

// The search space. An instance (one serving replica) is gpus = tp·dp GPUs with EP over them.
struct PlanGrid {
  std::vector<int> tp = {1, 2, 4, 8};     // attention TP tried (must divide heads and o_groups; <= NVLink domain)
  std::vector<int> ep_replicas = {1, 2};  // EP = instance GPUs / r (r copies of each expert); r | GPUs, EP <= experts
  std::vector<int> instance_gpus;         // empty: 1, 2, 4, ... below a node, then whole nodes up to max_instance_gpus
  int max_instance_gpus = 256;            // cap of the automatic instance sizes (also capped by max_gpus)
  std::vector<int> batch_per_rank = {1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256};  // sequences per DP rank
  std::vector<bool> overlap = {false, true};  // two-micro-batch overlap off / on
  std::vector<double> mtp_accept = {0.0};     // MTP draft acceptance; > 0 = speculative decode (models with MTP)
};

struct PlanRequest {
  ModelPreset model;
  std::vector<HardwarePreset> hardware;     // one or more presets; candidates span all of them
  int64_t context = 4096;                   // prompt tokens (TTFT) = tokens cached at the decode step
  int64_t chunk = 4096;                     // prefill chunk (tokens per sequence per step)
  double kv_hit_rate = 0;                   // prefix-cache hit rate of the prompts (TTFT prefills the rest)
  double target_output_tokens_per_s = 0;    // whole service, decode; 0 = no target (one replica)
  double target_input_tokens_per_s = 0;     // whole service, prefill; 0 = no target
  double ttft_slo_s = 0;                    // 0 = no TTFT SLO
  double tpot_slo_s = 0;                    // 0 = no TPOT SLO
  int max_gpus = 1024;                      // total GPUs over all replicas
  PlanObjective objective = PlanObjective::Gpus;
  std::vector<double> price_usd_per_gpu_hour;  // per hardware entry; < 0 or absent: the preset's price
  int engram_prefetch_layers = 1;
  PlanGrid grid;
  int threads = 0;                          // 0: std::thread::hardware_concurrency()
  bool prune_memory = true;                 // skip the step model where the memory model says HBM is short
};

struct PlanCandidate {
  // The point.
  int hw_index = 0;
  std::string hw_id;
  Deployment dep;                     // one instance (gpus = tp·dp)
  int64_t batch = 0;                  // sequences per instance = batch_per_rank · dp
  int64_t batch_per_rank = 0;
  // Predictions.
  bool timed = false;                 // step model evaluated (false: pruned by the memory model, or not modelled)
  double ttft_s = 0, tpot_s = 0;
  double effective_tpot_s = 0;        // tpot_s / decode_share (prefill steals the rest of the instance's time)
  double decode_share = 1;            // fraction of instance time spent decoding
  double decode_tokens_per_s_per_gpu = 0;
  double decode_tokens_per_s = 0;     // one instance, decoding all the time
  double prefill_tokens_per_s = 0;    // one instance, prefilling all the time
  double usd_per_m_output_tokens = 0; // one instance at full decode load
  double usd_per_m_input_tokens = 0;
  double hbm_bytes = 0, hbm_capacity_bytes = 0, hbm_shortfall_bytes = 0;  // per GPU
  double hbm_weights_bytes = 0, hbm_kv_bytes = 0, hbm_activation_bytes = 0, hbm_engram_bytes = 0;  // parts, per GPU
  double host_bytes = 0;  // host RAM (Engram table rows not in the HBM hot cache)
  int64_t max_batch = 0;              // memory model: largest instance batch that fits at this context
  double price_usd_per_gpu_hour = 0;
  int64_t replicas = 0, total_gpus = 0;
  double usd_per_hour = 0;            // total_gpus · price
  // Verdict.
  bool fits = false, meets_ttft = false, meets_tpot = false, within_gpus = false, feasible = false;
  double miss = 0;                    // largest relative violation (value / limit - 1) over violated constraints
  std::vector<std::string> violations;  // kinds: hbm, ttft, tpot, gpus, not_modelled
  std::vector<std::string> reasons;     // one sentence per violation
  bool pareto = false, winner = false;

  double objective_value(PlanObjective o) const { return o == PlanObjective::Gpus ? double(total_gpus) : usd_per_hour; }
};

struct PlanResult {
  std::vector<PlanCandidate> candidates;
  std::vector<int> pareto;     // candidate indices, by objective then TPOT
  int winner = -1;             // -1: nothing feasible
  int closest_miss = -1;       // when nothing is feasible: the smallest `miss` (timed candidates first)
  int64_t n_layouts = 0, n_timed = 0, n_pruned = 0, n_feasible = 0;
  std::map<std::string, int64_t> violation_counts;  // kind -> candidates violating it
  double best_tpot_s = 0, best_ttft_s = 0;          // over timed candidates (0: none)
  double elapsed_s = 0;        // enumeration + evaluation + Pareto (not the DB write)
  double candidates_per_s = 0;
  int threads = 1;
};

// Throws usage_error naming the flag, value and accepted range for a bad request.
void check_plan_request(const PlanRequest& req);
PlanResult plan(const PlanRequest& req);

// Indices of the non-dominated candidates among `idx` (minimise objective and effective TPOT, maximise
// decode tokens/s per GPU), sorted by objective, then TPOT, then throughput. Exposed for tests.
std::vector<int> pareto_front(const std::vector<PlanCandidate>& c, const std::vector<int>& idx, PlanObjective o);

// The replica count and decode share of an instance under a phase mix (docs/planning.md §2):
// D = out / decode_tps, P = in / prefill_tps, R = ceil(max(1, D + P, P / (1 - tpot / slo))).
struct ReplicaPlan {
  int64_t replicas = 1;
  double decode_share = 1;
  bool tpot_ok = true;
};
ReplicaPlan replicas_for(double target_out, double target_in, double decode_tps, double prefill_tps, double tpot_s,
                         double tpot_slo_s);

}  // namespace v4lab::sim
