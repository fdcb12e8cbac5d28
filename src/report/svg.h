// svg.h — a tiny inline-SVG chart writer for reports: grouped horizontal bars on a log-scale axis with
// decade ticks. Output is a standalone <svg> element (no scripts, no external refs); text is escaped.
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

}  // namespace v4lab::report
