// panel_predict.cpp — Predict: the serving metrics of the current configuration (step, TTFT, TPOT,
// tokens/s, $/Mtok), the step-time breakdown as stacked bars per stream (segments = op family) and per
// layer type, and the HBM footprint per GPU against capacity. All numbers are predictions (cost model
// node times, list-scheduled); the same numbers `v4lab predict` prints for the same flags.
#include <imgui.h>

#include <map>

#include "gui/panels.h"
#include "sim/op_cost.h"

namespace v4lab::gui {

namespace {
std::string ms(double s) { return fmt_secs(s); }
std::string gb(double b) { return fmt_bytes(b); }

void metric(const char* name, const std::string& value, const char* help) {
  ImGui::TableNextRow();
  ImGui::TableSetColumnIndex(0);
  ImGui::TextUnformatted(name);
  if (ImGui::IsItemHovered()) ImGui::SetTooltip("%s", help);
  ImGui::TableSetColumnIndex(1);
  ImGui::TextUnformatted(value.c_str());
}

std::string num(double v, const char* f) {
  char b[48];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
}  // namespace

void panel_predict(App& app) {
  if (!begin_panel(app, PanelId::Predict, "Predict")) {
    ImGui::End();
    return;
  }
  auto cur = app.prediction();
  auto p = app.prediction_good();
  if (!p) {
    if (cur && !cur->ok)
      for (auto& [k, m] : cur->errors) text_error(m);
    else
      ImGui::TextDisabled("computing the first prediction...");
    ImGui::End();
    return;
  }
  const bool stale = !cur || cur->version != app.version() || !cur->ok;
  const auto& s = p->serving;
  const Config& c = p->cfg;
  ImGui::Text("%s on %s, %s batch %lld context %lld", c.model.c_str(), c.hw.c_str(), c.phase.c_str(),
              (long long)c.batch, (long long)c.context);
  if (stale) {
    ImGui::SameLine();
    ImGui::TextColored({1, 0.7f, 0.3f, 1},
                       cur && cur->version == app.version() ? "(last valid: fix the errors)" : "(updating)");
  }
  ImGui::TextDisabled("prediction (%s), TP %d EP %d DP %d, %d GPUs%s", p->cost_model.c_str(), p->res.dep.tp,
                      p->res.dep.ep, p->res.dep.dp, p->res.dep.gpus, p->res.dep.overlap ? ", overlap" : "");

  const float full_w = ImGui::GetContentRegionAvail().x;
  const float left_w = std::min(260.0f, full_w * 0.36f);
  ImGui::BeginChild("##metrics", {left_w, 0}, false);
  if (ImGui::BeginTable("##m", 2, ImGuiTableFlags_RowBg | ImGuiTableFlags_SizingStretchProp)) {
    metric(c.phase == "prefill" ? "prefill step" : "decode step", ms(s.step.step_s), "makespan of the scheduled step");
    metric("TTFT", ms(s.ttft_s), "prefill of one prompt of `context` tokens, chunk by chunk");
    metric("TPOT", ms(s.tpot_s), "decode step / (1 + MTP acceptance)");
    metric("decode tok/s/GPU", num(s.decode_tokens_per_s_per_gpu, "%.1f"), "batch x MTP gain / decode step / GPUs");
    metric("decode tok/s/node", num(s.decode_tokens_per_s_per_node, "%.1f"), "per GPU x GPUs per node");
    metric("prefill tok/s/GPU", num(s.prefill_tokens_per_s_per_gpu, "%.1f"), "prompt tokens / TTFT / GPUs");
    metric("$ / M input", num(s.usd_per_m_input_tokens, "%.4f"), "GPU-hour price / prefill throughput");
    metric("$ / M output", num(s.usd_per_m_output_tokens, "%.4f"), "GPU-hour price / decode throughput");
    metric("price", num(s.price_usd_per_gpu_hour, "$%.2f/GPU-h"), "--price or the hardware preset");
    metric("nodes in DAG", std::to_string(s.step.n_nodes), "op-catalogue nodes of the step");
    ImGui::EndTable();
  }
  if (!s.step.missing_ops.empty()) {
    std::string m;
    for (auto& o : s.step.missing_ops) m += (m.empty() ? "" : ", ") + o;
    ImGui::TextDisabled("not modelled: %s", m.c_str());
  }
  ImGui::EndChild();
  ImGui::SameLine();
  ImGui::BeginChild("##bars", {0, 0}, false);
  // per stream, segments = op family (busy time of that stream's nodes)
  std::map<int, std::map<std::string, double>> by_stream;
  std::map<std::string, double> fam_total;
  for (auto& t : p->timeline)
    by_stream[t.stream][t.family] += t.end_s - t.start_s, fam_total[t.family] += t.end_s - t.start_s;
  std::vector<plot::BarRow> rows;
  for (int st = 0; st < sim::kNumStreams; ++st) {
    plot::BarRow r{sim::stream_name(sim::StreamId(st)), {}};
    for (auto& [f, v] : by_stream[st]) r.segments.push_back({f, v, plot::family_color(f)});
    rows.push_back(r);
  }
  ImGui::TextUnformatted("step time by stream and op family (busy, prediction)");
  plot::draw_stacked_bars("streams", rows, 0, 0, s.step.step_s, "step " + ms(s.step.step_s), "s", &ms);
  std::vector<std::pair<std::string, uint32_t>> legend;
  for (auto& [f, v] : fam_total) legend.push_back({f, plot::family_color(f)});
  plot::draw_legend(legend);

  ImGui::Spacing();
  ImGui::TextUnformatted("busy time by layer type (prediction)");
  plot::BarRow lt{"layer types", {}};
  int i = 0;
  for (auto& [k, v] : s.step.by_layer_type_s) lt.segments.push_back({k, v, plot::palette(i++)});
  plot::draw_stacked_bars("layer_types", {lt}, 0, 0, 0, "", "s", &ms);

  ImGui::Spacing();
  const auto& m = s.memory;
  ImGui::TextUnformatted("HBM per GPU vs capacity (prediction)");
  plot::BarRow mem{"HBM / GPU",
                   {{"weights", m.weights_bytes, plot::palette(0)},
                    {"KV", m.kv_bytes, plot::palette(1)},
                    {"activations", m.activation_bytes, plot::palette(2)},
                    {"Engram cache", m.engram_hot_bytes, plot::palette(4)}}};
  plot::draw_stacked_bars("memory", {mem}, 0, std::max(m.total_bytes, m.capacity_bytes) * 1.05, m.capacity_bytes,
                          "capacity " + gb(m.capacity_bytes), "B", &gb);
  if (m.fits)
    ImGui::TextColored({0.5f, 0.85f, 0.5f, 1}, "fits: %s free; max batch at this context %lld",
                       gb(m.headroom_bytes).c_str(), (long long)m.max_batch);
  else
    ImGui::TextColored({1, 0.45f, 0.45f, 1}, "does NOT fit: short by %s; max batch %lld", gb(m.shortfall_bytes).c_str(),
                       (long long)m.max_batch);
  if (m.host_bytes > 0) ImGui::TextDisabled("host RAM: Engram tables %s", gb(m.host_bytes).c_str());
  ImGui::EndChild();
  ImGui::End();
}

}  // namespace v4lab::gui
