// report_studies.cpp — study sections of run reports (report_studies.h). The U-curve section
// (specs/studies.md (a) "Outputs"): fit parameters, inputs and residuals, loss vs rho with calibration
// points and band, cost vs rho, the SSE heat map, the per-rho table and the optimum with the cost of
// reaching it. Quality numbers are labelled "calibrated model, not a training run", costs "prediction".
// Charts are inline SVG (line charts and a heat map drawn here; xml_escape from svg.h).
#include "report/report_studies.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "report/report.h"
#include "report/report_exec.h"
#include "report/report_study_sections.h"
#include "report/svg.h"

namespace v4lab::report {

namespace {

using nlohmann::json;
constexpr const char* kQuality = "calibrated model, not a training run";

// ---- one writer interface for HTML and Markdown ----
struct Out {
  bool html = true;
  std::string s;
  std::string esc(const std::string& t) const {
    if (html) return xml_escape(t);
    std::string o;
    for (char c : t) {
      if (c == '|')
        o += "\\|";
      else if (c == '<')
        o += "&lt;";
      else if (c == '>')
        o += "&gt;";
      else if (c == '&')
        o += "&amp;";
      else if (c == '\n' || c == '\r')
        o += ' ';
      else
        o += c;
    }
    return o;
  }
  void h2(const std::string& t) { s += html ? "<h2>" + esc(t) + "</h2>\n" : "## " + esc(t) + "\n\n"; }
  void h3(const std::string& t) { s += html ? "<h3>" + esc(t) + "</h3>\n" : "### " + esc(t) + "\n\n"; }
  void p(const std::string& t) { s += html ? "<p class=\"note\">" + esc(t) + "</p>\n" : esc(t) + "\n\n"; }
  void table(const std::vector<std::string>& head, const std::vector<std::vector<std::string>>& rows) {
    if (html) {
      s += "<table>\n<tr>";
      for (auto& h : head) s += "<th>" + esc(h) + "</th>";
      s += "</tr>\n";
      for (auto& r : rows) {
        s += "<tr>";
        for (auto& c : r) s += "<td class=\"num\">" + esc(c) + "</td>";
        s += "</tr>\n";
      }
      s += "</table>\n";
    } else {
      s += "|";
      for (auto& h : head) cell(h);
      s += "\n|";
      for (size_t i = 0; i < head.size(); ++i) s += "---|";
      s += "\n";
      for (auto& r : rows) {
        s += "|";
        for (auto& c : r) cell(c);
        s += "\n";
      }
      s += "\n";
    }
  }
  void cell(const std::string& c) {  // piecewise: GCC 12 warns falsely (-Wrestrict) on " " + string
    s += ' ';
    s += esc(c);
    s += " |";
  }
  void figure(const std::string& svg) { s += html ? "<figure>\n" + svg + "</figure>\n" : svg + "\n\n"; }
};

std::string f(double v, int d) { return std::isfinite(v) ? fmt::format("{:.{}f}", v, d) : "n/a"; }
std::string g(double v) { return std::isfinite(v) ? fmt::format("{:.4g}", v) : "n/a"; }
double num(const json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : std::numeric_limits<double>::quiet_NaN();
}

// ---- inline SVG line chart (linear axes) ----
struct Line {
  std::string name, color;
  std::vector<double> x, y;
  bool markers = false;  // points only
  bool dashed = false;
};
struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Line> lines;
  std::vector<double> band_x, band_lo, band_hi;  // shaded band
  double vline = std::numeric_limits<double>::quiet_NaN();
  std::string vline_label;
};

std::vector<double> ticks(double lo, double hi) {
  const double span = hi - lo, raw = span / 5, mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5 ? mag : raw / mag < 3.5 ? 2 * mag : raw / mag < 7.5 ? 5 * mag : 10 * mag;
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-12 * span; v += step) t.push_back(v);
  return t;
}

