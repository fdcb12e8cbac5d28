// scenario.cpp — parse and validate scenario TOML files (format in docs/scenarios.md). The field
// table scenario_field_help() is the single list of accepted keys, their defaults and help text:
// the parser, the error messages ("accepted: ..."), the docs and the CLI's --help all read it.
#include "core/scenario.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <regex>

#include "core/detail/toml_util.h"
#include "core/error.h"

namespace v4lab {

using detail::describe;
using detail::fmt_num;
using detail::join;
using detail::where_of;

static const std::vector<std::string> kBackends = {"ref", "cpu", "cuda"};

static std::string quoted_list(const std::vector<std::string>& v) {
  std::vector<std::string> q;
  for (auto& s : v) q.push_back("\"" + s + "\"");
  return "[" + join(q) + "]";
}

const std::vector<FieldHelp>& scenario_field_help() {
  static const std::vector<FieldHelp> f = [] {
    const Scenario d;
    const TimingOptions t;
    return std::vector<FieldHelp>{
        {"scenario", "name", "string", "", "required; scenario name, [A-Za-z0-9_.-]+ (run records, report titles)"},
        {"scenario", "description", "string", "\"\"", "free text shown in reports"},
        {"scenario", "model", "string", "", "required; model preset id (data/models/<id>.toml) giving default shapes"},
        {"scenario", "hardware", "array of strings", quoted_list({"local"}),
         "hardware presets the cost model predicts on (data/hardware/<id>.toml); 'local' is probed"},
        {"scenario", "seed", "integer", std::to_string(d.seed), "seed of the synthetic inputs, >= 0"},
        {"scenario", "backends", "array of strings", quoted_list({"cpu"}),
         "backends to measure: " + join(kBackends) + " (cuda only in CUDA builds with a GPU)"},
        {"scenario", "verify", "boolean", d.verify ? "true" : "false",
         "check every backend against ref before timing; a failed check marks the row invalid"},
        {"timing", "warmup", "integer", std::to_string(t.warmup), "untimed repetitions before measuring, 0..1000"},
        {"timing", "min_time_s", "number", fmt_num(t.min_time_s), "measure each case for at least this long, (0, 600]"},
        {"timing", "min_reps", "integer", std::to_string(t.min_reps),
         "at least this many timed repetitions, 1..1000000"},
        {"timing", "max_reps", "integer", std::to_string(t.max_reps),
         "at most this many timed repetitions, >= min_reps"},
        {"output", "report_dir", "string", "\"" + d.report_dir + "\"", "reports go to <report_dir>/<run-id>/"},
        {"output", "trace", "string", "\"\"",
         "Chrome trace file of the run (\"\" = <report_dir>/<run-id>/trace.json); must be writable"},
        {"exec", "model", "string", "([scenario] model)", "model preset to execute reduced (`v4lab exec --model`)"},
        {"exec", "scale", "string", "\"tiny\"", "reduction: tiny, small, preset"},
        {"exec", "prefill", "integer", "64", "prompt tokens per sequence, 1..1048576"},
        {"exec", "decode", "integer", "4", "decode steps after the prefill, 0..65536"},
        {"exec", "batch", "integer", "1", "sequences, 1..1024"},
        {"exec", "layers", "integer", "-1", "main layers kept (the first N; -1 = all)"},
        {"exec", "chunk", "integer", "0", "prefill chunk, tokens per sequence, 0..1048576 (0 = one chunk)"},
        {"exec", "mtp_verify", "boolean", "false", "2-token MTP verification decode (presets with an MTP block)"},
        {"exec", "hardware", "string", "(first [scenario] hardware)", "preset the cost model predicts the same ops on"},
        {"kernel", "op", "string", "", "required; op from the catalogue (`v4lab info` lists them)"},
        {"kernel", "<param>", "number", "(model preset, then op default)",
         "any parameter of the op; unset ones come from the model preset field the op names "
         "(e.g. d_model <- hidden_size), else the op default"},
    };
  }();
  return f;
}

static std::vector<std::string> section_keys(const std::string& section) {
  std::vector<std::string> keys;
  for (auto& f : scenario_field_help())
    if (f.section == section) keys.push_back(f.key);
  return keys;
}

namespace {

// Typed readers: wrong type -> "<key>: expected <type>, got <value>" at the value's line.
struct Reader {
  const std::string& path;

