// svg.cpp — grouped horizontal bar chart on a log10 axis (svg.h). Geometry is fixed-pitch so the chart
// height follows the number of groups; every bar carries a <title> tooltip (native SVG, no script).
#include "report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

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

// ---------------------------------------------------------------------------------------------------
// Line and scatter charts (moved from report_study_svg.cpp; output for plain line series unchanged)

namespace {
constexpr const char* kColors[] = {"#1f6fb4", "#e8771a", "#2a9d3a", "#c8302c", "#8a62b8",
                                   "#8c564b", "#d36ab8", "#6f6f6f", "#a8a81e", "#17a8b8"};
constexpr int kLeft = 64, kRight = 16, kTop = 28, kBottom = 44, kLegendRow = 16;

struct Axis {
  bool log = false;
  double lo = 0, hi = 1;
  double t(double v) const { return log ? std::log10(v) : v; }
  bool usable(double v) const { return std::isfinite(v) && (!log || v > 0); }
  std::vector<double> ticks() const {
    std::vector<double> out;
    if (log) {
      for (double e = std::floor(lo); e <= std::ceil(hi) + 1e-9; e += 1)
        if (e >= lo - 1e-9 && e <= hi + 1e-9) out.push_back(std::pow(10.0, e));
      if (out.size() < 2) out = {std::pow(10.0, lo), std::pow(10.0, hi)};
    } else {
      for (int i = 0; i <= 4; ++i) out.push_back(lo + (hi - lo) * i / 4);
    }
    return out;
  }
};

Axis make_axis(const std::vector<LineSeries>& s, bool log, bool is_x) {
  Axis a;
  a.log = log;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (auto& ser : s)
    for (size_t i = 0; i < ser.x.size() && i < ser.y.size(); ++i) {
      const double v = is_x ? ser.x[i] : ser.y[i], o = is_x ? ser.y[i] : ser.x[i];
      if (!a.usable(v) || !std::isfinite(o)) continue;
      lo = std::min(lo, a.t(v)), hi = std::max(hi, a.t(v));
    }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  // Nearly constant data (e.g. a gain of 1 ± 1e-5) gets a readable span instead of magnified noise:
  // at least half a decade on a log axis, ±10% (or ±0.5) on a linear one.
  if (log && hi - lo < 0.5) {
    const double mid = (lo + hi) / 2;
    lo = mid - 0.25, hi = mid + 0.25;
  } else if (!log && hi - lo < 1e-6 * std::max(1.0, std::fabs(hi))) {
    const double pad = std::max(std::fabs(lo) * 0.1, 0.5);
    lo -= pad, hi += pad;
  }
  a.lo = lo, a.hi = hi;
  return a;
}
}  // namespace

std::string svg_line_chart(const LineChart& c) {
  const Axis ax = make_axis(c.series, c.log_x, true), ay = make_axis(c.series, c.log_y, false);
  const int legend_rows = int((c.series.size() + 2) / 3);
  const int W = c.width_px, H = c.height_px + legend_rows * kLegendRow;
  const int pw = W - kLeft - kRight, ph = c.height_px - kTop - kBottom;
  auto px = [&](double v) { return kLeft + (ax.t(v) - ax.lo) / (ax.hi - ax.lo) * pw; };
  auto py = [&](double v) { return kTop + ph - (ay.t(v) - ay.lo) / (ay.hi - ay.lo) * ph; };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "font-family=\"sans-serif\" font-size=\"10\">\n<title>{}</title>\n",
      W, H, W, H, xml_escape(c.title));
  s += fmt::format("<text x=\"{}\" y=\"16\" font-size=\"12\" font-weight=\"bold\">{}</text>\n", kLeft, xml_escape(c.title));
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", kLeft, kTop, pw, ph);
  for (double t : ax.ticks()) {
    const double x = px(t);
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#ddd\"/>", x, kTop, x, kTop + ph);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, kTop + ph + 14, xml_escape(fmt::format("{:g}", t)));
  }
  for (double t : ay.ticks()) {
    const double y = py(t);
    s += fmt::format("<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#ddd\"/>", kLeft, y, kLeft + pw, y);
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", kLeft - 4, y + 3, xml_escape(fmt::format("{:.3g}", t)));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, kTop + ph + 30,
                   xml_escape(c.x_label + (c.log_x ? " (log)" : "")));
  s += fmt::format("<text x=\"12\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {})\">{}</text>\n", kTop + ph / 2,
                   kTop + ph / 2, xml_escape(c.y_label + (c.log_y ? " (log)" : "")));
  for (size_t i = 0; i < c.series.size(); ++i) {
    const LineSeries& ser = c.series[i];
    const std::string col = ser.color.empty() ? kColors[i % (sizeof kColors / sizeof *kColors)] : ser.color;
    std::string pts, marks;
    for (size_t k = 0; k < ser.x.size() && k < ser.y.size(); ++k) {
      if (!ax.usable(ser.x[k]) || !ay.usable(ser.y[k])) continue;
      pts += fmt::format("{:.1f},{:.1f} ", px(ser.x[k]), py(ser.y[k]));
      const std::string tip = k < ser.point_labels.size() ? ser.point_labels[k]
                                                          : fmt::format("{}: {:g}, {:.4g}", ser.name, ser.x[k], ser.y[k]);
      marks += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{:g}\" fill=\"{}\"><title>{}</title></circle>",
                           px(ser.x[k]), py(ser.y[k]), ser.marker_r, col, xml_escape(tip));
    }
    if (!pts.empty() && ser.scatter)
      s += marks + "\n";
    else if (!pts.empty())
      s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{} points=\"{}\"/>{}\n", col,
                       ser.dashed ? " stroke-dasharray=\"4 3\"" : "", pts, marks);
    const int lx = kLeft + int(i % 3) * (pw / 3), ly = c.height_px + int(i / 3) * kLegendRow;
    if (ser.scatter)
      s += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"{:g}\" fill=\"{}\"/>", lx + 9, ly - 4, std::max(2.0, ser.marker_r), col);
    else
      s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>", lx, ly - 4,
                       lx + 18, ly - 4, col, ser.dashed ? " stroke-dasharray=\"4 3\"" : "");
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 22, ly, xml_escape(ser.name));
  }
  s += "</svg>\n";
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Horizontal stacked bars on a linear axis

