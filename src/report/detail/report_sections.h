// report_sections.h — the profile sections of a run report, built once and rendered by both the HTML
// and the Markdown writer: roofline (ops by arithmetic intensity against this machine's and a GPU
// preset's roofs), CPU/GPU profile per op, per-layer-type breakdown and memory footprint (predict
// runs), trace, provenance. Numeric cells keep the stored double so the HTML can carry it exactly
// (data-value) and a test can compare the report with the DB. Private to v4lab_report.
#pragma once
#include <string>
#include <vector>

#include "report/detail/report_data.h"

namespace v4lab::report::detail {

struct Cell {
  std::string text;
  double value = store::kUnknown;  // the stored number behind `text` (NaN: text only)
  bool num = false;                // right-aligned
};

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<Cell>> rows;
};

struct Section {
  std::string id;                   // HTML id, e.g. "roofline"
  std::string title;                // "Roofline"
  std::vector<std::string> notes;   // paragraphs (plain text)
  std::vector<std::string> charts;  // inline SVG (HTML only; Markdown carries the tables)
  std::vector<Table> tables;
  bool empty() const { return notes.empty() && charts.empty() && tables.empty(); }
};

Cell text_cell(std::string s);
Cell num_cell(std::string s, double v);

Section roofline_section(const ReportData& d);
Section cpu_profile_section(const ReportData& d);
Section layer_breakdown_section(const ReportData& d);
Section memory_section(const ReportData& d);
Section trace_section(const ReportData& d);
Section provenance_section(const ReportData& d);

// Sections in report order (empty ones left out).
std::vector<Section> profile_sections(const ReportData& d);

std::string format_bytes(double b);  // "12.3 GB" (decimal SI), "n/a" for NaN

}  // namespace v4lab::report::detail
