// memory_model.h — HBM per GPU and host RAM of a deployment (cost-model issue; presets.md §2.3–§2.5,
// attention.md §4.5–§4.6): weights by precision and parallel layout, KV cache × batch × context,
// an activation estimate, Engram tables in host RAM; fits / shortfall and the max batch.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "sim/layer_graph.h"

namespace v4lab {
struct HardwarePreset;
}

namespace v4lab::sim {

struct MemoryFootprint {
  std::map<std::string, double> weights_bytes_by_part;  // per GPU: attention, experts, shared, dense_ffn, router, mhc, embed_head, mtp
  std::map<std::string, double> params_by_part;         // whole model (not sharded), parameter counts
  double params_total = 0;          // counted parameters, whole model incl. MTP
  double weights_bytes = 0;         // per GPU
  double kv_bytes_per_seq = 0;      // at the workload context (incl. SWA ring, compressor state)
  double kv_bytes = 0;              // per GPU: kv_bytes_per_seq × sequences per GPU
  double activation_bytes = 0;      // per GPU, estimate
  double engram_hot_bytes = 0;      // per GPU HBM hot cache of Engram rows (Deployment::engram_hot_fraction × table)
  double total_bytes = 0;           // per GPU
  double capacity_bytes = 0;        // per GPU HBM (mem_capacity_gb · 1e9)
  bool fits = false;
  double shortfall_bytes = 0;       // > 0 when it does not fit
  double headroom_bytes = 0;        // > 0 when it fits
  int64_t max_batch = 0;            // largest batch (whole deployment) that fits at this context
  double host_bytes = 0;            // host RAM: Engram table rows not in the hot cache
};

MemoryFootprint memory_footprint(const ModelPreset& m, const HardwarePreset& hw, const Deployment& dep,
                                 const Workload& wl);

}  // namespace v4lab::sim
