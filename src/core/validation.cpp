// validation.cpp — loader of data/validation/*.toml (see validation.h).
#include "core/validation.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/detail/toml_util.h"
#include "core/error.h"

namespace v4lab {

namespace fs = std::filesystem;

std::vector<ValidationPoint> parse_validation_points(const std::string& text, const std::string& path) {
  toml::table root = detail::parse_toml_text(text, path);
  std::vector<ValidationPoint> out;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (key != "point" && key != "sources" && key != "description")
      throw config_error("unknown top-level key '" + key + "' (accepted: description, sources, point)",
                         detail::where_of(path, k.source()));
  }
  const toml::array* pts = root["point"].as_array();
  if (!pts) throw config_error("no [[point]] tables", path);
  static const std::set<std::string> known = {"id",        "hardware", "op",   "params", "metric",
                                              "reference", "tolerance", "gate", "used_in_calibration",
                                              "source",    "conditions", "note"};
  static const std::set<std::string> metrics = {"time_us", "tflops", "gbytes_per_s"};
  for (const toml::node& n : *pts) {
    const toml::table* t = n.as_table();
    const std::string at = detail::where_of(path, n);
    if (!t) throw config_error("[[point]] must be a table", at);
    ValidationPoint p;
    p.file = at;
    for (auto&& [k, v] : *t) {
      const std::string key(k.str());
      if (!known.count(key))
        throw config_error("unknown key '" + key + "' in [[point]]" +
                               detail::did_you_mean(key, std::vector<std::string>(known.begin(), known.end())),
                           detail::where_of(path, k.source()));
    }
    auto str = [&](const char* key, bool required) {
      const toml::node* v = t->get(key);
      if (!v) {
        if (required) throw config_error(std::string("[[point]] needs '") + key + "'", at);
        return std::string();
      }
      if (!v->is_string())
        throw config_error(std::string(key) + ": expected string, got " + detail::describe(*v), detail::where_of(path, *v));
      return std::string(*v->value<std::string>());
    };
    p.id = str("id", true);
    p.hardware = str("hardware", true);
    p.op = str("op", true);
    p.metric = str("metric", true);
    if (!metrics.count(p.metric))
      throw config_error("metric = \"" + p.metric + "\": accepted time_us, tflops, gbytes_per_s", at);
    p.source = str("source", true);
    p.conditions = str("conditions", false);
    p.note = str("note", false);
    const toml::node* ref = t->get("reference");
    if (!ref) throw config_error("[[point]] '" + p.id + "' needs 'reference' (a number or [min, max])", at);
    if (auto* a = ref->as_array()) {
      if (a->size() != 2 || !detail::as_number(*a->get(0), p.ref_min) || !detail::as_number(*a->get(1), p.ref_max) ||
          !(p.ref_min > 0 && p.ref_max >= p.ref_min))
        throw config_error("reference: a range must be [min, max] with 0 < min <= max", detail::where_of(path, *ref));
      p.reference = 0.5 * (p.ref_min + p.ref_max);
    } else if (!detail::as_number(*ref, p.reference) || !(p.reference > 0)) {
      throw config_error("reference: expected a number > 0, got " + detail::describe(*ref), detail::where_of(path, *ref));
    }
    const toml::node* tol = t->get("tolerance");
    if (!tol || !detail::as_number(*tol, p.tolerance) || !(p.tolerance > 0 && p.tolerance <= 10))
      throw config_error("[[point]] '" + p.id + "' needs 'tolerance' in (0, 10] (relative, 0.15 = 15%)", at);
    if (const toml::node* g = t->get("gate")) {
      if (!g->is_boolean()) throw config_error("gate: expected boolean", detail::where_of(path, *g));
      p.gate = *g->value<bool>();
    }
    if (const toml::node* u = t->get("used_in_calibration")) {
      if (!u->is_boolean()) throw config_error("used_in_calibration: expected boolean", detail::where_of(path, *u));
      p.used_in_calibration = *u->value<bool>();
    }
    if (const toml::node* ps = t->get("params")) {
      const toml::table* pt = ps->as_table();
      if (!pt) throw config_error("params: expected a table", detail::where_of(path, *ps));
      for (auto&& [k, v] : *pt) {
        double x = 0;
        if (!detail::as_number(v, x))
          throw config_error("params." + std::string(k.str()) + ": expected a number, got " + detail::describe(v),
                             detail::where_of(path, v));
        p.params[std::string(k.str())] = x;
      }
    }
    for (auto& q : out)
      if (q.id == p.id) throw config_error("duplicate point id '" + p.id + "' (first at " + q.file + ")", at);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<ValidationPoint> load_validation_points(const std::string& data_dir) {
  const std::string dir = data_dir + "/validation";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw config_error("validation directory '" + dir + "' not found");
  std::vector<std::string> files;
  for (auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".toml") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  std::vector<ValidationPoint> all;
  for (auto& f : files) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    for (auto& p : parse_validation_points(ss.str(), f)) {
      for (auto& q : all)
        if (q.id == p.id) throw config_error("duplicate point id '" + p.id + "' (first at " + q.file + ")", p.file);
      all.push_back(std::move(p));
    }
  }
  if (all.empty()) throw config_error("no validation points in " + dir);
  return all;
}

}  // namespace v4lab
