// report_study_svg.cpp — table and number helpers of the study sections (report_study_sections.h).
// Their line chart moved to svg.h (svg_line_chart), shared with the run report's roofline chart.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/report_study_sections.h"
#include "report/svg.h"

namespace v4lab::report {

namespace detail {

std::string study_md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto cell = [](std::string v) {
    std::string o;
    for (char ch : v) {
      if (ch == '|') o.push_back('\\');
      o.push_back(ch);
    }
    return o;
  };
  std::string s = "|";
  // Appended piecewise: GCC 12 flags `" " + std::string` here with a false -Wrestrict.
  for (auto& h : header) s.append(" ").append(cell(h)).append(" |");
  s += "\n|";
  for (size_t i = 0; i < header.size(); ++i) s += "---|";
  s += "\n";
  for (auto& r : rows) {
    s += "|";
    for (auto& v : r) s.append(" ").append(cell(v)).append(" |");
    s += "\n";
  }
  return s + "\n";
}

std::string study_html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string s = "<table>\n<tr>";
  for (auto& h : header) s += "<th>" + xml_escape(h) + "</th>";
  s += "</tr>\n";
  for (auto& r : rows) {
    s += "<tr>";
    for (auto& v : r) s += "<td>" + xml_escape(v) + "</td>";
    s += "</tr>\n";
  }
  return s + "</table>\n";
}

std::string study_num(double v, int sig) {
  if (!std::isfinite(v)) return "n/a";
  return fmt::format("{:.{}g}", v, sig);
}

}  // namespace detail

}  // namespace v4lab::report
