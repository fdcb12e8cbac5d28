// op_cost.h — predicted time of one op on one hardware model: the roofline of compute and each
// memory tier plus a fixed launch overhead, each roof scaled by a calibrated efficiency when one is
// given (sim/efficiency.h; without one: the plain roofline, "roofline-v1").
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "core/op_catalogue.h"
#include "sim/hardware_model.h"

namespace v4lab::sim {

struct OpCost {
  double compute_s = 0;   // (flops + transcendentals·k) / peak(precision)
  double memory_s = 0;    // bytes_mem / mem_bw
  double host_s = 0;      // bytes_host_link / host_link_bw
  double comm_s = 0;      // bytes_net / net_bw
  double overhead_s = 0;  // launch / parallel-region cost
  double total_s = 0;     // max(compute, memory, host, comm) + overhead
  std::string bound;      // "compute" | "memory" | "host" | "comm" | "overhead"
  Precision precision_used = Precision::FP32;
  double flops = 0, bytes = 0;
  double intensity = 0;   // flops / bytes_mem (FLOP/B)
  double roofline_s = 0;  // max(compute, memory, host, comm) at efficiency 1, without overhead
  std::string efficiency_key;   // entry used ("" = none: plain roofline)
  std::string efficiency_kind;  // fit | anchor | derived | assumption
};

inline constexpr const char* kCostModelName = "roofline-v1";            // no efficiency applied
inline constexpr const char* kCalibratedModelName = "roofline-eff-v2";  // with calibrated efficiencies

// `eff` = nullptr: plain roofline. Use predict_op_for to look the efficiency up by op name and family.
OpCost predict_op(const OpWork& work, const HardwareModel& hw, const Efficiency* eff = nullptr);
// The hardware's efficiency for (op, family), if its table has one.
inline OpCost predict_op_for(const std::string& op, const std::string& family, const OpWork& work,
                             const HardwareModel& hw) {
  return predict_op(work, hw, hw.efficiency_for(op, family, work.bytes_variant));
}
// `calls[i].second` calls of work `calls[i].first` each (e.g. one per sequence, one per decode step
// as the context grows): every part and the total summed over the calls, so each call pays its own
// overhead; `bound` and the efficiency entry are those of the costliest group.
OpCost predict_calls_for(const std::string& op, const std::string& family,
                         const std::vector<std::pair<OpWork, double>>& calls, const HardwareModel& hw);
// Name of the model a cost came from (for stored predictions).
inline const char* cost_model_name(const OpCost& c) {
  return c.efficiency_key.empty() ? kCostModelName : kCalibratedModelName;
}

}  // namespace v4lab::sim
