// panel_execute.cpp — Execute: run chosen kernels on this machine's backends on the exec worker (each
// one through `v4lab kernel --save`, so it is stored exactly like the CLI stores it), with a progress
// bar and cancel (takes effect between kernels), and measured vs predicted as the results arrive.
#include <imgui.h>

#include <algorithm>
#include <cmath>

#include <unistd.h>

#include "gui/panels.h"

namespace v4lab::gui {

namespace {
std::string params_text(const ExecCase& k) {
  std::string s;
  for (auto& [key, v] : k.params) {
    char b[64];
    std::snprintf(b, sizeof b, "%s%s=%g", s.empty() ? "" : " ", key.c_str(), v);
    s += b;
  }
  return s.empty() ? "model preset + op defaults" : s;
}
}  // namespace

void panel_execute(App& app) {
  if (!begin_panel(app, PanelId::Execute, "Execute")) {
    ImGui::End();
    return;
  }
  Config c = app.config();
  bool ch = false;
  auto& cases = app.exec_cases();
  const bool running = app.exec_running();
  const float list_w = std::min(230.0f, ImGui::GetContentRegionAvail().x * 0.34f);

  ImGui::BeginChild("##cases", {list_w, 0}, true);
  ImGui::TextDisabled("%s kernels", app.scenario_name().empty() ? "catalogue" : "scenario");
  if (ImGui::SmallButton("all"))
    for (auto& k : cases) k.selected = true;
  ImGui::SameLine();
  if (ImGui::SmallButton("none"))
    for (auto& k : cases) k.selected = false;
  for (size_t i = 0; i < cases.size(); ++i) {
    ImGui::PushID(int(i));
    ImGui::Checkbox(cases[i].op.c_str(), &cases[i].selected);
    if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", params_text(cases[i]).c_str());
    ImGui::PopID();
  }
  ImGui::EndChild();
  ImGui::SameLine();

  ImGui::BeginChild("##exec", {0, 0}, false, ImGuiWindowFlags_NoScrollbar | ImGuiWindowFlags_NoScrollWithMouse);
  ImGui::PushItemWidth(std::max(70.0f, ImGui::GetContentRegionAvail().x * 0.5f - 90));
  if (ImGui::BeginCombo("backend", c.exec_backend.c_str())) {
    for (const char* b : {"ref", "cpu", "cuda"}) {
      std::string why;
      const bool ok = app.exec_available(b, &why);
      if (ImGui::Selectable(ok ? b : (std::string(b) + " (unavailable)").c_str(), c.exec_backend == b,
                            ok ? 0 : ImGuiSelectableFlags_Disabled))
        c.exec_backend = b, ch = true;
      if (!ok && ImGui::IsItemHovered()) ImGui::SetTooltip("%s", why.c_str());
    }
    ImGui::EndCombo();
  }
  if (ImGui::BeginCombo("predict on", c.exec_predict.c_str())) {
    for (auto& h : app.hardware_ids())
      if (ImGui::Selectable(h.c_str(), h == c.exec_predict)) c.exec_predict = h, ch = true;
    ImGui::EndCombo();
  }
  float mt = float(c.exec_min_time);
  if (ImGui::SliderFloat("min time s", &mt, 0.01f, 2.0f, "%.2f", ImGuiSliderFlags_Logarithmic))
    c.exec_min_time = double(mt), ch = true;
  ImGui::SameLine();
  ch |= ImGui::Checkbox("verify", &c.exec_verify);
  ImGui::PopItemWidth();
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s", c.exec_sets.c_str());
  ImGui::SetNextItemWidth(-1);
  if (ImGui::InputTextWithHint("##sets", "extra shape overrides, e.g. n_tokens=64", buf, sizeof buf))
    c.exec_sets = buf, ch = true;

  std::vector<ExecCase> chosen;
  for (auto& k : cases)
    if (k.selected) chosen.push_back(k);
  const bool start_key = ImGui::GetIO().KeyCtrl && ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Enter));
  if (!running) {
    if ((ImGui::Button("execute (Ctrl+Enter)") || start_key) && !chosen.empty()) app.start_execution(chosen);
    if (chosen.empty()) ImGui::SameLine(), ImGui::TextDisabled("select kernels on the left");
  } else {
    if (ImGui::Button("cancel (Esc)") || ImGui::IsKeyPressed(ImGui::GetKeyIndex(ImGuiKey_Escape)))
      app.cancel_execution();
  }
  const int total = app.exec_total(), done = app.exec_done();
  char ov[160];
  const std::string cur = app.exec_current();
  std::snprintf(ov, sizeof ov, "%d / %d%s%s", done, total, cur.empty() ? "" : "  running ", cur.c_str());
  ImGui::ProgressBar(total > 0 ? float(done) / float(total) : 0.0f, {-1, 0}, ov);
  static const std::string host = [] {
    char h[256] = {};
    return gethostname(h, sizeof h - 1) == 0 ? std::string(h) : std::string("this machine");
  }();
  ImGui::PushStyleColor(ImGuiCol_Text, ImGui::GetStyle().Colors[ImGuiCol_TextDisabled]);
  ImGui::TextWrapped("measured on %s by `v4lab kernel OP -b %s --min-time %.2f --save`", host.c_str(),
                     c.exec_backend.c_str(), c.exec_min_time);
  ImGui::PopStyleColor();

  const auto res = app.exec_results();
  const float row_h = ImGui::GetTextLineHeightWithSpacing() + 2;
  const float table_h =
      std::max(2.5f * row_h, std::min(ImGui::GetContentRegionAvail().y * 0.4f, row_h * float(res.size() + 1) + 4));
  if (ImGui::BeginTable("##res", 6, ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY,
                        {0, table_h})) {
    ImGui::TableSetupScrollFreeze(0, 1);
    for (const char* h : {"op", "measured", "prediction", "meas/pred", "verify", "run"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (auto& r : res) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0);
      ImGui::Text("%s [%s]", r.op.c_str(), r.backend.c_str());
      if (ImGui::IsItemHovered())
        ImGui::SetTooltip("%s%s%s", r.params.c_str(), r.error.empty() ? "" : "\n", r.error.c_str());
      ImGui::TableSetColumnIndex(1);
      if (r.measured_s > 0)
        ImGui::TextUnformatted(fmt_secs(r.measured_s).c_str());
      else
        ImGui::TextColored({1, 0.45f, 0.45f, 1}, "%s", r.error.empty() ? "-" : "error");
      ImGui::TableSetColumnIndex(2);
      if (r.predicted_s > 0) ImGui::Text("%s (%s)", fmt_secs(r.predicted_s).c_str(), r.hw.c_str());
      ImGui::TableSetColumnIndex(3);
      if (r.measured_s > 0 && r.predicted_s > 0) ImGui::Text("%.2f", r.measured_s / r.predicted_s);
      ImGui::TableSetColumnIndex(4);
      ImGui::TextUnformatted(r.verified < 0 ? "-" : r.verified ? "pass" : "FAIL");
      ImGui::TableSetColumnIndex(5);
      if (r.run_id > 0) ImGui::Text("%lld", (long long)r.run_id);
    }
    ImGui::EndTable();
  }
  std::vector<std::string> labels;
  std::vector<double> a, b;
  for (auto& r : res)
    if (r.measured_s > 0) labels.push_back(r.op), a.push_back(r.measured_s), b.push_back(r.predicted_s);
  plot::draw_dot_compare("##mvp", labels, a, b, "measured (this machine)", "prediction (" + c.exec_predict + ")", 0,
                         ImGui::GetContentRegionAvail().y - ImGui::GetStyle().ItemSpacing.y);
  ImGui::EndChild();
  if (ch) app.apply(c);
  ImGui::End();
}

}  // namespace v4lab::gui
