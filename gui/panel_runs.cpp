// panel_runs.cpp — Runs: browse the SQLite store (runs, sweeps, plans, studies, kernels...) filtered by
// kind, select up to two runs to see their rows or compare them (measurements joined on op + backend +
// params, predictions on op + hardware), and write/open a run's HTML report (`v4lab report`). All
// queries run on the db worker; this panel only reads the last RunsSnapshot.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "gui/panels.h"

namespace v4lab::gui {

namespace {

std::string verified_str(const std::optional<bool>& v) { return !v ? "-" : *v ? "pass" : "FAIL"; }

void details_one(App& app, const RunDetail& d) {
  const auto& r = d.row;
  ImGui::Text("run %lld: %s \"%s\" (%s), %s", (long long)r.id, r.info.kind.c_str(), r.info.name.c_str(),
              r.status.c_str(), r.started_at.c_str());
  ImGui::TextDisabled("host %s, commit %.12s%s, %s, backends %s", r.host.c_str(), r.git_commit.c_str(),
                      r.git_dirty ? "+dirty" : "", r.build_type.c_str(), r.info.backends.c_str());
  if (!d.measurements.empty() &&
      ImGui::BeginTable("##meas", 5, ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY,
                        {0, std::min(200.0f, 22.0f * float(d.measurements.size() + 1))})) {
    for (const char* h : {"op (measured)", "backend", "median", "GFLOP/s", "verified"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (auto& m : d.measurements) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0), ImGui::TextUnformatted(m.op.c_str());
      if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", m.params_json.c_str());
      ImGui::TableSetColumnIndex(1), ImGui::TextUnformatted(m.backend.c_str());
      ImGui::TableSetColumnIndex(2), ImGui::TextUnformatted(fmt_secs(m.median_s).c_str());
      ImGui::TableSetColumnIndex(3), ImGui::Text("%.2f", m.gflops_per_s);
      ImGui::TableSetColumnIndex(4), ImGui::TextUnformatted(verified_str(m.verified).c_str());
    }
    ImGui::EndTable();
  }
  if (!d.predictions.empty() &&
      ImGui::BeginTable("##pred", 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY,
                        {0, std::min(200.0f, 22.0f * float(d.predictions.size() + 1))})) {
    for (const char* h : {"op (prediction)", "hardware", "total", "bound"}) ImGui::TableSetupColumn(h);
    ImGui::TableHeadersRow();
    for (auto& p : d.predictions) {
      ImGui::TableNextRow();
      ImGui::TableSetColumnIndex(0), ImGui::TextUnformatted(p.op.c_str());
      ImGui::TableSetColumnIndex(1), ImGui::TextUnformatted(p.hardware.c_str());
      ImGui::TableSetColumnIndex(2), ImGui::TextUnformatted(fmt_secs(p.total_s).c_str());
      ImGui::TableSetColumnIndex(3), ImGui::TextUnformatted(p.bound.c_str());
    }
    ImGui::EndTable();
  }
  if (!d.study_points.empty())
    ImGui::TextDisabled("%zu study points (%s)", d.study_points.size(), d.study_points[0].study.c_str());
  (void)app;
}

void details_two(const RunDetail& a, const RunDetail& b) {
  ImGui::Text("compare run %lld (A) with run %lld (B)", (long long)a.row.id, (long long)b.row.id);
  struct Pair {
    double a = NAN, b = NAN;
  };
  std::map<std::string, Pair> meas, pred;
  for (auto& m : a.measurements) meas[m.op + " [" + m.backend + "] " + m.params_json].a = m.median_s;
  for (auto& m : b.measurements) meas[m.op + " [" + m.backend + "] " + m.params_json].b = m.median_s;
  for (auto& p : a.predictions) pred[p.op + " @" + p.hardware].a = p.total_s;
  for (auto& p : b.predictions) pred[p.op + " @" + p.hardware].b = p.total_s;
  for (auto [title, rows] : {std::pair{"measured median", &meas}, std::pair{"prediction", &pred}}) {
    if (rows->empty()) continue;
    if (ImGui::BeginTable(title, 4, ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY,
                          {0, std::min(220.0f, 22.0f * float(rows->size() + 1))})) {
      ImGui::TableSetupColumn(title, ImGuiTableColumnFlags_WidthStretch);
      for (const char* h : {"A", "B", "B / A"}) ImGui::TableSetupColumn(h, ImGuiTableColumnFlags_WidthFixed, 80);
      ImGui::TableHeadersRow();
      for (auto& [k, v] : *rows) {
        ImGui::TableNextRow();
        ImGui::TableSetColumnIndex(0), ImGui::TextUnformatted(k.c_str());
        ImGui::TableSetColumnIndex(1), ImGui::TextUnformatted(std::isfinite(v.a) ? fmt_secs(v.a).c_str() : "-");
        ImGui::TableSetColumnIndex(2), ImGui::TextUnformatted(std::isfinite(v.b) ? fmt_secs(v.b).c_str() : "-");
        ImGui::TableSetColumnIndex(3);
        if (std::isfinite(v.a) && std::isfinite(v.b) && v.a > 0)
          ImGui::Text("%.3f", v.b / v.a);
        else
          ImGui::TextUnformatted("-");
      }
      ImGui::EndTable();
    }
  }
}

}  // namespace

void panel_runs(App& app) {
  if (!begin_panel(app, PanelId::Runs, "Runs")) {
    ImGui::End();
    return;
  }
  UiState& u = app.ui;
  auto r = app.runs();
  std::set<std::string> kinds = {"all"};
  if (r)
    for (auto& x : r->runs) kinds.insert(x.kind);
  ImGui::SetNextItemWidth(120);
  if (ImGui::BeginCombo("kind", u.runs_kind.c_str())) {
    for (auto& k : kinds)
      if (ImGui::Selectable(k.c_str(), k == u.runs_kind)) u.runs_kind = k;
    ImGui::EndCombo();
  }
  ImGui::SameLine();
  if (ImGui::Button("refresh (F5)")) app.refresh_runs();
  ImGui::SameLine();
  ImGui::TextDisabled("%s", app.options().db_path.c_str());
  if (!r) {
    ImGui::TextDisabled("reading the database...");
    ImGui::End();
    return;
  }
  if (!r->ok) {
    text_error(r->error);
    ImGui::End();
    return;
  }
  bool sel_changed = false;
  const float table_h = std::max(80.0f, ImGui::GetContentRegionAvail().y * (u.selected_runs.empty() ? 1.0f : 0.45f));
  if (ImGui::BeginTable(
          "##runs", 8,
          ImGuiTableFlags_RowBg | ImGuiTableFlags_Borders | ImGuiTableFlags_ScrollY | ImGuiTableFlags_Resizable,
          {0, table_h})) {
    ImGui::TableSetupScrollFreeze(0, 1);
    ImGui::TableSetupColumn("", ImGuiTableColumnFlags_WidthFixed, 22);
    ImGui::TableSetupColumn("id", ImGuiTableColumnFlags_WidthFixed, 36);
    ImGui::TableSetupColumn("kind", ImGuiTableColumnFlags_WidthFixed, 60);
    ImGui::TableSetupColumn("name", ImGuiTableColumnFlags_WidthStretch);
    ImGui::TableSetupColumn("status", ImGuiTableColumnFlags_WidthFixed, 50);
    ImGui::TableSetupColumn("started (UTC)", ImGuiTableColumnFlags_WidthFixed, 130);
    ImGui::TableSetupColumn("meas", ImGuiTableColumnFlags_WidthFixed, 36);
    ImGui::TableSetupColumn("pred", ImGuiTableColumnFlags_WidthFixed, 36);
    ImGui::TableHeadersRow();
    for (auto& x : r->runs) {
      if (u.runs_kind != "all" && x.kind != u.runs_kind) continue;
      ImGui::TableNextRow();
      ImGui::PushID(int(x.id));
      ImGui::TableSetColumnIndex(0);
      auto it = std::find(u.selected_runs.begin(), u.selected_runs.end(), x.id);
      bool sel = it != u.selected_runs.end();
      if (ImGui::Checkbox("##sel", &sel)) {
        if (sel) {
          u.selected_runs.push_back(x.id);
          if (u.selected_runs.size() > 2) u.selected_runs.erase(u.selected_runs.begin());
        } else {
          u.selected_runs.erase(it);
        }
        sel_changed = true;
      }
      ImGui::TableSetColumnIndex(1), ImGui::Text("%lld", (long long)x.id);
      ImGui::TableSetColumnIndex(2), ImGui::TextUnformatted(x.kind.c_str());
      ImGui::TableSetColumnIndex(3), ImGui::TextUnformatted(x.name.c_str());
      ImGui::TableSetColumnIndex(4), ImGui::TextUnformatted(x.status.c_str());
      ImGui::TableSetColumnIndex(5), ImGui::TextUnformatted(x.started_at.c_str());
      ImGui::TableSetColumnIndex(6), ImGui::Text("%lld", (long long)x.n_measurements);
      ImGui::TableSetColumnIndex(7), ImGui::Text("%lld", (long long)x.n_predictions);
      ImGui::PopID();
    }
    ImGui::EndTable();
  }
  if (r->runs.empty()) ImGui::TextDisabled("no runs yet: `v4lab run scenarios/quickstart.toml` or the Execute panel");
  if (sel_changed) app.refresh_runs();
  if (!u.selected_runs.empty()) {
    bool first = true;
    for (int64_t id : u.selected_runs) {
      if (!first) ImGui::SameLine();
      first = false;
      ImGui::PushID(int(id));
      if (ImGui::Button(("open report " + std::to_string(id)).c_str())) app.open_report(id);
      ImGui::PopID();
    }
    const std::string msg = app.report_message();
    if (!msg.empty()) ImGui::TextDisabled("%s", msg.c_str());
    ImGui::BeginChild("##details", {0, 0}, false);
    std::vector<const RunDetail*> ds;
    for (int64_t id : u.selected_runs)
      if (auto d = r->details.find(id); d != r->details.end()) ds.push_back(&d->second);
    if (ds.size() == 1)
      details_one(app, *ds[0]);
    else if (ds.size() == 2)
      details_two(*ds[0], *ds[1]);
    else
      ImGui::TextDisabled("loading...");
    ImGui::EndChild();
  }
  ImGui::End();
}

}  // namespace v4lab::gui