std::string svg_lines(const LineChart& c) {
  const int W = 760, H = 340, L = 70, R = 160, T = 30, B = 45;
  double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
  auto take = [&](double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return;
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  };
  for (auto& l : c.lines)
    for (size_t i = 0; i < l.x.size() && i < l.y.size(); ++i) take(l.x[i], l.y[i]);
  for (size_t i = 0; i < c.band_x.size(); ++i) take(c.band_x[i], c.band_lo[i]), take(c.band_x[i], c.band_hi[i]);
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" font-family=\"sans-serif\" font-size=\"11\">\n",
      W, H, W, H);
  s += fmt::format("<text x=\"{}\" y=\"18\" font-size=\"13\" font-weight=\"bold\">{}</text>\n", L, xml_escape(c.title));
  if (!(x1 > x0)) x0 -= 0.5, x1 += 0.5;
  if (!(y1 > y0)) y0 -= 0.5 * std::max(1e-9, std::fabs(y0)), y1 += 0.5 * std::max(1e-9, std::fabs(y1));
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;
  auto X = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto Y = [&](double y) { return T + (y1 - y) / (y1 - y0) * (H - T - B); };
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n", L, T,
                   W - L - R, H - T - B);
  for (double t : ticks(x0, x1))
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#eee\"/><text x=\"{0:.1f}\" "
        "y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        X(t), T, H - B, H - B + 14, g(t));
  for (double t : ticks(y0, y1))
    s += fmt::format(
        "<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#eee\"/><text x=\"{3}\" "
        "y=\"{4:.1f}\" text-anchor=\"end\">{5}</text>\n",
        L, Y(t), W - R, L - 4, Y(t) + 4, g(t));
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", L + (W - L - R) / 2, H - 8,
                   xml_escape(c.x_label));
  s += fmt::format("<text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">{}</text>\n",
                   T + (H - T - B) / 2, T + (H - T - B) / 2, xml_escape(c.y_label));
  if (!c.band_x.empty()) {
    std::string pts;
    for (size_t i = 0; i < c.band_x.size(); ++i) pts += fmt::format("{:.1f},{:.1f} ", X(c.band_x[i]), Y(c.band_hi[i]));
    for (size_t i = c.band_x.size(); i-- > 0;) pts += fmt::format("{:.1f},{:.1f} ", X(c.band_x[i]), Y(c.band_lo[i]));
    s += "<polygon points=\"" + pts +
         "\" fill=\"#1f6fb4\" fill-opacity=\"0.15\" stroke=\"none\"><title>band</title></polygon>\n";
  }
  if (std::isfinite(c.vline))
    s += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#c8302c\" "
        "stroke-dasharray=\"4 3\"/><text x=\"{3:.1f}\" y=\"{4}\" fill=\"#c8302c\">{5}</text>\n",
        X(c.vline), T, H - B, X(c.vline) + 3, T + 12, xml_escape(c.vline_label));
  int ly = T + 6;
  for (auto& l : c.lines) {
    if (l.markers) {
      for (size_t i = 0; i < l.x.size(); ++i)
        s +=
            fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"><title>{} ({}, {})</title></circle>\n",
                        X(l.x[i]), Y(l.y[i]), l.color, xml_escape(l.name), g(l.x[i]), g(l.y[i]));
    } else {
      std::string pts;
      for (size_t i = 0; i < l.x.size(); ++i)
        if (std::isfinite(l.y[i])) pts += fmt::format("{:.1f},{:.1f} ", X(l.x[i]), Y(l.y[i]));
      s += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"{}/>\n", pts, l.color,
                       l.dashed ? " stroke-dasharray=\"5 3\"" : "");
    }
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
        W - R + 10, ly, l.color, W - R + 26, ly + 5, xml_escape(l.name));
    ly += 16;
  }
  s += "</svg>";
  return s;
}

