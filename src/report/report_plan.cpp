// report_plan.cpp — the capacity-plan part of a run report (docs/planning.md, docs/reports.md "Plan
// runs"): the target (throughput, TTFT/TPOT SLOs, context, objective), the winner (GPUs, instance,
// TP/EP/DP, batch, replicas, cost per M tokens, TTFT, TPOT, HBM per GPU), the Pareto set as a table and
// a scatter chart (objective vs decode tokens/s per GPU; Pareto points connected, infeasible ones grey),
// the closest miss with its reasons when nothing is feasible, and the memory footprint of the winner
// (or of the closest miss). Read from the plan run's study points (study "plan"): every number is a
// cost-model prediction. The closest miss is re-selected by the planner's documented rule (smallest
// `miss`, step-model-timed candidates first, ties to the first candidate); nothing is re-predicted.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "report/detail/report_kinds.h"
#include "report/report.h"
#include "store/export.h"

namespace v4lab::report::detail {

using nlohmann::json;

namespace {

constexpr size_t kMaxScatterPoints = 2500;  // per series in the chart (evenly thinned); tables/CSV/JSON have all
constexpr size_t kMaxParetoRows = 200;      // HTML/Markdown table

struct Cand {
  int index = 0;  // position among the run's plan study points (= `v4lab plan --json` index)
  json point, metrics;
};

double num(const json& j, const char* k) {
  return j.is_object() && j.contains(k) && j[k].is_number() ? j[k].get<double>() : store::kUnknown;
}
bool flag(const json& j, const char* k) { return j.is_object() && j.contains(k) && j[k].is_boolean() && j[k].get<bool>(); }

struct PlanData {
  json config;
  std::vector<Cand> cands;
  std::vector<int> pareto;  // positions in cands, objective then effective TPOT then -tok/s/GPU
  int winner = -1, closest_miss = -1;
  bool cost_objective = false;
  std::map<std::string, int64_t> violation_counts;
  int64_t n_timed = 0, n_feasible = 0, n_pruned = 0;
  double best_tpot_s = store::kUnknown, best_ttft_s = store::kUnknown;
};

PlanData load(const ReportData& d) {
  PlanData p;
  p.config = json::parse(d.run.info.config_json, nullptr, false);
  if (!p.config.is_object()) p.config = json::object();
  p.cost_objective = p.config.value("objective", std::string("gpus")) == "cost";
  for (const store::StudyPoint& sp : d.study_points) {
    if (sp.study != "plan") continue;
    Cand c;
    c.index = static_cast<int>(p.cands.size());
    c.point = json::parse(sp.point_json, nullptr, false);
    c.metrics = json::parse(sp.metrics_json, nullptr, false);
    p.cands.push_back(std::move(c));
  }
  for (size_t i = 0; i < p.cands.size(); ++i) {
    const json& m = p.cands[i].metrics;
    if (flag(m, "winner") && p.winner < 0) p.winner = static_cast<int>(i);
    if (flag(m, "pareto")) p.pareto.push_back(static_cast<int>(i));
    if (flag(m, "feasible")) ++p.n_feasible;
    const bool timed = flag(m, "timed");
    if (timed) {
      ++p.n_timed;
      const double tpot = num(m, "tpot_s"), ttft = num(m, "ttft_s");
      if (std::isfinite(tpot) && !(tpot >= p.best_tpot_s)) p.best_tpot_s = tpot;
      if (std::isfinite(ttft) && !(ttft >= p.best_ttft_s)) p.best_ttft_s = ttft;
    } else if (!flag(m, "fits")) {
      ++p.n_pruned;
    }
    if (m.is_object() && m.contains("violations") && m["violations"].is_array())
      for (const json& v : m["violations"])
        if (v.is_string()) ++p.violation_counts[v.get<std::string>()];
  }
  // The planner's order (sim/planner.cpp `better`): objective, the other cost axis, effective TPOT,
  // tokens/s per GPU (higher first), candidate index.
  const char* obj = p.cost_objective ? "usd_per_hour" : "total_gpus";
  const char* other = p.cost_objective ? "total_gpus" : "usd_per_hour";
  std::sort(p.pareto.begin(), p.pareto.end(), [&](int a, int b) {
    const json &ma = p.cands[a].metrics, &mb = p.cands[b].metrics;
    for (const char* k : {obj, other, "effective_tpot_s"})
      if (num(ma, k) != num(mb, k)) return num(ma, k) < num(mb, k);
    if (num(ma, "decode_tokens_per_s_per_gpu") != num(mb, "decode_tokens_per_s_per_gpu"))
      return num(ma, "decode_tokens_per_s_per_gpu") > num(mb, "decode_tokens_per_s_per_gpu");
    return a < b;
  });
  if (p.winner < 0)  // docs/planning.md §2 "Closest miss": timed candidates first, then all
    for (int pass = 0; pass < 2 && p.closest_miss < 0; ++pass)
      for (size_t i = 0; i < p.cands.size(); ++i) {
        const json& m = p.cands[i].metrics;
        if (flag(m, "feasible") || (pass == 0 && !flag(m, "timed")) || !std::isfinite(num(m, "miss"))) continue;
        if (p.closest_miss < 0 || num(m, "miss") < num(p.cands[p.closest_miss].metrics, "miss"))
          p.closest_miss = static_cast<int>(i);
      }
  return p;
}

std::string ms(double s) { return std::isfinite(s) ? fmt::format("{:.2f} ms", s * 1e3) : "n/a"; }
std::string usd(double v) { return std::isfinite(v) ? fmt::format("${:.2f}", v) : "n/a"; }

std::string describe(const Cand& c) {
  const json& p = c.point;
  return fmt::format("{} TP{} EP{} DP{} ({} GPUs/instance{}{}), batch {} ({}/rank)", json_text(p.value("hw", json())),
                     json_text(p.value("tp", json())), json_text(p.value("ep", json())),
                     json_text(p.value("dp", json())), json_text(p.value("gpus", json())),
                     flag(p, "overlap") ? ", overlap" : "",
                     num(p, "mtp_accept") > 0 ? ", MTP accept " + num_text(num(p, "mtp_accept")) : "",
                     json_text(p.value("batch", json())), json_text(p.value("batch_per_rank", json())));
}

// ---- target ----

Section target_section(const PlanData& p) {
  Section s{"plan", "Capacity plan", {}, {}, {}};
  const json& c = p.config;
  s.notes.push_back("Every number in this part is a cost-model prediction (" +
                    json_text(c.value("cost_model", json("cost model"))) +
                    " node times, list-scheduled step DAGs, the memory model), not a measurement.");
  Table t;
  t.header = {"target", "value"};
  t.rows.push_back({text_cell("model"), text_cell(json_text(c.value("model", json())))});
  t.rows.push_back({text_cell("hardware"), text_cell(json_text(c.value("hw", json())))});
  auto n = [&](const std::string& label, const char* key, const std::string& text) {
    t.rows.push_back({text_cell(label), num_cell(text, num(c, key))});
    t.row_keys.push_back(std::string("target.") + key);
  };
  t.row_keys = {"target.model", "target.hw"};
  n("context (prompt tokens; cached at decode)", "context", json_text(c.value("context", json())));
  n("prefill chunk", "chunk", json_text(c.value("chunk", json())));
  n("prefix (KV) cache hit rate", "kv_hit_rate", num_text(num(c, "kv_hit_rate")));
  n("target output tokens/s (service)", "target_output_tokens_per_s", num_text(num(c, "target_output_tokens_per_s")));
  n("target input tokens/s (service)", "target_input_tokens_per_s", num_text(num(c, "target_input_tokens_per_s")));
  const double tpot = num(c, "tpot_slo_s"), ttft = num(c, "ttft_slo_s");
  n("TPOT SLO", "tpot_slo_s", tpot > 0 ? ms(tpot) : "none");
  n("TTFT SLO", "ttft_slo_s", ttft > 0 ? ms(ttft) : "none");
  n("max GPUs", "max_gpus", json_text(c.value("max_gpus", json())));
  t.rows.push_back({text_cell("objective"), text_cell(p.cost_objective ? "cost (lowest USD/hour)" : "gpus (fewest total GPUs)")});
  t.row_keys.push_back("target.objective");
  t.rows.push_back({text_cell("price, USD per GPU-hour"), text_cell(json_text(c.value("price_usd_per_gpu_hour", json())) +
                                                                    " (negative: the preset's price)")});
  t.row_keys.push_back("target.price_usd_per_gpu_hour");
  s.tables.push_back(std::move(t));

  Table r;
  r.header = {"search", "candidates"};
  auto cnt = [&](const std::string& label, const std::string& key, int64_t v) {
    r.rows.push_back({text_cell(label), num_cell(std::to_string(v), static_cast<double>(v))});
    r.row_keys.push_back("search." + key);
  };
  cnt("candidates evaluated", "n_candidates", static_cast<int64_t>(p.cands.size()));
  cnt("timed by the step model", "n_timed", p.n_timed);
  cnt("settled by the memory model (HBM short, not timed)", "n_pruned_by_memory", p.n_pruned);
  cnt("feasible", "n_feasible", p.n_feasible);
  cnt("in the Pareto set", "n_pareto", static_cast<int64_t>(p.pareto.size()));
  for (const auto& [k, v] : p.violation_counts) cnt("violating " + k, "violations." + k, v);
  r.rows.push_back({text_cell("best predicted TPOT over the timed candidates"), num_cell(ms(p.best_tpot_s), p.best_tpot_s)});
  r.row_keys.push_back("search.best_tpot_s");
  r.rows.push_back({text_cell("best predicted TTFT over the timed candidates"), num_cell(ms(p.best_ttft_s), p.best_ttft_s)});
  r.row_keys.push_back("search.best_ttft_s");
  s.tables.push_back(std::move(r));
  return s;
}

// ---- one candidate (winner or closest miss) ----

Section candidate_section(const PlanData& p, int i, bool winner) {
  const Cand& c = p.cands[static_cast<size_t>(i)];
  const json &pt = c.point, &m = c.metrics;
  Section s{winner ? "plan-winner" : "plan-closest-miss",
            winner ? "Winner (prediction)" : "No feasible deployment: closest miss (prediction)", {}, {}, {}};
  const double gpus = num(m, "total_gpus");
  if (winner) {
    s.notes.push_back(fmt::format("{} x {} = {} GPUs, {}/h: the feasible candidate with the {} (candidate {}).",
                                  json_text(m.value("replicas", json())), describe(c), num_text(gpus),
                                  usd(num(m, "usd_per_hour")),
                                  p.cost_objective ? "lowest cost per hour" : "fewest GPUs", c.index));
  } else {
    s.notes.push_back("Nothing meets the target. The closest miss is the candidate whose largest relative "
                      "violation (value / limit - 1) is the smallest, among those the step model timed (candidate " +
                      std::to_string(c.index) + ": " + describe(c) + ").");
    const std::string reason = m.is_object() ? m.value("reason", std::string()) : std::string();
    size_t at = 0;
    while (at < reason.size()) {  // one note per reason ("; "-joined by the planner)
      const size_t end = reason.find("; ", at);
      s.notes.push_back("Reason: " + reason.substr(at, end == std::string::npos ? std::string::npos : end - at) + ".");
      if (end == std::string::npos) break;
      at = end + 2;
    }
  }
  Table t;
  t.header = {"field", "value"};
  const std::string pre = winner ? "winner." : "miss.";  // row keys: winner.<point or metric key>
  auto text = [&](const std::string& label, const std::string& key, const std::string& v) {
    t.rows.push_back({text_cell(label), text_cell(v)});
    t.row_keys.push_back(pre + key);
  };
  auto nval = [&](const std::string& label, const std::string& key, const json& src, const std::string& v) {
    t.rows.push_back({text_cell(label), num_cell(v, num(src, key.c_str()))});
    t.row_keys.push_back(pre + key);
  };
  text("candidate", "index", std::to_string(c.index));
  text("hardware", "hw", json_text(pt.value("hw", json())));
  nval("total GPUs", "total_gpus", m, num_text(gpus));
  nval("replicas", "replicas", m, json_text(m.value("replicas", json())));
  nval("GPUs per instance", "gpus", pt, json_text(pt.value("gpus", json())));
  nval("TP (attention tensor parallel)", "tp", pt, json_text(pt.value("tp", json())));
  nval("EP (expert parallel)", "ep", pt, json_text(pt.value("ep", json())));
  nval("DP (attention data parallel)", "dp", pt, json_text(pt.value("dp", json())));
  text("two-micro-batch overlap", "overlap", flag(pt, "overlap") ? "on" : "off");
  nval("MTP acceptance", "mtp_accept", pt, num_text(num(pt, "mtp_accept")));
  nval("batch per instance (sequences)", "batch", pt, json_text(pt.value("batch", json())));
  nval("batch per DP rank", "batch_per_rank", pt, json_text(pt.value("batch_per_rank", json())));
  nval("USD per hour", "usd_per_hour", m, usd(num(m, "usd_per_hour")));
  nval("USD per GPU-hour", "price_usd_per_gpu_hour", m, usd(num(m, "price_usd_per_gpu_hour")));
  nval("USD per M output tokens (full load)", "usd_per_m_output_tokens_full_load", m,
       usd(num(m, "usd_per_m_output_tokens_full_load")));
  nval("USD per M input tokens (full load)", "usd_per_m_input_tokens_full_load", m,
       usd(num(m, "usd_per_m_input_tokens_full_load")));
  nval("TTFT", "ttft_s", m, ms(num(m, "ttft_s")));
  nval("TPOT (decode step / (1 + MTP acceptance))", "tpot_s", m, ms(num(m, "tpot_s")));
  nval("effective TPOT (beside prefill)", "effective_tpot_s", m, ms(num(m, "effective_tpot_s")));
  nval("decode share of instance time", "decode_share", m, num_text(num(m, "decode_share")));
  nval("decode tokens/s per GPU", "decode_tokens_per_s_per_gpu", m, num_text(num(m, "decode_tokens_per_s_per_gpu")));
  nval("decode tokens/s per instance", "decode_tokens_per_s_per_instance", m,
       num_text(num(m, "decode_tokens_per_s_per_instance")));
  nval("HBM per GPU", "hbm_bytes_per_gpu", m, format_bytes(num(m, "hbm_bytes_per_gpu")));
  nval("HBM capacity per GPU", "hbm_capacity_bytes", m, format_bytes(num(m, "hbm_capacity_bytes")));
  nval("largest batch that fits (memory model)", "max_batch", m, json_text(m.value("max_batch", json())));
  if (!winner) {
    nval("miss (largest relative violation)", "miss", m, num_text(num(m, "miss")));
    text("violations", "violations", json_text(m.value("violations", json())));
  }
  s.tables.push_back(std::move(t));
  return s;
}

// ---- Pareto set ----

Section pareto_section(const PlanData& p) {
  Section s{"plan-pareto", "Pareto set (prediction)", {}, {}, {}};
  const char* obj = p.cost_objective ? "usd_per_hour" : "total_gpus";
  const std::string obj_label = p.cost_objective ? "USD per hour" : "total GPUs";
  if (p.pareto.empty())
    s.notes.push_back("No candidate is feasible, so the Pareto set is empty. The chart shows every candidate the "
                      "step model timed (grey: infeasible) at " + obj_label + " vs decode tokens/s per GPU.");
  else
    s.notes.push_back(fmt::format(
        "{} feasible candidates are not dominated on ({}, effective TPOT, decode tokens/s per GPU); the "
        "winner is the first. The chart projects every candidate the step model timed onto {} vs decode "
        "tokens/s per GPU: the Pareto set in red, its members that stay non-dominated in this projection "
        "connected; other feasible candidates in blue, infeasible ones in grey.",
        p.pareto.size(), obj_label, obj_label));
  LineChart c;
  c.title = obj_label + " vs decode tokens/s per GPU (prediction)";
  c.x_label = "decode tokens/s per GPU";
  c.y_label = obj_label;
  c.width_px = 820;
  c.height_px = 380;
  LineSeries grey{"infeasible", {}, {}, false, true, 2, "#c4c4c4", {}};
  LineSeries feas{"feasible", {}, {}, false, true, 2.5, "#7aa7d6", {}};
  LineSeries front{"Pareto set", {}, {}, false, false, 4, "#c8302c", {}};
  size_t n_grey = 0, n_feas = 0;
  for (const Cand& cd : p.cands) (flag(cd.metrics, "feasible") ? n_feas : n_grey) += flag(cd.metrics, "timed");
  const size_t grey_step = std::max<size_t>(1, (n_grey + kMaxScatterPoints - 1) / kMaxScatterPoints);
  const size_t feas_step = std::max<size_t>(1, (n_feas + kMaxScatterPoints - 1) / kMaxScatterPoints);
  size_t k_grey = 0, k_feas = 0;
  std::vector<double> xs, ys;
  for (const Cand& cd : p.cands) {
    const json& m = cd.metrics;
    const double x = num(m, "decode_tokens_per_s_per_gpu"), y = num(m, obj);
    if (!flag(m, "timed") || !std::isfinite(x) || !std::isfinite(y) || flag(m, "pareto")) continue;
    const bool f = flag(m, "feasible");
    if ((f ? k_feas++ % feas_step : k_grey++ % grey_step) != 0) continue;
    LineSeries& ser = f ? feas : grey;
    ser.x.push_back(x), ser.y.push_back(y), xs.push_back(x), ys.push_back(y);
    ser.point_labels.push_back(fmt::format("candidate {}: {}{}", cd.index, describe(cd),
                                           f ? "" : " — " + m.value("reason", std::string())));
  }
  // The set is non-dominated in three dimensions; the line connects its members that are also
  // non-dominated in the chart's two (fewer GPUs / lower cost, more tokens/s per GPU): a staircase.
  std::vector<int> by_x = p.pareto;
  std::stable_sort(by_x.begin(), by_x.end(), [&](int a, int b) {
    return num(p.cands[a].metrics, "decode_tokens_per_s_per_gpu") > num(p.cands[b].metrics, "decode_tokens_per_s_per_gpu");
  });
  LineSeries members{"Pareto set", {}, {}, false, true, 4, "#c8302c", {}};
  front.name = "Pareto front in this projection";
  front.marker_r = 0;
  double best_y = INFINITY;
  for (int i : by_x) {  // by tokens/s per GPU, descending: a point is on the 2-D front when its y is a new low
    const Cand& cd = p.cands[static_cast<size_t>(i)];
    const double x = num(cd.metrics, "decode_tokens_per_s_per_gpu"), y = num(cd.metrics, obj);
    members.x.push_back(x), members.y.push_back(y), xs.push_back(x), ys.push_back(y);
    members.point_labels.push_back(fmt::format("candidate {} (Pareto): {}, effective TPOT {}", cd.index, describe(cd),
                                               ms(num(cd.metrics, "effective_tpot_s"))));
    if (y < best_y) {
      best_y = y;
      front.x.insert(front.x.begin(), x);
      front.y.insert(front.y.begin(), y);
    }
  }
  auto thinned = [](size_t step, const char* what) {
    return step > 1 ? fmt::format("one in {} {} candidates", step, what) : fmt::format("every {} candidate", what);
  };
  if (grey_step > 1 || feas_step > 1)
    s.notes.push_back(fmt::format("The chart shows {} and {} (at most {} of each); the Pareto table, CSV and JSON "
                                  "reports have all.",
                                  thinned(grey_step, "infeasible"), thinned(feas_step, "feasible"), kMaxScatterPoints));
  auto decades = [](const std::vector<double>& v) {
    double lo = INFINITY, hi = 0;
    for (double x : v) {
      if (!(x > 0)) return false;
      lo = std::min(lo, x), hi = std::max(hi, x);
    }
    return !v.empty() && hi / lo > 10;
  };
  c.log_x = decades(xs);
  c.log_y = decades(ys);
  if (!grey.x.empty()) c.series.push_back(std::move(grey));
  if (!feas.x.empty()) c.series.push_back(std::move(feas));
  if (!front.x.empty()) c.series.push_back(std::move(front));
  if (!members.x.empty()) c.series.push_back(std::move(members));
  if (!c.series.empty()) s.charts.push_back(svg_line_chart(c));

  Table t;
  t.header = {"candidate", "hw",    "TP",   "EP",             "DP",        "overlap", "MTP",      "batch",
              "replicas",  "GPUs",  "USD/h", "TTFT", "effective TPOT", "tok/s/GPU", "HBM/GPU", "USD/M out"};
  if (p.pareto.size() > kMaxParetoRows)
    s.notes.push_back(fmt::format("The table lists the first {} of the {} Pareto points; the CSV and JSON reports "
                                  "have all.",
                                  kMaxParetoRows, p.pareto.size()));
  for (int i : p.pareto) {
    if (t.rows.size() == kMaxParetoRows) break;
    const Cand& cd = p.cands[static_cast<size_t>(i)];
    const json &pt = cd.point, &m = cd.metrics;
    auto pn = [&](const char* k) { return num_cell(json_text(pt.value(k, json())), num(pt, k)); };
    t.rows.push_back({num_cell(std::to_string(cd.index), cd.index), text_cell(json_text(pt.value("hw", json()))), pn("tp"),
                      pn("ep"), pn("dp"), text_cell(flag(pt, "overlap") ? "on" : "off"),
                      num_cell(num_text(num(pt, "mtp_accept")), num(pt, "mtp_accept")), pn("batch"),
                      num_cell(json_text(m.value("replicas", json())), num(m, "replicas")),
                      num_cell(json_text(m.value("total_gpus", json())), num(m, "total_gpus")),
                      num_cell(usd(num(m, "usd_per_hour")), num(m, "usd_per_hour")),
                      num_cell(ms(num(m, "ttft_s")), num(m, "ttft_s")),
                      num_cell(ms(num(m, "effective_tpot_s")), num(m, "effective_tpot_s")),
                      num_cell(num_text(num(m, "decode_tokens_per_s_per_gpu")), num(m, "decode_tokens_per_s_per_gpu")),
                      num_cell(format_bytes(num(m, "hbm_bytes_per_gpu")), num(m, "hbm_bytes_per_gpu")),
                      num_cell(usd(num(m, "usd_per_m_output_tokens_full_load")), num(m, "usd_per_m_output_tokens_full_load"))});
    t.row_keys.push_back("candidate-" + std::to_string(cd.index));
  }
  if (!t.rows.empty()) s.tables.push_back(std::move(t));
  return s;
}

// The HBM footprint of one candidate: its parts when the plan stored them (hbm_weights_bytes,
// hbm_kv_bytes, hbm_activation_bytes, host_bytes), else the stored total per GPU as one segment.
Section memory_of(const PlanData& p, int i, bool winner) {
  const json& m = p.cands[static_cast<size_t>(i)].metrics;
  MemoryParts parts;
  parts.weights_bytes = num(m, "hbm_weights_bytes");
  parts.kv_bytes = num(m, "hbm_kv_bytes");
  parts.activation_bytes = num(m, "hbm_activation_bytes");
  parts.hbm_total_bytes = num(m, "hbm_bytes_per_gpu");
  parts.capacity_bytes = num(m, "hbm_capacity_bytes");
  parts.host_bytes = num(m, "host_bytes");
  parts.hbm_bar = std::string("HBM per GPU, ") + (winner ? "winner" : "closest miss") + " (prediction)";
  Section s = memory_parts_section(parts, "plan-memory",
                                   std::string("Memory footprint of the ") + (winner ? "winner" : "closest miss"));
  if (!s.empty() && !std::isfinite(parts.weights_bytes))
    s.notes.push_back("This plan run stored the HBM total per GPU only, not its weights / KV cache / activation "
                      "parts, so the bar has one segment.");
  return s;
}

// ---- CSV and JSON ----

std::string candidates_csv(const PlanData& p, int64_t run_id) {
  std::vector<std::string> pkeys, mkeys;
  auto add_keys = [](const json& j, std::vector<std::string>& keys) {
    if (!j.is_object()) return;
    for (auto it = j.begin(); it != j.end(); ++it)
      if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
  };
  for (const Cand& c : p.cands) add_keys(c.point, pkeys), add_keys(c.metrics, mkeys);
  std::sort(pkeys.begin(), pkeys.end());
  std::sort(mkeys.begin(), mkeys.end());
  std::string out;
  auto line = [&](const std::vector<std::string>& f) {
    for (size_t i = 0; i < f.size(); ++i) {
      if (i) out += ',';
      out += store::csv_field(f[i]);
    }
    out += "\r\n";
  };
  std::vector<std::string> head = {"run_id", "row_kind", "candidate"};
  for (const std::string& k : pkeys) head.push_back(k);
  for (const std::string& k : mkeys) head.push_back(k);
  line(head);
  for (const Cand& c : p.cands) {
    std::vector<std::string> f = {std::to_string(run_id), "candidate", std::to_string(c.index)};
    for (const std::string& k : pkeys) f.push_back(c.point.contains(k) ? json_csv_field(c.point[k]) : "");
    for (const std::string& k : mkeys) f.push_back(c.metrics.contains(k) ? json_csv_field(c.metrics[k]) : "");
    line(f);
  }
  return out;
}

json cand_json(const PlanData& p, int i) {
  if (i < 0) return nullptr;
  const Cand& c = p.cands[static_cast<size_t>(i)];
  return {{"index", c.index}, {"point", c.point}, {"metrics", c.metrics}};
}

json plan_json(const PlanData& p) {
  json j = {{"label", "prediction"},
            {"target", p.config},
            {"n_candidates", p.cands.size()},
            {"n_timed", p.n_timed},
            {"n_pruned_by_memory", p.n_pruned},
            {"n_feasible", p.n_feasible},
            {"violation_counts", p.violation_counts},
            {"best_tpot_s", std::isfinite(p.best_tpot_s) ? json(p.best_tpot_s) : json()},
            {"best_ttft_s", std::isfinite(p.best_ttft_s) ? json(p.best_ttft_s) : json()},
            {"feasible", p.winner >= 0},
            {"winner", cand_json(p, p.winner)},
            {"closest_miss", cand_json(p, p.closest_miss)}};
  j["pareto"] = json::array();
  for (int i : p.pareto) j["pareto"].push_back(cand_json(p, i));
  return j;
}

}  // namespace

KindReport plan_report(store::Store&, const ReportData& d) {
  const PlanData p = load(d);
  KindReport k;
  k.kind = "plan";
  k.hide_study_points = true;
  if (p.winner >= 0) {
    const json& m = p.cands[static_cast<size_t>(p.winner)].metrics;
    k.summary.emplace_back("plan", fmt::format("winner (prediction): {} GPUs, {}/h, TPOT {}, TTFT {}; {} candidates, {} "
                                               "feasible, {} on the Pareto set",
                                               num_text(num(m, "total_gpus")), usd(num(m, "usd_per_hour")),
                                               ms(num(m, "effective_tpot_s")), ms(num(m, "ttft_s")), p.cands.size(),
                                               p.n_feasible, p.pareto.size()));
  } else {
    k.summary.emplace_back("plan", fmt::format("NO feasible deployment (prediction) among {} candidates", p.cands.size()));
  }
  k.sections.push_back(target_section(p));
  if (p.winner >= 0) {
    k.sections.push_back(candidate_section(p, p.winner, true));
  } else if (p.closest_miss >= 0) {
    k.sections.push_back(candidate_section(p, p.closest_miss, false));
  } else {
    k.sections.push_back({"plan-closest-miss", "No feasible deployment", {"The plan stored no candidate."}, {}, {}});
  }
  k.sections.push_back(pareto_section(p));
  const int focus = p.winner >= 0 ? p.winner : p.closest_miss;
  if (focus >= 0)
    if (Section m = memory_of(p, focus, p.winner >= 0); !m.empty()) k.sections.push_back(std::move(m));
  k.json = plan_json(p);
  k.csv = candidates_csv(p, d.run.id);
  return k;
}

}  // namespace v4lab::report::detail
