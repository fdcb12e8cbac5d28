// report_study_svg.cpp — the line chart of the study sections (report_study_sections.h): linear or
// log10 axes with decade ticks, one polyline per series (markers carry <title> tooltips), a legend.
// svg.h only draws bar charts; this lives beside the study sections until a shared home is chosen.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "report/report_study_sections.h"
#include "report/svg.h"

namespace v4lab::report {

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
    const char* col = kColors[i % (sizeof kColors / sizeof *kColors)];
    std::string pts, marks;
    for (size_t k = 0; k < ser.x.size() && k < ser.y.size(); ++k) {
      if (!ax.usable(ser.x[k]) || !ay.usable(ser.y[k])) continue;
      pts += fmt::format("{:.1f},{:.1f} ", px(ser.x[k]), py(ser.y[k]));
      marks += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2\" fill=\"{}\"><title>{}: {:g}, {:.4g}</title></circle>",
                           px(ser.x[k]), py(ser.y[k]), col, xml_escape(ser.name), ser.x[k], ser.y[k]);
    }
    if (!pts.empty())
      s += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{} points=\"{}\"/>{}\n", col,
                       ser.dashed ? " stroke-dasharray=\"4 3\"" : "", pts, marks);
    const int lx = kLeft + int(i % 3) * (pw / 3), ly = c.height_px + int(i / 3) * kLegendRow;
    s += fmt::format("<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"2\"{}/>", lx, ly - 4, lx + 18,
                     ly - 4, col, ser.dashed ? " stroke-dasharray=\"4 3\"" : "");
    s += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", lx + 22, ly, xml_escape(ser.name));
  }
  s += "</svg>\n";
  return s;
}

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
