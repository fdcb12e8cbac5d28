// sweep_eval.h — evaluation of one sweep point (docs/sweeps.md): kind "predict" runs the whole-model
// cost model (sim::predict_serving, or sim::predict_step + memory for metrics = "step"); kind
// "kernel" measures the op case on its backend with the profiler harness and predicts it on a
// hardware preset. No store access: the runner writes the results.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "cli/cli.h"
#include "core/presets.h"
#include "core/sweep.h"

namespace v4lab::store {
class Store;
}

namespace v4lab::cli {

struct PointResult {
  uint64_t index = 0;
  bool ok = true;            // false: status 'error', metrics {"error": message, ...}
  std::string coords_json;   // {field: value} of the swept fields
  std::string metrics_json;  // what was computed, each number labelled (prediction / measurement)
};

class SweepEvaluator {
 public:
  // Loads every model/hardware preset the sweep names; a 'local' hardware preset (kernel sweeps) is
  // filled from this host's newest probe in `db` (probing now when there is none; db may be null).
  SweepEvaluator(const SweepSpec& spec, const Context& ctx, store::Store* db);
  ~SweepEvaluator();

  // Thread-safe (presets are read-only; a kernel point gets its own executor, so reference outputs
  // are not cached across points and memory stays flat). Never throws for a bad point: it becomes an
  // error row.
  PointResult evaluate(uint64_t index) const;
  const std::string& label() const { return label_; }

 private:
  nlohmann::json predict_point(const nlohmann::json& p) const;
  nlohmann::json kernel_point(const nlohmann::json& p, bool& ok) const;

  const SweepSpec& spec_;
  std::map<std::string, ModelPreset> models_;
  std::map<std::string, HardwarePreset> hardware_;
  std::string host_;
  uint64_t generation_ = 0;  // tells thread-local step-graph caches apart (sweep_eval.cpp)
  std::string label_;
};

}  // namespace v4lab::cli
