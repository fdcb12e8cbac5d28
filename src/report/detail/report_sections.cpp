// report_sections.cpp — roofline, CPU/GPU profile, layer-type breakdown, memory, trace and provenance
// sections of a run report (report_sections.h). Every number comes from the store: measurements,
// predictions and run_metrics; roofs are the ones the run stored (or the host's newest probe).
#include "report/detail/report_sections.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "report/report.h"

namespace v4lab::report::detail {

using nlohmann::json;

namespace {

double metric_value(const ReportData& d, const std::string& name) {
  auto m = store::find_metric(d.metrics, name);
  return m ? m->value : store::kUnknown;
}

std::string metric_text(const ReportData& d, const std::string& name) {
  auto m = store::find_metric(d.metrics, name);
  return m ? m->text : std::string();
}

bool positive(double v) { return std::isfinite(v) && v > 0; }

std::string gflops_text(double flop_per_s) { return positive(flop_per_s) ? format_rate(flop_per_s * 1e-9) : "n/a"; }

struct Roof {
  std::string hw, precision, source;
  double peak_flop_per_s = 0, bw_bytes_per_s = 0;
  double at(double intensity) const { return std::min(peak_flop_per_s, bw_bytes_per_s * intensity); }
  double ridge() const { return peak_flop_per_s / bw_bytes_per_s; }
};

// The roof of hardware `hw` from the run's metrics, at `precision` (or the largest peak stored).
std::optional<Roof> stored_roof(const ReportData& d, const std::string& hw, const std::string& precision) {
  const std::string base = "roof." + hw + ".";
  Roof r;
  r.hw = hw;
  r.bw_bytes_per_s = metric_value(d, base + "mem_bw_bytes_per_s");
  r.peak_flop_per_s = metric_value(d, base + "peak_flops_per_s." + precision);
  r.precision = precision;
  if (!positive(r.peak_flop_per_s)) {
    r.peak_flop_per_s = 0;
    for (const store::RunMetric& m : d.metrics)
      if (m.name.rfind(base + "peak_flops_per_s.", 0) == 0 && positive(m.value) && m.value > r.peak_flop_per_s) {
        r.peak_flop_per_s = m.value;
        r.precision = m.name.substr((base + "peak_flops_per_s.").size());
      }
  }
  if (!positive(r.bw_bytes_per_s) || !positive(r.peak_flop_per_s)) return std::nullopt;
  auto bw = store::find_metric(d.metrics, base + "mem_bw_bytes_per_s");
  r.source = bw && !bw->label.empty() ? bw->label : "preset";
  return r;
}

// Hardware ids with stored roofs, by device class ("cpu" / "gpu"), in the comparison's column order.
std::vector<std::string> roof_hardware(const ReportData& d, const std::string& device_class) {
  std::vector<std::string> ids;
  auto consider = [&](const std::string& hw) {
    if (std::find(ids.begin(), ids.end(), hw) != ids.end()) return;
    if (metric_text(d, "roof." + hw + ".device_class") == device_class) ids.push_back(hw);
  };
  for (const std::string& hw : d.cmp.hardware) consider(hw);
  for (const store::RunMetric& m : d.metrics) {
    const std::string suffix = ".device_class";
    if (m.name.rfind("roof.", 0) == 0 && m.name.size() > 5 + suffix.size() &&
        m.name.compare(m.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      consider(m.name.substr(5, m.name.size() - 5 - suffix.size()));
  }
  return ids;
}

std::optional<Roof> local_roof(const ReportData& d) {
  for (const std::string& hw : roof_hardware(d, "cpu"))
    if (auto r = stored_roof(d, hw, "fp32")) return r;
  if (d.local_probe && d.local_probe->is_object()) {  // runs stored before roofs were: the host's probe
    const json& p = *d.local_probe;
    Roof r;
    r.hw = "local";
    r.precision = "fp32";
    r.source = "newest probe of " + d.run.host;
    r.peak_flop_per_s = p.value("fp32_tflops", 0.0) * 1e12;
    r.bw_bytes_per_s = p.value("mem_bw_gbs", 0.0) * 1e9;
    if (positive(r.peak_flop_per_s) && positive(r.bw_bytes_per_s)) return r;
  }
  return std::nullopt;
}

std::optional<Roof> gpu_roof(const ReportData& d) {
  for (const std::string& hw : roof_hardware(d, "gpu"))
    if (auto r = stored_roof(d, hw, "bf16")) return r;
  return std::nullopt;
}

size_t hw_column(const ReportData& d, const std::string& hw) {
  auto it = std::find(d.cmp.hardware.begin(), d.cmp.hardware.end(), hw);
  return static_cast<size_t>(it - d.cmp.hardware.begin());
}

std::string pct(double v) { return std::isfinite(v) ? fmt::format("{:.0f}%", 100 * v) : "n/a"; }

}  // namespace

Cell text_cell(std::string s) { return {std::move(s), store::kUnknown, false}; }
Cell num_cell(std::string s, double v) { return {std::move(s), v, true}; }

std::string format_bytes(double b) {
  if (!std::isfinite(b)) return "n/a";
  const double a = std::fabs(b);
  if (a >= 1e12) return fmt::format("{} TB", format_rate(b / 1e12));
  if (a >= 1e9) return fmt::format("{} GB", format_rate(b / 1e9));
  if (a >= 1e6) return fmt::format("{} MB", format_rate(b / 1e6));
  if (a >= 1e3) return fmt::format("{} kB", format_rate(b / 1e3));
  return fmt::format("{:.0f} B", b);
}

// ---------------------------------------------------------------------------------------------------

Section roofline_section(const ReportData& d) {
  Section s{"roofline", "Roofline", {}, {}, {}};
  const auto lroof = local_roof(d);
  const auto groof = gpu_roof(d);
  const size_t gcol = groof ? hw_column(d, groof->hw) : d.cmp.hardware.size();

  LineChart c;
  c.title = "Roofline: ops by arithmetic intensity";
  c.x_label = "arithmetic intensity (FLOP / byte of memory traffic)";
  c.y_label = "GFLOP/s";
  c.log_x = c.log_y = true;
  c.width_px = 820;
  c.height_px = 380;
  std::map<std::string, LineSeries> measured;  // by backend
  LineSeries predicted;
  if (groof) predicted = {"predicted on " + groof->hw, {}, {}, false, true, 3.5, "#8a62b8", {}};
  Table t;
  t.header = {"op", "backend", "params", "FLOP/byte", "measured GFLOP/s"};
  if (lroof) t.header.insert(t.header.end(), {lroof->hw + " roof at this intensity", "% of " + lroof->hw + " roof"});
  if (groof) t.header.insert(t.header.end(), {groof->hw + " predicted GFLOP/s", groof->hw + " roof at this intensity"});
  double x_lo = INFINITY, x_hi = 0;
  for (const store::ComparisonRow& row : d.cmp.rows) {
    const store::Measurement* m = row.measured ? &*row.measured : nullptr;
    const store::Prediction* gp = gcol < row.predicted.size() && row.predicted[gcol] ? &*row.predicted[gcol] : nullptr;
    const double flops = m ? m->flops : gp ? gp->flops : store::kUnknown;
    const double bytes = m ? m->bytes : gp ? gp->bytes : store::kUnknown;
    if (!positive(flops) || !positive(bytes)) continue;
    const double ai = flops / bytes;
    x_lo = std::min(x_lo, ai);
    x_hi = std::max(x_hi, ai);
    const std::string who = row.op + " \xC2\xB7 " + (row.backend.empty() ? "any" : row.backend);
    std::vector<Cell> r = {text_cell(row.op), text_cell(row.backend.empty() ? "any" : row.backend),
                           text_cell(params_short(row.params_json)), num_cell(format_rate(ai), ai)};
    if (m && positive(m->gflops_per_s)) {
      LineSeries& ser = measured[m->backend];
      ser.name = "measured " + m->backend;
      ser.scatter = true;
      ser.marker_r = 4;
      ser.x.push_back(ai);
      ser.y.push_back(m->gflops_per_s);
      ser.point_labels.push_back(
          fmt::format("{}: {} GFLOP/s measured at {} FLOP/B", who, format_rate(m->gflops_per_s), format_rate(ai)));
      r.push_back(num_cell(format_rate(m->gflops_per_s), m->gflops_per_s));
    } else {
      r.push_back(text_cell("-"));
    }
    if (lroof) {
      const double at = lroof->at(ai);
      r.push_back(num_cell(gflops_text(at), at * 1e-9));
      const double share = m ? m->gflops_per_s * 1e9 / at : store::kUnknown;
      r.push_back(num_cell(pct(share), share));
    }
    if (groof) {
      const double g = gp && positive(gp->total_s) ? gp->flops / gp->total_s : store::kUnknown;
      r.push_back(num_cell(gflops_text(g), g * 1e-9));
      const double at = groof->at(ai);
      r.push_back(num_cell(gflops_text(at), at * 1e-9));
      if (positive(g)) {
        predicted.x.push_back(ai);
        predicted.y.push_back(g * 1e-9);
        predicted.point_labels.push_back(fmt::format("{}: {} GFLOP/s predicted on {}", who, gflops_text(g), groof->hw));
      }
    }
    t.rows.push_back(std::move(r));
  }
  if (t.rows.empty()) return {};
  s.notes.push_back(
      "Each op at its arithmetic intensity (op-catalogue FLOPs over memory bytes) and its achieved GFLOP/s: "
      "measured on " +
      d.run.host +
      " (circles per backend) and, for the GPU preset, the cost model's prediction "
      "(purple: a prediction, not a measurement). Roofs: min(peak, bandwidth x intensity).");
  x_lo /= 4;
  x_hi *= 4;
  for (const auto* roof : {lroof ? &*lroof : nullptr, groof ? &*groof : nullptr})
    if (roof) x_hi = std::max(x_hi, roof->ridge() * 4), x_lo = std::min(x_lo, roof->ridge() / 4);
  auto roof_series = [&](const Roof& r, const char* color, bool dashed) {
    LineSeries ser{fmt::format("{} roof ({}, {})", r.hw, r.precision, r.source), {}, {}, dashed, false, 2, color, {}};
    s.notes.push_back(fmt::format("{} roof: {} peak {} GFLOP/s, memory {} GB/s, ridge at {} FLOP/byte ({}).", r.hw,
                                  r.precision, format_rate(r.peak_flop_per_s * 1e-9),
                                  format_rate(r.bw_bytes_per_s * 1e-9), format_rate(r.ridge()), r.source));
    ser.x.push_back(x_lo);
    ser.y.push_back(r.at(x_lo) * 1e-9);
    if (r.ridge() > x_lo && r.ridge() < x_hi) {
      ser.x.push_back(r.ridge());
      ser.y.push_back(r.peak_flop_per_s * 1e-9);
    }
    ser.x.push_back(x_hi);
    ser.y.push_back(r.at(x_hi) * 1e-9);
    return ser;
  };
  if (lroof) c.series.push_back(roof_series(*lroof, "#1f6fb4", false));
  if (groof) c.series.push_back(roof_series(*groof, "#8a62b8", true));
  const char* kBackendColors[] = {"#e8771a", "#2a9d3a", "#c8302c", "#8c564b"};
  size_t bi = 0;
  for (auto& [backend, ser] : measured) {
    ser.color = kBackendColors[bi++ % 4];
    c.series.push_back(ser);
  }
  if (!predicted.x.empty()) c.series.push_back(predicted);

  if (!lroof)
    s.notes.push_back("This machine's roof is unknown: the run stored none and " + d.run.host + " has no probe.");
  if (!groof) s.notes.push_back("No GPU preset was predicted in this run, so no GPU roof is drawn.");
  s.charts.push_back(svg_line_chart(c));
  s.tables.push_back(std::move(t));
  return s;
}

// ---------------------------------------------------------------------------------------------------

Section cpu_profile_section(const ReportData& d) {
  Section s{"profile", "CPU and GPU profile (measured)", {}, {}, {}};
  struct Row {
    const store::Measurement* m;
    json p;
  };
  std::vector<Row> rows;
  bool any_perf = false, any_gpu = false;
  for (const store::ComparisonRow& row : d.cmp.rows) {
    if (!row.measured || row.measured->counters_json.empty()) continue;
    json p = json::parse(row.measured->counters_json, nullptr, false);
    if (!p.is_object()) continue;
    any_perf = any_perf || (p.contains("perf") && p["perf"].contains("per_rep"));
    any_gpu = any_gpu || (p.contains("gpu") && p["gpu"].contains("kernels"));
    rows.push_back({&*row.measured, std::move(p)});
  }
  const double rss = metric_value(d, "peak_rss_bytes");
  if (rows.empty() && !positive(rss)) return {};
  if (positive(rss))
    s.notes.push_back("Peak RSS of the v4lab process during the run (measured): " + format_bytes(rss) + " — " +
                      metric_text(d, "peak_rss_bytes") + ".");
  std::string perf = metric_text(d, "perf_counters");
  for (const Row& r : rows)
    if (perf.empty() && r.p.contains("perf") && r.p["perf"].is_object()) perf = r.p["perf"].value("status", "");
  if (!perf.empty()) s.notes.push_back("Hardware counters (perf_event_open): " + perf + ".");
  const std::string cupti = metric_text(d, "cupti");
  if (!cupti.empty()) s.notes.push_back("GPU activity (CUPTI): " + cupti + ".");
  if (rows.empty()) return s;
  s.notes.push_back(
      "Per call (mean over the timed reps): wall time, CPU time of the calling thread and of the whole "
      "process (OpenMP workers included); utilization = process CPU / wall, i.e. busy cores.");
  Table t;
  t.header = {"op", "backend", "wall median", "thread CPU", "process CPU", "CPU utilization", "threads"};
  if (any_perf) t.header.insert(t.header.end(), {"cycles", "instructions", "IPC", "cache misses"});
  if (any_gpu) t.header.insert(t.header.end(), {"GPU kernels / rep", "kernel time / rep", "copy bytes / rep"});
  auto num = [](const json& j, const char* k) {
    return j.contains(k) && j[k].is_number() ? j[k].get<double>() : store::kUnknown;
  };
  for (const Row& r : rows) {
    const store::Measurement& m = *r.m;
    const double thr = num(r.p, "thread_cpu_s"), proc = num(r.p, "process_cpu_s"), util = num(r.p, "cpu_utilization");
    std::vector<Cell> c = {text_cell(m.op),
                           text_cell(m.backend),
                           num_cell(format_seconds(m.median_s), m.median_s),
                           num_cell(format_seconds(thr), thr),
                           num_cell(format_seconds(proc), proc),
                           num_cell(std::isfinite(util) ? fmt::format("{:.2f}", util) : "n/a", util),
                           num_cell(m.thread_count > 0 ? std::to_string(m.thread_count) : "-", m.thread_count)};
    if (any_perf) {
      const json per =
          r.p.contains("perf") && r.p["perf"].contains("per_rep") ? r.p["perf"]["per_rep"] : json::object();
      if (per.empty()) {
        c.push_back(text_cell(r.p.contains("perf") ? r.p["perf"].value("status", "unavailable") : "unavailable"));
        c.insert(c.end(), 3, text_cell("-"));
      } else {
        for (const char* k : {"cycles", "instructions"}) c.push_back(num_cell(format_rate(num(per, k)), num(per, k)));
        const double ipc = num(r.p["perf"], "ipc");
        c.push_back(num_cell(std::isfinite(ipc) ? fmt::format("{:.2f}", ipc) : "n/a", ipc));
        c.push_back(num_cell(format_rate(num(per, "cache_misses")), num(per, "cache_misses")));
      }
    }
    if (any_gpu) {
      const json g = r.p.value("gpu", json::object());
      const double reps = m.reps > 0 ? static_cast<double>(m.reps) : store::kUnknown;
      // Kernels of the verify launch and warm-up are included: per rep is an upper bound.
      const double k = num(g, "kernels") / reps, kt = num(g, "kernel_time_s") / reps, cb = num(g, "copy_bytes") / reps;
      c.push_back(num_cell(std::isfinite(k) ? fmt::format("{:.1f}", k) : "-", k));
      c.push_back(num_cell(format_seconds(kt), kt));
      c.push_back(num_cell(format_bytes(cb), cb));
    }
    t.rows.push_back(std::move(c));
  }
  if (any_gpu)
    s.notes.push_back(
        "GPU columns count every CUPTI record of the case (verify launch and warm-up included) divided "
        "by the timed reps.");
  s.tables.push_back(std::move(t));
  return s;
}

// ---------------------------------------------------------------------------------------------------

Section layer_breakdown_section(const ReportData& d) {
  Section s{"breakdown", "Per-layer-type breakdown (prediction)", {}, {}, {}};
  std::vector<std::pair<std::string, double>> parts;
  double step = store::kUnknown;
  std::string hw;
  for (const store::ComparisonRow& row : d.cmp.rows)
    for (const auto& p : row.predicted) {
      if (!p) continue;
      if (p->op.rfind("layer_type:", 0) == 0) parts.emplace_back(p->op.substr(11), p->total_s), hw = p->hardware;
      if (p->op == "step") step = p->total_s;
    }
  if (parts.empty()) return {};
  StackedBarChart c;
  c.title = "Busy time per layer type (prediction, " + hw + ")";
  c.axis_label = "busy time per step (sum of node times; streams overlap, so the sum can exceed the step)";
  c.format_value = format_seconds;
  StackedBar bar{"busy time by layer type", {}, 0, ""};
  Table t;
  t.header = {"layer type", "busy time (prediction)", "% of step"};
  for (auto& [k, v] : parts) {
    c.series.push_back(k);
    bar.values.push_back(v);
    const double share = positive(step) ? v / step : store::kUnknown;
    t.rows.push_back({text_cell(k), num_cell(format_seconds(v), v), num_cell(pct(share), share)});
  }
  if (positive(step)) {
    bar.limit = step;
    bar.limit_label = "step (makespan)";
    t.rows.push_back({text_cell("step (makespan)"), num_cell(format_seconds(step), step), num_cell("100%", 1.0)});
  }
  c.bars.push_back(bar);
  // Per stream and per family busy time, when the run stored them.
  Table f;
  f.header = {"stream / op family", "busy time (prediction)"};
  for (const store::RunMetric& m : d.metrics) {
    if (m.name.rfind("step.busy_s.", 0) == 0)
      f.rows.push_back({text_cell("stream " + m.name.substr(12)), num_cell(format_seconds(m.value), m.value)});
    else if (m.name.rfind("family.", 0) == 0 && m.name.size() > 14)
      f.rows.push_back(
          {text_cell("family " + m.name.substr(7, m.name.size() - 14)), num_cell(format_seconds(m.value), m.value)});
  }
  s.notes.push_back("Every number here is a cost-model prediction for " + hw + " (list-scheduled step DAG).");
  s.charts.push_back(svg_stacked_bars(c));
  s.tables.push_back(std::move(t));
  if (!f.rows.empty()) s.tables.push_back(std::move(f));
  return s;
}

// ---------------------------------------------------------------------------------------------------

Section memory_section(const ReportData& d) {
  MemoryParts p;
  p.weights_bytes = metric_value(d, "memory.weights_bytes");
  p.kv_bytes = metric_value(d, "memory.kv_bytes");
  p.activation_bytes = metric_value(d, "memory.activation_bytes");
  p.capacity_bytes = metric_value(d, "memory.capacity_bytes");
  p.host_bytes = metric_value(d, "memory.host_bytes");
  p.rss_bytes = metric_value(d, "peak_rss_bytes");
  p.rss_host = d.run.host;
  return memory_parts_section(p, "memory", "Memory footprint");
}

Section memory_parts_section(const MemoryParts& p, std::string id, std::string title) {
  Section s{std::move(id), std::move(title), {}, {}, {}};
  const double w = p.weights_bytes, kv = p.kv_bytes, act = p.activation_bytes, cap = p.capacity_bytes,
               host = p.host_bytes, rss = p.rss_bytes;
  const bool parts = std::isfinite(w) || std::isfinite(kv);
  const bool total_only = !parts && std::isfinite(p.hbm_total_bytes);
  if (!parts && !total_only && !positive(rss)) return {};
  StackedBarChart c;
  c.title = "Memory footprint: HBM per GPU and host RAM";
  c.axis_label = "bytes (decimal SI)";
  c.format_value = format_bytes;
  c.series = {"weights (prediction)", "KV cache (prediction)", "activations (prediction)",
              "HBM total (prediction)", "Engram host tables (prediction)", "peak RSS (measured)"};
  Table t;
  t.header = {"tier", "part", "bytes", "label"};
  auto row = [&](const std::string& tier, const std::string& part, double v, const std::string& label) {
    t.rows.push_back({text_cell(tier), text_cell(part), num_cell(format_bytes(v), v), text_cell(label)});
  };
  if (parts || total_only) {
    if (parts) {
      c.bars.push_back({p.hbm_bar, {w, kv, act, 0, 0, 0}, positive(cap) ? cap : 0, "HBM capacity"});
      row("HBM per GPU", "weights", w, "prediction");
      row("HBM per GPU", "KV cache", kv, "prediction");
      row("HBM per GPU", "activations", act, "prediction");
    } else {
      c.bars.push_back({p.hbm_bar, {0, 0, 0, p.hbm_total_bytes, 0, 0}, positive(cap) ? cap : 0, "HBM capacity"});
      row("HBM per GPU", "total (weights + KV + activations)", p.hbm_total_bytes, "prediction");
    }
    row("HBM per GPU", "capacity", cap, "preset");
    if (positive(host)) {
      c.bars.push_back({"host RAM (prediction)", {0, 0, 0, 0, host, 0}, 0, ""});
      row("host RAM", "Engram tables", host, "prediction");
    }
  }
  if (positive(rss)) {
    c.bars.push_back({"host RAM: v4lab process (measured)", {0, 0, 0, 0, 0, rss}, 0, ""});
    row("host RAM", "v4lab process peak RSS (" + p.rss_host + ")", rss, "measured");
  }
  // Only the parts that occur get a legend entry.
  for (size_t si = c.series.size(); si-- > 0;) {
    bool used = false;
    for (const StackedBar& b : c.bars) used = used || positive(b.values[si]);
    if (used) continue;
    c.series.erase(c.series.begin() + static_cast<std::ptrdiff_t>(si));
    for (StackedBar& b : c.bars) b.values.erase(b.values.begin() + static_cast<std::ptrdiff_t>(si));
  }
  s.charts.push_back(svg_stacked_bars(c));
  s.tables.push_back(std::move(t));
  return s;
}

// ---------------------------------------------------------------------------------------------------

Section trace_section(const ReportData& d) {
  Section s{"trace", "Trace", {}, {}, {}};
  if (d.n_trace_events == 0) return {};
  s.notes.push_back(
      fmt::format("{} trace events are stored with this run. `v4lab run` writes them beside this report as trace.json; "
                  "`v4lab report {} --format trace -o trace.json` regenerates the file from the database.",
                  d.n_trace_events, d.run.id));
  s.notes.push_back(
      "Open it in Perfetto (ui.perfetto.dev \xE2\x86\x92 Open trace file) or chrome://tracing "
      "(Load). Processes named 'measured' were timed on the host; 'prediction: ...' are the cost "
      "model's times.");
  Table t;
  t.header = {"process", "tracks", "events"};
  for (const store::TraceProcessSummary& p : d.trace_processes)
    t.rows.push_back({text_cell(p.process), num_cell(std::to_string(p.tracks), static_cast<double>(p.tracks)),
                      num_cell(std::to_string(p.events), static_cast<double>(p.events))});
  s.tables.push_back(std::move(t));
  return s;
}

Section provenance_section(const ReportData& d) {
  Section s{"provenance", "Provenance", {}, {}, {}};
  const store::RunRow& r = d.run;
  const std::string command = metric_text(d, "command");
  Table t;
  t.header = {"field", "value"};
  auto kv = [&](const std::string& k, const std::string& v) { t.rows.push_back({text_cell(k), text_cell(v)}); };
  kv("git commit", r.git_commit + (r.git_dirty ? " (dirty: uncommitted changes)" : ""));
  kv("host", r.host);
  kv("command", command.empty() ? "- (not recorded)" : command);
  kv("build", r.build_type + ", " + r.compiler);
  kv("compiler flags", r.cxx_flags.empty() ? "-" : r.cxx_flags);
  kv("v4lab version", r.v4lab_version);
  kv("started", r.started_at);
  kv("finished", r.finished_at.empty() ? "- (not finished)" : r.finished_at);
  kv("database", d.db_path);
  kv("report generated", d.generated_at);
  s.tables.push_back(std::move(t));
  return s;
}

std::vector<Section> profile_sections(const ReportData& d) {
  std::vector<Section> out;
  for (Section s : {roofline_section(d), cpu_profile_section(d), layer_breakdown_section(d), memory_section(d)})
    if (!s.empty()) out.push_back(std::move(s));
  return out;
}

}  // namespace v4lab::report::detail
