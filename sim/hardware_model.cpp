// hardware_model.cpp — HardwarePreset fields (TFLOPS, GB/s, µs) → SI rates.
#include "sim/hardware_model.h"

#include <cmath>

#include "core/error.h"
#include "core/presets.h"

namespace v4lab::sim {

static Rate rate(const HardwarePreset& hw, const std::string& key, double scale) {
  Rate r;
  if (!hw.has(key)) return r;
  r.value = hw.value(key) * scale;
  r.field = key;
  r.kind = hw.fields.at(key).kind;
  return r;
}

HardwareModel hardware_model(const HardwarePreset& hw) {
  HardwareModel m;
  m.id = hw.id;
  m.display = hw.display;
  m.device_class = hw.device_class;
  const std::pair<Precision, const char*> peaks[] = {
      {Precision::FP32, "fp32_tflops"},       {Precision::TF32, "tf32_dense_tflops"},
      {Precision::BF16, "bf16_dense_tflops"}, {Precision::FP8, "fp8_dense_tflops"},
      {Precision::FP4, "fp4_dense_tflops"},   {Precision::FP64, "fp64_tflops"}};
  for (auto& [p, key] : peaks) {
    Rate r = rate(hw, key, 1e12);
    if (r.value > 0) m.peak_flops_per_s[p] = r;
  }
  if (!m.peak_flops_per_s.count(Precision::FP32))
    throw config_error("hardware preset '" + hw.id + "' has no value for 'fp32_tflops' (needed by the cost model" +
                           (hw.id == "local" ? "; run `v4lab calibrate` to probe this machine)" : ")"),
                       hw.path);
  m.mem_bw = rate(hw, "mem_bw_gbs", 1e9);
  if (m.mem_bw.value <= 0)
    throw config_error("hardware preset '" + hw.id + "' has no value for 'mem_bw_gbs'", hw.path);
  m.host_link_bw = rate(hw, "host_link_gbs", 1e9);
  m.net_bw = rate(hw, "nvlink_gbs", 1e9);
  if (m.net_bw.value <= 0) m.net_bw = rate(hw, "nic_gbs", 1e9);
  m.nic_bw = rate(hw, "nic_gbs", 1e9);
  if (hw.has("launch_overhead_us")) {
    m.overhead_s = hw.value("launch_overhead_us") * 1e-6;
    m.overhead_kind = hw.fields.at("launch_overhead_us").kind;
  }
  if (!hw.efficiency.is_null())
    m.efficiency = efficiency_from_json(hw.efficiency, hw.efficiency_path.empty() ? hw.id : hw.efficiency_path);
  if (std::isfinite(m.efficiency.cache_bytes)) {
    m.cache_bytes = m.efficiency.cache_bytes;
    m.cache_source = "efficiency fit";
  } else if (hw.has("l2_mb") && hw.value("l2_mb") > 0) {
    m.cache_bytes = hw.value("l2_mb") * 1e6;
    m.cache_source = "l2_mb";
  }
  return m;
}

const Rate& HardwareModel::peak(Precision p, Precision* used) const {
  // Wider precisions to try, in order, when the device lacks `p`.
  static const Precision order[] = {Precision::FP4, Precision::FP8, Precision::BF16, Precision::TF32,
                                    Precision::FP32, Precision::FP64};
  int start = 0;
  while (order[start] != p) ++start;
  for (int i = start; i < 6; ++i) {
    auto it = peak_flops_per_s.find(order[i]);
    if (it != peak_flops_per_s.end()) {
      if (used) *used = order[i];
      return it->second;
    }
  }
  if (used) *used = Precision::FP32;
  return peak_flops_per_s.at(Precision::FP32);
}

}  // namespace v4lab::sim