// SSE heat map over (alpha, beta): colour = log10 SSE (min over X_0).
std::string svg_heat(const json& hm, const std::string& title) {
  const auto alphas = hm["alphas"].get<std::vector<double>>(), betas = hm["betas"].get<std::vector<double>>();
  const auto v = hm["log10_sse"].get<std::vector<double>>();
  if (alphas.empty() || betas.empty() || v.size() != alphas.size() * betas.size()) return "";
  const int cell = std::max(4, std::min(14, 480 / int(std::max(alphas.size(), betas.size()))));
  const int L = 60, T = 30, W = L + cell * int(betas.size()) + 150, H = T + cell * int(alphas.size()) + 40;
  double lo = *std::min_element(v.begin(), v.end()), hi = *std::max_element(v.begin(), v.end());
  if (!(hi > lo)) hi = lo + 1;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} "
      "{}\" font-family=\"sans-serif\" font-size=\"11\">\n<text x=\"{}\" y=\"18\" "
      "font-size=\"13\" font-weight=\"bold\">{}</text>\n",
      W, H, W, H, L, xml_escape(title));
  for (size_t ia = 0; ia < alphas.size(); ++ia)
    for (size_t ib = 0; ib < betas.size(); ++ib) {
      const double t = (v[ia * betas.size() + ib] - lo) / (hi - lo);  // 0 best (dark) .. 1 worst (light)
      const int c = int(30 + 215 * t);
      s += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"rgb({},{},{})\"><title>alpha {} beta "
          "{}: log10 SSE {}</title></rect>\n",
          L + int(ib) * cell, T + int(ia) * cell, cell, cell, c / 3, c / 2 + 20, 120 + c / 2, g(alphas[ia]),
          g(betas[ib]), g(v[ia * betas.size() + ib]));
    }
  const int bx = L + cell * int(betas.size());
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">beta {}..{}</text>\n",
                   L + cell * int(betas.size()) / 2, T + cell * int(alphas.size()) + 16, g(betas.front()),
                   g(betas.back()));
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">alpha {}</text><text x=\"{}\" y=\"{}\" "
      "text-anchor=\"end\">{}</text>\n",
      L - 4, T + 10, g(alphas.front()), L - 4, T + cell * int(alphas.size()), g(alphas.back()));
  s += fmt::format("<text x=\"{}\" y=\"{}\">log10 SSE: dark {} .. light {}</text>\n</svg>", bx + 8, T + 20, g(lo),
                   g(hi));
  return s;
}

