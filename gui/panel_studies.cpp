// panel_studies.cpp — Studies: the Engram/MoE U-curve (study points of a `ucurve` study run read from
// the database; a placeholder until one exists), sparse-attention cost vs top-k and mHC cost vs stream
// count (both computed by the prediction worker from the op catalogue and predict_step), each with the
// current knob marked. Plain plot::Figure data, so the studies' own APIs can feed these plots later.
#include <imgui.h>

#include <cmath>

#include "gui/panels.h"

namespace v4lab::gui {

void panel_studies(App& app) {
  if (!begin_panel(app, PanelId::Studies, "Studies",
                   ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse)) {
    ImGui::End();
    return;
  }
  auto p = app.prediction_good();
  auto r = app.runs();
  plot::Figure u;
  if (r) {
    u = r->ucurve_fig;
  } else {
    u.title = "U-curve: loss vs Engram share rho";
    u.placeholder = "reading the database...";
  }
  u.marker_x = app.config().rho;
  char lbl[32];
  std::snprintf(lbl, sizeof lbl, "rho = %.2f", app.config().rho);
  u.marker_label = lbl;
  plot::Figure t, s;
  if (p) {
    t = p->topk_fig, s = p->streams_fig;
  } else {
    t.title = "top-k", s.title = "mHC streams";
    t.placeholder = s.placeholder = "computing...";
  }
  const ImVec2 avail = ImGui::GetContentRegionAvail();
  const float gap = ImGui::GetStyle().ItemSpacing.x;
  if (avail.x > 3 * 240) {  // three side by side
    const float w = (avail.x - 2 * gap) / 3;
    plot::draw_figure("##ucurve", u, w, avail.y);
    ImGui::SameLine();
    plot::draw_figure("##topk", t, w, avail.y);
    ImGui::SameLine();
    plot::draw_figure("##streams", s, w, avail.y);
  } else {  // U-curve on top, the two cost plots below
    const float sp = ImGui::GetStyle().ItemSpacing.y;
    const float hu = std::floor((avail.y - sp) * (u.placeholder.empty() ? 0.45f : 0.22f)), w = (avail.x - gap) / 2;
    const float h = avail.y - sp - hu;
    plot::draw_figure("##ucurve", u, avail.x, hu);
    plot::draw_figure("##topk", t, w, h);
    ImGui::SameLine();
    plot::draw_figure("##streams", s, w, h);
  }
  ImGui::End();
}

}  // namespace v4lab::gui
