// panel_timeline.cpp — Timeline: the predicted per-stream schedule (compute / comm / host lanes) of one
// layer or of the whole step, from StepCost::schedule of the prediction snapshot. Mouse wheel zooms
// around the cursor, drag pans, R or "fit" resets; hovering a node shows its op, family and times.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include "gui/panels.h"
#include "gui/plot.h"

namespace v4lab::gui {

void panel_timeline(App& app) {
  if (!begin_panel(app, PanelId::Timeline, "Timeline",
                   ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
    ImGui::End();
    return;
  }
  UiState& u = app.ui;
  auto p = app.prediction_good();
  if (!p || p->timeline.empty()) {
    ImGui::TextDisabled("no schedule yet");
    ImGui::End();
    return;
  }
  // Controls
  int mode = u.timeline_whole_step ? 1 : 0;
  bool reset = false;
  if (ImGui::RadioButton("one layer", &mode, 0)) reset = true;
  ImGui::SameLine();
  if (ImGui::RadioButton("whole step", &mode, 1)) reset = true;
  u.timeline_whole_step = mode == 1;
  const int n_layers = std::max(1, p->n_layers);
  u.timeline_layer = std::clamp(u.timeline_layer, 0, n_layers - 1);
  if (!u.timeline_whole_step) {
    ImGui::SameLine();
    ImGui::SetNextItemWidth(220);
    if (ImGui::SliderInt("layer", &u.timeline_layer, 0, n_layers - 1)) reset = true;
    if (u.timeline_layer < int(p->layer_kinds.size())) {
      ImGui::SameLine();
      ImGui::TextDisabled("%s", p->layer_kinds[u.timeline_layer].c_str());
    }
  }
  ImGui::SameLine();
  if (ImGui::Button("fit")) reset = true;
  ImGui::SameLine();
  ImGui::TextDisabled("prediction; wheel zoom, drag pan, R reset");
  if (ImGui::IsWindowHovered() && !ImGui::GetIO().WantTextInput && ImGui::IsKeyPressed('R')) reset = true;

  // Items in view
  std::vector<const TimelineItem*> items;
  double t_min = INFINITY, t_max = -INFINITY;
  for (auto& t : p->timeline)
    if (u.timeline_whole_step || t.layer == u.timeline_layer) {
      items.push_back(&t);
      t_min = std::min(t_min, t.start_s), t_max = std::max(t_max, t.end_s);
    }
  if (items.empty()) {
    ImGui::TextDisabled("layer %d has no nodes", u.timeline_layer);
    ImGui::End();
    return;
  }
  static uint64_t last_version = 0;
  if (p->version != last_version) reset = true, last_version = p->version;
  if (t_max <= t_min) t_max = t_min + 1e-9;
  if (reset || !(u.view_t1 > u.view_t0)) u.view_t0 = t_min, u.view_t1 = t_max;

  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float w = std::max(100.0f, avail.x), h = std::max(60.0f, avail.y);
  ImGui::InvisibleButton("##canvas", {w, h});
  const bool hovered = ImGui::IsItemHovered(), active = ImGui::IsItemActive();
  const ImVec2 p0 = ImGui::GetItemRectMin(), p1 = ImGui::GetItemRectMax();
  const float label_w = 70, lh = ImGui::GetTextLineHeight();
  const float x0 = p0.x + label_w, x1 = p1.x - 6, axis_h = lh + 6;
  const float lane_h = std::min(48.0f, (h - axis_h - 4) / float(sim::kNumStreams));
  auto to_x = [&](double t) { return float(x0 + (t - u.view_t0) / (u.view_t1 - u.view_t0) * (x1 - x0)); };
  const ImGuiIO& io = ImGui::GetIO();
  if (hovered && io.MouseWheel != 0) {
    const double tm = u.view_t0 + (io.MousePos.x - x0) / (x1 - x0) * (u.view_t1 - u.view_t0);
    const double f = std::pow(0.8, io.MouseWheel);
    u.view_t0 = tm - (tm - u.view_t0) * f, u.view_t1 = tm + (u.view_t1 - tm) * f;
  }
  if (active && ImGui::IsMouseDragging(ImGuiMouseButton_Left, 0)) {
    const double dt = -io.MouseDelta.x / (x1 - x0) * (u.view_t1 - u.view_t0);
    u.view_t0 += dt, u.view_t1 += dt;
  }
  ImDrawList* dl = ImGui::GetWindowDrawList();
  dl->PushClipRect(p0, p1, true);
  dl->AddRectFilled(p0, p1, IM_COL32(24, 27, 33, 255), 3);
  // axis: times relative to the first node shown
  for (double v : plot::nice_ticks(u.view_t0 - t_min, u.view_t1 - t_min, std::max(2, int((x1 - x0) / 90)))) {
    const float x = to_x(v + t_min);
    dl->AddLine({x, p0.y + axis_h}, {x, p1.y}, IM_COL32(50, 54, 62, 255));
    const std::string s = plot::format_seconds(v);
    dl->AddText({x + 2, p0.y + 2}, IM_COL32(150, 154, 162, 255), s.c_str());
  }
  const TimelineItem* hit = nullptr;
  for (int st = 0; st < sim::kNumStreams; ++st) {
    const float y = p0.y + axis_h + float(st) * lane_h;
    dl->AddText({p0.x + 6, y + (lane_h - lh) / 2}, IM_COL32(220, 222, 226, 255), sim::stream_name(sim::StreamId(st)));
    dl->AddLine({x0, y + lane_h}, {x1, y + lane_h}, IM_COL32(50, 54, 62, 255));
  }
  dl->PushClipRect({x0, p0.y}, {x1, p1.y}, true);
  for (const TimelineItem* t : items) {
    const float a = to_x(t->start_s), b = std::max(to_x(t->end_s), a + 1.0f);
    if (b < x0 || a > x1) continue;
    const float y = p0.y + axis_h + float(t->stream) * lane_h + 3;
    const ImU32 col = plot::family_color(t->family);
    dl->AddRectFilled({a, y}, {b, y + lane_h - 6}, col);
    if (b - a > 3) dl->AddRect({a, y}, {b, y + lane_h - 6}, IM_COL32(15, 15, 20, 160));
    const float tw = ImGui::CalcTextSize(t->label.c_str()).x;
    if (b - a > tw + 6) dl->AddText({a + 3, y + (lane_h - 6 - lh) / 2}, IM_COL32(15, 15, 20, 255), t->label.c_str());
    if (hovered && io.MousePos.x >= a && io.MousePos.x < b && io.MousePos.y >= y && io.MousePos.y < y + lane_h - 6)
      hit = t;
  }
  dl->PopClipRect();
  dl->PopClipRect();
  if (hit)
    ImGui::SetTooltip("%s (%s, %s)\nlayer %d, micro-batch %d, stream %s\nstart %s, end %s, %s (prediction)",
                      hit->label.c_str(), hit->op.c_str(), hit->family.c_str(), hit->layer, hit->micro_batch,
                      sim::stream_name(sim::StreamId(hit->stream)), plot::format_seconds(hit->start_s - t_min).c_str(),
                      plot::format_seconds(hit->end_s - t_min).c_str(),
                      plot::format_seconds(hit->end_s - hit->start_s).c_str());
  ImGui::End();
}

}  // namespace v4lab::gui
