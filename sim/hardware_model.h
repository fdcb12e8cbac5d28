// hardware_model.h — the cost model's view of a hardware preset: peak rates per precision and the
// bandwidth of each memory tier, in SI base units. Built from data (core::HardwarePreset), never
// from constants in code; each rate remembers which preset field (and kind) it came from.
#pragma once
#include <map>
#include <string>

#include "core/op_catalogue.h"
#include "sim/efficiency.h"

namespace v4lab {
struct HardwarePreset;
}

namespace v4lab::sim {

struct Rate {
  double value = 0;    // FLOP/s or B/s; 0 = absent
  std::string field;   // preset key it came from
  std::string kind;    // datasheet, measured, assumption, ...
};

struct HardwareModel {
  std::string id, display, device_class;
  std::map<Precision, Rate> peak_flops_per_s;  // dense
  Rate mem_bw;             // HBM (GPU) or DRAM (CPU), B/s
  Rate host_link_bw;       // per direction, B/s
  Rate net_bw;             // NVLink per direction (falls back to NIC), B/s
  Rate nic_bw;             // scale-out NIC per GPU per direction, B/s (0 = absent)
  double overhead_s = 0;   // fixed per-op launch cost
  // Cache capacity C (bytes) of the cache-aware memory roof (efficiency entries with memory_cached):
  // the efficiency table's fitted cache_bytes, else the preset's l2_mb (GPU L2, CPU LLC); 0 = none.
  double cache_bytes = 0;
  std::string cache_source;  // "l2_mb" or "efficiency fit"
  std::string overhead_kind;
  // Transcendental ops (exp, sigmoid, rsqrt) run at fp32 peak / kTranscendentalCost FLOP-equivalents;
  // see docs/cost-model.md for the derivation (GPU SFU: 16 vs 128 FP32 lanes per SM, FMA = 2 FLOP).
  static constexpr double kTranscendentalCost = 16.0;

  // Calibrated efficiencies (empty: pure roofline). From the preset's efficiency table.
  EfficiencyTable efficiency;
  const Efficiency* efficiency_for(const std::string& op, const std::string& family, const std::string& variant = {}) const {
    return efficiency.lookup(op, family, variant);
  }

  // Peak for a precision; precisions the device lacks fall back to the next wider one that it has
  // (e.g. FP4 on H100 runs as FP8), and *fallback reports which was used.
  const Rate& peak(Precision p, Precision* used = nullptr) const;
};

// Throws config_error naming the preset and field when a required rate is missing (e.g. an
// un-probed `local` preset).
HardwareModel hardware_model(const HardwarePreset& hw);

}  // namespace v4lab::sim