  std::string str(const toml::node& n, const std::string& key) const {
    if (auto* s = n.as_string()) return s->get();
    throw config_error(key + ": expected string, got " + describe(n), where_of(path, n));
  }
  bool boolean(const toml::node& n, const std::string& key) const {
    if (auto* b = n.as_boolean()) return b->get();
    throw config_error(key + ": expected boolean, got " + describe(n), where_of(path, n));
  }
  int64_t integer(const toml::node& n, const std::string& key, int64_t lo, int64_t hi) const {
    auto* i = n.as_integer();
    if (!i) throw config_error(key + ": expected integer, got " + describe(n), where_of(path, n));
    if (i->get() < lo || i->get() > hi)
      throw config_error(key + " = " + std::to_string(i->get()) + " is out of range [" + std::to_string(lo) + ", " +
                             std::to_string(hi) + "]",
                         where_of(path, n));
    return i->get();
  }
  std::vector<std::string> strings(const toml::node& n, const std::string& key) const {
    auto* a = n.as_array();
    if (!a) throw config_error(key + ": expected array of strings, got " + describe(n), where_of(path, n));
    std::vector<std::string> out;
    for (auto& e : *a) {
      std::string s = str(e, key + "[" + std::to_string(out.size()) + "]");
      if (std::find(out.begin(), out.end(), s) != out.end())
        throw config_error(key + ": \"" + s + "\" is listed twice", where_of(path, e));
      out.push_back(s);
    }
    if (out.empty()) throw config_error(key + ": must not be empty", where_of(path, n));
    return out;
  }
  const toml::table& table(const toml::node& n, const std::string& section) const {
    if (auto* t = n.as_table()) return *t;
    throw config_error(section + ": expected a table [" + section + "], got " + describe(n), where_of(path, n));
  }
  [[noreturn]] void unknown(const std::string& key, const std::string& in, const std::vector<std::string>& accepted,
                            const toml::source_region& src) const {
    throw config_error(
        "unknown key '" + key + "' in " + in + detail::did_you_mean(key, accepted) + "; accepted: " + join(accepted),
        where_of(path, src));
  }
};

// Preset ids are checked against the directory listing first so that a missing preset is reported at
// the scenario line that names it.
void check_preset_exists(const std::string& what, const std::string& id, const std::vector<std::string>& avail,
                         const std::string& dir, const std::string& where) {
  if (std::find(avail.begin(), avail.end(), id) != avail.end()) return;
  throw config_error(what + " preset '" + id + "' not found in " + dir + " (available: " + join(avail) + ")" +
                         detail::did_you_mean(id, avail),
                     where);
}

KernelCase parse_kernel(const toml::table& t, int index, const ModelPreset& model, const Reader& r,
                        std::vector<std::string>& warnings) {
  KernelCase kc;
  kc.where = where_of(r.path, t.source());
  const std::string label = "[[kernel]] #" + std::to_string(index);
  const toml::node* op_node = t.get("op");
  if (!op_node) throw config_error(label + ": missing required key 'op' (an op name, e.g. op = \"mhc_pre\")", kc.where);
  kc.op = r.str(*op_node, "op");
  const OpDef* op = find_op(kc.op);
  if (!op) {
    std::vector<std::string> names;
    for (auto& o : all_ops()) names.push_back(o.name);
    throw config_error(label + ": unknown op '" + kc.op + "'" + detail::did_you_mean(kc.op, names) +
                           " (known ops: " + join(names) + ")",
                       where_of(r.path, *op_node));
  }
  std::vector<std::string> accepted = {"op"};
  for (auto& d : op->params) accepted.push_back(d.key);

  // 1. defaults from the model preset (ParamDef.model_field), validated against the op's ranges.
  ParamMap values;
  for (auto& d : op->params) {
    kc.param_source[d.key] = "default";
    if (d.model_field.empty()) continue;
    if (model.has_number(d.model_field)) {
      values[d.key] = model.number(d.model_field);
      kc.param_source[d.key] = "model:" + d.model_field;
    } else {
      warnings.push_back(kc.where + ": " + label + " (op " + kc.op + "): model preset '" + model.id +
                         "' has no field '" + d.model_field + "' for parameter " + d.key + "; using the op default " +
                         fmt_num(d.def));
    }
  }
  try {
    resolve_params(*op, values);
  } catch (const Error& e) {
    throw config_error(e.message() + " (value taken from model preset '" + model.id + "', " + model.path +
                           "; set it explicitly in the scenario)",
                       kc.where);
  }
  // 2. scenario keys override, each checked at its own line.
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    if (key == "op") continue;
    if (std::find(accepted.begin(), accepted.end(), key) == accepted.end())
      r.unknown(key, label + " (op " + kc.op + ")", accepted, k.source());
    double x = 0;
    if (auto* b = v.as_boolean())
      x = b->get() ? 1 : 0;
    else if (!detail::as_number(v, x))
      throw config_error(key + ": expected number, got " + describe(v) + " (in " + label + ", op " + kc.op + ")",
                         where_of(r.path, v));
    // Checked here (not only in resolve_params) to print exact bounds and name the kernel.
    const ParamDef& d = *std::find_if(op->params.begin(), op->params.end(), [&](auto& p) { return p.key == key; });
    if (!std::isfinite(x) || x < d.min || x > d.max)
      throw config_error(key + " = " + fmt_num(x) + " is out of range [" + fmt_num(d.min) + ", " + fmt_num(d.max) +
                             "] (in " + label + ", op " + kc.op + ")",
                         where_of(r.path, v));
    if (d.integer && std::floor(x) != x)
      throw config_error(key + " = " + fmt_num(x) + " must be an integer (in " + label + ", op " + kc.op + ")",
                         where_of(r.path, v));
    resolve_params(*op, {{key, x}}, where_of(r.path, v));
    values[key] = x;
    kc.param_source[key] = "scenario";
  }
  kc.params = resolve_params(*op, values, kc.where);
  return kc;
}

}  // namespace

