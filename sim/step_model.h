// step_model.h — whole-model step prediction (cost-model issue): predict_step builds the step DAG
// for a configuration, schedules it over streams and sums the per-layer-type and per-family
// breakdown; predict_serving adds TTFT, TPOT (MTP gain 1 + acceptance), throughput and $/Mtok.
// Every number here is a cost-model prediction (roofline-v1 node times), never a measurement.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/hardware_model.h"
#include "sim/layer_graph.h"
#include "sim/memory_model.h"
#include "sim/scheduler.h"

namespace v4lab {
struct HardwarePreset;
}

namespace v4lab::sim {

struct StepCost {
  double step_s = 0;                          // makespan of the scheduled step
  ScheduleResult schedule;                    // timeline, busy per stream, critical path
  std::map<std::string, double> by_layer_type_s;  // busy time (sum of node times) per bucket
  std::map<std::string, double> by_family_s;      // busy time per op family (comm = transfers)
  double flops = 0, bytes_mem = 0, bytes_net = 0, bytes_host = 0;  // per GPU
  int n_nodes = 0;
  int64_t tokens_per_gpu = 0;
  std::vector<std::string> missing_ops;
};

// The network a deployment's all-to-alls use: NVLink inside a node, the NIC across nodes.
HardwareModel deployment_hardware(const HardwarePreset& hw, const Deployment& dep);

// Build once, run many times (the hot path: one V4-Pro decode step in well under 100 µs).
class StepPredictor {
 public:
  StepPredictor(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl);
  const StepGraph& graph() const { return graph_; }
  const HardwareModel& hardware() const { return hw_; }
  // Schedules the prebuilt graph into `out.schedule` and sets out.step_s (no breakdown, no allocation
  // after the first call).
  void run(StepCost& out);
  // run() plus the breakdowns and totals.
  StepCost predict();

 private:
  StepGraph graph_;
  HardwareModel hw_;
  Scheduler sched_;
};

StepCost predict_step(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep, const Workload& wl);

struct ServingMetrics {
  StepCost step;              // the requested phase
  StepCost decode;            // decode step at (batch, context)
  double ttft_s = 0;          // prefill of one prompt of `context` tokens in chunks (its DP rank: batch = dp),
                              // minus the prefix-cache hits (Workload::kv_hit_rate)
  double prefill_tokens_per_s_per_gpu = 0;
  double tpot_s = 0;          // decode step / (1 + acceptance) with MTP
  double decode_tokens_per_s_per_gpu = 0;
  double decode_tokens_per_s_per_node = 0;
  double usd_per_m_input_tokens = 0;
  double usd_per_m_output_tokens = 0;
  double price_usd_per_gpu_hour = 0;
  int gpus_per_node = 8;
  MemoryFootprint memory;
};

ServingMetrics predict_serving(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                               const Workload& wl);

// Fast path of predict_serving for one (model, hardware, deployment) and many workloads (the planner):
// each step graph is built once per (phase, micro-batch count) and only its node works are recomputed
// per workload (refill_step_graph); TTFT is cached for the last (context, chunk, prefill batch). Every
// number equals predict_serving's exactly (tests/sim/test_planner.cpp). The StepCosts carry step_s,
// n_nodes, tokens_per_gpu, the FLOP/byte totals and the schedule's step/busy/critical-path totals only:
// no breakdown maps, no timeline. Keeps references to m and hw; not for concurrent use (one per thread).
// Step graphs of one model reused across deployments and workloads: get() refills a cached graph of the
// same structure (refill_step_graph) or builds one. One per thread.
class StepGraphCache {
 public:
  explicit StepGraphCache(const ModelPreset& m);
  StepGraph& get(const Deployment& dep, const Workload& wl);
  int graphs_built() const { return int(graphs_.size()); }

 private:
  const ModelPreset& m_;
  bool has_mtp_ = false;
  std::vector<std::unique_ptr<StepGraph>> graphs_;
};

class ServingPredictor {
 public:
  // `cache` (optional, same model) shares step graphs with other predictors of the same thread.
  ServingPredictor(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                   StepGraphCache* cache = nullptr);
  // `memory`, when given, must be memory_footprint(m, hw, dep, wl) (the planner computed it already).
  ServingMetrics predict(const Workload& wl, const MemoryFootprint* memory = nullptr);
  // Take other's cached TTFT when it describes the same prefill: same hardware preset object and the same
  // deployment except mtp_accept (prefill runs no speculative decode). No-op otherwise.
  void adopt_ttft(const ServingPredictor& other);
  // One step (decode step or prefill chunk) of the deployment: the scalars of predict_step.
  void step(const Workload& wl, StepCost& out);
  const Deployment& deployment() const { return dep_; }
  int graphs_built() const { return cache_->graphs_built(); }

 private:
  const ModelPreset& m_;
  const HardwarePreset& hw_;
  Deployment dep_;
  HardwareModel hwm_;
  bool has_mtp_ = false;
  std::unique_ptr<StepGraphCache> own_cache_;
  StepGraphCache* cache_ = nullptr;
  Scheduler sched_;
  ScheduleResult sr_;
  std::vector<double> node_s_;
  std::vector<const Efficiency*> key_eff_;
  bool ttft_valid_ = false;
  int64_t ttft_context_ = 0, ttft_chunk_ = 0, ttft_batch_ = 0, ttft_cached_ = 0;
  double ttft_s_ = 0;
};

}  // namespace v4lab::sim
