// sweep.h — sweep scenarios (docs/sweeps.md): a [sweep] table naming a kind ("predict": one whole-model
// cost-model prediction per point; "kernel": one op case measured on a backend and predicted), base
// values, and [[sweep.axis]] entries (values / range / log, optionally zipped). Loading validates
// every axis value once; expansion is deterministic: point index i <-> coordinates (mixed radix over
// the axis groups in declaration order, the last group varying fastest). No I/O besides the TOML.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/scenario.h"

namespace v4lab {

// One field a sweep point has (predict kind: a fixed list; kernel kind: a few fixed ones plus the op's
// params). Also the source of --help text and docs/sweeps.md.
struct SweepField {
  std::string key;
  std::string type;                  // "integer", "number", "boolean", "string"
  nlohmann::json def;                // default value (null: required)
  double min = 0, max = 0;           // numeric range (inclusive)
  std::vector<std::string> choices;  // string fields: the accepted values (empty: any, or a preset id)
  std::string preset;                // "model" or "hardware": the value must name a preset in data_dir
  std::string help;
  bool sweepable = true;
};
const std::vector<SweepField>& predict_sweep_fields();
const std::vector<SweepField>& kernel_sweep_fields();  // fixed fields only; op params are added per op

struct SweepAxis {
  std::string field;
  std::vector<nlohmann::json> values;  // expanded, validated, in order
  std::string zip;                     // "" = its own cartesian dimension; else the zip group name
  std::string source;                  // "values", "range" or "log"
  std::string where;                   // file:line of the [[sweep.axis]] table
};

struct SweepSpec {
  std::string name, description, path;
  std::string kind;               // "predict" | "kernel"
  // predict: "serving" (step, TTFT, TPOT, throughput, $/Mtok, memory), "step" (the requested step and
  // memory: no TTFT loop over prompt chunks) or "memory" (the memory footprint only: no step graph).
  std::string metrics = "serving";
  nlohmann::json base;            // every field with its value (defaults filled); kernel: explicit params only
  TimingOptions timing;           // kernel kind: how each point is measured
  std::vector<SweepAxis> axes;
  std::vector<std::vector<size_t>> groups;  // axis indices per dimension, in declaration order
  std::vector<uint64_t> group_sizes;        // values per dimension
  uint64_t n_points = 1;
  std::string hash;  // 16 hex digits over kind, metrics, base, timing and the expanded axes (not name/path)
  std::vector<std::string> warnings;

  // Coordinates of point `index` (< n_points): {field: value} for every axis field.
  nlohmann::json coordinates(uint64_t index) const;
  // The base with the coordinates of point `index` applied.
  nlohmann::json point_config(uint64_t index) const;
  // Resolved spec (stored as the run's config): name, kind, metrics, base, timing, axes, n_points, hash.
  nlohmann::json to_json() const;
};

// The largest sweep accepted (points are addressed by a signed 64-bit SQLite integer; this also keeps
// the mixed-radix arithmetic far from overflow).
inline constexpr uint64_t kMaxSweepPoints = uint64_t(1) << 40;

// Throws config_error (exit 2) naming file:line, field, value and the accepted range for: unknown
// keys, wrong types, out-of-range axis values, empty axes, unknown fields, a field on two axes,
// zip groups of unequal length, unknown presets/ops and too many points.
SweepSpec load_sweep(const std::string& path, const std::string& data_dir);
SweepSpec parse_sweep(const std::string& toml_text, const std::string& display_path, const std::string& data_dir);

}  // namespace v4lab
