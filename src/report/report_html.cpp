// report_html.cpp — self-contained HTML run report: inline CSS and SVG, no scripts, no network. Every
// piece of stored text is escaped; predicted-only rows carry a visible "prediction" badge.
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "core/build_info.h"
#include "report/detail/report_data.h"
#include "report/detail/report_kinds.h"
#include "report/detail/report_sections.h"
#include "report/report.h"
#include "report/report_studies.h"

namespace v4lab::report {

namespace {

using detail::ReportData;

constexpr const char* kCss = R"CSS(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;vertical-align:top}
th{background:#f2f2f2;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{width:10em}
tr.pred td{background:#fbf8ef;color:#444}
.badge{display:inline-block;padding:0 .4em;border-radius:.3em;font-size:.8em;background:#e8d9a8;color:#5a4500}
.pass{color:#1a7f37}.fail{color:#c8302c;font-weight:bold}.unchecked{color:#888}
.flag{color:#c8302c;font-weight:bold}
.note{color:#555;font-size:.9em;max-width:60em}
pre{background:#f6f6f6;padding:.8em;overflow:auto;font-size:.85em}
footer{margin-top:2em;color:#888;font-size:.8em}
figure.chart{margin:.5em 0}
.chart-grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(560px,1fr));gap:0 1em}
section{overflow-x:auto}
)CSS";

std::string esc(const std::string& s) { return xml_escape(s); }

std::string td(const std::string& text, const char* cls = nullptr) {
  return cls ? fmt::format("<td class=\"{}\">{}</td>", cls, esc(text)) : "<td>" + esc(text) + "</td>";
}

std::string th(const std::string& text) { return "<th>" + esc(text) + "</th>"; }

// Shortest text that reads back to the same double (the DB's value, exactly).
std::string exact(double v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

// A numeric cell that carries the stored number in data-value, so the report can be checked against the DB.
std::string td_num(const std::string& text, double v, const char* extra_cls = "") {
  if (!std::isfinite(v)) return fmt::format("<td class=\"num{}\">{}</td>", extra_cls, esc(text));
  return fmt::format("<td data-value=\"{}\" class=\"num{}\">{}</td>", exact(v), extra_cls, esc(text));
}

void section_html(std::string& s, const detail::Section& sec) {
  s += "<section id=\"" + esc(sec.id) + "\">\n<h2>" + esc(sec.title) + "</h2>\n";
  for (const std::string& n : sec.notes) s += "<p class=\"note\">" + esc(n) + "</p>\n";
  if (sec.chart_grid && !sec.charts.empty()) s += "<div class=\"chart-grid\">\n";
  for (const std::string& c : sec.charts) s += "<figure class=\"chart\">\n" + c + "</figure>\n";
  if (sec.chart_grid && !sec.charts.empty()) s += "</div>\n";
  for (const detail::Table& t : sec.tables) {
    s += "<table>\n<tr>";
    for (const std::string& h : t.header) s += th(h);
    s += "</tr>\n";
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const auto& row = t.rows[r];
      s += r < t.row_keys.size() ? "<tr data-key=\"" + esc(t.row_keys[r]) + "\">" : std::string("<tr>");
      for (const detail::Cell& c : row) s += c.num ? td_num(c.text, c.value) : td(c.text);
      s += "</tr>\n";
    }
    s += "</table>\n";
  }
  s += "</section>\n";
}

std::string verified_cell(const store::Measurement& m) {
  const char* cls = !m.verified ? "unchecked" : *m.verified ? "pass" : "fail";
  return td(detail::verified_text(m), cls);
}

void summary(std::string& s, const ReportData& d, const detail::KindReport& kr) {
  s += "<h2>Summary</h2>\n<table class=\"kv\">\n";
  for (const auto& [k, v] : detail::summary_fields(d)) s += "<tr>" + th(k) + td(v) + "</tr>\n";
  for (const auto& [k, v] : kr.summary) s += "<tr>" + th(k) + td(v) + "</tr>\n";
  s += "</table>\n";
}

void measured_table(std::string& s, const ReportData& d) {
  s += "<h2>Measured vs predicted</h2>\n";
  if (d.n_measured_rows == 0) {
    s += "<p class=\"note\">No kernel was measured in this run.</p>\n";
    return;
  }
  s += fmt::format(
      "<p class=\"note\">Measured: real kernels timed on <code>{}</code> (median of reps, p10–p90 spread). "
      "Predicted: the analytic cost model per hardware preset — predictions, not measurements. The ratio "
      "measured / predicted is given only for this machine (<code>local</code>); values outside [{}, {}] are "
      "<span class=\"flag\">flagged</span>.</p>\n",
      esc(d.run.host), detail::kRatioLow, detail::kRatioHigh);
  s += "<table>\n<tr>" + th("op") + th("backend") + th("params") + th("measured median") + th("p10 – p90") +
       th("GFLOP/s") + th("GB/s") + th("verified");
  for (size_t h = 0; h < d.cmp.hardware.size(); ++h) {
    s += th(d.cmp.hardware[h] + " predicted");
    if (d.hw_local[h]) s += th("measured / " + d.cmp.hardware[h]);
  }
  s += "</tr>\n";
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (!row.measured) continue;
    const store::Measurement& m = *row.measured;
    s += fmt::format("<tr data-measurement-id=\"{}\">", m.id) + td(row.op) + td(row.backend) +
         td(detail::params_short(row.params_json)) + td_num(format_seconds(m.median_s), m.median_s) +
         td(format_seconds(m.p10_s) + " – " + format_seconds(m.p90_s), "num") +
         td_num(format_rate(m.gflops_per_s), m.gflops_per_s) + td_num(format_rate(m.gbytes_per_s), m.gbytes_per_s) +
         verified_cell(m);
    for (size_t h = 0; h < d.cmp.hardware.size(); ++h) {
      if (row.predicted[h])
        s += td_num(detail::predicted_text(*row.predicted[h]), row.predicted[h]->total_s);
      else
        s += td("-", "num");
      if (!d.hw_local[h]) continue;
      auto r = detail::ratio(row, h);
      if (!r) {
        s += td("-", "num");
      } else {
        s += td_num(detail::ratio_text(*r), *r, detail::ratio_flagged(*r) ? " flag" : "");
      }
    }
    s += "</tr>\n";
  }
  s += "</table>\n";
}

void predicted_only_table(std::string& s, const ReportData& d) {
  if (d.n_predicted_only == 0) return;
  s += "<h2>Predictions only (cost model, not measured)</h2>\n";
  s += "<p class=\"note\">These ops were not run on this host; every number below is a <b>prediction</b> of "
       "the cost model.</p>\n";
  s += "<table>\n<tr>" + th("label") + th("op") + th("backend") + th("params");
  for (const std::string& h : d.cmp.hardware) s += th(h + " predicted");
  s += "</tr>\n";
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (row.measured) continue;
    s += "<tr class=\"pred\"><td><span class=\"badge\">prediction</span></td>" + td(row.op) +
         td(row.backend.empty() ? "any" : row.backend) + td(detail::params_short(row.params_json));
    for (const auto& p : row.predicted) s += p ? td_num(detail::predicted_text(*p), p->total_s) : td("-", "num");
    s += "</tr>\n";
  }
  s += "</table>\n";
}

void study_table(std::string& s, const ReportData& d) {
  if (d.study_points.empty()) return;
  s += "<h2>Study points</h2>\n<table>\n<tr>" + th("study") + th("label") + th("point") + th("metrics") + "</tr>\n";
  for (const store::StudyPoint& p : d.study_points) {
    s += "<tr>" + td(p.study) + td(p.label) + td(detail::params_short(p.point_json)) +
         td(detail::params_short(p.metrics_json)) + "</tr>\n";
  }
  s += "</table>\n";
}

}  // namespace

std::string render_report_html(store::Store& store, int64_t run_id) {
  const ReportData d = detail::load_report_data(store, run_id);
  std::string title = "v4lab report — run " + std::to_string(d.run.id);
  if (!d.run.info.name.empty()) title += ": " + d.run.info.name;
  std::string s;
  s += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  s += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  s += "<title>" + esc(title) + "</title>\n<style>" + kCss + "</style>\n</head>\n<body>\n";
  s += "<h1>" + esc(title) + "</h1>\n";
  const detail::KindReport kr = detail::kind_report(store, d);  // sweep, plan, ... (report_kinds.h)
  summary(s, d, kr);
  for (const detail::Section& sec : kr.sections) section_html(s, sec);
  if (kr.empty() || d.n_measured_rows > 0) measured_table(s, d);
  predicted_only_table(s, d);
  if (!d.cmp.rows.empty()) {
    s += "<h2>Chart</h2>\n<figure>\n" + svg_bar_chart(detail::comparison_chart(d)) + "</figure>\n";
  }
  for (const detail::Section& sec : detail::profile_sections(d)) section_html(s, sec);
  s += render_study_sections_html(d.study_points);  // per-study sections (report_studies.h)
  if (!kr.hide_study_points) study_table(s, d);
  if (auto t = detail::trace_section(d); !t.empty()) section_html(s, t);
  s += "<h2>Resolved configuration</h2>\n<details>\n<summary>config JSON (" + std::to_string(d.config_pretty.size()) +
       " bytes)</summary>\n<pre>" + esc(d.config_pretty) + "</pre>\n</details>\n";
  section_html(s, detail::provenance_section(d));
  s += "<footer>Generated by v4lab " + esc(build_info().version) + " at " + esc(d.generated_at) + " from " +
       esc(store.path()) + ".</footer>\n</body>\n</html>\n";
  return s;
}

}  // namespace v4lab::report
