// report_study_sections.h — report sections of the top-k study (studies.md (b)) and the mHC streams
// study (studies.md (c)), rendered from a run's study points (study = "topk" / "streams"): the checks,
// tables and inline SVG line charts (recall vs k per family, cost vs k per context, composite gain vs
// depth per n, bytes vs n). The generic report writer calls these; each returns empty strings when the
// run has no points of its study. Every table keeps the points' labels (measured / prediction).
#pragma once
#include <string>
#include <vector>

#include "report/svg.h"
#include "store/store.h"

namespace v4lab::report {

// The line chart (LineSeries, LineChart, svg_line_chart) lives in report/svg.h.

struct StudySection {
  std::string markdown;  // "## ..." section with tables and inline SVG
  std::string html;      // "<h2>...</h2>" section
  bool empty() const { return markdown.empty() && html.empty(); }
};

namespace detail {
// Shared by the two sections: a table as Markdown (cells escaped for '|') and as HTML (escaped).
std::string study_md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string study_html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string study_num(double v, int sig = 4);  // "%.4g"; "n/a" for NaN
}  // namespace detail

StudySection render_study_topk_section(const std::vector<store::StudyPoint>& points);
StudySection render_study_streams_section(const std::vector<store::StudyPoint>& points);

}  // namespace v4lab::report
