// report_sweep.cpp — the sweep part of a run report (docs/sweeps.md, docs/reports.md "Sweep runs"):
// the axes and their values, the point count and status of the run (complete / interrupted, errors,
// the union over runs of the same sweep hash, merge sources), every stored point with its coordinates
// and metrics (the first kMaxPointRows in HTML/Markdown; all of them in CSV and JSON), one line chart
// per varying metric against the main numeric axis with one line per value of a second axis, and the
// best point per metric. Read from `sweeps`/`sweep_points` only; predict sweeps are predictions,
// kernel sweeps measured on the run's host (and predicted).
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "report/detail/report_kinds.h"
#include "report/report.h"
#include "store/export.h"
#include "store/sweep_store.h"

namespace v4lab::report::detail {

using nlohmann::json;

namespace {

constexpr size_t kMaxPointRows = 200;    // HTML/Markdown; CSV and JSON carry every point
constexpr size_t kMaxCharts = 16;        // one per varying metric
constexpr size_t kMaxSeries = 8;         // lines per chart (values of the second axis)
constexpr size_t kMaxValuesShown = 16;   // axis values listed in the axes table

struct Axis {
  std::string field, source, zip;
  std::vector<json> values;
  bool numeric = false;  // every value a number (not a boolean)
};

struct Point {
  int64_t index = 0;
  std::string status, label;
  json coords, metrics;
  std::map<std::string, json> flat;  // metrics as "a.b" leaves (ok points)
  std::string error;
};

bool is_num(const json& v) { return v.is_number() && !v.is_boolean(); }
double as_num(const json& v) { return is_num(v) ? v.get<double>() : store::kUnknown; }

// Which way is better for a metric, by its name: times, bytes and costs lower; rates higher; "" for
// descriptive numbers (deployment sizes, resolved params, rep counts, capacities, ratios).
std::string metric_goal(const std::string& k) {
  auto has = [&](const char* s) { return k.find(s) != std::string::npos; };
  auto ends = [&](const char* s) {
    const size_t n = std::char_traits<char>::length(s);
    return k.size() >= n && k.compare(k.size() - n, n, s) == 0;
  };
  if (k.rfind("deployment.", 0) == 0 || k.rfind("params.", 0) == 0 || has("capacity") || has("reps") ||
      has("threads") || has("over_predicted") || has("share"))
    return "";
  if (has("per_s") || has("max_batch") || has("headroom") || has("gflops") || has("gbytes")) return "higher";
  if (ends("_s") || has("usd") || ends("_bytes") || ends("flops") || has("bytes_")) return "lower";
  return "";
}

std::string values_text(const std::vector<json>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.size() > kMaxValuesShown && i == kMaxValuesShown - 2) {
      s += fmt::format(", … ({} more), ", v.size() - kMaxValuesShown + 1);
      i = v.size() - 1;
    } else if (i) {
      s += ", ";
    }
    s += json_text(v[i]);
  }
  return s;
}

std::string coords_text(const json& c) {
  std::string s;
  if (!c.is_object()) return c.dump();
  for (auto it = c.begin(); it != c.end(); ++it) {
    if (!s.empty()) s += ", ";
    s += it.key();
    s += '=';
    s += json_text(it.value());
  }
  return s;
}

Cell json_cell(const json& v) { return is_num(v) ? num_cell(json_text(v), v.get<double>()) : text_cell(json_text(v)); }

struct SweepData {
  store::SweepRunInfo info;
  json config;
  std::vector<Axis> axes;
  std::vector<Point> points;
  std::vector<std::string> keys;          // every metric leaf of the ok points, sorted
  std::vector<std::string> varying;       // keys whose value differs between ok points
  std::vector<std::string> numeric;       // varying keys with numbers only (null allowed)
  std::map<std::string, json> constants;  // keys with one value over every ok point
  size_t n_ok = 0;
};

