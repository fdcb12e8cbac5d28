// presets.cpp — loading and validating hardware presets (data/hardware/*.toml) and model presets
// (data/models/*.toml), presets spec §1–§3. Every error names the file, line, key, offending value
// and what is accepted; the schema tables live in preset_fields.cpp.
#include "core/presets.h"

#include <cctype>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include "core/detail/toml_util.h"
#include "core/error.h"

namespace v4lab {

namespace fs = std::filesystem;
using detail::describe;
using detail::fmt_num;
using detail::join;
using detail::where_of;

// ---------------------------------------------------------------- common

std::string default_data_dir() {
  if (const char* e = std::getenv("V4LAB_DATA_DIR"); e && *e) return e;
  return V4LAB_SOURCE_DIR "/data";
}

static std::vector<std::string> list_presets(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw config_error("preset directory '" + dir + "' not found (set V4LAB_DATA_DIR to the data/ folder)");
  std::vector<std::string> ids;
  for (auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".toml") ids.push_back(e.path().stem().string());
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<std::string> list_hardware_presets(const std::string& data_dir) {
  return list_presets(data_dir + "/hardware");
}
std::vector<std::string> list_model_presets(const std::string& data_dir) { return list_presets(data_dir + "/models"); }

// Short names users type (docs/presets.md "Short names"): case-insensitive, '-' = '_', '.' dropped,
// then the id itself, "deepseek_<id>" (models: v4-pro, v3.2) and "<id>_sxm" (hardware: h800).
static std::string canonical_preset_id(const std::string& id, const std::string& dir) {
  std::error_code ec;
  if (fs::is_regular_file(dir + "/" + id + ".toml", ec)) return id;
  std::string n;
  for (char c : id) {
    if (c == '.') continue;
    n += c == '-' ? '_' : char(std::tolower(static_cast<unsigned char>(c)));
  }
  for (const std::string& cand : {n, "deepseek_" + n, n + "_sxm"})
    if (!cand.empty() && fs::is_regular_file(dir + "/" + cand + ".toml", ec)) return cand;
  return id;
}

// Path of <dir>/<id>.toml (id canonicalized in place), or a config_error listing the available ids.
static std::string preset_path(const std::string& what, std::string& id, const std::string& dir) {
  static const std::regex ok("[A-Za-z0-9_.-]+");
  if (std::regex_match(id, ok) && id.find("..") == std::string::npos) id = canonical_preset_id(id, dir);
  std::string path = dir + "/" + id + ".toml";
  std::error_code ec;
  if (std::regex_match(id, ok) && id.find("..") == std::string::npos && fs::is_regular_file(path, ec)) return path;
  std::vector<std::string> avail = list_presets(dir);
  throw config_error(what + " preset '" + id + "' not found in " + dir + " (available: " + join(avail) + ")" +
                     detail::did_you_mean(id, avail));
}

static std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("cannot open file '" + path + "' (missing or unreadable)");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

static std::string require_string(const toml::node& n, const std::string& key, const std::string& path) {
  if (auto* s = n.as_string()) return s->get();
  throw config_error(key + ": expected string, got " + describe(n), where_of(path, n));
}

static std::map<std::string, std::string> string_table(const toml::node& n, const std::string& key,
                                                       const std::string& path) {
  auto* t = n.as_table();
  if (!t) throw config_error(key + ": expected a table of strings, got " + describe(n), where_of(path, n));
  std::map<std::string, std::string> out;
  for (auto&& [k, v] : *t) out[std::string(k.str())] = require_string(v, key + "." + std::string(k.str()), path);
  return out;
}

static void check_kind(const std::string& kind, const std::string& key, const toml::node& n, const std::string& path) {
  auto& kinds = quantity_kinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
    throw config_error(key + ".kind = \"" + kind + "\" is not a known kind (accepted: " + join(kinds) + ")" +
                           detail::did_you_mean(kind, kinds),
                       where_of(path, n));
}

// ---------------------------------------------------------------- hardware

bool HardwarePreset::has(const std::string& key) const {
  auto it = fields.find(key);
  return it != fields.end() && it->second.has_value;
}

const Quantity& HardwarePreset::quantity(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end()) throw config_error("hardware preset '" + id + "' (" + path + ") has no field '" + key + "'");
  return it->second;
}

double HardwarePreset::value(const std::string& key) const {
  auto it = fields.find(key);
  if (it == fields.end() || !it->second.has_value) {
    std::string hint;
    if (it != fields.end() && it->second.kind == "measured")
      hint = " (a measured field: run `v4lab calibrate` to probe this machine)";
    throw config_error("hardware preset '" + id + "' (" + path + ") has no value for '" + key + "'" + hint);
  }
  return it->second.value;
}

void HardwarePreset::set_measured(const std::string& key, double v, const std::string& unit, const std::string& note) {
  if (!std::isfinite(v) || v < 0)
    throw runtime_error("measured value for '" + key + "' is " + fmt_num(v) + " (expected a finite value >= 0)");
  for (auto& f : hardware_field_help())
    if (f.key == key && f.unit != unit)
      throw runtime_error("measured '" + key + "' given in '" + unit + "', the preset schema uses '" + f.unit + "'");
  Quantity& q = fields[key];
  q.value = v;
  q.has_value = true;
  q.unit = unit;
  q.kind = "measured";
  q.note = note;
  char buf[32];
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  measured_at = buf;
}

nlohmann::json HardwarePreset::to_json() const {
  nlohmann::json f = nlohmann::json::object();
  for (auto& [k, q] : fields) {
    nlohmann::json j = {
        {"value", q.has_value ? nlohmann::json(q.value) : nlohmann::json(nullptr)}, {"unit", q.unit}, {"kind", q.kind}};
    if (!q.source.empty()) j["source"] = q.source;
    if (!q.note.empty()) j["note"] = q.note;
    if (!q.probe.empty()) j["probe"] = q.probe;
    f[k] = j;
  }
  nlohmann::json j = {{"id", id},     {"display", display}, {"source", source},   {"device_class", device_class},
                      {"path", path}, {"fields", f},        {"sources", sources}, {"info", info}};
  if (!measured_at.empty()) j["measured_at"] = measured_at;
  return j;
}

static Quantity parse_quantity(const std::string& key, const std::string& unit, const toml::node& n,
                               const std::string& path) {
  auto* t = n.as_table();
  if (!t)
    throw config_error(key + ": expected a table { value = ..., unit = \"" + unit +
                           "\", kind = \"...\", source = "
                           "\"...\" }, got " +
                           describe(n),
                       where_of(path, n));
  static const std::vector<std::string> sub = {"value", "unit", "kind", "source", "note", "probe"};
  Quantity q;
  for (auto&& [k, v] : *t) {
    std::string s(k.str());
    if (s == "value") {
      if (!detail::as_number(v, q.value))
        throw config_error(key + ".value: expected a number, got " + describe(v), where_of(path, v));
      if (!std::isfinite(q.value) || q.value < 0)
        throw config_error(key + ".value = " + fmt_num(q.value) + " is out of range [0, inf)", where_of(path, v));
      q.has_value = true;
    } else if (s == "unit") {
      q.unit = require_string(v, key + ".unit", path);
    } else if (s == "kind") {
      q.kind = require_string(v, key + ".kind", path);
    } else if (s == "source") {
      q.source = require_string(v, key + ".source", path);
    } else if (s == "note") {
      q.note = require_string(v, key + ".note", path);
    } else if (s == "probe") {
      q.probe = require_string(v, key + ".probe", path);
    } else {
      throw config_error(
          "unknown key '" + s + "' in " + key + " (accepted: " + join(sub) + ")" + detail::did_you_mean(s, sub),
          where_of(path, k.source()));
    }
  }
  if (q.unit.empty()) throw config_error(key + ": missing unit (expected unit = \"" + unit + "\")", where_of(path, n));
  if (q.unit != unit)
    throw config_error(key + ".unit = \"" + q.unit + "\" does not match the schema (expected \"" + unit + "\")",
                       where_of(path, n));
  if (q.kind.empty())
    throw config_error(key + ": missing kind (accepted: " + join(quantity_kinds()) + ")", where_of(path, n));
  check_kind(q.kind, key, n, path);
  // Only measured fields may be declared without a value: a probe fills them, nothing defaults them.
  if (!q.has_value && q.kind != "measured")
    throw config_error(key + ": missing value (only kind \"measured\" fields may be declared empty)",
                       where_of(path, n));
  if (q.source.empty() && q.kind != "measured" && q.kind != "assumption")
    throw config_error(key + ": missing source (a source id from [sources]; required for kind \"" + q.kind + "\")",
                       where_of(path, n));
  return q;
}

HardwarePreset parse_hardware_preset(const std::string& text, const std::string& id, const std::string& path) {
  toml::table tbl = detail::parse_toml_text(text, path);
  HardwarePreset hw;
  hw.id = id;
  hw.path = path;
  std::map<std::string, int> lines;  // field -> line, for source-id errors
  std::vector<std::string> accepted = {"id", "display", "source", "device_class", "sources", "info"};
  for (auto& f : hardware_field_help()) accepted.push_back(f.key);
  for (auto&& [k, v] : tbl) {
    std::string key(k.str());
    if (key == "id") {
      std::string s = require_string(v, key, path);
      if (s != id)
        throw config_error("id = \"" + s + "\" does not match the file name (expected \"" + id + "\")",
                           where_of(path, v));
    } else if (key == "display") {
      hw.display = require_string(v, key, path);
    } else if (key == "source") {
      hw.source = require_string(v, key, path);
    } else if (key == "device_class") {
      hw.device_class = require_string(v, key, path);
      if (hw.device_class != "gpu" && hw.device_class != "cpu")
        throw config_error("device_class = \"" + hw.device_class + "\" is not accepted (accepted: gpu, cpu)",
                           where_of(path, v));
    } else if (key == "sources") {
      hw.sources = string_table(v, key, path);
    } else if (key == "info") {
      hw.info = string_table(v, key, path);
    } else {
      const HardwareFieldHelp* def = nullptr;
      for (auto& f : hardware_field_help())
        if (f.key == key) def = &f;
      if (!def)
        throw config_error("unknown key '" + key + "' in hardware preset" + detail::did_you_mean(key, accepted) +
                               "; accepted: " + join(accepted),
                           where_of(path, k.source()));
      hw.fields[key] = parse_quantity(key, def->unit, v, path);
      lines[key] = static_cast<int>(v.source().begin.line);
    }
  }
  for (auto [name, val] : {std::pair<const char*, std::string*>{"display", &hw.display},
                           {"source", &hw.source},
                           {"device_class", &hw.device_class}})
    if (val->empty()) throw config_error(std::string("missing required key '") + name + "'", path);
  for (auto& [key, q] : hw.fields)
    if (!q.source.empty() && !hw.sources.count(q.source)) {
      std::vector<std::string> ids;
      for (auto& [s, _] : hw.sources) ids.push_back(s);
      throw config_error(key + ".source = \"" + q.source + "\" is not in [sources] (known: " + join(ids) + ")",
                         path + ":" + std::to_string(lines[key]));
    }
  return hw;
}

HardwarePreset load_hardware_preset(const std::string& id_in, const std::string& data_dir) {
  std::string id = id_in;
  std::string path = preset_path("hardware", id, data_dir + "/hardware");
  HardwarePreset hw = parse_hardware_preset(read_text(path), id, path);
  // Calibrated efficiencies of this device (sim/efficiency.h), when the data folder has them.
  const std::string eff = data_dir + "/calibration/efficiency/" + id + ".toml";
  std::error_code ec;
  if (fs::is_regular_file(eff, ec)) {
    toml::table t = detail::parse_toml_file(eff);
    nlohmann::json j = detail::to_json(t, eff);
    if (j.contains("entry")) {
      j["entries"] = j["entry"];
      j.erase("entry");
    }
    if (j.value("hardware", id) != id)
      throw config_error("hardware = \"" + j.value("hardware", std::string()) + "\" does not match the file name (expected \"" +
                         id + "\")", eff);
    hw.efficiency = std::move(j);
    hw.efficiency_path = eff;
  }
  return hw;
}

// ---------------------------------------------------------------- models

// Walk a dotted key ("rope_scaling.factor") through nested objects; nullptr when absent.
static const nlohmann::json* lookup(const nlohmann::json& root, const std::string& key) {
  const nlohmann::json* cur = &root;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

bool ModelPreset::has(const std::string& key) const { return lookup(fields, key) != nullptr; }

bool ModelPreset::has_number(const std::string& key) const {
  auto* j = lookup(fields, key);
  return j && j->is_number();
}

double ModelPreset::number(const std::string& key) const {
  auto* j = lookup(fields, key);
  if (!j) throw config_error("model preset '" + id + "' (" + path + ") has no field '" + key + "'");
  if (!j->is_number())
    throw config_error("model preset '" + id + "' (" + path + ") field '" + key + "' is not a number (it is " +
                       j->dump() + ")");
  return j->get<double>();
}

std::vector<int> ModelPreset::int_array(const std::string& key) const {
  auto* j = lookup(fields, key);
  if (!j) throw config_error("model preset '" + id + "' (" + path + ") has no field '" + key + "'");
  auto bad = [&] {
    return config_error("model preset '" + id + "' (" + path + ") field '" + key + "' is not an array of integers");
  };
  if (!j->is_array()) throw bad();
  std::vector<int> out;
  for (auto& e : *j) {
    if (!e.is_number_integer()) throw bad();
    out.push_back(e.get<int>());
  }
  return out;
}

std::string ModelPreset::string(const std::string& key) const {
  auto* j = lookup(fields, key);
  if (!j) throw config_error("model preset '" + id + "' (" + path + ") has no field '" + key + "'");
  if (!j->is_string())
    throw config_error("model preset '" + id + "' (" + path + ") field '" + key + "' is not a string");
  return j->get<std::string>();
}

std::string ModelPreset::kind_of(const std::string& key) const {
  std::string top = key.substr(0, key.find('.'));
  auto it = field_notes.find(top);
  return it != field_notes.end() && !it->second.kind.empty() ? it->second.kind : provenance_kind;
}

int ModelPreset::n_layers_total() const {
  int n = static_cast<int>(number("num_hidden_layers"));
  if (has_number("num_nextn_predict_layers")) n += static_cast<int>(number("num_nextn_predict_layers"));
  return n;
}

nlohmann::json ModelPreset::to_json() const {
  nlohmann::json notes = nlohmann::json::object();
  for (auto& [k, n] : field_notes) {
    nlohmann::json j = {{"kind", n.kind}};
    if (!n.source.empty()) j["source"] = n.source;
    if (!n.note.empty()) j["note"] = n.note;
    notes[k] = j;
  }
  return {{"id", id},
          {"display", display},
          {"source", source},
          {"path", path},
          {"provenance", {{"kind", provenance_kind}, {"source", provenance_source}}},
          {"fields", fields},
          {"field_notes", notes},
          {"sources", sources}};
}

static bool json_type_ok(const nlohmann::json& j, const std::string& type) {
  if (type == "integer") return j.is_number_integer();
  if (type == "number") return j.is_number();
  if (type == "string") return j.is_string();
  if (type == "boolean") return j.is_boolean();
  if (type == "array") return j.is_array();
  if (type == "table") return j.is_object();
  return true;
}

// Every number in a model preset is a size, count, rate or epsilon: none may be negative.
static void check_non_negative(const toml::node& n, const std::string& key, const std::string& path) {
  double v = 0;
  if (detail::as_number(n, v)) {
    if (!std::isfinite(v) || v < 0)
      throw config_error(key + " = " + fmt_num(v) + " is out of range [0, inf)", where_of(path, n));
  } else if (auto* a = n.as_array()) {
    for (auto& e : *a) check_non_negative(e, key, path);
  } else if (auto* t = n.as_table()) {
    for (auto&& [k, v2] : *t) check_non_negative(v2, key + "." + std::string(k.str()), path);
  }
}

// Per-layer schedule arrays must cover every layer (incl. MTP) and agree with each other and with
// the config's own rules (presets spec §2.3): compress ratio 0 <=> SWA-only; leading
// first_k_dense_replace layers dense; leading num_hash_layers layers hash-routed.
static void check_schedule(const ModelPreset& m, const std::map<std::string, int>& lines) {
  auto at = [&](const std::string& k) { return m.path + ":" + std::to_string(lines.count(k) ? lines.at(k) : 0); };
  int n = m.n_layers_total();
  int main_layers = static_cast<int>(m.number("num_hidden_layers"));
  auto kinds = [&](const std::string& key, const std::vector<std::string>& allowed) {
    std::vector<std::string> out;
    if (!m.has(key)) return out;
    for (auto& e : m.fields[key]) {
      std::string s = e.is_string() ? e.get<std::string>() : e.dump();
      if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
        throw config_error(key + ": \"" + s + "\" is not accepted (accepted: " + join(allowed) + ")", at(key));
      out.push_back(s);
    }
    return out;
  };
  std::vector<std::string> attn = kinds("attn_kind", {"mla", "dsa", "swa", "csa", "hca"});
  std::vector<std::string> moe = kinds("moe_kind", {"dense", "hash", "moe"});
  std::vector<int> ratios;
  if (m.has("compress_ratios")) ratios = m.int_array("compress_ratios");
  for (auto [key, len] : {std::pair<std::string, size_t>{"attn_kind", attn.size()},
                          {"moe_kind", moe.size()},
                          {"compress_ratios", ratios.size()}})
    if (m.has(key) && static_cast<int>(len) != n)
      throw config_error(key + " has " + std::to_string(len) + " entries; expected " + std::to_string(n) +
                             " (num_hidden_layers + num_nextn_predict_layers)",
                         at(key));
  if (!ratios.empty() && !attn.empty())
    for (int i = 0; i < n; ++i)
      if ((ratios[i] == 0) != (attn[i] == "swa"))
        throw config_error("layer " + std::to_string(i) + ": attn_kind \"" + attn[i] +
                               "\" disagrees with compress_ratios = " + std::to_string(ratios[i]) +
                               " (ratio 0 <=> swa)",
                           at("attn_kind"));
  if (!moe.empty()) {
    int dense = m.has_number("first_k_dense_replace") ? static_cast<int>(m.number("first_k_dense_replace")) : 0;
    int hash = m.has_number("num_hash_layers") ? static_cast<int>(m.number("num_hash_layers")) : 0;
    for (int i = 0; i < main_layers; ++i) {
      std::string want = i < dense ? "dense" : i < hash ? "hash" : "moe";
      if (moe[i] != want)
        throw config_error("layer " + std::to_string(i) + ": moe_kind \"" + moe[i] +
                               "\" disagrees with the config (expected \"" + want + "\" from first_k_dense_replace = " +
                               std::to_string(dense) + ", num_hash_layers = " + std::to_string(hash) + ")",
                           at("moe_kind"));
    }
  }
}

ModelPreset parse_model_preset(const std::string& text, const std::string& id, const std::string& path) {
  toml::table tbl = detail::parse_toml_text(text, path);
  ModelPreset m;
  m.id = id;
  m.path = path;
  std::map<std::string, int> lines;
  std::vector<std::string> accepted = {"id", "display", "source", "provenance", "sources"};
  for (auto& f : model_field_help()) accepted.push_back(f.key);
  for (auto&& [k, v] : tbl) {
    std::string key(k.str());
    lines[key] = static_cast<int>(v.source().begin.line);
    if (key == "id") {
      std::string s = require_string(v, key, path);
      if (s != id)
        throw config_error("id = \"" + s + "\" does not match the file name (expected \"" + id + "\")",
                           where_of(path, v));
    } else if (key == "display") {
      m.display = require_string(v, key, path);
    } else if (key == "source") {
      m.source = require_string(v, key, path);
    } else if (key == "sources") {
      m.sources = string_table(v, key, path);
    } else if (key == "provenance") {
      auto p = string_table(v, key, path);
      for (auto& [pk, pv] : p)
        if (pk == "kind")
          m.provenance_kind = pv;
        else if (pk == "source")
          m.provenance_source = pv;
        else if (pk != "note")
          throw config_error("unknown key '" + pk + "' in provenance (accepted: kind, source, note)",
                             where_of(path, v));
      if (m.provenance_kind.empty()) throw config_error("provenance: missing kind", where_of(path, v));
      check_kind(m.provenance_kind, "provenance", v, path);
    } else {
      const ModelFieldHelp* def = nullptr;
      for (auto& f : model_field_help())
        if (f.key == key) def = &f;
      if (!def)
        throw config_error("unknown key '" + key + "' in model preset" + detail::did_you_mean(key, accepted) +
                               " (add new config fields to model_field_help() in src/core/preset_fields.cpp)",
                           where_of(path, k.source()));
      // An annotated field { value = ..., kind = "...", source = "...", note = "..." } carries its own provenance.
      const toml::node* val = &v;
      if (auto* t = v.as_table(); t && t->contains("value") && t->contains("kind")) {
        FieldNote note;
        for (auto&& [sk, sv] : *t) {
          std::string s(sk.str());
          if (s == "value")
            val = &sv;
          else if (s == "kind")
            note.kind = require_string(sv, key + ".kind", path);
          else if (s == "source")
            note.source = require_string(sv, key + ".source", path);
          else if (s == "note")
            note.note = require_string(sv, key + ".note", path);
          else
            throw config_error(
                "unknown key '" + s + "' in annotated field " + key + " (accepted: value, kind, source, note)",
                where_of(path, sk.source()));
        }
        check_kind(note.kind, key, v, path);
        m.field_notes[key] = note;
      }
      nlohmann::json j = detail::to_json(*val, path);
      if (!json_type_ok(j, def->type))
        throw config_error(key + ": expected " + def->type + ", got " + describe(*val), where_of(path, *val));
      check_non_negative(*val, key, path);
      m.fields[key] = std::move(j);
    }
  }
  for (auto [name, val] : {std::pair<const char*, std::string*>{"display", &m.display},
                           {"source", &m.source},
                           {"provenance", &m.provenance_kind}})
    if (val->empty()) throw config_error(std::string("missing required key '") + name + "'", path);
  for (const char* req : {"hidden_size", "num_hidden_layers"})
    if (!m.has_number(req)) throw config_error(std::string("missing required field '") + req + "'", path);
  auto check_src = [&](const std::string& key, const std::string& src) {
    if (!src.empty() && !m.sources.count(src))
      throw config_error(key + " source \"" + src + "\" is not in [sources]",
                         path + ":" + std::to_string(lines.count(key) ? lines[key] : 0));
  };
  check_src("provenance", m.provenance_source);
  for (auto& [k, n] : m.field_notes) check_src(k, n.source);
  check_schedule(m, lines);
  return m;
}

ModelPreset load_model_preset(const std::string& id_in, const std::string& data_dir) {
  std::string id = id_in;
  std::string path = preset_path("model", id, data_dir + "/models");
  return parse_model_preset(read_text(path), id, path);
}

}  // namespace v4lab
