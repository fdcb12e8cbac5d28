// panels.h — the six panels (one file each) and the tiled layout they sit in. ImGui 1.86 has no
// docking branch, so the layout is fixed-position windows in a grid whose splitters drag (layout.cpp).
#pragma once
#include "gui/app.h"

namespace v4lab::gui {

// Computes the panel rectangles for a framebuffer of w x h pixels and draws the draggable splitters.
void layout_frame(App& app, float w, float h);
// Positions the next window at its panel rectangle; returns ImGui::Begin's result (End() always).
bool begin_panel(App& app, PanelId id, const char* title, int extra_flags = 0);

void panel_configure(App& app);
void panel_predict(App& app);
void panel_studies(App& app);
void panel_timeline(App& app);
void panel_runs(App& app);
void panel_execute(App& app);

// Small helpers shared by panels.
void help_marker(const char* text);           // "(?)" with a tooltip
void text_error(const std::string& message);  // red wrapped text (empty: nothing)
std::string fmt_bytes(double b);              // decimal GB / MB / kB
std::string fmt_secs(double s);

}  // namespace v4lab::gui