SweepData load(store::Store& store, const ReportData& d) {
  SweepData s;
  s.info = store::get_sweep_run(store, d.run.id);
  s.config = json::parse(d.run.info.config_json, nullptr, false);
  if (s.config.is_object() && s.config.contains("axes") && s.config["axes"].is_array())
    for (const json& a : s.config["axes"]) {
      Axis ax;
      ax.field = a.value("field", std::string());
      ax.source = a.value("source", std::string());
      ax.zip = a.value("zip", std::string());
      if (a.contains("values") && a["values"].is_array())
        for (const json& v : a["values"]) ax.values.push_back(v);
      ax.numeric = !ax.values.empty() && std::all_of(ax.values.begin(), ax.values.end(), is_num);
      s.axes.push_back(std::move(ax));
    }
  std::set<std::string> keys;
  for (const store::SweepPointRow& r : store::sweep_points(store, d.run.id)) {
    Point p;
    p.index = r.point_index;
    p.status = r.status;
    p.label = r.label;
    p.coords = json::parse(r.coords_json, nullptr, false);
    p.metrics = json::parse(r.metrics_json, nullptr, false);
    if (r.status != "ok") {
      p.error = p.metrics.is_object() ? p.metrics.value("error", std::string("error")) : std::string("error");
    } else {
      std::vector<std::pair<std::string, json>> flat;
      flatten_json(p.metrics, "", flat);
      for (auto& [k, v] : flat) {
        if (k.empty()) continue;
        keys.insert(k);
        p.flat[k] = std::move(v);
      }
      ++s.n_ok;
    }
    s.points.push_back(std::move(p));
  }
  s.keys.assign(keys.begin(), keys.end());
  for (const std::string& k : s.keys) {
    bool first = true, varies = false, numbers = true, any_number = false;
    json v0;
    for (const Point& p : s.points) {
      if (p.status != "ok") continue;
      auto it = p.flat.find(k);
      const json v = it == p.flat.end() ? json() : it->second;
      if (first) v0 = v, first = false;
      else if (v != v0) varies = true;
      if (is_num(v)) any_number = true;
      else if (!v.is_null()) numbers = false;
    }
    if (!varies) {
      s.constants[k] = v0;
      continue;
    }
    s.varying.push_back(k);
    if (numbers && any_number) s.numeric.push_back(k);
  }
  return s;
}

