// svg.cpp — grouped horizontal bar chart on a log10 axis (svg.h). Geometry is fixed-pitch so the chart
// height follows the number of groups; every bar carries a <title> tooltip (native SVG, no script).
#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace v4lab::report {

namespace {

constexpr const char* kPalette[] = {"#1f6fb4", "#e8771a", "#2a9d3a", "#c8302c", "#8a62b8",
                                    "#8c564b", "#d36ab8", "#6f6f6f", "#a8a81e", "#17a8b8"};
constexpr int kLabelWidth = 260;  // left column for group labels (font-size 10: ~5.6 px per character)
constexpr int kRightPad = 70;     // room for the value text after the longest bar
constexpr int kBarH = 10;
constexpr int kBarGap = 2;
constexpr int kGroupGap = 10;
constexpr int kLegendItemW = 190;
constexpr size_t kMaxLabelChars = 40;  // 40 x 5.6 px < kLabelWidth - 6

std::string default_tick(double v) { return fmt::format("{:g}", v); }

// Truncates to at most n code points (UTF-8 aware), adding an ellipsis.
std::string truncate_label(const std::string& s, size_t n) {
  size_t cps = 0, i = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && cps++ == n) break;
  }
  if (i >= s.size()) return s;
  return s.substr(0, i) + "\xE2\x80\xA6";  // U+2026
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string svg_bar_chart(const BarChart& chart) {
  const auto value_text = chart.format_value ? chart.format_value : std::function<std::string(double)>(default_tick);
  const auto tick_text = chart.format_tick ? chart.format_tick : value_text;
  const size_t n_series = std::max<size_t>(chart.series.size(), 1);
  const int width = std::max(chart.width_px, kLabelWidth + kRightPad + 200);
  const int plot_x0 = kLabelWidth;
  const int plot_x1 = width - kRightPad;

  double vmin = INFINITY, vmax = 0;
  for (const BarGroup& g : chart.groups) {
    for (double v : g.values) {
      if (std::isfinite(v) && v > 0) {
        vmin = std::min(vmin, v);
        vmax = std::max(vmax, v);
      }
    }
  }
  const bool empty = !(vmax > 0);
  int lo = empty ? 0 : static_cast<int>(std::floor(std::log10(vmin)));
  int hi = empty ? 1 : static_cast<int>(std::ceil(std::log10(vmax)));
  if (hi <= lo) hi = lo + 1;
  auto x_of = [&](double v) { return plot_x0 + (std::log10(v) - lo) / (hi - lo) * (plot_x1 - plot_x0); };

  const int items_per_row = std::max(1, (width - 20) / kLegendItemW);
  const int legend_rows = static_cast<int>((chart.series.size() + items_per_row - 1) / items_per_row);
  const int title_h = chart.title.empty() ? 8 : 28;
  const int legend_y = title_h;
  const int plot_y0 = legend_y + legend_rows * 18 + 8;
  const int group_h = static_cast<int>(n_series) * (kBarH + kBarGap) + kGroupGap;
  const int plot_h = std::max(1, static_cast<int>(chart.groups.size())) * group_h;
  const int axis_y = plot_y0 + plot_h;
  const int height = axis_y + 48;

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n",
      width, height, width, height, xml_escape(chart.title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width, height);
  if (!chart.title.empty()) {
    s += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", 10,
                     xml_escape(chart.title));
  }
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const int lx = 10 + static_cast<int>(i % items_per_row) * kLegendItemW;
    const int ly = legend_y + static_cast<int>(i / items_per_row) * 18;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", lx, ly, kPalette[i % 10]);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 16, ly + 10,
                     xml_escape(truncate_label(chart.series[i], 28)));
  }

  // Decade grid lines with labels, minor ticks at 2..9 x 10^k.
  for (int k = lo; k <= hi; ++k) {
    const double x = x_of(std::pow(10.0, k));
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#d8d8d8\"/>", x, plot_y0, x,
                     axis_y);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, axis_y + 16,
                     xml_escape(tick_text(std::pow(10.0, k))));
    if (k == hi) break;
    for (int m = 2; m <= 9; ++m) {
      const double xm = x_of(m * std::pow(10.0, k));
      s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#888888\"/>", xm, axis_y, xm,
                       axis_y + 4);
    }
    s += "\n";
  }
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\"/>\n", plot_x0, axis_y, plot_x1,
                   axis_y);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\"/>\n", plot_x0, plot_y0, plot_x0,
                   axis_y);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (plot_x0 + plot_x1) / 2, axis_y + 36,
                   xml_escape(chart.axis_label));

  if (empty) {
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n",
                     (plot_x0 + plot_x1) / 2, plot_y0 + plot_h / 2 + 4);
  }
  for (size_t gi = 0; gi < chart.groups.size(); ++gi) {
    const BarGroup& g = chart.groups[gi];
    const int gy = plot_y0 + static_cast<int>(gi) * group_h + kGroupGap / 2;
    const int bars_h = static_cast<int>(n_series) * (kBarH + kBarGap);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\"><title>{}</title>{}</text>\n",
                     plot_x0 - 6, gy + bars_h / 2 + 4, xml_escape(g.label),
                     xml_escape(truncate_label(g.label, kMaxLabelChars)));
    for (size_t si = 0; si < g.values.size() && si < n_series; ++si) {
      const double v = g.values[si];
      if (!(std::isfinite(v) && v > 0)) continue;
      const int by = gy + static_cast<int>(si) * (kBarH + kBarGap);
      // A value exactly at 10^lo still gets a visible sliver.
      const double w = std::max(1.0, x_of(v) - plot_x0);
      const std::string name = si < chart.series.size() ? chart.series[si] : std::string();
      const std::string text = value_text(v);
      s +=
          fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>",
                      plot_x0, by, w, kBarH, kPalette[si % 10], xml_escape(name), xml_escape(text));
      s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"9\" fill=\"#444444\">{}</text>\n", plot_x0 + w + 3,
                       by + kBarH - 1, xml_escape(text));
    }
  }
  s += "</svg>\n";
  return s;
}

}  // namespace v4lab::report