Scenario parse_scenario(const std::string& text, const std::string& path, const std::string& data_dir) {
  toml::table tbl = detail::parse_toml_text(text, path);
  Reader r{path};
  Scenario sc;
  sc.path = path;
  sc.hardware_ids = {"local"};
  sc.backends = {"cpu"};
  const std::vector<std::string> sections = {"scenario", "timing", "output", "exec", "kernel"};
  for (auto&& [k, v] : tbl) {
    std::string key(k.str());
    if (std::find(sections.begin(), sections.end(), key) == sections.end())
      throw config_error("unknown key '" + key + "' at the top level" + detail::did_you_mean(key, sections) +
                             "; accepted sections: [scenario], [timing], [output], [exec], [[kernel]]",
                         where_of(path, k.source()));
  }

  // [scenario]
  const toml::node* sn = tbl.get("scenario");
  if (!sn) throw config_error("missing required section [scenario] (with name = \"...\" and model = \"...\")", path);
  const toml::table& st = r.table(*sn, "scenario");
  std::string model_where;
  std::vector<std::string> hw_where;
  for (auto&& [k, v] : st) {
    std::string key(k.str());
    if (key == "name") {
      sc.name = r.str(v, key);
      static const std::regex ok("[A-Za-z0-9_.-]+");
      if (!std::regex_match(sc.name, ok))
        throw config_error("name = \"" + sc.name + "\" is not accepted (use letters, digits, '_', '.', '-')",
                           where_of(path, v));
    } else if (key == "description") {
      sc.description = r.str(v, key);
    } else if (key == "model") {
      sc.model_id = r.str(v, key);
      model_where = where_of(path, v);
    } else if (key == "hardware") {
      sc.hardware_ids = r.strings(v, key);
      hw_where.clear();
      for (auto& e : *v.as_array()) hw_where.push_back(where_of(path, e));
    } else if (key == "seed") {
      sc.seed = static_cast<uint64_t>(r.integer(v, key, 0, INT64_MAX));
    } else if (key == "backends") {
      sc.backends = r.strings(v, key);
      size_t i = 0;
      for (auto& b : sc.backends) {
        if (std::find(kBackends.begin(), kBackends.end(), b) == kBackends.end())
          throw config_error("backends: \"" + b + "\" is not a backend (accepted: " + join(kBackends) + ")" +
                                 detail::did_you_mean(b, kBackends),
                             where_of(path, *v.as_array()->get(i)));
        ++i;
      }
    } else if (key == "verify") {
      sc.verify = r.boolean(v, key);
    } else {
      r.unknown(key, "[scenario]", section_keys("scenario"), k.source());
    }
  }
  if (sc.name.empty()) throw config_error("[scenario]: missing required key 'name'", where_of(path, *sn));
  if (sc.model_id.empty()) throw config_error("[scenario]: missing required key 'model'", where_of(path, *sn));

  // [timing]
  if (const toml::node* tn = tbl.get("timing")) {
    const toml::table& tt = r.table(*tn, "timing");
    std::string max_where = where_of(path, *tn);
    for (auto&& [k, v] : tt) {
      std::string key(k.str());
      if (key == "warmup") {
        sc.timing.warmup = static_cast<int>(r.integer(v, key, 0, 1000));
      } else if (key == "min_time_s") {
        double x = 0;
        if (!detail::as_number(v, x))
          throw config_error(key + ": expected number, got " + describe(v), where_of(path, v));
        if (!(x > 0 && x <= 600))
          throw config_error(key + " = " + fmt_num(x) + " is out of range (0, 600]", where_of(path, v));
        sc.timing.min_time_s = x;
      } else if (key == "min_reps") {
        sc.timing.min_reps = static_cast<int>(r.integer(v, key, 1, 1000000));
      } else if (key == "max_reps") {
        sc.timing.max_reps = static_cast<int>(r.integer(v, key, 1, 10000000));
        max_where = where_of(path, v);
      } else {
        r.unknown(key, "[timing]", section_keys("timing"), k.source());
      }
    }
    if (sc.timing.max_reps < sc.timing.min_reps)
      throw config_error("max_reps = " + std::to_string(sc.timing.max_reps) + " is below min_reps = " +
                             std::to_string(sc.timing.min_reps) + " (need max_reps >= min_reps)",
                         max_where);
  }

  // [output]
  if (const toml::node* on = tbl.get("output")) {
    for (auto&& [k, v] : r.table(*on, "output")) {
      std::string key(k.str());
      if (key == "report_dir") {
        sc.report_dir = r.str(v, key);
        if (sc.report_dir.empty()) throw config_error("report_dir: must not be empty", where_of(path, v));
      } else if (key == "trace") {
        sc.trace_path = r.str(v, key);
        if (std::string why = sc.trace_path.empty() ? "" : output_file_problem(sc.trace_path); !why.empty())
          throw config_error("trace = \"" + sc.trace_path + "\": " + why + " (expected a writable file path)",
                             where_of(path, v));
      } else {
        r.unknown(key, "[output]", section_keys("output"), k.source());
      }
    }
  }

  // Presets: existence is reported at the scenario line; content errors name the preset file.
  const std::string models_dir = data_dir + "/models", hw_dir = data_dir + "/hardware";
  check_preset_exists("model", sc.model_id, list_model_presets(data_dir), models_dir, model_where);
  sc.model = load_model_preset(sc.model_id, data_dir);
  std::vector<std::string> hw_avail = list_hardware_presets(data_dir);
  for (size_t i = 0; i < sc.hardware_ids.size(); ++i) {
    check_preset_exists("hardware", sc.hardware_ids[i], hw_avail, hw_dir, i < hw_where.size() ? hw_where[i] : path);
    sc.hardware.push_back(load_hardware_preset(sc.hardware_ids[i], data_dir));
  }

  // [exec]
  if (const toml::node* en = tbl.get("exec")) {
    sc.exec.present = true;
    sc.exec.model = sc.model_id;
    sc.exec.hardware = sc.hardware_ids.front();
    for (auto&& [k, v] : r.table(*en, "exec")) {
      std::string key(k.str());
      if (key == "model") {
        sc.exec.model = r.str(v, key);
        try {  // short names (v4-flash, v3.2) as on the exec command line
          sc.exec.model = load_model_preset(sc.exec.model, data_dir).id;
        } catch (const Error& e) {
          throw config_error(std::string("[exec] model = \"") + sc.exec.model + "\": " + e.what(), where_of(path, v));
        }
      } else if (key == "scale") {
        sc.exec.scale = r.str(v, key);
        if (sc.exec.scale != "tiny" && sc.exec.scale != "small" && sc.exec.scale != "preset")
          throw config_error("scale = \"" + sc.exec.scale + "\" is not accepted (accepted: tiny, small, preset)",
                             where_of(path, v));
      } else if (key == "hardware") {
        sc.exec.hardware = r.str(v, key);
        check_preset_exists("hardware", sc.exec.hardware, hw_avail, hw_dir, where_of(path, v));
      } else if (key == "prefill") {
        sc.exec.prefill = r.integer(v, key, 1, 1 << 20);
      } else if (key == "decode") {
        sc.exec.decode = r.integer(v, key, 0, 1 << 16);
      } else if (key == "batch") {
        sc.exec.batch = r.integer(v, key, 1, 1024);
      } else if (key == "layers") {
        sc.exec.layers = r.integer(v, key, -1, 1 << 16);
        if (sc.exec.layers == 0) throw config_error("layers = 0 is not accepted (-1 = all, or >= 1)", where_of(path, v));
      } else if (key == "chunk") {
        sc.exec.chunk = r.integer(v, key, 0, 1 << 20);
      } else if (key == "mtp_verify") {
        sc.exec.mtp_verify = r.boolean(v, key);
      } else {
        r.unknown(key, "[exec]", section_keys("exec"), k.source());
      }
    }
  }

  // [[kernel]]
  if (const toml::node* kn = tbl.get("kernel")) {
    auto* arr = kn->as_array();
    if (!arr || !arr->is_array_of_tables())
      throw config_error("kernel: expected [[kernel]] tables, got " + describe(*kn), where_of(path, *kn));
    int index = 0;
    for (auto& e : *arr) sc.kernels.push_back(parse_kernel(*e.as_table(), ++index, sc.model, r, sc.warnings));
  }
  return sc;
}

