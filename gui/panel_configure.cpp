// panel_configure.cpp — Configure: model and hardware presets, deployment (TP/EP/DP, GPUs), workload
// (phase, batch, context, chunk) and the study knobs (Engram share rho, indexer top-k, mHC streams).
// Widgets edit a copy of the Config and hand it to App::apply (the same path as --set); errors from
// the basic checks and from the prediction worker (sim::check_deployment) show under the knob.
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "gui/panels.h"
#include "sim/op_cost.h"

namespace v4lab::gui {

namespace {

bool combo(const char* label, std::string& value, const std::vector<std::string>& items) {
  bool changed = false;
  if (ImGui::BeginCombo(label, value.c_str())) {
    for (auto& it : items) {
      const bool sel = it == value;
      if (ImGui::Selectable(it.c_str(), sel)) value = it, changed = true;
      if (sel) ImGui::SetItemDefaultFocus();
    }
    ImGui::EndCombo();
  }
  return changed;
}

bool slider_i64(const char* label, int64_t& v, int64_t lo, int64_t hi, bool log) {
  return ImGui::SliderScalar(label, ImGuiDataType_S64, &v, &lo, &hi, "%lld",
                             (log ? ImGuiSliderFlags_Logarithmic : 0) | ImGuiSliderFlags_AlwaysClamp);
}

bool input_int(const char* label, int& v, int lo, int hi) {
  const bool ch = ImGui::InputInt(label, &v, 1, 8);
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  return ch;
}

void err(const App& app, const char* key) { text_error(app.error_for(key)); }

void section(const char* name) {
  ImGui::Spacing();
  ImGui::TextColored({0.55f, 0.75f, 1.0f, 1.0f}, "%s", name);
  ImGui::Separator();
}

const double kZero = 0.0, kOne = 1.0;

}  // namespace

void panel_configure(App& app) {
  if (!begin_panel(app, PanelId::Configure, "Configure")) {
    ImGui::End();
    return;
  }
  Config c = app.config();
  bool ch = false;
  auto p = app.prediction();
  if (!app.scenario_name().empty()) ImGui::TextDisabled("scenario: %s", app.scenario_name().c_str());
  ImGui::TextDisabled("all numbers are predictions (%s)", p && p->ok ? p->cost_model.c_str() : sim::kCostModelName);
  ImGui::PushItemWidth(-110);

  section("Presets");
  ch |= combo("model", c.model, app.model_ids());
  err(app, "model");
  ch |= combo("hardware", c.hw, app.hardware_ids());
  err(app, "hw");

  section("Workload");
  int phase = c.phase == "prefill";
  ImGui::TextUnformatted("phase");
  ImGui::SameLine(100);
  if (ImGui::RadioButton("decode", &phase, 0)) ch = true;
  ImGui::SameLine();
  if (ImGui::RadioButton("prefill", &phase, 1)) ch = true;
  c.phase = phase ? "prefill" : "decode";
  ch |= slider_i64("batch", c.batch, 1, 65536, true);
  help_marker("Sequences in the step over the whole deployment. Ctrl+click to type a value.");
  err(app, "batch");
  ch |= slider_i64("context", c.context, 0, 1 << 20, true);
  help_marker("Tokens already cached per sequence; also the prompt length of TTFT.");
  err(app, "context");
  if (c.phase == "prefill") {
    ch |= slider_i64("chunk", c.chunk, 1, 65536, true);
    err(app, "chunk");
  }

  section("Deployment");
  ch |= input_int("GPUs", c.gpus, 1, 4096);
  err(app, "gpus");
  ch |= input_int("TP", c.tp, 1, 1024);
  help_marker("Attention tensor parallel: shards heads (must divide the heads and o_groups).");
  err(app, "tp");
  bool dp_auto = c.dp == 0, ep_auto = c.ep == 0;
  if (ImGui::Checkbox("DP = GPUs / TP", &dp_auto)) c.dp = dp_auto ? 0 : std::max(1, c.gpus / c.tp), ch = true;
  if (!dp_auto) ch |= input_int("DP", c.dp, 1, 4096);
  err(app, "dp");
  if (ImGui::Checkbox("EP = GPUs", &ep_auto)) c.ep = ep_auto ? 0 : c.gpus, ch = true;
  if (!ep_auto) ch |= input_int("EP", c.ep, 1, 4096);
  err(app, "ep");
  ch |= ImGui::Checkbox("two-micro-batch overlap", &c.overlap);
  ch |= ImGui::Checkbox("MTP block", &c.mtp);
  if (c.mtp) {
    ch |= ImGui::SliderScalar("MTP accept", ImGuiDataType_Double, &c.mtp_accept, &kZero, &kOne, "%.2f",
                              ImGuiSliderFlags_AlwaysClamp);
    err(app, "mtp_accept");
  }
  ch |= input_int("Engram prefetch", c.prefetch, 0, 64);
  err(app, "prefetch");
  if (p && p->ok)
    ImGui::TextDisabled("resolved: TP %d x DP %d = %d GPUs, EP %d", p->res.dep.tp, p->res.dep.dp, p->res.dep.gpus,
                        p->res.dep.ep);

  section("Study knobs");
  {
    float rho = float(c.rho);
    if (ImGui::SliderFloat("Engram rho", &rho, 0.10f, 1.00f, "%.2f", ImGuiSliderFlags_AlwaysClamp))
      c.rho = std::round(double(rho) * 100) / 100, ch = true;
    help_marker(
        "Share of the sparse parameters in MoE experts (1 = pure MoE). Marks the U-curve; the step "
        "prediction does not re-split experts/Engram yet (docs/gui.md).");
    err(app, "rho");
  }
  const int64_t ptk = p ? p->preset_topk : 0;
  if (ptk > 0 || c.topk > 0) {
    bool preset = c.topk == 0;
    if (ImGui::Checkbox("preset top-k", &preset)) c.topk = preset ? 0 : ptk, ch = true;
    if (!preset)
      ch |= slider_i64("top-k", c.topk, 16, 16384, true);
    else
      ImGui::SameLine(), ImGui::TextDisabled("(%lld)", (long long)ptk);
  } else {
    ImGui::TextDisabled("top-k: this model has no indexer");
  }
  err(app, "topk");
  const int64_t phc = p ? p->preset_hc : 0;
  if (phc > 0 || c.hc > 0) {
    const char* names[] = {"preset", "1", "2", "4", "8"};
    const int vals[] = {0, 1, 2, 4, 8};
    int idx = 0;
    for (int i = 0; i < 5; ++i)
      if (vals[i] == c.hc) idx = i;
    if (ImGui::Combo("mHC streams", &idx, names, 5)) c.hc = vals[idx], ch = true;
    if (c.hc == 0) ImGui::SameLine(), ImGui::TextDisabled("(%lld)", (long long)phc);
  } else {
    ImGui::TextDisabled("mHC streams: this model has no mHC");
  }
  err(app, "hc");
  ImGui::PopItemWidth();

  section("Validation");
  auto errs = app.errors();
  if (errs.empty()) {
    if (p && p->version == app.version())
      ImGui::TextColored({0.5f, 0.85f, 0.5f, 1}, "ok: prediction %.0f ms, studies %.0f ms (worker)", p->compute_ms,
                         p->studies_ms);
    else
      ImGui::TextDisabled("computing...");
  }
  for (auto& [k, m] : errs) text_error((k.empty() || m.rfind(k + " ", 0) == 0 ? "" : k + ": ") + m);

  section("Keys");
  ImGui::TextDisabled("Ctrl+S save state   F5 refresh runs");
  ImGui::TextDisabled("Ctrl+Enter execute   Esc cancel");
  ImGui::TextDisabled("R reset timeline zoom   Ctrl+Q quit");
  if (ch) app.apply(c);
  ImGui::End();
}

}  // namespace v4lab::gui
