// report_data.cpp — loading a run for the report writers and the formatters they share (report_data.h).
#include "report/detail/report_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/build_info.h"
#include "report/report.h"

namespace v4lab::report::detail {

using nlohmann::json;

ReportData load_report_data(store::Store& store, int64_t run_id) {
  ReportData d;
  d.run = store.get_run(run_id);
  d.cmp = store::compare_run(store, run_id);
  d.study_points = store.study_points(run_id);
  d.hw_local.assign(d.cmp.hardware.size(), false);
  for (const store::ComparisonRow& row : d.cmp.rows) {
    (row.measured ? d.n_measured_rows : d.n_predicted_only)++;
    for (size_t h = 0; h < row.predicted.size(); ++h) {
      const auto& p = row.predicted[h];
      if (!p) continue;
      if (store::is_local(*p)) d.hw_local[h] = true;
      if (!p->model.empty() && std::find(d.models.begin(), d.models.end(), p->model) == d.models.end()) {
        d.models.push_back(p->model);
      }
    }
  }
  json cfg = json::parse(d.run.info.config_json, nullptr, false);
  d.config_pretty = cfg.is_discarded() ? d.run.info.config_json : cfg.dump(2);
  d.generated_at = utc_timestamp_now();
  d.metrics = store::run_metrics(store, run_id);
  d.n_trace_events = store::count_trace_events(store, run_id);
  d.trace_processes = store::trace_process_summary(store, run_id);
  d.local_probe = store.latest_probe(d.run.host);
  d.db_path = store.path();
  return d;
}

std::vector<std::pair<std::string, std::string>> summary_fields(const ReportData& d) {
  const store::RunRow& r = d.run;
  std::string commit = r.git_commit + (r.git_dirty ? " (dirty: uncommitted changes)" : "");
  std::string build = r.build_type + ", " + r.compiler + (r.cxx_flags.empty() ? "" : ", " + r.cxx_flags);
  std::vector<std::pair<std::string, std::string>> f = {
      {"run id", std::to_string(r.id)},
      {"kind", r.info.kind},
      {"name", r.info.name.empty() ? "-" : r.info.name},
      {"status", r.status},
      {"scenario", r.info.scenario_path.empty() ? "-" : r.info.scenario_path},
      {"host", r.host},
      {"git commit", commit},
      {"build", build},
      {"v4lab version", r.v4lab_version},
      {"backends", r.info.backends.empty() ? "-" : r.info.backends},
      {"seed", std::to_string(r.info.seed)},
      {"started", r.started_at},
      {"finished", r.finished_at.empty() ? "- (not finished)" : r.finished_at},
      {"rows", fmt::format("{} measured, {} predicted-only, {} study points", d.n_measured_rows, d.n_predicted_only,
                           d.study_points.size())},
  };
  if (!d.models.empty()) {
    std::string models;
    for (const auto& m : d.models) models += (models.empty() ? "" : ", ") + m;
    f.emplace_back("cost model", models);
  }
  if (!r.info.notes.empty()) f.emplace_back("notes", r.info.notes);
  return f;
}

std::string params_short(const std::string& params_json) {
  json j = json::parse(params_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return params_json;
  std::string out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!out.empty()) out += ", ";
    out += it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}

std::string row_label(const store::ComparisonRow& row) {
  std::string label = row.op + " \xC2\xB7 " + (row.backend.empty() ? "any" : row.backend);
  const std::string p = params_short(row.params_json);
  if (!p.empty()) label += " \xC2\xB7 " + p;
  return label;
}

BarChart comparison_chart(const ReportData& d) {
  BarChart c;
  c.title = "Measured vs predicted time per op";
  c.axis_label = "time per call (log scale)";
  c.format_value = format_seconds;
  // Decades read better without trailing zeros: "10 µs", not "10.0 µs".
  c.format_tick = [](double v) {
    std::string s = format_seconds(v);
    for (const char* zeros : {".00 ", ".0 "}) {
      if (auto p = s.find(zeros); p != std::string::npos) s.erase(p, std::char_traits<char>::length(zeros) - 1);
    }
    return s;
  };
  c.series.push_back("measured (" + d.run.host + ")");
  for (const std::string& h : d.cmp.hardware) c.series.push_back("predicted: " + h);
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (c.groups.size() == kMaxChartGroups) {
      c.title += fmt::format(" (first {} of {} rows)", kMaxChartGroups, d.cmp.rows.size());
      break;
    }
    BarGroup g;
    g.label = row_label(row);
    g.values.push_back(row.measured ? row.measured->median_s : store::kUnknown);
    for (const auto& p : row.predicted) g.values.push_back(p ? p->total_s : store::kUnknown);
    c.groups.push_back(std::move(g));
  }
  return c;
}

std::string verified_text(const store::Measurement& m) {
  if (!m.verified) return m.backend == "ref" ? "reference" : "not checked";
  return *m.verified ? "passed" : "FAILED";
}

std::string predicted_text(const store::Prediction& p) {
  std::string s = format_seconds(p.total_s);
  if (!p.bound.empty()) s += " (" + p.bound + ")";
  return s;
}

std::optional<double> ratio(const store::ComparisonRow& row, size_t hw) {
  const auto& p = row.predicted[hw];
  if (!row.measured || !p || !(p->total_s > 0) || !std::isfinite(row.measured->median_s)) return std::nullopt;
  return row.measured->median_s / p->total_s;
}

std::string ratio_text(double r) { return format_rate(r) + "\xC3\x97"; }  // U+00D7

bool ratio_flagged(double r) { return r < kRatioLow || r > kRatioHigh; }

}  // namespace v4lab::report::detail
