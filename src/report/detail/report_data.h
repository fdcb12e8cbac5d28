// report_data.h — what the Markdown and HTML writers share: the run, the measured-vs-predicted join,
// the chart built from it and small text formatters. Private to v4lab_report.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "report/svg.h"
#include "store/export.h"
#include "store/store.h"
#include "store/trace_store.h"

namespace v4lab::report::detail {

inline constexpr size_t kMaxChartGroups = 40;  // keeps the SVG readable; the tables hold every row
inline constexpr double kRatioLow = 0.5;       // measured/predicted outside [0.5, 2] is flagged (studies.md)
inline constexpr double kRatioHigh = 2.0;

struct ReportData {
  store::RunRow run;
  store::Comparison cmp;
  std::vector<bool> hw_local;  // aligned with cmp.hardware: column compared with measurements
  std::vector<store::StudyPoint> study_points;
  size_t n_measured_rows = 0;
  size_t n_predicted_only = 0;
  std::vector<std::string> models;  // cost-model names used by the predictions
  std::string config_pretty;        // resolved config, indented JSON
  std::string generated_at;
  std::vector<store::RunMetric> metrics;  // run_metrics rows (peak RSS, roofs, memory, command, ...)
  int64_t n_trace_events = 0;
  std::vector<store::TraceProcessSummary> trace_processes;
  std::optional<nlohmann::json> local_probe;  // newest machine probe of the run's host (roof fallback)
  std::string db_path;
};

ReportData load_report_data(store::Store& store, int64_t run_id);

// ("run id", "42"), ("scenario", ...), ... in display order.
std::vector<std::pair<std::string, std::string>> summary_fields(const ReportData& d);

// Measured vs predicted per row (measured median and each hardware's predicted total), log axis.
BarChart comparison_chart(const ReportData& d);

std::string row_label(const store::ComparisonRow& row);    // "op · backend · k=v, ..."
std::string params_short(const std::string& params_json);  // "d_model=4096, n_tokens=1"
// passed / FAILED / not checked; "reference" for an unchecked _ref row (it is the specification).
std::string verified_text(const store::Measurement& m);
std::string predicted_text(const store::Prediction& p);  // "1.23 ms (memory)"
// measured/predicted for a local column, nullopt when either side is missing.
std::optional<double> ratio(const store::ComparisonRow& row, size_t hw);
std::string ratio_text(double r);  // "1.23×"
bool ratio_flagged(double r);

}  // namespace v4lab::report::detail
