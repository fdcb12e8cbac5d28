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
  std::vector<std::string> row_keys{};  // optional, aligned with rows: the HTML row's data-key (tests find rows by it)
};

struct Section {
  std::string id;                   // HTML id, e.g. "roofline"
  std::string title;                // "Roofline"
  std::vector<std::string> notes;   // paragraphs (plain text)
  std::vector<std::string> charts;  // inline SVG (HTML only; Markdown carries the tables)
  std::vector<Table> tables;
  bool chart_grid = false;  // HTML: charts two to a row (small multiples)
  bool empty() const { return notes.empty() && charts.empty() && tables.empty(); }
};

Cell text_cell(std::string s);
Cell num_cell(std::string s, double v);

Section roofline_section(const ReportData& d);
Section cpu_profile_section(const ReportData& d);
Section layer_breakdown_section(const ReportData& d);
Section memory_section(const ReportData& d);

// The memory footprint chart and table from its parts (NaN: absent): HBM per GPU stacked by weights, KV
// cache and activations against the capacity (or one "HBM total" segment when only the total is known),
// host RAM (Engram tables, predicted; a process's peak RSS, measured on `rss_host`).
struct MemoryParts {
  double weights_bytes = store::kUnknown, kv_bytes = store::kUnknown, activation_bytes = store::kUnknown;
  double hbm_total_bytes = store::kUnknown;  // used when weights and KV are unknown
  double capacity_bytes = store::kUnknown, host_bytes = store::kUnknown, rss_bytes = store::kUnknown;
  std::string rss_host;
  std::string hbm_bar = "HBM per GPU (prediction)";
};
Section memory_parts_section(const MemoryParts& p, std::string id, std::string title);
Section trace_section(const ReportData& d);
Section provenance_section(const ReportData& d);

// Sections in report order (empty ones left out).
std::vector<Section> profile_sections(const ReportData& d);

std::string format_bytes(double b);  // "12.3 GB" (decimal SI), "n/a" for NaN

}  // namespace v4lab::report::detail
