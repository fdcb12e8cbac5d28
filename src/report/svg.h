// svg.h — the project's small inline-SVG chart writer (reports; the GUI's exported images where
// sensible): grouped horizontal bars on a log axis, line / scatter charts on linear or log axes,
// horizontal stacked bars on a linear axis with an optional limit marker. Axes, ticks, legends and
// native <title> tooltips; output is a standalone <svg> element (no scripts, no external refs); text
// is escaped.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace v4lab::report {

struct BarGroup {
  std::string label;           // y-axis label of the group (e.g. "mhc_pre · cpu")
  std::vector<double> values;  // one per series; NaN or <= 0: no bar (log axis)
};

struct BarChart {
  std::string title;
  std::string axis_label;           // e.g. "time (log scale)"
  std::vector<std::string> series;  // legend names, e.g. "measured", "predicted: H100"
  std::vector<BarGroup> groups;
  std::function<std::string(double)> format_value;  // bar value and tooltip text; default: %g
  std::function<std::string(double)> format_tick;   // decade tick text; default: format_value
  int width_px = 820;
};

// Escapes & < > " ' for XML/HTML text and attribute values.
std::string xml_escape(std::string_view s);

// Renders the chart; with no positive values it renders a labelled empty frame.
std::string svg_bar_chart(const BarChart& chart);

// A line chart with optional log axes (decade ticks); points that are not finite, or not > 0 on a log
// axis, are left out. `scatter` draws the markers only (legend: a marker); `color` overrides the
// palette; `point_labels` (aligned with x/y) replace the default "name: x, y" tooltips.
struct LineSeries {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;
  bool scatter = false;
  double marker_r = 2;
  std::string color{};                   // default member initializers: no -Wmissing-field-initializers
  std::vector<std::string> point_labels{};  // for callers that brace-initialize the first fields
};
struct LineChart {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<LineSeries> series;
  int width_px = 640, height_px = 300;
};
std::string svg_line_chart(const LineChart& chart);

// Horizontal stacked bars on a linear axis from 0: one bar per row, one segment per series (values
// >= 0; NaN counts as 0). `limit` (> 0) draws a labelled vertical marker (e.g. HBM capacity) on that
// row's bar. With nothing positive it renders a labelled empty frame.
struct StackedBar {
  std::string label;
  std::vector<double> values;  // aligned with StackedBarChart::series
  double limit = 0;
  std::string limit_label;
};
struct StackedBarChart {
  std::string title, axis_label;
  std::vector<std::string> series;
  std::vector<StackedBar> bars;
  std::function<std::string(double)> format_value;  // segment tooltips, totals and ticks; default %g
  int width_px = 820;
};
std::string svg_stacked_bars(const StackedBarChart& chart);

}  // namespace v4lab::report