// ---- U-curve ----
void ucurve_section(Out& o, const std::vector<store::StudyPoint>& pts) {
  std::map<std::string, json> fits, optima;
  std::map<std::string, std::vector<json>> rows;
  std::vector<std::string> order;
  for (auto& p : pts) {
    const json pj = json::parse(p.point_json, nullptr, false), mj = json::parse(p.metrics_json, nullptr, false);
    if (!pj.is_object() || !mj.is_object() || !pj.contains("budget")) continue;
    const std::string b = pj["budget"].is_string() ? pj["budget"].get<std::string>() : pj["budget"].dump();
    if (std::find(order.begin(), order.end(), b) == order.end()) order.push_back(b);
    const std::string kind = pj.contains("kind") && pj["kind"].is_string() ? pj["kind"].get<std::string>() : "";
    if (kind == "fit")
      fits[b] = mj;
    else if (kind == "optimum")
      optima[b] = mj;
    else
      rows[b].push_back(mj);
  }
  for (const std::string& b : order) {
    o.h2("U-curve study: budget " + b + " (loss: " + kQuality + "; costs: prediction)");
    o.p("Quality is a parametric model fitted to the calibration points (" + std::string(kQuality) +
        "). Costs are predictions of the analytic cost model on a derived model preset per rho (backbone "
        "columns of the budget file are assumptions). See docs/studies.md.");
    const json fit = fits.count(b) ? fits[b]["fit"] : json::object();
    const json geo = fits.count(b) ? fits[b]["geometry"] : json::object();
    if (!fit.empty()) {
      const json& pr = fit["params"];
      const json& band = fit["band"];
      o.h3("Fit (" + std::string(kQuality) + ")");
      o.table({"quantity", "value"},
              {{"model", fit.value("model", "")},
               {"E0, A, B (NNLS)", f(num(pr, "E0"), 5) + ", " + f(num(pr, "A"), 5) + ", " + f(num(pr, "B"), 5)},
               {"alpha, beta", f(num(pr, "alpha"), 3) + ", " + f(num(pr, "beta"), 3)},
               {"X_0 (billions)", f(num(pr, "X0_b"), 4) + " (" + fit.value("x0_source", "") + ")"},
               {"P_tot, P_act, E_base, top-k", g(num(geo, "p_tot_b")) + "B, " + g(num(geo, "p_act_b")) + "B, " +
                                                   g(num(geo, "e_base")) + ", " + g(num(geo, "top_k"))},
               {"weighted SSE (min)", g(num(fit, "sse_min"))},
               {"rho*", f(num(fit, "rho_star"), 4)},
               {"L(rho*), L(1)", f(num(fit, "loss_star"), 5) + ", " + f(num(fit, "loss_at_1"), 5)},
               {"L(rho*) - L(1)", f(num(fit, "delta_star"), 5)},
               {"U-shaped (L(0.1) > L(1), dL/drho(1) > 0)", fit.value("u_shaped", false) ? "yes" : "no"},
               {"band cells (SSE <= SSE_min + " + g(num(band, "tol")) + ")",
                g(num(band, "cells")) + " of " + g(num(band, "grid_cells"))},
               {"band rho*", f(num(band, "rho_star_lo"), 3) + " .. " + f(num(band, "rho_star_hi"), 3)},
               {"band L(rho*) - L(1)", f(num(band, "delta_lo"), 4) + " .. " + f(num(band, "delta_hi"), 4)},
               {"priors (tie-break only)", fit.contains("priors") ? fit["priors"].value("note", "") : ""}});
      if (fits[b].contains("checks")) {
        std::vector<std::vector<std::string>> ck;
        for (auto& c : fits[b]["checks"])
          ck.push_back({c.value("passed", false) ? "passed" : "FAILED", c.value("check", ""), g(num(c, "value")),
                        c.value("limit", "")});
        o.table({"check", "what", "value", "limit"}, ck);
      }
      std::vector<std::vector<std::string>> rr;
      for (auto& r : fit["residuals"])
        rr.push_back({f(num(r, "rho"), 3), f(num(r, "loss"), 4), r.value("kind", ""), g(num(r, "weight")),
                      f(num(r, "fitted"), 5), f(num(r, "residual"), 6), r.value("source", ""), r.value("where", "")});
      o.table({"rho", "loss (input)", "kind", "weight", "fitted (" + std::string(kQuality) + ")", "residual", "source",
               "file:line"},
              rr);
      LineChart lc;
      lc.title = "Loss vs rho, budget " + b + " — " + kQuality;
      lc.x_label = "rho (share of sparse parameters in routed experts; 1 = pure MoE)";
      lc.y_label = "validation loss (calibrated)";
      lc.band_x = band["rho"].get<std::vector<double>>();
      lc.band_lo = band["lo"].get<std::vector<double>>();
      lc.band_hi = band["hi"].get<std::vector<double>>();
      lc.lines.push_back({"fit (band shaded)", "#1f6fb4", lc.band_x, band["curve"].get<std::vector<double>>()});
      Line cal{"calibration points", "#c8302c", {}, {}, true};
      for (auto& r : fit["residuals"]) cal.x.push_back(num(r, "rho")), cal.y.push_back(num(r, "loss"));
      lc.lines.push_back(cal);
      lc.vline = num(fit, "rho_star");
      lc.vline_label = "rho* " + f(lc.vline, 3);
      o.figure(svg_lines(lc));
      if (fit.contains("heat_map"))
        o.figure(svg_heat(fit["heat_map"], "SSE heat map over (alpha, beta), min over X_0 — " + std::string(kQuality)));
    }
    const auto& rs = rows[b];
    const bool cost = !rs.empty() && rs[0].contains("cost");
    std::vector<std::vector<std::string>> t;
    for (auto& r : rs) {
      std::vector<std::string> row = {f(num(r, "rho"), 2),
                                      g(num(r, "experts")),
                                      f(num(r, "rho_exact"), 3),
                                      f(num(r, "p_engram_b"), 3),
                                      f(100 * num(r, "p_tot_deviation"), 3) + "%",
                                      f(num(r, "loss"), 4),
                                      f(num(r, "loss_band_lo"), 4) + " .. " + f(num(r, "loss_band_hi"), 4)};
      if (cost) {
        const json& c = r["cost"];
        row.insert(row.end(), {f(num(c, "hbm_weight_bytes") / 1e9, 2), f(num(c, "host_bytes") / 1e9, 2),
                               f(num(c, "pcie_bytes_per_token"), 0), f(100 * num(c, "hbm_hit_rate"), 1) + "%",
                               format_seconds(num(c, "decode_step_s")), format_seconds(num(c, "ttft_s")),
                               f(num(c, "usd_per_m_output_tokens"), 4)});
      }
      t.push_back(row);
    }
    if (!t.empty()) {
      o.h3("Per rho (loss: " + std::string(kQuality) + "; costs: prediction)");
      std::vector<std::string> head = {"rho", "E", "rho exact", "P_Engram (B)", "P_tot dev", "loss (calibrated)",
                                       "band"};
      if (cost)
        head.insert(head.end(),
                    {"HBM weights GB", "host GB", "PCIe B/token", "HBM hit", "decode step", "TTFT", "$/Mtok out"});
      o.table(head, t);
    }
    if (cost) {
      LineChart cc;
      cc.title = "Cost vs rho, budget " + b + " — prediction (each series / its maximum over the sweep)";
      cc.x_label = "rho";
      cc.y_label = "fraction of the series maximum";
      const std::vector<std::pair<const char*, const char*>> series = {{"hbm_weight_bytes", "HBM weight bytes"},
                                                                       {"host_bytes", "host bytes (Engram)"},
                                                                       {"pcie_bytes_per_token", "PCIe bytes/token"},
                                                                       {"decode_step_s", "decode step time"},
                                                                       {"usd_per_m_output_tokens", "$/Mtok output"}};
      const char* colors[] = {"#1f6fb4", "#e8771a", "#2a9d3a", "#c8302c", "#8a62b8"};
      for (size_t k = 0; k < series.size(); ++k) {
        Line l{series[k].second, colors[k], {}, {}};
        double mx = 0;
        for (auto& r : rs) mx = std::max(mx, num(r["cost"], series[k].first));
        for (auto& r : rs)
          l.x.push_back(num(r, "rho")), l.y.push_back(mx > 0 ? num(r["cost"], series[k].first) / mx : 0);
        cc.lines.push_back(l);
      }
      o.figure(svg_lines(cc));
    }
    if (optima.count(b)) {
      const json& op = optima[b];
      o.h3("Optimum and the cost of reaching it");
      std::vector<std::vector<std::string>> ot = {
          {"rho* (" + std::string(kQuality) + ")", f(num(op, "rho_star"), 4)},
          {"E at rho*, exact rho", g(num(op, "experts")) + ", " + f(num(op, "rho_exact"), 4)},
          {"P_Engram at rho*", f(num(op, "p_engram_b"), 3) + " B"},
          {"L(rho*) (" + std::string(kQuality) + ")", f(num(op, "loss_star"), 5)},
          {"L(rho*) - L(1)", f(num(op, "delta_star"), 5)}};
      if (op.contains("cost_vs_pure_moe")) {
        const json& d = op["cost_vs_pure_moe"];
        ot.push_back({"HBM weight bytes vs pure MoE (prediction)", f(num(d, "hbm_weight_bytes") / 1e9, 3) + " GB"});
        ot.push_back({"host bytes vs pure MoE (prediction)", f(num(d, "host_bytes") / 1e9, 3) + " GB"});
        ot.push_back({"PCIe bytes/token vs pure MoE (prediction)", f(num(d, "pcie_bytes_per_token"), 0)});
        ot.push_back({"decode step vs pure MoE (prediction)", f(num(d, "decode_step_s") * 1e6, 1) + " us"});
        ot.push_back({"$/Mtok output vs pure MoE (prediction)", f(num(d, "usd_per_m_output_tokens"), 5)});
      }
      o.table({"quantity", "value"}, ot);
    }
  }
}

