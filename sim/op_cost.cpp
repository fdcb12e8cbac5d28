// op_cost.cpp — roofline prediction (Williams, Waterman & Patterson, CACM 2009): an op takes the
// longest of its compute time and its time on each memory tier; tiers overlap, launches do not.
#include "sim/op_cost.h"

#include "core/error.h"

namespace v4lab::sim {

OpCost predict_op(const OpWork& w, const HardwareModel& hw) {
  OpCost c;
  const Rate& peak = hw.peak(w.precision, &c.precision_used);
  const Rate& fp32 = hw.peak(Precision::FP32);
  c.compute_s = w.flops / peak.value + w.transcendentals * HardwareModel::kTranscendentalCost / fp32.value;
  c.memory_s = w.bytes_mem / hw.mem_bw.value;
  if (w.bytes_host_link > 0) {
    if (hw.host_link_bw.value <= 0) throw config_error("hardware '" + hw.id + "' has no host_link_gbs but the op moves host bytes");
    c.host_s = w.bytes_host_link / hw.host_link_bw.value;
  }
  if (w.bytes_net > 0) {
    if (hw.net_bw.value <= 0) throw config_error("hardware '" + hw.id + "' has no nvlink_gbs/nic_gbs but the op moves network bytes");
    c.comm_s = w.bytes_net / hw.net_bw.value;
  }
  c.overhead_s = hw.overhead_s;
  double m = c.compute_s;
  c.bound = "compute";
  if (c.memory_s > m) { m = c.memory_s; c.bound = "memory"; }
  if (c.host_s > m) { m = c.host_s; c.bound = "host"; }
  if (c.comm_s > m) { m = c.comm_s; c.bound = "comm"; }
  if (c.overhead_s > m) c.bound = "overhead";
  c.total_s = m + c.overhead_s;
  c.flops = w.flops + w.transcendentals;
  c.bytes = w.bytes_mem + w.bytes_host_link + w.bytes_net;
  c.intensity = w.bytes_mem > 0 ? c.flops / w.bytes_mem : 0;
  return c;
}

}  // namespace v4lab::sim
