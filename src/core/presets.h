// presets.h — hardware and model presets: data files under data/hardware and data/models, loaded and
// validated at run time (presets spec §1–§3). No C++ constant duplicates a preset value; the cost
// model, kernels and CLI read numbers through HardwarePreset::value / ModelPreset::number.
// Every hardware number carries value, unit, kind and source; see docs/presets.md for the schema.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace v4lab {

// Provenance kinds a number may carry (presets spec §1). Reports never mix kinds silently.
const std::vector<std::string>& quantity_kinds();  // datasheet, published, config, derived, measured, ...

// One numeric fact with its provenance. has_value is false for declared-but-unmeasured fields
// (the "this machine" preset before probing): such fields stay empty, never defaulted.
struct Quantity {
  double value = 0;
  bool has_value = false;
  std::string unit;    // TFLOPS, GB, GB/s, MB, count, W, USD/h, us, ns, IOPS, KB
  std::string kind;    // one of quantity_kinds()
  std::string source;  // id into the preset's [sources] table ("" for pure assumptions/measurements)
  std::string note;    // free text: conditions, derivation, caveats
  std::string probe;   // for measured fields: the probe that fills it (fma_peak, stream_triad, ...)
};

// The canonical hardware field keys (the cost model reads these), with unit and help text.
struct HardwareFieldHelp {
  std::string key;
  std::string unit;
  std::string help;
};
const std::vector<HardwareFieldHelp>& hardware_field_help();

struct HardwarePreset {
  std::string id;            // file stem: h100_sxm, local, ...
  std::string display;       // "NVIDIA H100 SXM5 80GB"
  std::string source;        // one-line description of where the numbers come from
  std::string device_class;  // "gpu" or "cpu"
  std::string path;          // file it was loaded from
  std::string measured_at;   // ISO-8601 UTC time of the last set_measured(), empty if never
  std::map<std::string, Quantity> fields;
  std::map<std::string, std::string> sources;  // source id -> URL or citation
  std::map<std::string, std::string> info;     // descriptive strings (memory type, host CPU, ...)
  // Calibrated efficiency table (sim/efficiency.h JSON form): from data/calibration/efficiency/<id>.toml
  // for published presets, from the newest `v4lab calibrate --fit` in the DB for `local`; null = none.
  nlohmann::json efficiency;
  std::string efficiency_path;  // file or "db:<path>" it came from

  bool has(const std::string& key) const;  // true when the field exists and has a value
  // The value of a field; throws config_error naming the preset, its path and the key when absent.
  double value(const std::string& key) const;
  const Quantity& quantity(const std::string& key) const;  // throws like value() if the key is unknown
  // Record a probe result (kind "measured"); the timestamp goes to measured_at.
  void set_measured(const std::string& key, double value, const std::string& unit, const std::string& note);
  void set_info(const std::string& key, const std::string& value) { info[key] = value; }
  nlohmann::json to_json() const;
};

// Known model fields (HF config.json names plus v4lab's per-layer schedule and derived fields).
struct ModelFieldHelp {
  std::string key;
  std::string type;  // integer, number, string, boolean, array, table
  std::string help;
};
const std::vector<ModelFieldHelp>& model_field_help();

// Per-field provenance where it differs from the preset-wide provenance (e.g. Engram "approximate").
struct FieldNote {
  std::string kind;
  std::string source;
  std::string note;
};

struct ModelPreset {
  std::string id, display, source, path;
  std::string provenance_kind;                       // default kind of every field (config for HF configs)
  std::string provenance_source;                     // source id of the default provenance
  nlohmann::json fields = nlohmann::json::object();  // config fields by HF name (values only)
  std::map<std::string, FieldNote> field_notes;      // per-field kind/source/note overrides
  std::map<std::string, std::string> sources;        // source id -> URL or citation

  // Keys may be dotted to reach into tables: "rope_scaling.factor".
  bool has(const std::string& key) const;
  bool has_number(const std::string& key) const;  // present and numeric
  double number(const std::string& key) const;    // throws config_error naming preset + key
  std::vector<int> int_array(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::string kind_of(const std::string& key) const;  // field note kind, else provenance_kind
  // Layers including MTP blocks: num_hidden_layers + num_nextn_predict_layers.
  int n_layers_total() const;
  nlohmann::json to_json() const;
};

// Data directory: $V4LAB_DATA_DIR if set, else <source dir>/data.
std::string default_data_dir();

// Load <data_dir>/hardware/<id>.toml or <data_dir>/models/<id>.toml. Unknown ids, syntax errors,
// unknown keys/kinds, missing units, negative values and wrong types are config_errors naming the
// file, line, key, value and the accepted values.
HardwarePreset load_hardware_preset(const std::string& id, const std::string& data_dir);
ModelPreset load_model_preset(const std::string& id, const std::string& data_dir);
// Parse from text (tests, GUI edits); display_path is used in messages.
HardwarePreset parse_hardware_preset(const std::string& toml_text, const std::string& id,
                                     const std::string& display_path);
ModelPreset parse_model_preset(const std::string& toml_text, const std::string& id, const std::string& display_path);

// Sorted preset ids (file stems) found in <data_dir>/hardware and <data_dir>/models.
std::vector<std::string> list_hardware_presets(const std::string& data_dir);
std::vector<std::string> list_model_presets(const std::string& data_dir);

}  // namespace v4lab
