// report_study_topk.cpp — the top-k study's report section (studies.md (b) "Outputs"): acceptance
// checks, recall vs k per family (indexer solid, oracle dashed; log x), output error vs k, attention-
// path FLOPs vs k per context (log-log), predicted step time vs k, and the tables behind them. Reads
// the run's study points only (study = "topk"); labels travel with every table.
#include <fmt/format.h>

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

std::string k_text(const nlohmann::json& p) {
  return p.value("dense", false) ? "dense" : std::to_string(p["k"].get<long long>());
}

}  // namespace

StudySection render_study_topk_section(const std::vector<store::StudyPoint>& points) {
  std::vector<Pt> quality, cost, step;
  nlohmann::json checks = nlohmann::json::array();
  std::string q_label, c_label, s_label;
  for (const store::StudyPoint& sp : points) {
    if (sp.study != "topk") continue;
    Pt p{nlohmann::json::parse(sp.point_json), nlohmann::json::parse(sp.metrics_json), sp.label};
    const std::string kind = p.point.value("kind", "");
    if (kind == "quality") quality.push_back(p), q_label = sp.label;
    else if (kind == "cost") cost.push_back(p), c_label = sp.label;
    else if (kind == "step") step.push_back(p), s_label = sp.label;
    else if (kind == "checks") checks = p.metrics.value("checks", nlohmann::json::array());
  }
  StudySection out;
  if (quality.empty() && cost.empty() && step.empty()) return out;
  using detail::study_num;
  std::string md = "## Top-k study (DSA / CSA)\n\n", html = "<h2>Top-k study (DSA / CSA)</h2>\n";
  auto both = [&](const std::string& m, const std::string& h) { md += m, html += h; };
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
      rows.push_back({c.value("arch", ""), c.value("name", ""),
                      c["passed"].is_boolean() ? (c["passed"].get<bool>() ? "passed" : "FAILED") : "skipped",
                      c.value("detail", "")});
    both("### Acceptance checks\n\n", "<h3>Acceptance checks</h3>\n");
    table({"arch", "check", "result", "detail"}, rows);
  }
  std::set<std::string> archs;
  for (auto& p : quality) archs.insert(p.point["arch"]);
  for (auto& p : cost) archs.insert(p.point["arch"]);
  for (const std::string& arch : archs) {
    // Quality: recall (indexer vs oracle) and output error vs k, one series per family.
    std::map<std::string, LineSeries> rec, orc, err;
    std::vector<std::vector<std::string>> rows;
    for (auto& p : quality) {
      if (p.point["arch"] != arch) continue;
      const std::string f = p.point["family"];
      const double k = p.point["k"].get<double>();
      auto& r = rec[f];
      r.name = f + " (indexer)";
      r.x.push_back(k), r.y.push_back(p.metrics["recall_mean"]);
      auto& o = orc[f];
      o.name = f + " (oracle)", o.dashed = true;
      o.x.push_back(k), o.y.push_back(p.metrics["oracle_recall_mean"]);
      auto& e = err[f];
      e.name = f;
      e.x.push_back(k), e.y.push_back(p.metrics["err_mean"]);
      rows.push_back({f, k_text(p.point), study_num(p.metrics["recall_mean"]), study_num(p.metrics["recall_p5"]),
                      study_num(p.metrics["oracle_recall_mean"]), study_num(p.metrics["overlap_mean"]),
                      study_num(p.metrics["random_baseline"]), study_num(p.metrics["err_mean"]),
                      study_num(p.metrics["err_p99"])});
    }
    if (!rows.empty()) {
      both("### " + arch + ": selection quality\n\n", "<h3>" + xml_escape(arch) + ": selection quality</h3>\n");
      para("Label: " + q_label + ".");
      LineChart rc{arch + ": attention-mass recall vs k", "k", "recall", true, false, {}};
      for (auto& [f, s] : rec) rc.series.push_back(s), rc.series.push_back(orc[f]);
      chart(rc);
      LineChart ec{arch + ": output error vs k (sparse vs dense, FP32)", "k", "relative error", true, true, {}};
      for (auto& [f, s] : err) ec.series.push_back(s);
      chart(ec);
      table({"family", "k", "recall", "recall p5", "oracle", "overlap", "random", "err mean", "err p99"}, rows);
    }
    // Cost: total attention-path FLOPs vs k per context, and the predicted step time.
    std::map<long long, LineSeries> fl, st;
    rows.clear();
    std::map<std::pair<long long, std::string>, const Pt*> step_at;
    for (auto& p : step)
      if (p.point["arch"] == arch) step_at[{p.point["context"].get<long long>(), k_text(p.point)}] = &p;
    for (auto& p : cost) {
      if (p.point["arch"] != arch) continue;
      const long long L = p.point["context"];
      const bool ok = p.metrics.value("ok", true);
      const auto* s = step_at.count({L, k_text(p.point)}) ? step_at[{L, k_text(p.point)}] : nullptr;
      const bool sok = s && s->metrics.value("ok", false);
      if (!p.point.value("dense", false) && ok) {
        auto& f = fl[L];
        f.name = "L = " + std::to_string(L);
        f.x.push_back(p.point["k"].get<double>()), f.y.push_back(p.metrics["total_flops"].get<double>() / 1e6);
        if (sok) {
          auto& t = st[L];
          t.name = "L = " + std::to_string(L);
          t.x.push_back(p.point["k"].get<double>()), t.y.push_back(s->metrics["step_s"].get<double>() * 1e3);
        }
      }
      auto mf = [&](const char* key) { return ok ? study_num(p.metrics[key].get<double>() / 1e6) : "n/a"; };
      rows.push_back({std::to_string(L), k_text(p.point), mf("proj_flops"), mf("scoring_flops"), mf("selection_flops"),
                      mf("attn_flops"), ok ? study_num(p.metrics["total_bytes"].get<double>() / 1e3) : "n/a",
                      sok ? study_num(s->metrics["step_s"].get<double>() * 1e3) : "n/a"});
    }
    if (!rows.empty()) {
      both("### " + arch + ": cost vs k\n\n", "<h3>" + xml_escape(arch) + ": cost vs k</h3>\n");
      para("Labels: " + c_label + "; step: " + s_label + ".");
      LineChart fc{arch + ": FLOPs per query token per layer vs k", "k", "MFLOP", true, true, {}};
      for (auto& [L, s] : fl) fc.series.push_back(s);
      chart(fc);
      if (!st.empty()) {
        LineChart sc{arch + ": predicted decode step vs k", "k", "step (ms)", true, false, {}};
        for (auto& [L, s] : st) sc.series.push_back(s);
        chart(sc);
      }
      table({"context", "k", "proj MFLOP", "scoring MFLOP", "selection MFLOP", "attention MFLOP", "bytes KB", "step ms"},
            rows);
    }
  }
  out.markdown = md, out.html = html;
  return out;
}

}  // namespace v4lab::report