namespace {

// 1, 2 or 5 times a power of ten, so that about `n` steps cover [0, hi].
double nice_step(double hi, int n) {
  const double raw = hi / n;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

std::string svg_stacked_bars(const StackedBarChart& chart) {
  const auto value_text = chart.format_value ? chart.format_value : std::function<std::string(double)>(default_tick);
  const int width = std::max(chart.width_px, kLabelWidth + kRightPad + 200);
  const int plot_x0 = kLabelWidth, plot_x1 = width - kRightPad;
  auto val = [](double v) { return std::isfinite(v) && v > 0 ? v : 0.0; };
  double vmax = 0;
  for (const StackedBar& b : chart.bars) {
    double t = 0;
    for (double v : b.values) t += val(v);
    vmax = std::max({vmax, t, val(b.limit)});
  }
  const bool empty = !(vmax > 0);
  const double step = empty ? 1 : nice_step(vmax, 6);
  const double hi = empty ? 5 : std::ceil(vmax / step - 1e-9) * step;
  auto x_of = [&](double v) { return plot_x0 + v / hi * (plot_x1 - plot_x0); };

  const int items_per_row = std::max(1, (width - 20) / kLegendItemW);
  const int legend_rows = static_cast<int>((chart.series.size() + items_per_row - 1) / items_per_row);
  const int title_h = chart.title.empty() ? 8 : 28;
  const int plot_y0 = title_h + legend_rows * 18 + 8;
  constexpr int kRowH = 26, kStackH = 16;
  const int plot_h = std::max<int>(1, static_cast<int>(chart.bars.size())) * kRowH;
  const int axis_y = plot_y0 + plot_h;
  const int height = axis_y + 48;

  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"{}\" font-family=\"sans-serif\" font-size=\"11\">\n",
      width, height, width, height, xml_escape(chart.title));
  s += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n", width, height);
  if (!chart.title.empty())
    s += fmt::format("<text x=\"10\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{}</text>\n", xml_escape(chart.title));
  for (size_t i = 0; i < chart.series.size(); ++i) {
    const int lx = 10 + static_cast<int>(i % items_per_row) * kLegendItemW;
    const int ly = title_h + static_cast<int>(i / items_per_row) * 18;
    s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/>", lx, ly, kPalette[i % 10]);
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 16, ly + 10, xml_escape(truncate_label(chart.series[i], 28)));
  }
  for (double t = 0; t <= hi + step * 1e-6; t += step) {
    const double x = x_of(t);
    s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#d8d8d8\"/>", x, plot_y0, x, axis_y);
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", x, axis_y + 16, xml_escape(value_text(t)));
  }
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\"/>\n", plot_x0, axis_y, plot_x1, axis_y);
  s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#333333\"/>\n", plot_x0, plot_y0, plot_x0, axis_y);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", (plot_x0 + plot_x1) / 2, axis_y + 36,
                   xml_escape(chart.axis_label));
  if (empty)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#888888\">no data</text>\n",
                     (plot_x0 + plot_x1) / 2, plot_y0 + plot_h / 2 + 4);
  for (size_t bi = 0; bi < chart.bars.size(); ++bi) {
    const StackedBar& b = chart.bars[bi];
    const int by = plot_y0 + static_cast<int>(bi) * kRowH + (kRowH - kStackH) / 2;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\"><title>{}</title>{}</text>\n",
                     plot_x0 - 6, by + kStackH / 2 + 4, xml_escape(b.label), xml_escape(truncate_label(b.label, kMaxLabelChars)));
    double acc = 0;
    for (size_t si = 0; si < b.values.size(); ++si) {
      const double v = val(b.values[si]);
      if (v <= 0) continue;
      const double x0 = x_of(acc), x1 = x_of(acc + v);
      const std::string name = si < chart.series.size() ? chart.series[si] : std::string();
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\"><title>{}: {}</title></rect>",
                       x0, by, std::max(0.5, x1 - x0), kStackH, kPalette[si % 10], xml_escape(b.label + " \xC2\xB7 " + name),
                       xml_escape(value_text(v)));
      acc += v;
    }
    if (acc > 0)
      s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"9\" fill=\"#444444\">{}</text>", x_of(acc) + 3,
                       by + kStackH - 4, xml_escape(value_text(acc)));
    if (b.limit > 0) {
      const double x = x_of(b.limit);
      s += fmt::format("<line x1=\"{:.1f}\" y1=\"{}\" x2=\"{:.1f}\" y2=\"{}\" stroke=\"#c8302c\" stroke-width=\"2\" "
                       "stroke-dasharray=\"3 2\"><title>{}</title></line>",
                       x, by - 4, x, by + kStackH + 4, xml_escape(b.limit_label + ": " + value_text(b.limit)));
    }
    s += "\n";
  }
  s += "</svg>\n";
  return s;
}

}  // namespace v4lab::report
