// trace_capture.cpp — trace/profile glue for `run`, `bench` and `predict` (trace_capture.h).
#include "cli/trace_capture.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "profiler/cpu_counters.h"
#include "sim/layer_graph.h"

namespace v4lab::cli {

using nlohmann::json;

std::vector<store::TraceEvent> spans_to_events(const std::vector<profiler::TraceSpan>& spans,
                                               const std::string& process) {
  std::vector<store::TraceEvent> out;
  out.reserve(spans.size());
  for (const profiler::TraceSpan& s : spans) {
    out.push_back({process, s.track, s.name, s.category, s.ts_ns, std::max<int64_t>(0, s.dur_ns),
                   s.args.empty() ? std::string() : s.args.dump()});
  }
  return out;
}

std::vector<store::TraceEvent> gpu_events(const std::vector<profiler::GpuActivity>& acts,
                                          const profiler::TraceRecorder& rec, const std::string& process) {
  std::vector<store::TraceEvent> out;
  for (const profiler::GpuActivity& a : acts) {
    const auto tp = profiler::TraceRecorder::Clock::time_point(std::chrono::nanoseconds(a.start_ns));
    json args = {{"device", a.device}, {"stream", a.stream}, {"correlation", a.correlation}};
    if (a.kind == "kernel") {
      args["grid"] = {a.grid[0], a.grid[1], a.grid[2]};
      args["block"] = {a.block[0], a.block[1], a.block[2]};
    } else {
      args["bytes"] = a.bytes;
      if (!a.copy_kind.empty()) args["copy_kind"] = a.copy_kind;
    }
    out.push_back({process, "cuda stream " + std::to_string(a.stream), a.name, "cuda_" + a.kind, rec.to_ns(tp),
                   std::max<int64_t>(0, a.end_ns - a.start_ns), args.dump()});
  }
  return out;
}

json measurement_profile(const profiler::Measurement& m, const std::vector<profiler::GpuActivity>* gpu,
                         const std::string& cupti_status) {
  json j = {{"wall_median_s", m.median_s},
            {"wall_mean_s", m.mean_s},
            {"wall_total_s", m.wall_total_s},
            {"thread_cpu_s", m.thread_cpu_s},
            {"process_cpu_s", m.process_cpu_s},
            {"cpu_utilization", m.mean_s > 0 ? m.process_cpu_s / m.mean_s : 0.0},
            {"label", "measured"}};
  json perf = {{"status", m.counters.status}};
  if (m.counters.available && m.reps > 0) {
    json per_rep = json::object();
    for (const auto& [k, v] : m.counters.values) per_rep[k] = v / m.reps;
    perf["per_rep"] = per_rep;
    const auto cyc = m.counters.values.find("cycles");
    const auto ins = m.counters.values.find("instructions");
    if (cyc != m.counters.values.end() && ins != m.counters.values.end() && cyc->second > 0)
      perf["ipc"] = ins->second / cyc->second;
  }
  j["perf"] = perf;
  if (gpu) {
    int64_t kernels = 0, copies = 0, bytes = 0;
    double kernel_s = 0, copy_s = 0;
    for (const profiler::GpuActivity& a : *gpu) {
      const double s = static_cast<double>(a.end_ns - a.start_ns) * 1e-9;
      if (a.kind == "kernel") {
        ++kernels;
        kernel_s += s;
      } else {
        ++copies;
        copy_s += s;
        bytes += a.bytes;
      }
    }
    j["gpu"] = {{"source", "CUPTI activity"}, {"kernels", kernels},    {"kernel_time_s", kernel_s},
                {"copies", copies},           {"copy_time_s", copy_s}, {"copy_bytes", bytes}};
  } else if (!cupti_status.empty()) {
    j["gpu"] = {{"status", cupti_status}};
  }
  return j;
}

std::vector<store::RunMetric> roof_metrics(const sim::HardwareModel& hw) {
  std::vector<store::RunMetric> out;
  const std::string base = "roof." + hw.id + ".";
  if (hw.mem_bw.value > 0)
    out.push_back({base + "mem_bw_bytes_per_s", hw.mem_bw.value, hw.mem_bw.field, "bytes_per_s",
                   hw.mem_bw.kind.empty() ? "preset" : hw.mem_bw.kind});
  for (const auto& [p, r] : hw.peak_flops_per_s)
    if (r.value > 0)
      out.push_back({base + "peak_flops_per_s." + precision_name(p), r.value, r.field, "flop_per_s",
                     r.kind.empty() ? "preset" : r.kind});
  out.push_back({base + "device_class", store::kUnknown, hw.device_class, "", "preset"});
  return out;
}

std::vector<store::TraceEvent> predicted_schedule_events(const sim::StepGraph& g, const sim::ScheduleResult& s,
                                                         const std::string& process) {
  std::vector<store::TraceEvent> out;
  out.reserve(s.timeline.size());
  for (const sim::TimelineEntry& t : s.timeline) {
    const sim::OpNode& n = g.dag[static_cast<size_t>(t.node)];
    // Rounded ends (not rounded durations): back-to-back nodes on a stream stay back to back.
    const int64_t a = std::llround(t.start_s * 1e9), b = std::llround(t.end_s * 1e9);
    json args = {{"label", n.label},
                 {"layer", n.layer},
                 {"layer_type", n.layer_type},
                 {"family", n.family},
                 {"micro_batch", n.micro_batch},
                 {"predicted_s", t.end_s - t.start_s},
                 {"flops", n.work.flops},
                 {"bytes_mem", n.work.bytes_mem},
                 {"bytes_net", n.work.bytes_net},
                 {"bytes_host_link", n.work.bytes_host_link},
                 {"node", t.node},
                 {"label_kind", "prediction"}};
    // Appended piecewise: GCC 12 flags `"L" + std::string` here with a false -Wrestrict.
    std::string name;
    if (n.layer >= 0) name.append("L").append(std::to_string(n.layer)).append(" ");
    name.append(n.op);
    if (!n.label.empty() && n.label != n.op) name.append(" (").append(n.label).append(")");
    out.push_back({process, sim::stream_name(static_cast<sim::StreamId>(t.stream)), name, "predicted_op", a,
                   std::max<int64_t>(0, b - a), args.dump()});
  }
  return out;
}

void clamp_overlaps(std::vector<store::TraceEvent>& events) {
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> tracks;
  for (size_t i = 0; i < events.size(); ++i) tracks[{events[i].process, events[i].track}].push_back(i);
  for (auto& [key, idx] : tracks) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return events[a].ts_ns < events[b].ts_ns; });
    for (size_t k = 0; k + 1 < idx.size(); ++k) {
      store::TraceEvent& e = events[idx[k]];
      const int64_t next = events[idx[k + 1]].ts_ns;
      if (e.ts_ns + e.dur_ns <= next) continue;
      e.dur_ns = std::max<int64_t>(0, next - e.ts_ns);
      json a = e.args_json.empty() ? json::object() : json::parse(e.args_json, nullptr, false);
      if (a.is_object()) {
        a["clamped_to_next_event"] = true;
        e.args_json = a.dump();
      }
    }
  }
}

store::RunMetric command_metric(const std::string& command) {
  return {"command", store::kUnknown, command, "", "provenance"};
}

store::RunMetric peak_rss_metric(bool since_reset) {
  const profiler::PeakRss r = profiler::peak_rss(since_reset);
  return {"peak_rss_bytes", static_cast<double>(r.bytes), r.method, "bytes", "measured"};
}

}  // namespace v4lab::cli
