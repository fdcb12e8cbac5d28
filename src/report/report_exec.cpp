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
    if (m.contains("memory")) {
      const json& mem = m["memory"];
      const double acc = num(mem, "accounted_bytes"), growth = num(mem, "rss_growth_bytes");
      std::vector<std::vector<std::string>> rows = {
          {"weights (accounted)", gib(num(mem, "weights_bytes"))},
          {"caches (accounted)", gib(num(mem, "cache_bytes"))},
          {"activations (accounted)", gib(num(mem, "activation_bytes"))},
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
