// report_kinds.h — dedicated report parts of run kinds whose data is not measurements/predictions:
// sweeps (`sweeps` + `sweep_points`, docs/sweeps.md) and capacity plans (study "plan", docs/planning.md).
// One function per kind builds everything its report needs once — sections for the HTML and Markdown
// writers (tables keep the stored doubles), a JSON object and a CSV table with every number — and
// kind_report() switches on runs.kind. Another kind plugs in with one line in kind_report().
// Private to v4lab_report.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/detail/report_data.h"
#include "report/detail/report_sections.h"

namespace v4lab::report::detail {

struct KindReport {
  std::string kind;  // "" = the run's kind has no dedicated part
  std::vector<std::pair<std::string, std::string>> summary;  // appended to the Summary table
  std::vector<Section> sections;  // after the summary, in order (HTML and Markdown)
  nlohmann::json json;            // added to the JSON report under the key `kind`
  std::string csv;                // non-empty: the CSV report (RFC 4180, every number) instead of the run table
  bool hide_study_points = false;  // the generic "Study points" table would repeat the kind's tables
  bool empty() const { return kind.empty(); }
};

KindReport sweep_report(store::Store& store, const ReportData& d);  // report_sweep.cpp
KindReport plan_report(store::Store& store, const ReportData& d);   // report_plan.cpp

// The dispatch: runs.kind -> its part ({} when none).
KindReport kind_report(store::Store& store, const ReportData& d);

// Shared by the kind reports: a JSON leaf as cell / CSV text, and a flat "a.b" view of nested metrics.
std::string json_text(const nlohmann::json& v);      // strings unquoted, numbers as %.6g, null "-"
std::string json_csv_field(const nlohmann::json& v);  // numbers shortest round-trip, null empty
void flatten_json(const nlohmann::json& j, const std::string& prefix, std::vector<std::pair<std::string, nlohmann::json>>& out);
std::string num_text(double v);  // "%.6g"; "n/a" for NaN

}  // namespace v4lab::report::detail
