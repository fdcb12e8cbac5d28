// report_md.cpp — Markdown run report: summary, measured-vs-predicted table, predicted-only table,
// inline SVG chart (rendered by viewers that allow inline HTML), study points and the resolved config.
#include <fmt/format.h>

#include <algorithm>

#include "core/build_info.h"
#include "report/detail/report_data.h"
#include "report/detail/report_kinds.h"
#include "report/detail/report_sections.h"
#include "report/report.h"
#include "report/report_studies.h"

namespace v4lab::report {

namespace {

using detail::ReportData;

// Table cell text: pipes and newlines would break the row; < > & would be read as HTML.
std::string md_cell(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '|':
        out += "\\|";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\n':
      case '\r':
        out += ' ';
        break;
      default:
        out += ch;
    }
  }
  return out;
}

void table_row(std::string& s, const std::vector<std::string>& cells) {
  s += "|";
  for (const auto& c : cells) {
    s += ' ';
    s += md_cell(c);
    s += " |";
  }
  s += "\n";
}

void table_header(std::string& s, const std::vector<std::string>& cells) {
  table_row(s, cells);
  s += "|";
  for (size_t i = 0; i < cells.size(); ++i) s += "---|";
  s += "\n";
}

// A code fence longer than any backtick run inside the text, so the config cannot end it early.
std::string fence_for(const std::string& text) {
  size_t longest = 0, run = 0;
  for (char ch : text) {
    run = ch == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<size_t>(3, longest + 1), '`');
}

void measured_table(std::string& s, const ReportData& d) {
  s += "## Measured vs predicted\n\n";
  if (d.n_measured_rows == 0) {
    s += "No kernel was measured in this run.\n\n";
    return;
  }
  s += fmt::format(
      "Measured: real kernels timed on `{}` (median of reps, p10–p90 spread). Predicted: the analytic cost model "
      "per hardware preset — predictions, not measurements. The ratio measured / predicted is given only for "
      "this machine (`local`); values outside [{}, {}] are marked ⚠.\n\n",
      md_cell(d.run.host), detail::kRatioLow, detail::kRatioHigh);
  std::vector<std::string> head = {"op",        "backend", "params", "measured median",
                                   "p10 – p90", "GFLOP/s", "GB/s",   "verified"};
  for (size_t h = 0; h < d.cmp.hardware.size(); ++h) {
    head.push_back(d.cmp.hardware[h] + " predicted");
    if (d.hw_local[h]) head.push_back("measured / " + d.cmp.hardware[h]);
  }
  table_header(s, head);
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (!row.measured) continue;
    const store::Measurement& m = *row.measured;
    std::vector<std::string> cells = {row.op,
                                      row.backend,
                                      detail::params_short(row.params_json),
                                      format_seconds(m.median_s),
                                      format_seconds(m.p10_s) + " – " + format_seconds(m.p90_s),
                                      format_rate(m.gflops_per_s),
                                      format_rate(m.gbytes_per_s),
                                      detail::verified_text(m)};
    for (size_t h = 0; h < d.cmp.hardware.size(); ++h) {
      cells.push_back(row.predicted[h] ? detail::predicted_text(*row.predicted[h]) : "-");
      if (!d.hw_local[h]) continue;
      auto r = detail::ratio(row, h);
      cells.push_back(r ? detail::ratio_text(*r) + (detail::ratio_flagged(*r) ? " ⚠" : "") : "-");
    }
    table_row(s, cells);
  }
  s += "\n";
}

void predicted_only_table(std::string& s, const ReportData& d) {
  if (d.n_predicted_only == 0) return;
  s += "## Predictions only (cost model, not measured)\n\n";
  s += "These ops were not run on this host; every number below is a **prediction** of the cost model.\n\n";
  std::vector<std::string> head = {"label", "op", "backend", "params"};
  for (const std::string& h : d.cmp.hardware) head.push_back(h + " predicted");
  table_header(s, head);
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (row.measured) continue;
    std::vector<std::string> cells = {"prediction", row.op, row.backend.empty() ? "any" : row.backend,
                                      detail::params_short(row.params_json)};
    for (const auto& p : row.predicted) cells.push_back(p ? detail::predicted_text(*p) : "-");
    table_row(s, cells);
  }
  s += "\n";
}

void study_table(std::string& s, const ReportData& d) {
  if (d.study_points.empty()) return;
  s += "## Study points\n\n";
  table_header(s, {"study", "label", "point", "metrics"});
  for (const store::StudyPoint& p : d.study_points) {
    table_row(s, {p.study, p.label, detail::params_short(p.point_json), detail::params_short(p.metrics_json)});
  }
  s += "\n";
}

// The same tables as the HTML section; its charts stay in the HTML report.
void section_md(std::string& s, const detail::Section& sec) {
  s += "## " + md_cell(sec.title) + "\n\n";
  for (const std::string& n : sec.notes) s += md_cell(n) + "\n\n";
  for (const detail::Table& t : sec.tables) {
    table_header(s, t.header);
    for (const auto& row : t.rows) {
      std::vector<std::string> cells;
      for (const detail::Cell& c : row) cells.push_back(c.text);
      table_row(s, cells);
    }
    s += "\n";
  }
}

}  // namespace

std::string render_report_md(store::Store& store, int64_t run_id) {
  const ReportData d = detail::load_report_data(store, run_id);
  std::string s;
  s += "# v4lab report — run " + std::to_string(d.run.id);
  if (!d.run.info.name.empty()) s += ": " + md_cell(d.run.info.name);
  s += "\n\n";
  s += "## Summary\n\n";
  table_header(s, {"field", "value"});
  const detail::KindReport kr = detail::kind_report(store, d);  // sweep, plan, ... (report_kinds.h)
  for (const auto& [k, v] : detail::summary_fields(d)) table_row(s, {k, v});
  for (const auto& [k, v] : kr.summary) table_row(s, {k, v});
  s += "\n";
  for (const detail::Section& sec : kr.sections) section_md(s, sec);
  if (kr.empty() || d.n_measured_rows > 0) measured_table(s, d);
  predicted_only_table(s, d);
  if (!d.cmp.rows.empty()) {
    s += "## Chart\n\n";
    // Inline HTML block: it must not contain blank lines (svg_bar_chart writes none).
    s += svg_bar_chart(detail::comparison_chart(d));
    s += "\n";
  }
  for (const detail::Section& sec : detail::profile_sections(d)) section_md(s, sec);
  s += render_study_sections_md(d.study_points);  // per-study sections (report_studies.h)
  if (!kr.hide_study_points) study_table(s, d);
  if (auto t = detail::trace_section(d); !t.empty()) section_md(s, t);
  s += "## Resolved configuration\n\n";
  const std::string fence = fence_for(d.config_pretty);
  s += fence + "json\n" + d.config_pretty + "\n" + fence + "\n\n";
  section_md(s, detail::provenance_section(d));
  s += "_Generated by v4lab " + md_cell(build_info().version) + " at " + d.generated_at + " from " +
       md_cell(store.path()) + "._\n";
  return s;
}

}  // namespace v4lab::report