// Source runs a merged sweep run was built from (`merge_sources`, written by `v4lab db merge`).
int64_t count_merge_sources(store::Store& store, int64_t run_id) {
  sqlite3_stmt* st = nullptr;
  int64_t n = 0;
  if (sqlite3_prepare_v2(store.handle(), "SELECT count(*) FROM merge_sources WHERE run_id = ?1", -1, &st, nullptr) ==
      SQLITE_OK) {
    sqlite3_bind_int64(st, 1, run_id);
    if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return n;
}

const json* metric_of(const Point& p, const std::string& k) {
  auto it = p.flat.find(k);
  return it == p.flat.end() ? nullptr : &it->second;
}

// ---- status and axes ----

Section status_section(const SweepData& s, const ReportData& d, store::Store& store) {
  Section sec{"sweep", "Sweep", {}, {}, {}};
  const store::SweepRunInfo& i = s.info;
  const int64_t in_shard = i.points_in_shard();
  const bool complete = i.n_done >= in_shard;
  const int64_t union_points = store::distinct_points_of_hash(store, i.hash);
  const std::string kind = i.kind == "kernel" ? "kernel (measured on " + d.run.host + ", and predicted)"
                                              : "predict (every metric is a cost-model prediction)";
  sec.notes.push_back(
      fmt::format("Sweep '{}' (hash {}): {} of the {} points of this run's shard are stored{}, {} of them with an "
                  "error. Status: {}.",
                  i.name, i.hash, i.n_done, in_shard, complete ? " (complete)" : "", i.n_errors,
                  complete ? "complete" : i.status + ", incomplete"));
  if (!complete && !d.run.info.scenario_path.empty())
    sec.notes.push_back(fmt::format("Resume it with: v4lab --db {} sweep {} --resume {}", d.db_path,
                                    d.run.info.scenario_path, d.run.id));
  Table t;
  t.header = {"field", "value"};
  auto kv = [&](const std::string& k, const std::string& v) { t.rows.push_back({text_cell(k), text_cell(v)}); };
  auto kn = [&](const std::string& k, int64_t v) {
    t.rows.push_back({text_cell(k), num_cell(std::to_string(v), static_cast<double>(v))});
  };
  kv("name", i.name);
  kv("sweep hash", i.hash);
  kv("kind", kind);
  if (s.config.is_object() && s.config.contains("metrics")) kv("metrics", json_text(s.config["metrics"]));
  kn("points in the sweep", i.n_points);
  kv("shard", fmt::format("{}/{}", i.shard_index, i.shard_count));
  kn("points in this shard", in_shard);
  kn("points stored", i.n_done);
  kn("error points", i.n_errors);
  kv("status", complete ? "complete (" + i.status + ")" : i.status + " (incomplete: resumable with --resume)");
  kn("distinct points over every run of this hash", union_points);
  const int64_t merged = count_merge_sources(store, d.run.id);
  if (merged > 0) kn("merged from source runs (db merge)", merged);
  kv("resumed", "not recorded: a resumed run continues the same run id and adds only its missing points");
  sec.tables.push_back(std::move(t));

  Table a;
  a.header = {"axis", "values from", "zip group", "n values", "values"};
  for (const Axis& ax : s.axes)
    a.rows.push_back({text_cell(ax.field), text_cell(ax.source), text_cell(ax.zip.empty() ? "-" : ax.zip),
                      num_cell(std::to_string(ax.values.size()), static_cast<double>(ax.values.size())),
                      text_cell(values_text(ax.values))});
  sec.tables.push_back(std::move(a));
  if (!s.constants.empty()) {
    Table c;
    c.header = {"metric (the same at every ok point)", "value"};
    for (const auto& [k, v] : s.constants) c.rows.push_back({text_cell(k), json_cell(v)});
    sec.tables.push_back(std::move(c));
  }
  return sec;
}

// ---- charts ----

struct ChartPlan {
  int main = -1, series = -1;
  std::vector<std::pair<std::string, json>> fixed;  // other axes held at their first value
  std::vector<json> series_values;
};

ChartPlan chart_plan(const SweepData& s) {
  ChartPlan c;
  for (size_t a = 0; a < s.axes.size() && c.main < 0; ++a)
    if (s.axes[a].numeric && s.axes[a].values.size() >= 2) c.main = static_cast<int>(a);
  if (c.main < 0) return c;
  auto zipped_with = [&](size_t a, int b) {
    return b >= 0 && !s.axes[a].zip.empty() && s.axes[a].zip == s.axes[static_cast<size_t>(b)].zip;
  };
  for (size_t a = 0; a < s.axes.size() && c.series < 0; ++a)
    if (static_cast<int>(a) != c.main && !zipped_with(a, c.main) && s.axes[a].values.size() >= 2)
      c.series = static_cast<int>(a);
  for (size_t a = 0; a < s.axes.size(); ++a) {
    if (static_cast<int>(a) == c.main || static_cast<int>(a) == c.series || zipped_with(a, c.main) ||
        zipped_with(a, c.series) || s.axes[a].values.empty())
      continue;
    c.fixed.emplace_back(s.axes[a].field, s.axes[a].values.front());
  }
  if (c.series >= 0) {
    const auto& v = s.axes[static_cast<size_t>(c.series)].values;
    const size_t n = std::min(v.size(), kMaxSeries);
    for (size_t k = 0; k < n; ++k) c.series_values.push_back(v[n == v.size() ? k : k * (v.size() - 1) / (n - 1)]);
  } else {
    c.series_values.push_back(json());  // one line
  }
  return c;
}

bool spans_decades(const std::vector<double>& v) {
  double lo = INFINITY, hi = 0;
  for (double x : v) {
    if (!std::isfinite(x)) continue;
    if (x <= 0) return false;
    lo = std::min(lo, x), hi = std::max(hi, x);
  }
  return hi > 0 && hi / lo > 10;
}

Section charts_section(const SweepData& s, const ReportData& d) {
  Section sec{"sweep-charts", "Sweep charts", {}, {}, {}};
  sec.chart_grid = true;
  const ChartPlan cp = chart_plan(s);
  if (cp.main < 0 || s.numeric.empty()) {
    if (s.n_ok > 0)
      sec.notes.push_back(cp.main < 0 ? "No axis has two or more numeric values, so there is no line chart."
                                      : "No numeric metric varies between the points, so there is no line chart.");
    return sec;
  }
  const Axis& x = s.axes[static_cast<size_t>(cp.main)];
  std::string fixed;
  for (const auto& [f, v] : cp.fixed) {
    if (!fixed.empty()) fixed += ", ";
    fixed += f;
    fixed += " = ";
    fixed += json_text(v);
  }
  const bool predicted = s.info.kind != "kernel";
  sec.notes.push_back(fmt::format(
      "Each varying metric against {}{}{}. Error points are left out. {}", x.field,
      cp.series >= 0 ? ", one line per value of " + s.axes[static_cast<size_t>(cp.series)].field : std::string(),
      fixed.empty() ? "" : " (other axes held at their first value: " + fixed + ")",
      predicted ? "Every value is a cost-model prediction." : "measured.* values were measured on " + d.run.host +
                                                                  "; predicted.* values are predictions."));
  auto matches = [&](const Point& p) {
    if (p.status != "ok" || !p.coords.is_object()) return false;
    for (const auto& [f, v] : cp.fixed)
      if (!p.coords.contains(f) || p.coords[f] != v) return false;
    return true;
  };
  size_t n_charts = 0;
  for (const std::string& k : s.numeric) {
    if (k.rfind("deployment.", 0) == 0 || k.rfind("params.", 0) == 0) continue;
    if (n_charts == kMaxCharts) {
      sec.notes.push_back(fmt::format("Charts of the first {} varying metrics; the tables below and the CSV/JSON "
                                      "reports have every metric.",
                                      kMaxCharts));
      break;
    }
    LineChart c;
    c.title = k + " vs " + x.field + (predicted || k.rfind("predicted.", 0) == 0 ? " (prediction)" : "");
    c.x_label = x.field;
    c.y_label = k;
    c.width_px = 560;
    c.height_px = 260;
    std::vector<double> xs_all, ys_all;
    for (const json& sv : cp.series_values) {
      LineSeries ser;
      ser.name = cp.series >= 0 ? s.axes[static_cast<size_t>(cp.series)].field + " = " + json_text(sv) : k;
      ser.marker_r = 3;
      std::vector<std::pair<double, double>> xy;
      for (const Point& p : s.points) {
        if (!matches(p)) continue;
        if (cp.series >= 0 && (!p.coords.contains(s.axes[static_cast<size_t>(cp.series)].field) ||
                               p.coords[s.axes[static_cast<size_t>(cp.series)].field] != sv))
          continue;
        const json* m = metric_of(p, k);
        const double xv = p.coords.contains(x.field) ? as_num(p.coords[x.field]) : store::kUnknown;
        const double yv = m ? as_num(*m) : store::kUnknown;
        if (std::isfinite(xv) && std::isfinite(yv)) xy.emplace_back(xv, yv);
      }
      std::sort(xy.begin(), xy.end());
      for (auto [xv, yv] : xy) {
        ser.x.push_back(xv), ser.y.push_back(yv);
        xs_all.push_back(xv), ys_all.push_back(yv);
      }
      if (!ser.x.empty()) c.series.push_back(std::move(ser));
    }
    if (c.series.empty()) continue;
    c.log_x = spans_decades(xs_all);
    c.log_y = spans_decades(ys_all);
    sec.charts.push_back(svg_line_chart(c));
    ++n_charts;
  }
  return sec;
}

// ---- best points and the point table ----

struct Best {
  std::string metric, goal;
  const Point* point = nullptr;
  double value = store::kUnknown;
};

std::vector<Best> best_points(const SweepData& s) {
  std::vector<Best> out;
  for (const std::string& k : s.numeric) {
    const std::string goal = metric_goal(k);
    if (goal.empty()) continue;
    Best b{k, goal, nullptr, store::kUnknown};
    for (const Point& p : s.points) {
      const json* m = p.status == "ok" ? metric_of(p, k) : nullptr;
      const double v = m ? as_num(*m) : store::kUnknown;
      if (!std::isfinite(v)) continue;
      if (!b.point || (goal == "lower" ? v < b.value : v > b.value)) b.point = &p, b.value = v;  // ties: lowest index
    }
    if (b.point) out.push_back(b);
  }
  return out;
}

Section best_section(const std::vector<Best>& best) {
  Section sec{"sweep-best", "Best point per metric", {}, {}, {}};
  if (best.empty()) return sec;
  sec.notes.push_back(
      "Over every ok point; 'lower' for times, bytes and costs, 'higher' for rates (by the metric's name); "
      "ties go to the lowest point index. Descriptive metrics (deployment, params, capacities) have no best.");
  Table t;
  t.header = {"metric", "better", "best value", "point", "coordinates", "label"};
  for (const Best& b : best) {
    t.rows.push_back({text_cell(b.metric), text_cell(b.goal), num_cell(num_text(b.value), b.value),
                      num_cell(std::to_string(b.point->index), static_cast<double>(b.point->index)),
                      text_cell(coords_text(b.point->coords)), text_cell(b.point->label)});
    t.row_keys.push_back("best-" + b.metric);
  }
  sec.tables.push_back(std::move(t));
  return sec;
}

Section points_section(const SweepData& s) {
  Section sec{"sweep-points", "Sweep points", {}, {}, {}};
  if (s.points.empty()) {
    sec.notes.push_back("No point is stored yet.");
    return sec;
  }
  const size_t n = std::min(s.points.size(), kMaxPointRows);
  sec.notes.push_back(
      n < s.points.size()
          ? fmt::format("The first {} of {} stored points (by index); the CSV and JSON reports have all of them.", n,
                        s.points.size())
          : fmt::format("All {} stored points, by index.", s.points.size()));
  if (!s.constants.empty()) sec.notes.push_back("Metrics with one value at every ok point are in the table above.");
  const bool any_error = s.info.n_errors > 0;
  Table t;
  t.header = {"point", "status"};
  for (const Axis& a : s.axes) t.header.push_back(a.field);
  for (const std::string& k : s.varying) t.header.push_back(k);
  if (any_error) t.header.push_back("error");
  for (size_t r = 0; r < n; ++r) {
    const Point& p = s.points[r];
    std::vector<Cell> row = {num_cell(std::to_string(p.index), static_cast<double>(p.index)), text_cell(p.status)};
    for (const Axis& a : s.axes)
      row.push_back(p.coords.is_object() && p.coords.contains(a.field) ? json_cell(p.coords[a.field]) : text_cell("-"));
    for (const std::string& k : s.varying) {
      const json* m = metric_of(p, k);
      row.push_back(m ? json_cell(*m) : text_cell("-"));
    }
    if (any_error) row.push_back(text_cell(p.error.empty() ? "-" : p.error));
    t.rows.push_back(std::move(row));
    t.row_keys.push_back("point-" + std::to_string(p.index));
  }
  sec.tables.push_back(std::move(t));
  return sec;
}

// ---- CSV and JSON ----

std::string points_csv(const SweepData& s, int64_t run_id) {
  std::string out;
  auto line = [&](const std::vector<std::string>& f) {
    for (size_t i = 0; i < f.size(); ++i) {
      if (i) out += ',';
      out += store::csv_field(f[i]);
    }
    out += "\r\n";
  };
  std::vector<std::string> head = {"run_id", "row_kind", "point_index", "status", "label"};
  for (const Axis& a : s.axes) head.push_back(a.field);
  for (const std::string& k : s.keys) head.push_back(k);
  head.push_back("error");
  line(head);
  for (const Point& p : s.points) {
    std::vector<std::string> f = {std::to_string(run_id), "sweep_point", std::to_string(p.index), p.status, p.label};
    for (const Axis& a : s.axes)
      f.push_back(p.coords.is_object() && p.coords.contains(a.field) ? json_csv_field(p.coords[a.field]) : "");
    for (const std::string& k : s.keys) {
      const json* m = metric_of(p, k);
      f.push_back(m ? json_csv_field(*m) : "");
    }
    f.push_back(p.error);
    line(f);
  }
  return out;
}

json sweep_json(const SweepData& s, store::Store& store, int64_t run_id, const std::vector<Best>& best) {
  const store::SweepRunInfo& i = s.info;
  json j = {{"name", i.name},
            {"hash", i.hash},
            {"kind", i.kind},
            {"n_points", i.n_points},
            {"shard_index", i.shard_index},
            {"shard_count", i.shard_count},
            {"points_in_shard", i.points_in_shard()},
            {"n_stored", i.n_done},
            {"n_errors", i.n_errors},
            {"status", i.status},
            {"complete", i.n_done >= i.points_in_shard()},
            {"distinct_points_of_hash", store::distinct_points_of_hash(store, i.hash)},
            {"merged_from", count_merge_sources(store, run_id)}};
  j["axes"] = json::array();
  for (const Axis& a : s.axes) j["axes"].push_back({{"field", a.field}, {"source", a.source}, {"zip", a.zip}, {"values", a.values}});
  const ChartPlan cp = chart_plan(s);
  j["charts"] = {{"x", cp.main >= 0 ? json(s.axes[static_cast<size_t>(cp.main)].field) : json()},
                 {"series", cp.series >= 0 ? json(s.axes[static_cast<size_t>(cp.series)].field) : json()},
                 {"fixed", json::object()}};
  for (const auto& [f, v] : cp.fixed) j["charts"]["fixed"][f] = v;
  j["best"] = json::array();
  for (const Best& b : best)
    j["best"].push_back(
        {{"metric", b.metric}, {"goal", b.goal}, {"value", b.value}, {"point_index", b.point->index}, {"coords", b.point->coords}});
  j["points"] = json::array();
  for (const Point& p : s.points)
    j["points"].push_back(
        {{"index", p.index}, {"status", p.status}, {"label", p.label}, {"coords", p.coords}, {"metrics", p.metrics}});
  return j;
}

}  // namespace

KindReport sweep_report(store::Store& store, const ReportData& d) {
  const SweepData s = load(store, d);
  const std::vector<Best> best = best_points(s);
  KindReport k;
  k.kind = "sweep";
  k.summary.emplace_back("sweep", fmt::format("{} ({} sweep, hash {}): {}/{} points stored, {} errors", s.info.name,
                                              s.info.kind, s.info.hash, s.info.n_done, s.info.points_in_shard(),
                                              s.info.n_errors));
  k.sections.push_back(status_section(s, d, store));
  if (Section c = charts_section(s, d); !c.empty()) k.sections.push_back(std::move(c));
  if (Section b = best_section(best); !b.empty()) k.sections.push_back(std::move(b));
  k.sections.push_back(points_section(s));
  k.json = sweep_json(s, store, d.run.id, best);
  k.csv = points_csv(s, d.run.id);
  return k;
}

}  // namespace v4lab::report::detail
