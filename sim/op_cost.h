// op_cost.h — predicted time of one op on one hardware model: the roofline of compute and each
// memory tier plus a fixed launch overhead (cost-model v1; efficiency curves arrive with calibration).
#pragma once
#include <string>

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
};

inline constexpr const char* kCostModelName = "roofline-v1";

OpCost predict_op(const OpWork& work, const HardwareModel& hw);

}  // namespace v4lab::sim
