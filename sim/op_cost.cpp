// op_cost.cpp — roofline prediction (Williams, Waterman & Patterson, CACM 2009): an op takes the
// longest of its compute time and its time on each memory tier; tiers overlap, launches do not.
// A calibrated Efficiency scales each roof (share reached by this kernel class) and may replace the
// launch overhead (docs/cost-model.md §Calibration).
#include "sim/op_cost.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace v4lab::sim {

OpCost predict_op(const OpWork& w, const HardwareModel& hw, const Efficiency* eff) {
  OpCost c;
  const Rate& peak = hw.peak(w.precision, &c.precision_used);
  const Rate& fp32 = hw.peak(Precision::FP32);
  const double e_c = eff ? eff->compute : 1.0, e_m = eff ? eff->memory : 1.0;
  const double e_n = eff ? eff->net : 1.0, e_h = eff ? eff->host : 1.0;
  c.compute_s = w.flops / peak.value + w.transcendentals * HardwareModel::kTranscendentalCost / fp32.value;
  c.memory_s = w.bytes_mem / hw.mem_bw.value;
  // Cache-aware memory roof: the first C bytes of the working set at the cached share, the rest at
  // the DRAM/HBM share (continuous and non-decreasing in bytes, ∝ 1/bandwidth).
  const bool cached = eff && std::isfinite(eff->memory_cached) && hw.cache_bytes > 0 && w.bytes_mem > 0;
  const double mem_in_s = cached ? std::min(w.bytes_mem, hw.cache_bytes) / hw.mem_bw.value : 0.0;
  if (w.bytes_host_link > 0) {
    if (hw.host_link_bw.value <= 0) throw config_error("hardware '" + hw.id + "' has no host_link_gbs but the op moves host bytes");
    c.host_s = w.bytes_host_link / hw.host_link_bw.value;
  }
  if (w.bytes_net > 0) {
    if (hw.net_bw.value <= 0) throw config_error("hardware '" + hw.id + "' has no nvlink_gbs/nic_gbs but the op moves network bytes");
    c.comm_s = w.bytes_net / hw.net_bw.value;
  }
  if (w.bytes_nic > 0) {  // scale-out bytes go out concurrently with the NVLink ones
    if (hw.nic_bw.value <= 0) throw config_error("hardware '" + hw.id + "' has no nic_gbs but the op crosses nodes");
    c.comm_s = std::max(c.comm_s, w.bytes_nic / hw.nic_bw.value);
  }
  c.roofline_s = std::max(std::max(c.compute_s, c.memory_s), std::max(c.host_s, c.comm_s));
  c.compute_s /= e_c;
  c.memory_s = cached ? mem_in_s / eff->memory_cached + (c.memory_s - mem_in_s) / e_m : c.memory_s / e_m;
  c.host_s /= e_h;
  c.comm_s /= e_n;
  c.overhead_s = eff && std::isfinite(eff->overhead_s) ? eff->overhead_s : hw.overhead_s;
  if (eff) {
    c.efficiency_key = eff->key;
    c.efficiency_kind = eff->kind;
  }
  double m = c.compute_s;
  c.bound = "compute";
  if (c.memory_s > m) { m = c.memory_s; c.bound = "memory"; }
  if (c.host_s > m) { m = c.host_s; c.bound = "host"; }
  if (c.comm_s > m) { m = c.comm_s; c.bound = "comm"; }
  if (c.overhead_s > m) c.bound = "overhead";
  // Additive (fitted, no overlap): the tiers queue; the bound is still the largest term.
  if (eff && eff->additive) m = c.compute_s + c.memory_s + c.host_s + c.comm_s;
  c.total_s = m + c.overhead_s;
  c.flops = w.flops + w.transcendentals;
  c.bytes = w.bytes_mem + w.bytes_host_link + w.bytes_net + w.bytes_nic;
  c.intensity = w.bytes_mem > 0 ? c.flops / w.bytes_mem : 0;
  return c;
}

OpCost predict_calls_for(const std::string& op, const std::string& family,
                         const std::vector<std::pair<OpWork, double>>& calls, const HardwareModel& hw) {
  OpCost sum;
  double costliest = -1;
  for (const auto& [w, n] : calls) {
    const OpCost c = predict_op_for(op, family, w, hw);
    sum.compute_s += n * c.compute_s, sum.memory_s += n * c.memory_s, sum.host_s += n * c.host_s;
    sum.comm_s += n * c.comm_s, sum.overhead_s += n * c.overhead_s, sum.total_s += n * c.total_s;
    sum.flops += n * c.flops, sum.bytes += n * c.bytes, sum.roofline_s += n * c.roofline_s;
    if (n * c.total_s > costliest) {
      costliest = n * c.total_s;
      sum.bound = c.bound, sum.precision_used = c.precision_used;
      sum.efficiency_key = c.efficiency_key, sum.efficiency_kind = c.efficiency_kind;
    }
  }
  sum.intensity = sum.bytes > 0 ? sum.flops / sum.bytes : 0;
  return sum;
}

}  // namespace v4lab::sim
