// validation.h — reference points for `v4lab validate` (data/validation/*.toml, docs/validation.md):
// published kernel-level figures, each with its conditions, source and the tolerance the cost model
// must meet. Loading validates every field once; evaluation lives in the CLI (it needs the cost model).
#pragma once
#include <string>
#include <vector>

#include "core/op_catalogue.h"

namespace v4lab {

struct ValidationPoint {
  std::string id;        // unique across all files
  std::string file;      // file:line of the [[point]] table
  std::string hardware;  // hardware preset id
  // What is predicted: a catalogue op (params resolved against its defaults), or an EP transfer
  // "ep_dispatch" / "ep_combine" (params: tokens, hidden, top_k, ep, mode 0 = normal (deduplicated
  // per rank), 1 = low-latency (per-expert copies), n_experts).
  std::string op;
  ParamMap params;
  std::string metric;     // time_us | tflops | gbytes_per_s
  double reference = 0;   // the published value (point form)
  double ref_min = 0, ref_max = 0;  // range form (both > 0): error is the distance outside the range
  double tolerance = 0;   // relative, e.g. 0.15
  bool gate = true;       // false: informational (printed, never fails)
  bool used_in_calibration = false;  // this anchor also set an efficiency (agreement is by construction)
  std::string source, conditions, note;
};

// All points of every *.toml in <data_dir>/validation (sorted by file name). Throws config_error
// naming file:line, field and accepted values.
std::vector<ValidationPoint> load_validation_points(const std::string& data_dir);
std::vector<ValidationPoint> parse_validation_points(const std::string& toml_text, const std::string& display_path);

}  // namespace v4lab
