// op_catalogue.h — the single source of truth for every op's shape parameters, FLOPs and bytes.
// Kernels (for GFLOP/s, GB/s), the cost model (for predicted time) and the CLI (for --set key=value)
// all read this table, so a measured time and a predicted time always describe the same work.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace v4lab {

// Numeric precision of the dominant arithmetic of an op; selects the hardware peak the cost model uses.
enum class Precision { FP64, FP32, TF32, BF16, FP8, FP4 };
const char* precision_name(Precision p);
Precision parse_precision(const std::string& s);  // throws config_error naming the accepted values

// One shape/option parameter of an op. All values are carried as double; integer params are checked
// to be integral. `model_field` names the model-preset field that supplies the default when a scenario
// names a model (e.g. d_model <- "hidden_size"), empty when there is none.
struct ParamDef {
  std::string key;
  double def = 0;
  double min = 0;
  double max = 0;
  bool integer = true;
  std::string help;
  std::string model_field;
};

using ParamMap = std::map<std::string, double>;

// The work an op does for one set of parameters (STYLE: units in names).
struct OpWork {
  double flops = 0;            // counted as in attention.md §0: add/mul/div/max/compare = 1
  double transcendentals = 0;  // exp, sigmoid, rsqrt, ... counted separately
  double bytes_mem = 0;        // device memory (HBM on GPUs, DRAM on CPUs): reads + writes
  double bytes_host_link = 0;  // host <-> device link (PCIe / C2C)
  double bytes_net = 0;        // scale-up interconnect (NVLink; the NIC when a preset has no NVLink)
  double bytes_nic = 0;        // scale-out network (NIC / RDMA), concurrent with bytes_net
  Precision precision = Precision::FP32;
  std::string bytes_variant;   // which byte-accounting variant (e.g. "production", "unfused")
};

struct OpDef {
  std::string name;     // general-to-specific: mhc_pre, mhc_post, ...
  std::string family;   // mhc, moe, attention, engram, quant, numerics
  std::string summary;  // one line for --help / info
  std::vector<ParamDef> params;
  std::function<OpWork(const ParamMap&)> work;  // params are resolved (all keys present)
};

// Registration: each family adds its ops from its own file (core/ops/<family>.cpp).
void register_op(OpDef def);
const std::vector<OpDef>& all_ops();
const OpDef* find_op(const std::string& name);    // nullptr if unknown
const OpDef& get_op(const std::string& name);     // throws config_error listing known ops

// Fill defaults, apply overrides, check every key is known and every value is in range and integral
// where required. `where` prefixes error messages (e.g. "scenarios/x.toml:12" or "--set").
ParamMap resolve_params(const OpDef& op, const ParamMap& overrides, const std::string& where = {});

// Integer view of a resolved parameter.
inline int64_t param_i(const ParamMap& p, const std::string& key) { return static_cast<int64_t>(p.at(key)); }

}  // namespace v4lab