struct Renderer {
  const char* study;
  std::function<void(Out&, const std::vector<store::StudyPoint>&)> render;
};

// The top-k and streams sections render both forms at once (report_study_sections.h).
void add_section(Out& o, const StudySection& sec) { o.s += o.html ? sec.html : sec.markdown; }
void topk_section(Out& o, const std::vector<store::StudyPoint>& pts) { add_section(o, render_study_topk_section(pts)); }
void exec_section(Out& o, const std::vector<store::StudyPoint>& pts) { add_section(o, render_exec_section(pts)); }
void streams_section(Out& o, const std::vector<store::StudyPoint>& pts) {
  add_section(o, render_study_streams_section(pts));
}

// One line per study with a section.
const std::vector<Renderer>& renderers() {
  static const std::vector<Renderer> r = {
      {"ucurve", ucurve_section}, {"topk", topk_section}, {"streams", streams_section}, {"exec", exec_section}};
  return r;
}

std::string render(const std::vector<store::StudyPoint>& points, bool html) {
  Out o;
  o.html = html;
  std::vector<std::string> order;
  for (auto& p : points)
    if (std::find(order.begin(), order.end(), p.study) == order.end()) order.push_back(p.study);
  for (const std::string& study : order)
    for (const Renderer& r : renderers()) {
      if (study != r.study) continue;
      std::vector<store::StudyPoint> mine;
      for (auto& p : points)
        if (p.study == study) mine.push_back(p);
      r.render(o, mine);
    }
  return o.s;
}

}  // namespace

std::string render_study_sections_html(const std::vector<store::StudyPoint>& points) { return render(points, true); }
std::string render_study_sections_md(const std::vector<store::StudyPoint>& points) { return render(points, false); }

std::vector<std::string> studies_with_sections() {
  std::vector<std::string> out;
  for (auto& r : renderers()) out.push_back(r.study);
  return out;
}

}  // namespace v4lab::report
