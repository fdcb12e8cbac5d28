// report_kinds.cpp — the run-kind dispatch of the report writers (report_kinds.h) and the JSON-leaf
// formatters the kind reports share.
#include "report/detail/report_kinds.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>

namespace v4lab::report::detail {

using nlohmann::json;

KindReport kind_report(store::Store& store, const ReportData& d) {
  const std::string& kind = d.run.info.kind;
  if (kind == "sweep") return sweep_report(store, d);
  if (kind == "plan") return plan_report(store, d);
  return {};
}

std::string num_text(double v) { return std::isfinite(v) ? fmt::format("{:.6g}", v) : "n/a"; }

std::string json_text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) return num_text(v.get<double>());
  if (v.is_array()) {
    std::string s;
    for (const json& e : v) {
      if (!s.empty()) s += ", ";
      s += json_text(e);
    }
    return s.empty() ? "-" : s;
  }
  return v.dump();
}

std::string json_csv_field(const json& v) {
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) {
    const double d = v.get<double>();
    if (!std::isfinite(d)) return {};
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, p);
  }
  if (v.is_array()) {
    std::string s;
    for (const json& e : v) {
      if (!s.empty()) s += ';';
      s += json_csv_field(e);
    }
    return s;
  }
  return v.dump();
}

void flatten_json(const json& j, const std::string& prefix, std::vector<std::pair<std::string, json>>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten_json(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  out.emplace_back(prefix, j);
}

}  // namespace v4lab::report::detail
