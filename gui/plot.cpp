// plot.cpp — figures, stacked bars and dot charts on ImDrawList (plot.h). Screen mapping, 1-2-5 and
// decade ticks, nearest-point hover tooltips; every draw clips to its own rectangle.
#include "gui/plot.h"

#include <imgui.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>

namespace v4lab::gui::plot {

namespace {
constexpr ImU32 kFrameBg = IM_COL32(24, 27, 33, 255);
constexpr ImU32 kGrid = IM_COL32(60, 64, 72, 255);
constexpr ImU32 kAxis = IM_COL32(140, 144, 152, 255);
constexpr ImU32 kText = IM_COL32(220, 222, 226, 255);
constexpr ImU32 kDim = IM_COL32(150, 154, 162, 255);
constexpr ImU32 kMarker = IM_COL32(255, 210, 70, 255);

struct Map {
  double lo = 0, hi = 1;
  bool log = false;
  float s0 = 0, s1 = 1;  // screen
  float operator()(double v) const {
    double a = log ? std::log10(std::max(v, 1e-300)) : v, l = log ? std::log10(lo) : lo, h = log ? std::log10(hi) : hi;
    return float(s0 + (a - l) / (h - l) * (s1 - s0));
  }
};

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// Data range of one axis, with a margin; explicit min/max win.
void range_of(const Figure& f, bool is_x, double& lo, double& hi) {
  const Axis& ax = is_x ? f.x : f.y;
  lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (auto& s : f.series)
    for (double v : is_x ? s.x : s.y)
      if (usable(v, ax.log)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (is_x && usable(f.marker_x, ax.log)) lo = std::min(lo, f.marker_x), hi = std::max(hi, f.marker_x);
  if (!std::isfinite(lo)) lo = ax.log ? 1 : 0, hi = ax.log ? 10 : 1;
  if (ax.log) {
    if (hi <= lo) lo /= 2, hi *= 2;
    const double m = std::pow(hi / lo, 0.06);
    lo /= m, hi *= m;
  } else {
    if (hi <= lo) lo -= 0.5 + std::abs(lo) * 0.1, hi += 0.5 + std::abs(hi) * 0.1;
    const double m = (hi - lo) * 0.06;
    lo -= m, hi += m;
  }
  if (std::isfinite(ax.min)) lo = ax.min;
  if (std::isfinite(ax.max)) hi = ax.max;
}

void dashed_vline(ImDrawList* dl, float x, float y0, float y1, ImU32 col) {
  for (float y = y0; y < y1; y += 8) dl->AddLine({x, y}, {x, std::min(y + 4, y1)}, col, 1.5f);
}
}  // namespace

uint32_t palette(int i) {
  static const ImU32 p[] = {IM_COL32(86, 156, 214, 255), IM_COL32(236, 128, 56, 255),  IM_COL32(96, 190, 110, 255),
                            IM_COL32(214, 84, 96, 255),  IM_COL32(170, 120, 220, 255), IM_COL32(200, 170, 90, 255),
                            IM_COL32(80, 200, 200, 255), IM_COL32(230, 120, 190, 255), IM_COL32(160, 160, 160, 255)};
  return p[((i % 9) + 9) % 9];
}

uint32_t family_color(const std::string& family) {
  static const std::map<std::string, int> idx = {{"attention", 0}, {"moe", 1},   {"mhc", 2},      {"comm", 3},
                                                 {"engram", 4},    {"quant", 5}, {"numerics", 6}, {"head", 7}};
  auto it = idx.find(family);
  return palette(it == idx.end() ? 8 : it->second);
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  std::vector<double> t;
  if (!(hi > lo) || target < 1) return t;
  const double raw = (hi - lo) / target, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> t;
  if (!(lo > 0) || !(hi > lo)) return t;
  const int e0 = int(std::floor(std::log10(lo))), e1 = int(std::ceil(std::log10(hi)));
  const bool narrow = e1 - e0 <= 2;
  for (int e = e0; e <= e1; ++e)
    for (double m : narrow ? std::vector<double>{1, 2, 5} : std::vector<double>{1}) {
      const double v = m * std::pow(10.0, e);
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t.push_back(v);
    }
  return t;
}

std::string format_value(double v) {
  char b[32];
  const double a = std::abs(v);
  if (v == 0) return "0";
  if (a >= 1e12)
    std::snprintf(b, sizeof b, "%.3gT", v / 1e12);
  else if (a >= 1e9)
    std::snprintf(b, sizeof b, "%.3gG", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(b, sizeof b, "%.3gM", v / 1e6);
  else if (a >= 1e4)
    std::snprintf(b, sizeof b, "%.3gk", v / 1e3);
  else if (a >= 1e-3)
    std::snprintf(b, sizeof b, "%.4g", v);
  else
    std::snprintf(b, sizeof b, "%.2g", v);
  return b;
}

std::string format_seconds(double s) {
  char b[32];
  const double a = std::abs(s);
  if (a >= 1)
    std::snprintf(b, sizeof b, "%.3g s", s);
  else if (a >= 1e-3)
    std::snprintf(b, sizeof b, "%.3g ms", s * 1e3);
  else if (a >= 1e-6)
    std::snprintf(b, sizeof b, "%.3g us", s * 1e6);
  else
    std::snprintf(b, sizeof b, "%.3g ns", s * 1e9);
  return b;
}

void draw_legend(const std::vector<std::pair<std::string, uint32_t>>& items) {
  ImDrawList* dl = ImGui::GetWindowDrawList();
  const float right = ImGui::GetWindowPos().x + ImGui::GetWindowContentRegionMax().x;
  bool first = true;
  for (auto& [name, col] : items) {
    const float w = ImGui::CalcTextSize(name.c_str()).x + 18;
    if (!first) {
      ImGui::SameLine();
      if (ImGui::GetCursorScreenPos().x + w > right) ImGui::NewLine();
    }
    first = false;
    const ImVec2 p = ImGui::GetCursorScreenPos();
    const float h = ImGui::GetTextLineHeight();
    dl->AddRectFilled({p.x, p.y + 2}, {p.x + h - 4, p.y + h - 2}, col);
    ImGui::Dummy({h - 2, h});
    ImGui::SameLine(0, 2);
    ImGui::TextUnformatted(name.c_str());
  }
}

void draw_figure(const char* id, const Figure& f, float width, float height) {
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float w = std::max(120.0f, width > 0 ? width : avail.x), h = std::max(90.0f, height > 0 ? height : avail.y);
  ImGui::InvisibleButton(id, {w, h});
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 p0 = ImGui::GetItemRectMin(), p1 = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, p1, true);
  dl->AddRectFilled(p0, p1, kFrameBg, 3);
  const float lh = ImGui::GetTextLineHeight();
  dl->AddText({p0.x + 6, p0.y + 3}, kText, f.title.c_str());
  float top = p0.y + 4 + lh;
  if (!f.note.empty()) {
    dl->AddText({p0.x + 6, top}, kDim, f.note.c_str());
    top += lh;
  }
  bool any = false;
  for (auto& s : f.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) any |= usable(s.x[i], f.x.log) && usable(s.y[i], f.y.log);
  if (!f.placeholder.empty() || !any) {
    const std::string msg = f.placeholder.empty() ? "no data" : f.placeholder;
    dl->AddText(nullptr, 0, {p0.x + 12, top + 12}, kDim, msg.c_str(), nullptr, w - 24);
    dl->PopClipRect();
    return;
  }
  Map mx, my;
  range_of(f, true, mx.lo, mx.hi);
  range_of(f, false, my.lo, my.hi);
  mx.log = f.x.log, my.log = f.y.log;
  if (f.series.size() > 1) {  // legend: one line under the title
    float lx = p0.x + 6;
    for (int si = 0; si < int(f.series.size()); ++si) {
      const std::string& n = f.series[si].name;
      const ImU32 col = f.series[si].color ? f.series[si].color : palette(si);
      dl->AddRectFilled({lx, top + 3}, {lx + 9, top + lh - 3}, col);
      dl->AddText({lx + 12, top}, kText, n.c_str());
      lx += 12 + ImGui::CalcTextSize(n.c_str()).x + 12;
    }
    top += lh;
  }
  const float left = p0.x + 50, right = p1.x - 10, bottom = p1.y - 2 * lh - 6;
  top += lh + 2;  // y-axis label line
  mx.s0 = left, mx.s1 = right, my.s0 = bottom, my.s1 = top;
  if (right - left < 20 || bottom - top < 20) {
    dl->PopClipRect();
    return;
  }
  dl->AddText({p0.x + 6, top - lh - 1}, kDim, (f.y.label + (f.y.log ? "  (log)" : "")).c_str());
  // grid + ticks
  auto xt = f.x.log ? log_ticks(mx.lo, mx.hi) : nice_ticks(mx.lo, mx.hi, std::max(2, int((right - left) / 70)));
  auto yt = f.y.log ? log_ticks(my.lo, my.hi) : nice_ticks(my.lo, my.hi, std::max(2, int((bottom - top) / 28)));
  for (double v : xt) {
    const float x = mx(v);
    dl->AddLine({x, top}, {x, bottom}, kGrid);
    const std::string s = format_value(v);
    dl->AddText({x - ImGui::CalcTextSize(s.c_str()).x / 2, bottom + 3}, kDim, s.c_str());
  }
  for (double v : yt) {
    const float y = my(v);
    dl->AddLine({left, y}, {right, y}, kGrid);
    const std::string s = format_value(v);
    dl->AddText({left - 4 - ImGui::CalcTextSize(s.c_str()).x, y - lh / 2}, kDim, s.c_str());
  }
  dl->AddLine({left, bottom}, {right, bottom}, kAxis);
  dl->AddLine({left, top}, {left, bottom}, kAxis);
  const std::string xl = f.x.label + (f.x.log ? "  (log)" : "");
  dl->AddText({(left + right) / 2 - ImGui::CalcTextSize(xl.c_str()).x / 2, bottom + lh + 4}, kDim, xl.c_str());

  dl->PushClipRect({left, top}, {right + 1, bottom + 1}, true);
  if (usable(f.marker_x, f.x.log)) {
    const float x = mx(f.marker_x);
    dashed_vline(dl, x, top, bottom, kMarker);
    if (!f.marker_label.empty()) dl->AddText({x + 3, top + 1}, kMarker, f.marker_label.c_str());
  }
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  float best = 18 * 18;
  int best_s = -1, best_i = -1;
  for (int si = 0; si < int(f.series.size()); ++si) {
    const Series& s = f.series[si];
    const ImU32 col = s.color ? s.color : palette(si);
    std::vector<ImVec2> pts;
    std::vector<int> idx;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
      if (usable(s.x[i], f.x.log) && usable(s.y[i], f.y.log))
        pts.push_back({mx(s.x[i]), my(s.y[i])}), idx.push_back(int(i));
    if (s.line && pts.size() > 1) dl->AddPolyline(pts.data(), int(pts.size()), col, 0, 2.0f);
    for (size_t k = 0; k < pts.size(); ++k) {
      if (s.markers) dl->AddCircleFilled(pts[k], 3.0f, col);
      const float dx = pts[k].x - mouse.x, dy = pts[k].y - mouse.y;
      if (hovered && dx * dx + dy * dy < best) best = dx * dx + dy * dy, best_s = si, best_i = idx[k];
    }
  }
  dl->PopClipRect();
  if (best_s >= 0) {
    const Series& s = f.series[best_s];
    const ImVec2 c = {mx(s.x[best_i]), my(s.y[best_i])};
    dl->AddCircle(c, 6.0f, kText, 0, 1.5f);
    if (best_i < int(s.tips.size()) && !s.tips[best_i].empty())
      ImGui::SetTooltip("%s\n%s", s.name.c_str(), s.tips[best_i].c_str());
    else
      ImGui::SetTooltip("%s\n%s = %s\n%s = %s", s.name.c_str(), f.x.label.c_str(), format_value(s.x[best_i]).c_str(),
                        f.y.label.c_str(), format_value(s.y[best_i]).c_str());
  }
  dl->PopClipRect();
}

void draw_stacked_bars(const char* id, const std::vector<BarRow>& rows, float width, double scale_max, double ref,
                       const std::string& ref_label, const std::string& unit_label, std::string (*fmt)(double)) {
  const float lh = ImGui::GetTextLineHeight(), row_h = lh + 6;
  const float w = std::max(160.0f, width > 0 ? width : ImGui::GetContentRegionAvail().x);
  const float h = row_h * float(rows.size()) + lh + 8;
  ImGui::PushID(id);
  ImGui::InvisibleButton("##bars", {w, h});
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 p0 = ImGui::GetItemRectMin(), p1 = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, p1, true);
  double mx = scale_max;
  if (mx <= 0)
    for (auto& r : rows) {
      double t = 0;
      for (auto& s : r.segments) t += std::max(0.0, s.value);
      mx = std::max(mx, t);
    }
  mx = std::max({mx, ref, 1e-300});
  float label_w = 40;
  for (auto& r : rows) label_w = std::max(label_w, ImGui::CalcTextSize(r.label.c_str()).x + 8);
  const float x0 = p0.x + label_w, x1 = p1.x - 70;
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  for (size_t ri = 0; ri < rows.size(); ++ri) {
    const float y = p0.y + float(ri) * row_h;
    dl->AddText({p0.x, y + 3}, kText, rows[ri].label.c_str());
    dl->AddRectFilled({x0, y + 2}, {x1, y + row_h - 2}, kFrameBg);
    double acc = 0;
    for (size_t si = 0; si < rows[ri].segments.size(); ++si) {
      const Segment& s = rows[ri].segments[si];
      if (!(s.value > 0)) continue;
      const float a = x0 + float(acc / mx) * (x1 - x0), b = x0 + float((acc + s.value) / mx) * (x1 - x0);
      const ImU32 col = s.color ? s.color : palette(int(si));
      dl->AddRectFilled({a, y + 2}, {std::max(b, a + 1), y + row_h - 2}, col);
      if (b - a > ImGui::CalcTextSize(s.name.c_str()).x + 6)
        dl->AddText({a + 3, y + 3}, IM_COL32(15, 15, 20, 255), s.name.c_str());
      if (hovered && mouse.x >= a && mouse.x < b && mouse.y >= y && mouse.y < y + row_h) {
        double tot = 0;
        for (auto& q : rows[ri].segments) tot += std::max(0.0, q.value);
        ImGui::SetTooltip("%s / %s\n%s (%.1f%% of the row)", rows[ri].label.c_str(), s.name.c_str(),
                          fmt(s.value).c_str(), 100.0 * s.value / std::max(tot, 1e-300));
      }
      acc += s.value;
    }
    dl->AddText({x1 + 4, y + 3}, kDim, fmt(acc).c_str());
  }
  const float axis_y = p0.y + float(rows.size()) * row_h + 2;
  dl->AddLine({x0, axis_y}, {x1, axis_y}, kAxis);
  dl->AddText({x0, axis_y + 1}, kDim, ("0 " + unit_label).c_str());
  const std::string ms = fmt(mx);
  const float msw = ImGui::CalcTextSize(ms.c_str()).x;
  float ref_right = -1;
  if (ref > 0) {
    const float x = x0 + float(ref / mx) * (x1 - x0);
    dashed_vline(dl, x, p0.y, axis_y, kMarker);
    const float tw = ImGui::CalcTextSize(ref_label.c_str()).x, lx = std::clamp(x - tw / 2, x0, x1 - tw);
    dl->AddText({lx, axis_y + 1}, kMarker, ref_label.c_str());
    ref_right = lx + tw;
  }
  if (ref_right < x1 - msw - 6) dl->AddText({x1 - msw, axis_y + 1}, kDim, ms.c_str());  // unless the ref label is there
  dl->PopClipRect();
  ImGui::PopID();
}

void draw_dot_compare(const char* id, const std::vector<std::string>& labels, const std::vector<double>& a,
                      const std::vector<double>& b, const std::string& a_name, const std::string& b_name, float width,
                      float height) {
  const float lh = ImGui::GetTextLineHeight(), row_h = lh + 4;
  const float w = std::max(160.0f, width > 0 ? width : ImGui::GetContentRegionAvail().x);
  // A given height wins (rows that do not fit are clipped); 0 fits every row.
  const float h = height > 0 ? std::max(height, 3 * lh) : row_h * float(labels.size()) + 2 * lh + 8;
  ImGui::InvisibleButton(id, {w, h});
  const bool hovered = ImGui::IsItemHovered();
  const ImVec2 p0 = ImGui::GetItemRectMin(), p1 = ImGui::GetItemRectMax();
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, p1, true);
  dl->AddRectFilled(p0, p1, kFrameBg, 3);
  Map m;
  m.log = true;
  double lo = INFINITY, hi = 0;
  for (auto* v : {&a, &b})
    for (double x : *v)
      if (x > 0 && std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
  if (!std::isfinite(lo)) {
    dl->AddText({p0.x + 8, p0.y + 8}, kDim, "no results yet");
    dl->PopClipRect();
    return;
  }
  lo /= 2, hi *= 2;
  float label_w = 40;
  for (auto& l : labels) label_w = std::max(label_w, ImGui::CalcTextSize(l.c_str()).x + 10);
  m.lo = lo, m.hi = hi, m.s0 = p0.x + label_w, m.s1 = p1.x - 12;
  const float bottom = std::min(p0.y + lh + 4 + row_h * float(labels.size()), p1.y - lh - 2);
  float lx = p0.x + 6;
  for (auto [name, col] : {std::pair{a_name, palette(0)}, std::pair{b_name, palette(1)}}) {
    dl->AddCircleFilled({lx + 4, p0.y + 2 + lh / 2}, 4, col);
    dl->AddText({lx + 11, p0.y + 2}, kText, name.c_str());
    lx += 11 + ImGui::CalcTextSize(name.c_str()).x + 14;
  }
  dl->AddText({lx, p0.y + 2}, kDim, "time per call (log)");
  for (double v : log_ticks(lo, hi)) {
    const float x = m(v);
    dl->AddLine({x, p0.y + lh + 4}, {x, bottom}, kGrid);
    const std::string s = format_seconds(v);
    dl->AddText({x - ImGui::CalcTextSize(s.c_str()).x / 2, bottom + 2}, kDim, s.c_str());
  }
  const ImVec2 mouse = ImGui::GetIO().MousePos;
  for (size_t i = 0; i < labels.size(); ++i) {
    const float y = p0.y + lh + 4 + row_h * float(i) + row_h / 2;
    if (y + row_h / 2 > bottom + 1) break;  // clipped: the table above lists every row
    dl->AddText({p0.x + 6, y - lh / 2}, kText, labels[i].c_str());
    const bool ha = i < a.size() && a[i] > 0, hb = i < b.size() && b[i] > 0;
    if (ha && hb) dl->AddLine({m(a[i]), y}, {m(b[i]), y}, kAxis, 2);
    if (ha) dl->AddCircleFilled({m(a[i]), y}, 4.5f, palette(0));
    if (hb) dl->AddCircleFilled({m(b[i]), y}, 4.5f, palette(1));
    if (hovered && mouse.y >= y - row_h / 2 && mouse.y < y + row_h / 2)
      ImGui::SetTooltip("%s\n%s: %s\n%s: %s%s", labels[i].c_str(), a_name.c_str(),
                        ha ? format_seconds(a[i]).c_str() : "-", b_name.c_str(),
                        hb ? format_seconds(b[i]).c_str() : "-",
                        ha && hb ? ("\nratio " + format_value(a[i] / b[i])).c_str() : "");
  }
  dl->PopClipRect();
}

}  // namespace v4lab::gui::plot
