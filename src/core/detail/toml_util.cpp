// toml_util.cpp — private TOML helpers for the preset and scenario loaders (see toml_util.h).
#include "core/detail/toml_util.h"

#include <algorithm>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "core/error.h"

namespace v4lab::detail {

toml::table parse_toml_text(const std::string& text, const std::string& display_path) {
  try {
    return toml::parse(text, display_path);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    throw config_error("TOML syntax error: " + std::string(e.description()),
                       display_path + ":" + std::to_string(b.line) + ":" + std::to_string(b.column));
  }
}

toml::table parse_toml_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error("cannot open file '" + path + "' (missing or unreadable)");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_toml_text(ss.str(), path);
}

std::string where_of(const std::string& path, const toml::source_region& src) {
  if (src.begin.line == 0) return path;
  return path + ":" + std::to_string(src.begin.line);
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "string";
    case toml::node_type::integer:
      return "integer";
    case toml::node_type::floating_point:
      return "float";
    case toml::node_type::boolean:
      return "boolean";
    case toml::node_type::array:
      return "array";
    case toml::node_type::table:
      return "table";
    case toml::node_type::date:
      return "date";
    case toml::node_type::time:
      return "time";
    case toml::node_type::date_time:
      return "date-time";
    default:
      return "nothing";
  }
}

std::string describe(const toml::node& n) {
  std::ostringstream s;
  s << type_name(n);
  if (auto* v = n.as_string())
    s << " \"" << v->get() << "\"";
  else if (auto* i = n.as_integer())
    s << " " << i->get();
  else if (auto* f = n.as_floating_point())
    s << " " << fmt_num(f->get());
  else if (auto* b = n.as_boolean())
    s << (b->get() ? " true" : " false");
  return s.str();
}

bool as_number(const toml::node& n, double& out) {
  if (auto* i = n.as_integer()) {
    out = static_cast<double>(i->get());
    return true;
  }
  if (auto* f = n.as_floating_point()) {
    out = f->get();
    return true;
  }
  return false;
}

nlohmann::json to_json(const toml::node& n, const std::string& path) {
  if (auto* s = n.as_string()) return s->get();
  if (auto* i = n.as_integer()) return i->get();
  if (auto* f = n.as_floating_point()) return f->get();
  if (auto* b = n.as_boolean()) return b->get();
  if (auto* a = n.as_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& el : *a) out.push_back(to_json(el, path));
    return out;
  }
  if (auto* t = n.as_table()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto&& [k, v] : *t) out[std::string(k.str())] = to_json(v, path);
    return out;
  }
  throw config_error(
      std::string("unsupported TOML value type ") + type_name(n) + " (use a string, number, boolean, array or table)",
      where_of(path, n));
}

std::string fmt_num(double v) {
  std::ostringstream s;
  s << std::setprecision(12) << v;
  return s.str();
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

static size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest(const std::string& key, const std::vector<std::string>& candidates) {
  std::string best;
  // A candidate that extends the key ("h800" -> "h800_sxm") is the likeliest intent.
  for (auto& c : candidates)
    if (c.size() > key.size() && c.compare(0, key.size(), key) == 0 && (best.empty() || c.size() < best.size()))
      best = c;
  if (!key.empty() && !best.empty()) return best;
  best.clear();
  size_t best_d = std::max<size_t>(2, key.size() / 3) + 1;  // only suggest genuinely close names
  for (auto& c : candidates) {
    size_t d = edit_distance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  return best;
}

std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates) {
  std::string c = closest(key, candidates);
  return c.empty() ? std::string() : " (did you mean '" + c + "'?)";
}

}  // namespace v4lab::detail