std::string output_file_problem(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return "the path is empty";
  std::error_code ec;
  const fs::path p(path);
  if (p.filename().empty() || fs::is_directory(p, ec)) return "it names a folder, not a file";
  // The nearest existing ancestor must be a writable folder (missing folders below it are created).
  fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  while (!fs::exists(dir, ec) && dir.has_parent_path() && dir.parent_path() != dir) dir = dir.parent_path();
  if (!fs::exists(dir, ec)) dir = ".";
  if (!fs::is_directory(dir, ec)) return "'" + dir.string() + "' is not a folder";
  // Probe with a real create + unlink: access(2) says yes to root even where a write would fail (/proc,
  // read-only mounts keep their own errno).
  const fs::path probe = dir / (".v4lab-write-check." + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
  if (fd < 0) return "cannot write in folder '" + dir.string() + "' (" + std::strerror(errno) + ")";
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

Scenario load_scenario(const std::string& path, const std::string& data_dir) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("scenario file '" + path + "' not found or unreadable");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_scenario(text, path, data_dir);
}

static nlohmann::json params_to_json(const ParamMap& p) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : p) {
    if (std::floor(v) == v && std::fabs(v) < 9e15)
      j[k] = static_cast<int64_t>(v);
    else
      j[k] = v;
  }
  return j;
}

