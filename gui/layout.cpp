// layout.cpp — the tiled layout: Configure on the left; Predict | Studies on top, Timeline in the middle,
// Runs | Execute at the bottom of the right-hand side. Five splitters (gaps between panels) drag with
// the mouse; their fractions are part of the saved state. Also the helpers panels share.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "gui/panels.h"
#include "gui/plot.h"

namespace v4lab::gui {

namespace {
constexpr float kGap = 6;

// A draggable splitter in the gap at [x, y, w, h]; `vertical` moves along x. Updates `frac` of `span`.
void splitter(const char* id, float x, float y, float w, float h, bool vertical, float& frac, float origin,
              float span) {
  ImGui::SetCursorScreenPos({x, y});
  ImGui::InvisibleButton(id, {std::max(1.0f, w), std::max(1.0f, h)});
  const bool active = ImGui::IsItemActive(), hovered = ImGui::IsItemHovered();
  if (hovered || active) ImGui::SetMouseCursor(vertical ? ImGuiMouseCursor_ResizeEW : ImGuiMouseCursor_ResizeNS);
  if (active && span > 1) {
    const float m = vertical ? ImGui::GetIO().MousePos.x : ImGui::GetIO().MousePos.y;
    frac = std::clamp((m - origin) / span, 0.12f, 0.88f);
  }
  if (hovered || active) ImGui::GetWindowDrawList()->AddRectFilled({x, y}, {x + w, y + h}, IM_COL32(90, 120, 170, 200));
}
}  // namespace

void layout_frame(App& app, float w, float h) {
  UiState& u = app.ui;
  ImGui::SetNextWindowPos({0, 0});
  ImGui::SetNextWindowSize({w, h});
  ImGui::PushStyleVar(ImGuiStyleVar_WindowPadding, {0, 0});
  ImGui::Begin("##root", nullptr,
               ImGuiWindowFlags_NoDecoration | ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoBringToFrontOnFocus |
                   ImGuiWindowFlags_NoNavFocus | ImGuiWindowFlags_NoBackground | ImGuiWindowFlags_NoSavedSettings);
  const float g = kGap;
  const float lw = std::floor((w - 3 * g) * u.split_left);
  const float rx = g + lw + g, rw = w - rx - g;
  const float inner_h = h - 2 * g - 2 * g;  // three rows, two gaps
  const float top_h = std::floor(inner_h * u.split_top);
  const float mid_end = std::max(top_h + 60, std::floor(inner_h * u.split_mid));
  const float mid_h = mid_end - top_h, bot_h = inner_h - mid_end;
  const float y_top = g, y_mid = g + top_h + g, y_bot = y_mid + mid_h + g;
  const float tw = std::floor((rw - g) * u.split_top_x), bw = std::floor((rw - g) * u.split_bottom_x);
  auto& P = u.panels;
  P[int(PanelId::Configure)] = {g, g, lw, h - 2 * g};
  P[int(PanelId::Predict)] = {rx, y_top, tw, top_h};
  P[int(PanelId::Studies)] = {rx + tw + g, y_top, rw - tw - g, top_h};
  P[int(PanelId::Timeline)] = {rx, y_mid, rw, mid_h};
  P[int(PanelId::Runs)] = {rx, y_bot, bw, bot_h};
  P[int(PanelId::Execute)] = {rx + bw + g, y_bot, rw - bw - g, bot_h};
  splitter("##split_left", g + lw, g, g, h - 2 * g, true, u.split_left, g, w - 3 * g);
  splitter("##split_top", rx, y_top + top_h, rw, g, false, u.split_top, g, inner_h);
  splitter("##split_mid", rx, y_mid + mid_h, rw, g, false, u.split_mid, g, inner_h);
  splitter("##split_top_x", rx + tw, y_top, g, top_h, true, u.split_top_x, rx, rw - g);
  splitter("##split_bottom_x", rx + bw, y_bot, g, bot_h, true, u.split_bottom_x, rx, rw - g);
  if (u.split_mid < u.split_top + 0.1f) u.split_mid = std::min(0.9f, u.split_top + 0.1f);
  ImGui::End();
  ImGui::PopStyleVar();
}

bool begin_panel(App& app, PanelId id, const char* title, int extra_flags) {
  const Rect& r = app.ui.panels[int(id)];
  ImGui::SetNextWindowPos({r.x, r.y});
  ImGui::SetNextWindowSize({r.w, r.h});
  return ImGui::Begin(title, nullptr,
                      ImGuiWindowFlags_NoMove | ImGuiWindowFlags_NoResize | ImGuiWindowFlags_NoCollapse |
                          ImGuiWindowFlags_NoSavedSettings | extra_flags);
}

void help_marker(const char* text) {
  ImGui::SameLine();
  ImGui::TextDisabled("(?)");
  if (ImGui::IsItemHovered()) {
    ImGui::BeginTooltip();
    ImGui::PushTextWrapPos(ImGui::GetFontSize() * 30);
    ImGui::TextUnformatted(text);
    ImGui::PopTextWrapPos();
    ImGui::EndTooltip();
  }
}

void text_error(const std::string& message) {
  if (message.empty()) return;
  ImGui::PushStyleColor(ImGuiCol_Text, IM_COL32(255, 110, 110, 255));
  ImGui::TextWrapped("%s", message.c_str());
  ImGui::PopStyleColor();
}

std::string fmt_bytes(double b) {
  char s[32];
  if (b >= 1e9)
    std::snprintf(s, sizeof s, "%.2f GB", b / 1e9);
  else if (b >= 1e6)
    std::snprintf(s, sizeof s, "%.2f MB", b / 1e6);
  else if (b >= 1e3)
    std::snprintf(s, sizeof s, "%.2f kB", b / 1e3);
  else
    std::snprintf(s, sizeof s, "%.0f B", b);
  return s;
}

std::string fmt_secs(double s) { return plot::format_seconds(s); }

}  // namespace v4lab::gui
