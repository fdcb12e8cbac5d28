// report_exec.cpp — the exec run section (report_exec.h). Every time is labelled: "measured" = this
// machine, CPU backend, the command of the run; "prediction" = the cost model on the run's hardware
// preset for the same catalogue work; "sim step busy" = the cost model's own step prediction.
#include "report/report_exec.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "report/svg.h"

namespace v4lab::report {

namespace {
using json = nlohmann::json;
double num(const json& j, const char* k) { return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN; }
std::string pct(double e) {
  if (!std::isfinite(e)) return "n/a";
  char b[32];
  std::snprintf(b, sizeof b, "%+.0f%%", 100 * e);
  return b;
}
std::string gib(double b) {
  if (!std::isfinite(b)) return "n/a";
  char s[32];
  std::snprintf(s, sizeof s, "%.3f GiB", b / (1024.0 * 1024.0 * 1024.0));
  return s;
}
std::string str(const json& j, const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : ""; }

// "Timeline": the run's phase spans, measured vs the per-op predictions laid end to end on one stream,
// from the study point's "timeline" (the same ns integers as the stored trace events).
void timeline_md_html(const json& tl, std::string& md, std::string& html) {
  if (!tl.is_object() || !tl.contains("phases") || tl["phases"].empty()) return;
  const json procs = tl.value("processes", json::array());
  const std::string pred_proc = procs.size() > 1 ? procs[1].get<std::string>() : "predicted";
  std::vector<std::string> hd = {"phase span", "steps", "kernel calls", "measured", "prediction", "error",
                                 "start (measured / prediction)"};
  std::vector<std::vector<std::string>> rows;
  StackedBarChart chart;
  chart.title = "Timeline: phase spans end to end, measured vs prediction";
  chart.axis_label = "time";
  chart.format_value = format_seconds;
  StackedBar mb{"measured (this machine)", {}, 0, ""}, pb{pred_proc, {}, 0, ""};
  for (const json& p : tl["phases"]) {
    const double ms = num(p, "measured_s"), ps = num(p, "predicted_s");
    rows.push_back({str(p, "name"), std::to_string(p.value("steps", 0)), std::to_string(p.value("calls", 0LL)),
                    format_seconds(ms), format_seconds(ps), ms > 0 ? pct((ps - ms) / ms) : "n/a",
                    format_seconds(num(p, "measured_start_s")) + " / " + format_seconds(num(p, "predicted_start_s"))});
    chart.series.push_back(str(p, "name"));
    mb.values.push_back(ms), pb.values.push_back(ps);
  }
  chart.bars = {mb, pb};
  const std::string note =
      "Timeline (trace events stored with this run: " + std::to_string(tl.value("events_measured", 0LL)) +
      " measured, " + std::to_string(tl.value("events_predicted", 0LL)) + " predicted). " + str(tl, "label") +
      ". A phase span runs from its first kernel call's start to its last call's end. Kernel calls of the prefill and "
      "the first " + std::to_string(tl.value("decode_steps_traced", 0)) + " of " +
      std::to_string(tl.value("decode_steps", 0)) + " decode steps are traced one by one (" +
      std::to_string(tl.value("calls_traced", 0LL)) + " calls, " + std::to_string(tl.value("calls_dropped", 0LL)) +
      " dropped at the call cap); later steps are one aggregated span per process. `v4lab exec --trace FILE` or "
      "`v4lab report <run> --format trace` writes the Chrome trace.";
  md += "### Timeline (measured vs prediction)\n\n" + note + "\n\n" + detail::study_md_table(hd, rows) + "\n" +
        svg_stacked_bars(chart) + "\n\n";
  html += "<h3>Timeline (measured vs prediction)</h3>\n<p>" + xml_escape(note) + "</p>\n" +
          detail::study_html_table(hd, rows) + svg_stacked_bars(chart) + "\n";
}

// "Projected at full scale on <hw>": the cost model's step prediction of the unscaled preset.
void projection_md_html(const json& pr, std::string& md, std::string& html) {
  const std::string hw = str(pr, "hardware");
  if (!pr.contains("phases")) return;
  const json& pre = pr["phases"]["prefill"];
  const json& dec = pr["phases"]["decode"];
  const double ps = num(pre, "step_s"), ds = num(dec, "step_s");
  auto share = [](double v, double step) { return step > 0 && std::isfinite(v) ? pct(v / step).substr(1) : "n/a"; };
  std::vector<std::string> hd = {"layer type", "prefill busy (prediction)", "% of prefill step",
                                 "decode step busy (prediction)", "% of decode step"};
  std::vector<std::vector<std::string>> rows;
  for (auto& [k, v] : pre["by_layer_type_s"].items()) {
    const double d = dec.contains("by_layer_type_s") ? num(dec["by_layer_type_s"], k.c_str()) : NAN;
    rows.push_back({k, format_seconds(v.get<double>()), share(v.get<double>(), ps), format_seconds(d), share(d, ds)});
  }
  rows.push_back({"step (makespan)", format_seconds(ps), "", format_seconds(ds), ""});
  const json& dep = pr.value("deployment", json::object());
  const json& mem = pr.value("memory", json::object());
  const std::string note =
      "Not measured — " + str(pr, "label") + ", cost model " + str(pr, "cost_model") + "; deployment TP " +
      std::to_string(dep.value("tp", 0)) + ", DP " + std::to_string(dep.value("dp", 0)) + ", EP " +
      std::to_string(dep.value("ep", 0)) + " (the defaults of `v4lab predict`). Prefill: batch " +
      std::to_string(pre.value("batch", 0LL)) + " x " + std::to_string(pre.value("chunk", 0LL)) +
      " tokens in one chunk; decode: one step of batch " + std::to_string(dec.value("batch", 0LL)) + " at context " +
      std::to_string(dec.value("context", 0LL)) + ". Memory per GPU (prediction) " + gib(num(mem, "total_bytes")) +
      " of " + gib(num(mem, "capacity_bytes")) + ": " + (mem.value("fits", false) ? "fits" : "does NOT fit") +
      ". Busy times are sums of node times per layer type (streams overlap, so they need not add up to the step).";
  const std::string title = "Projected at full scale on " + hw + " (prediction)";
  md += "### " + title + "\n\n" + note + "\n\n" + detail::study_md_table(hd, rows) + "\n";
  html += "<h3>" + xml_escape(title) + "</h3>\n<p>" + xml_escape(note) + "</p>\n" + detail::study_html_table(hd, rows);
}
}  // namespace

StudySection render_exec_section(const std::vector<store::StudyPoint>& points) {
  StudySection out;
  std::string md, html;
  auto both = [&](const std::string& m, const std::string& h) { md += m, html += h; };
  for (const store::StudyPoint& p : points) {
    if (p.study != "exec") continue;
    const json m = json::parse(p.metrics_json, nullptr, false);
    if (m.is_discarded() || !m.is_object()) continue;
    const std::string model = m.value("model", std::string("?"));
    both("## Exec: " + model + " (measured vs prediction)\n\n", "<h2>Exec: " + xml_escape(model) +
                                                                    " (measured vs prediction)</h2>\n");
    const std::string note = "Measured: this machine, CPU backend, `" + m.value("command", std::string()) +
                             "` (" + std::to_string(m.value("threads", 0)) + " threads). " + m.value("label", std::string()) +
                             ". Prefill " + format_seconds(num(m, "prefill_s")) + ", decode " +
                             format_seconds(num(m, "decode_s")) + " (" + format_seconds(num(m, "decode_step_s")) +
                             " per step). Decode rows are per-step medians.";
    both(note + "\n\n", "<p>" + xml_escape(note) + "</p>\n");
    for (const char* ph : {"prefill", "decode"}) {
      for (const char* by : {"by_layer_type", "by_family"}) {
        if (!m.contains(by) || !m[by].contains(ph)) continue;
        const json& t = m[by][ph];
        const bool types = std::string(by) == "by_layer_type";
        std::vector<std::string> hd = {types ? "layer type" : "op family", "ops", "measured", "prediction", "error"};
        if (types) hd.push_back("sim step busy (prediction)");
        std::vector<std::vector<std::string>> rows;
        BarChart chart;
        chart.title = std::string(ph) + ": measured vs prediction per layer type";
        chart.axis_label = "time (log scale)";
        chart.series = {"measured (this machine)", "prediction (cost model)"};
        chart.format_value = format_seconds;
        for (auto& [k, b] : t.items()) {
          std::vector<std::string> r = {k, std::to_string(b.value("ops", 0)), format_seconds(num(b, "measured_s")),
                                        format_seconds(num(b, "predicted_s")),
                                        num(b, "predicted_s") > 0 ? pct(num(b, "error")) : "n/a (no catalogue op)"};
          if (types) r.push_back(format_seconds(num(b, "sim_step_busy_s")));
          rows.push_back(r);
          if (types) chart.groups.push_back({k, {num(b, "measured_s"), num(b, "predicted_s")}});
        }
        const std::string title = std::string(ph) + " by " + (types ? "layer type" : "op family");
        both("### " + title + "\n\n", "<h3>" + xml_escape(title) + "</h3>\n");
        both(detail::study_md_table(hd, rows), detail::study_html_table(hd, rows));
        const std::string key = std::string("median_abs_error_") + (by + 3);
        if (m.contains(key) && m[key].contains(ph)) {
          const std::string e = "Median |error| over " + std::string(types ? "layer types" : "op families") + ": " +
                                pct(m[key][ph].get<double>()).substr(1) + ".";
          both("\n" + e + "\n\n", "<p>" + xml_escape(e) + "</p>\n");
        }
        if (types) both(svg_bar_chart(chart) + "\n\n", svg_bar_chart(chart) + "\n");
      }
    }
    if (m.contains("timeline")) timeline_md_html(m["timeline"], md, html);
    if (m.contains("projection") && m["projection"].is_array())
      for (const json& pr : m["projection"]) projection_md_html(pr, md, html);
    if (m.contains("memory")) {
      const json& mem = m["memory"];
      const double acc = num(mem, "accounted_bytes"), growth = num(mem, "rss_growth_bytes");
      std::vector<std::vector<std::string>> rows = {
          {"weights (accounted)", gib(num(mem, "weights_bytes"))},
          {"caches (accounted)", gib(num(mem, "cache_bytes"))},
          {"activations (accounted)", gib(num(mem, "activation_bytes"))},
          {"kernel scratch (accounted)", gib(num(mem, "scratch_bytes"))},
          {"total accounted", gib(acc)},
          {"VmRSS before (measured)", gib(num(mem, "rss_before_bytes"))},
          {"VmHWM after (measured)", gib(num(mem, "rss_peak_bytes"))},
          {"RSS growth (measured)", gib(growth)},
          {"accounted / growth", growth > 0 ? pct(acc / growth - 1) : "n/a"}};
      both("### Memory\n\n", "<h3>Memory</h3>\n");
      both(detail::study_md_table({"item", "bytes"}, rows), detail::study_html_table({"item", "bytes"}, rows));
    }
  }
  out.markdown = md, out.html = html;
  return out;
}

}  // namespace v4lab::report
