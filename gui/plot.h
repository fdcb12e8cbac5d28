// plot.h — the project's own plotting on Dear ImGui's ImDrawList (no ImPlot): figures with linear or
// log axes, "nice" ticks, lines and markers, a vertical marker for the current point, hover tooltips on
// the nearest point, horizontal stacked bars and a measured-vs-predicted dot chart. Figures are plain
// data (built on worker threads, drawn on the UI thread), so any study can feed them.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

struct ImVec2;

namespace v4lab::gui::plot {

struct Axis {
  std::string label;
  bool log = false;
  double min = NAN, max = NAN;  // NAN: from the data (with a margin)
};

struct Series {
  std::string name;
  std::vector<double> x, y;
  uint32_t color = 0;  // 0: palette(index)
  bool line = true, markers = true;
  std::vector<std::string> tips;  // optional per-point tooltip text (else "name: x, y")
};

struct Figure {
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  double marker_x = NAN;  // vertical line at the current point (NAN: none)
  std::string marker_label;
  std::string placeholder;  // drawn instead of the plot when there is no data
  std::string note;         // small grey line under the title (e.g. "prediction")
};

struct Segment {
  std::string name;
  double value = 0;
  uint32_t color = 0;
};
struct BarRow {
  std::string label;
  std::vector<Segment> segments;
};

// Colours (ImU32, ABGR as ImGui packs them).
uint32_t palette(int i);
uint32_t family_color(const std::string& family);  // op families: mhc, attention, moe, engram, comm, ...

// Tick positions. nice_ticks: 1-2-5 steps covering [lo, hi]; log_ticks: powers of ten (with 2 and 5
// in between when the range is narrow).
std::vector<double> nice_ticks(double lo, double hi, int target);
std::vector<double> log_ticks(double lo, double hi);
std::string format_value(double v);    // compact: 1.5k, 2M, 0.25, 3e-05
std::string format_seconds(double s);  // 12.3 µs, 4.56 ms, 1.2 s

// Draws into the current ImGui window at the cursor; size.x/size.y <= 0 take the remaining width/height.
void draw_figure(const char* id, const Figure& f, float width, float height);
// Horizontal stacked bars sharing one scale; `scale_max` <= 0: the largest row total. A dashed
// reference line at `ref` (> 0) with `ref_label` (e.g. the step makespan or the HBM capacity).
void draw_stacked_bars(const char* id, const std::vector<BarRow>& rows, float width, double scale_max, double ref,
                       const std::string& ref_label, const std::string& unit_label, std::string (*fmt)(double));
// One row per label: two dots (a, b) on a shared log axis with a connecting line, e.g. measured vs predicted.
// height > 0 is kept (rows beyond it are clipped, the axis stays at the bottom); 0 fits all rows.
void draw_dot_compare(const char* id, const std::vector<std::string>& labels, const std::vector<double>& a,
                      const std::vector<double>& b, const std::string& a_name, const std::string& b_name, float width,
                      float height);
// Legend line for a set of segments/series (coloured squares + names), wrapping at the window width.
void draw_legend(const std::vector<std::pair<std::string, uint32_t>>& items);

}  // namespace v4lab::gui::plot
