// common.cpp — shared CLI helpers.
#include "cli/common.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <ostream>

#include "core/build_info.h"
#include "core/error.h"
#include "core/scenario.h"
#include "profiler/machine_probe.h"
#include "store/store.h"

namespace v4lab::cli {

ParamMap parse_sets(const std::vector<std::string>& sets) {
  ParamMap m;
  for (auto& s : sets) {
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) throw usage_error("--set expects key=value, got '" + s + "'");
    std::string k = s.substr(0, eq), v = s.substr(eq + 1);
    try {
      size_t used = 0;
      double d = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument(v);
      m[k] = d;
    } catch (const std::exception&) {
      throw usage_error("--set " + k + ": '" + v + "' is not a number");
    }
  }
  return m;
}

ParamMap params_for(const OpDef& op, const ModelPreset* model, const ParamMap& overrides, const std::string& where) {
  ParamMap base;
  if (model)
    for (auto& d : op.params)
      if (!d.model_field.empty() && model->has_number(d.model_field)) base[d.key] = model->number(d.model_field);
  for (auto& [k, v] : overrides) base[k] = v;
  return resolve_params(op, base, where);
}

HardwarePreset resolve_hardware(const std::string& id, const Context& ctx, store::Store* db) {
  HardwarePreset hw = load_hardware_preset(id, ctx.data_dir);
  if (id != "local") return hw;
  std::optional<nlohmann::json> probe;
  if (db) probe = db->latest_probe(host_name());
  if (!probe) {
    if (!ctx.quiet) *ctx.err << "probing this machine for the 'local' hardware preset (~2 s)...\n";
    probe = profiler::probe_machine();
    if (db) db->save_probe(host_name(), "v4lab probe_machine", *probe);
  }
  profiler::apply_probe(hw, *probe);
  // Calibrated efficiencies of this host (`v4lab calibrate --fit`), when the DB has a fit.
  if (db)
    if (auto fit = db->latest_efficiency_fit(host_name())) {
      hw.efficiency = *fit;
      hw.efficiency_path = "db:" + db->path();
    }
  return hw;
}

nlohmann::json params_json(const ParamMap& p) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : p) {
    if (v == static_cast<double>(static_cast<long long>(v))) j[k] = static_cast<long long>(v);
    else j[k] = v;
  }
  return j;
}

void require_writable_output(const std::string& path, const std::string& flag) {
  // One test for every output path (core/scenario.h): the nearest existing folder must take a real create.
  if (std::string why = output_file_problem(path); !why.empty())
    throw config_error(flag + " '" + path + "': " + why + "; choose a writable output path");
}

bool show_progress(const Context& ctx) { return !ctx.quiet && isatty(STDERR_FILENO); }

// Terminal width of a UTF-8 string: one column per code point (no wide characters in our tables).
static size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

void print_table(std::ostream& o, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> w(header.size());
  for (size_t i = 0; i < header.size(); ++i) w[i] = display_width(header[i]);
  for (auto& r : rows)
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < w.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      o << c << std::string(w[i] - display_width(c) + (i + 1 < w.size() ? 2 : 0), ' ');
    }
    o << "\n";
  };
  line(header);
  std::vector<std::string> dash;
  for (auto x : w) dash.push_back(std::string(x, '-'));
  line(dash);
  for (auto& r : rows) line(r);
}

}  // namespace v4lab::cli