nlohmann::json Scenario::to_json() const {
  nlohmann::json ks = nlohmann::json::array();
  for (auto& k : kernels)
    ks.push_back(
        {{"op", k.op}, {"params", params_to_json(k.params)}, {"where", k.where}, {"param_source", k.param_source}});
  nlohmann::json hw = nlohmann::json::array();
  for (auto& h : hardware) hw.push_back(h.to_json());
  return {{"name", name},
          {"description", description},
          {"path", path},
          {"model_id", model_id},
          {"hardware_ids", hardware_ids},
          {"seed", seed},
          {"backends", backends},
          {"verify", verify},
          {"timing",
           {{"warmup", timing.warmup},
            {"min_time_s", timing.min_time_s},
            {"min_reps", timing.min_reps},
            {"max_reps", timing.max_reps}}},
          {"output", {{"report_dir", report_dir}, {"trace", trace_path}}},
          {"kernels", ks},
          {"exec", exec.present ? nlohmann::json{{"model", exec.model}, {"scale", exec.scale}, {"hardware", exec.hardware},
                                                 {"prefill", exec.prefill}, {"decode", exec.decode},
                                                 {"batch", exec.batch}, {"layers", exec.layers},
                                                 {"chunk", exec.chunk}, {"mtp_verify", exec.mtp_verify}}
                                : nlohmann::json()},
          {"model", model.to_json()},
          {"hardware", hw},
          {"warnings", warnings}};
}

}  // namespace v4lab
