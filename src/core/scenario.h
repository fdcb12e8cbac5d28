// scenario.h — the scenario model: a TOML file naming a model preset, hardware presets, backends,
// timing options and kernel cases (docs/scenarios.md). Loading validates everything once and
// resolves every kernel parameter (scenario key > model preset field > op default), so downstream
// code (executor, cost model, store) never sees an incomplete or invalid configuration.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/presets.h"

namespace v4lab {

struct TimingOptions {
  int warmup = 2;           // untimed repetitions before measuring
  double min_time_s = 0.2;  // keep repeating until this much time was measured...
  int min_reps = 5;         // ...and at least this many repetitions
  int max_reps = 1000;      // hard cap on repetitions
};

struct KernelCase {
  std::string op;     // op catalogue name (mhc_pre, ...)
  ParamMap params;    // fully resolved: every ParamDef key present and range-checked
  std::string where;  // "file:line" of the [[kernel]] table
  // Where each parameter came from: "scenario", "model:<field>" or "default".
  std::map<std::string, std::string> param_source;
};

// [exec]: execute a reduced whole model (`v4lab exec`, issue 11) as part of the run.
struct ExecScenario {
  bool present = false;
  std::string model;        // preset id or short name (default: [scenario] model)
  std::string scale = "tiny";  // tiny | small | preset
  std::string hardware;     // preset the cost model predicts the same ops on (default: the first [scenario] hardware)
  int64_t prefill = 64, decode = 4, batch = 1, layers = -1;  // layers -1: all
  int64_t chunk = 0; bool mtp_verify = false;  // prefill chunk (0: one chunk), 2-token MTP verification
};

struct Scenario {
  std::string name, description, path, model_id;
  std::vector<std::string> hardware_ids;
  uint64_t seed = 1;
  std::vector<std::string> backends;
  bool verify = true;
  TimingOptions timing;
  std::string report_dir = "reports";
  std::string trace_path;  // [output] trace: Chrome trace file; "" = <report_dir>/<run-id>/trace.json
  std::vector<KernelCase> kernels;
  ExecScenario exec;
  ModelPreset model;
  std::vector<HardwarePreset> hardware;  // same order as hardware_ids; "local" loads with empty values
  // Non-fatal findings, e.g. an op parameter whose model field the model preset lacks (op default used).
  std::vector<std::string> warnings;

  nlohmann::json to_json() const;  // fully resolved config incl. presets (stored next to every result)
};

// One documented scenario field: used for validation messages, docs/scenarios.md and --help.
struct FieldHelp {
  std::string section;  // "scenario", "timing", "output", "kernel"
  std::string key;
  std::string type;           // string, integer, number, boolean, array of strings
  std::string default_value;  // as written in TOML; "" when required
  std::string help;
};
const std::vector<FieldHelp>& scenario_field_help();

// Throws config_error (exit code 2) naming file:line, key, value and what is accepted for: unknown
// keys or sections, wrong types, out-of-range values, unknown ops/backends, missing presets, missing
// files and TOML syntax errors.
Scenario load_scenario(const std::string& path, const std::string& data_dir);

// Why no file can be written at `path` ("" when one can): empty, names a folder, its nearest existing
// ancestor is not a folder or not writable. Checks only; creates nothing.
std::string output_file_problem(const std::string& path);
Scenario parse_scenario(const std::string& toml_text, const std::string& display_path, const std::string& data_dir);

}  // namespace v4lab
