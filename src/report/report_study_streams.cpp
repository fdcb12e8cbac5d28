// report_study_streams.cpp — the mHC streams study's report section (studies.md (c) "Outputs"):
// acceptance checks, composite backward gain vs depth (log y) per n for mHC (paper and V4 conventions at
// the largest t_max), unconstrained HC and plain residual, single-layer Sinkhorn error vs t_max, bytes
// vs n per C, and the cost / step / gain / kernel-time tables. Reads study points only (study = "streams").
#include <fmt/format.h>

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "report/report_study_sections.h"
#include "report/svg.h"

namespace v4lab::report {

namespace {
struct Pt {
  nlohmann::json point, metrics;
  std::string label;
};
}  // namespace

StudySection render_study_streams_section(const std::vector<store::StudyPoint>& points) {
  std::vector<Pt> cost, step, gain, sk, times;
  nlohmann::json checks = nlohmann::json::array();
  std::map<std::string, std::string> labels;
  for (const store::StudyPoint& sp : points) {
    if (sp.study != "streams") continue;
    Pt p{nlohmann::json::parse(sp.point_json), nlohmann::json::parse(sp.metrics_json), sp.label};
    const std::string kind = p.point.value("kind", "");
    labels[kind] = sp.label;
    if (kind == "cost") cost.push_back(p);
    else if (kind == "step") step.push_back(p);
    else if (kind == "gain") gain.push_back(p);
    else if (kind == "sinkhorn") sk.push_back(p);
    else if (kind == "kernel_time") times.push_back(p);
    else if (kind == "checks") checks = p.metrics.value("checks", nlohmann::json::array());
  }
  StudySection out;
  if (cost.empty() && gain.empty() && step.empty()) return out;
  using detail::study_num;
  std::string md = "## mHC streams study (n = 1, 2, 4, 8)\n\n", html = "<h2>mHC streams study (n = 1, 2, 4, 8)</h2>\n";
  auto both = [&](const std::string& m, const std::string& h) { md += m, html += h; };
  auto head = [&](const std::string& t) { both("### " + t + "\n\n", "<h3>" + xml_escape(t) + "</h3>\n"); };
  auto para = [&](const std::string& t) { both(t + "\n\n", "<p>" + xml_escape(t) + "</p>\n"); };
  auto table = [&](const std::vector<std::string>& hd, const std::vector<std::vector<std::string>>& rows) {
    both(detail::study_md_table(hd, rows), detail::study_html_table(hd, rows));
  };
  auto chart = [&](const LineChart& c) {
    const std::string svg = svg_line_chart(c);
    both(svg + "\n", "<figure>\n" + svg + "</figure>\n");
  };
  if (!checks.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (auto& c : checks)
      rows.push_back({c.value("name", ""),
                      c["passed"].is_boolean() ? (c["passed"].get<bool>() ? "passed" : "FAILED") : "skipped",
                      c.value("detail", "")});
    head("Acceptance checks");
    table({"check", "result", "detail"}, rows);
  }
  if (!gain.empty()) {
    head("Composite gain vs depth");
    para("Label: " + labels["gain"] + ".");
    int tmax = 0;
    for (auto& g : gain) tmax = std::max(tmax, g.point.value("t_max", 0));
    std::set<int> ns;
    for (auto& g : gain) ns.insert(g.point["n"].get<int>());
    std::vector<std::vector<std::string>> rows;
    for (int n : ns) {
      LineChart c{"backward gain (max abs column sum of H_L...H_1, mean over tokens), n = " + std::to_string(n), "depth",
                  "gain", false, true, {}};
      for (auto& g : gain) {
        if (g.point["n"] != n) continue;
        const std::string method = g.point["method"], conv = g.point.value("convention", "");
        const int t = g.point.value("t_max", 0);
        rows.push_back({std::to_string(n), method, conv, method == "mhc" ? std::to_string(t) : "",
                        study_num(g.metrics["final_fwd_mean"]), study_num(g.metrics["final_bwd_mean"]),
                        study_num(g.metrics["bwd_max"].back().get<double>())});
        if (method == "mhc" && t != tmax) continue;
        LineSeries s;
        s.name = method == "mhc" ? "mHC " + conv + " t_max " + std::to_string(t) : method == "hc" ? "HC" : "plain";
        s.dashed = conv == "v4" || method == "plain";
        const auto& y = g.metrics["bwd_mean"];
        for (size_t l = 0; l < y.size(); ++l) s.x.push_back(double(l + 1)), s.y.push_back(y[l].get<double>());
        c.series.push_back(s);
      }
      chart(c);
    }
    table({"n", "method", "convention", "t_max", "fwd (mean)", "bwd (mean)", "bwd (max over tokens)"}, rows);
  }
  if (!sk.empty()) {
    head("Single-layer Sinkhorn error vs t_max");
    LineChart c{"max |row sum - 1| of H_res (paper orientation) vs t_max", "t_max", "row error", true, true, {}};
    std::map<std::string, LineSeries> ser;
    std::vector<std::vector<std::string>> rows;
    for (auto& p : sk) {
      const std::string key = "n = " + std::to_string(p.point["n"].get<int>()) + " " + p.point["convention"].get<std::string>();
      auto& s = ser[key];
      s.name = key, s.dashed = p.point["convention"] == "v4";
      s.x.push_back(p.point["t_max"].get<double>()), s.y.push_back(p.metrics["row_err"].get<double>());
      rows.push_back({std::to_string(p.point["n"].get<int>()), p.point["convention"], std::to_string(p.point["t_max"].get<int>()),
                      study_num(p.metrics["row_err"]), study_num(p.metrics["col_err"]), study_num(p.metrics["min_entry"])});
    }
    for (auto& [k, s] : ser) c.series.push_back(s);
    chart(c);
    table({"n", "convention", "t_max", "row error", "column error", "min entry"}, rows);
  }
  if (!cost.empty()) {
    head("Cost vs n (per token per residual sublayer)");
    para("Label: " + labels["cost"] + ".");
    LineChart c{"bytes per token per site vs n", "n", "KB", true, false, {}};
    std::map<long long, std::array<LineSeries, 3>> ser;
    std::vector<std::vector<std::string>> rows;
    for (auto& p : cost) {
      const long long C = p.point["d_model"];
      auto& s = ser[C];
      const double n = p.point["n"].get<double>();
      const char* names[3] = {"fused", "unfused", "plain"};
      const char* keys[3] = {"bytes_fused", "bytes_unfused", "bytes_plain"};
      for (int i = 0; i < 3; ++i) {
        s[size_t(i)].name = std::string(names[i]) + " C = " + std::to_string(C);
        s[size_t(i)].dashed = i == 2;
        s[size_t(i)].x.push_back(n), s[size_t(i)].y.push_back(p.metrics[keys[i]].get<double>() / 1e3);
      }
      const auto& m = p.metrics;
      rows.push_back({std::to_string(p.point["n"].get<int>()), std::to_string(C), study_num(m["bytes_fused"].get<double>() / 1e3),
                      study_num(m["bytes_unfused"].get<double>() / 1e3), study_num(m["bytes_plain"].get<double>() / 1e3),
                      study_num(m["flops_total"].get<double>() / 1e6), study_num(m["flops_sinkhorn"]),
                      study_num(m["param_bytes_per_site"].get<double>() / 1e6),
                      study_num(m["residual_bytes_per_token"].get<double>() / 1024)});
    }
    for (auto& [C, s] : ser)
      for (auto& x : s) c.series.push_back(x);
    chart(c);
    table({"n", "C", "fused KB", "unfused KB", "plain KB", "MFLOP", "Sinkhorn FLOP", "params MB/site", "residual KiB/token"},
          rows);
  }
  if (!step.empty()) {
    head("Step-time overhead vs n");
    para("Label: " + labels["step"] + ".");
    std::vector<std::vector<std::string>> rows;
    for (auto& p : step)
      rows.push_back({p.point["n"].get<int>() == 0 ? "plain" : std::to_string(p.point["n"].get<int>()),
                      study_num(p.metrics["step_s"].get<double>() * 1e3), study_num(p.metrics["mhc_s"].get<double>() * 1e3),
                      study_num(100 * p.metrics["overhead"].get<double>()) + "%"});
    table({"n", "step ms", "mHC busy ms", "overhead vs plain"}, rows);
  }
  if (!times.empty()) {
    head("Measured kernel times");
    para("Label: " + labels["kernel_time"] + ".");
    std::vector<std::vector<std::string>> rows;
    for (auto& p : times)
      rows.push_back({std::to_string(p.point["n"].get<int>()), std::to_string(p.point["d_model"].get<long long>()),
                      std::to_string(p.point["tokens"].get<long long>()), p.point.value("backend", ""),
                      study_num(p.metrics["mhc_pre_s"].get<double>() * 1e6), study_num(p.metrics["mhc_post_s"].get<double>() * 1e6)});
    table({"n", "C", "tokens", "backend", "mhc_pre µs", "mhc_post µs"}, rows);
  }
  out.markdown = md, out.html = html;
  return out;
}

}  // namespace v4lab::report
