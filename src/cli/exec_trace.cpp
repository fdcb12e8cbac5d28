// exec_trace.cpp — measured and predicted timeline of an exec run (exec_trace.h). Times are integer ns
// from the run start; predicted op ends are rounded from the running sum of the predictions (not each
// duration), so predicted ops on a track stay back to back and inside their phase span.
#include "cli/exec_trace.h"

#include <cmath>
#include <map>

namespace v4lab::cli {

using nlohmann::json;

std::string exec_predicted_process(const std::string& hw_id) { return "predicted (" + hw_id + " preset)"; }

namespace {

struct PhaseSpan {
  std::string name, track;  // track = phase (prefill | decode)
  int64_t start_ns = 0, end_ns = 0, calls = 0;
  int steps = 0, first_k = 0;  // first_k: 1-based ordinal of the first step within its phase
  bool aggregated = false;
};

std::string op_event_name(const profiler::OpRecord& r) {
  std::string n;
  if (r.layer >= 0) n.append("L").append(std::to_string(r.layer)).append(" ");
  n.append(r.label);
  if (r.op != r.label) n.append(" (").append(r.op).append(")");
  return n;
}

}  // namespace

ExecTimeline exec_timeline(const profiler::ExecOutput& out, const std::vector<double>& predicted_s,
                           const std::string& hw_id) {
  ExecTimeline tl;
  const profiler::ExecTrace& tr = out.trace;
  const std::vector<profiler::OpRecord>& recs = out.records;
  const std::string mp = kExecMeasuredProcess, pp = exec_predicted_process(hw_id);

  // Phase spans: every traced step is one; untraced (capped) decode steps merge into one aggregate.
  std::map<std::string, int> per_phase_steps, ordinal;
  for (const profiler::ExecStepSpan& s : tr.steps) ++per_phase_steps[s.phase];
  std::vector<PhaseSpan> phases;
  for (const profiler::ExecStepSpan& s : tr.steps) {
    const int k = ++ordinal[s.phase];
    auto aggregate_name = [&](const PhaseSpan& p) {
      return s.phase + " steps " + std::to_string(p.first_k) + ".." + std::to_string(k) + " (aggregated)";
    };
    if (!s.traced && !phases.empty() && phases.back().aggregated && phases.back().track == s.phase) {
      PhaseSpan& p = phases.back();
      p.end_ns = s.end_ns, p.calls += s.calls, ++p.steps;
      p.name = aggregate_name(p);
      continue;
    }
    PhaseSpan p;
    p.track = s.phase, p.start_ns = s.start_ns, p.end_ns = s.end_ns, p.calls = s.calls, p.steps = 1, p.first_k = k;
    p.aggregated = !s.traced;
    if (p.aggregated) p.name = aggregate_name(p);
    else if (s.phase == "decode") p.name = "decode step " + std::to_string(k);
    else p.name = per_phase_steps[s.phase] > 1 ? s.phase + " chunk " + std::to_string(k) : s.phase;
    phases.push_back(std::move(p));
  }

  // Measured: phase spans, then one event per traced kernel call.
  int64_t n_measured = 0, n_predicted = 0;
  for (const PhaseSpan& p : phases) {
    tl.events.push_back({mp, p.track, p.name, p.aggregated ? "phase_aggregate" : "phase", p.start_ns,
                         std::max<int64_t>(0, p.end_ns - p.start_ns),
                         json{{"phase", p.track}, {"steps", p.steps}, {"calls", p.calls}, {"label_kind", "measured"}}
                             .dump()});
    ++n_measured;
  }
  for (const profiler::ExecSpan& c : tr.calls) {
    const profiler::OpRecord& r = recs.at(c.record);
    json a = {{"op", r.op},     {"label", r.label},   {"layer", r.layer},    {"layer_type", r.layer_type},
              {"family", r.family}, {"phase", r.phase}, {"step", c.step}, {"label_kind", "measured"}};
    tl.events.push_back({mp, r.phase, op_event_name(r), "exec_op", c.start_ns, std::max<int64_t>(0, c.end_ns - c.start_ns),
                         a.dump()});
    ++n_measured;
  }

  // Predicted: the records of each phase in executor order (records are created at their first call),
  // each with its stored per-step prediction, back to back on one stream from the measured start.
  std::map<std::string, std::vector<size_t>> order;
  std::map<std::string, double> step_sum_s;
  for (size_t i = 0; i < recs.size(); ++i) {
    if (i >= predicted_s.size() || !std::isfinite(predicted_s[i])) continue;
    order[recs[i].phase].push_back(i);
    step_sum_s[recs[i].phase] += predicted_s[i];
  }
  const int64_t base = phases.empty() ? 0 : phases.front().start_ns;
  double cursor_s = 0;
  auto at = [&](double s) { return base + std::llround(s * 1e9); };
  json rows = json::array();
  for (const PhaseSpan& p : phases) {
    const double p0 = cursor_s;
    if (p.aggregated) {
      cursor_s += double(p.steps) * step_sum_s[p.track];
    } else {
      for (size_t i : order[p.track]) {
        const profiler::OpRecord& r = recs[i];
        const int64_t a = at(cursor_s);
        cursor_s += predicted_s[i];
        json args = {{"op", r.op},         {"label", r.label},   {"layer", r.layer},
                     {"layer_type", r.layer_type}, {"family", r.family}, {"phase", r.phase},
                     {"predicted_s", predicted_s[i]}, {"calls_per_step", r.calls_per_step},
                     {"hardware", hw_id},  {"label_kind", "prediction"}};
        tl.events.push_back({pp, r.phase, op_event_name(r), "predicted_op", a, at(cursor_s) - a, args.dump()});
        ++n_predicted;
      }
    }
    const int64_t a = at(p0), b = at(cursor_s);
    tl.events.push_back({pp, p.track, p.name, p.aggregated ? "phase_aggregate" : "phase", a, b - a,
                         json{{"phase", p.track}, {"steps", p.steps}, {"label_kind", "prediction"}, {"hardware", hw_id}}
                             .dump()});
    ++n_predicted;
    const double ms = double(p.end_ns - p.start_ns) / 1e9, ps = double(b - a) / 1e9;
    rows.push_back({{"name", p.name},
                    {"track", p.track},
                    {"steps", p.steps},
                    {"calls", p.calls},
                    {"aggregated", p.aggregated},
                    {"measured_start_s", double(p.start_ns) / 1e9},
                    {"measured_s", ms},
                    {"predicted_start_s", double(a) / 1e9},
                    {"predicted_s", ps},
                    {"error", ms > 0 ? (ps - ms) / ms : 0.0}});
  }
  int decode_steps = 0;
  for (const profiler::ExecStepSpan& s : tr.steps) decode_steps += s.phase == "decode";
  tl.summary = {{"label", "measured: kernel calls timed on this machine (steady clock from the run start); "
                          "predicted: the stored per-op predictions on " + hw_id +
                              " laid out in the executor's order on one stream (the CPU backend runs ops sequentially)"},
                {"processes", {mp, pp}},
                {"phases", rows},
                {"decode_steps", decode_steps},
                {"decode_steps_traced", tr.decode_steps_traced},
                {"decode_steps_aggregated", decode_steps - tr.decode_steps_traced},
                {"calls_traced", int64_t(tr.calls.size())},
                {"calls_dropped", tr.dropped_calls},
                {"events_measured", n_measured},
                {"events_predicted", n_predicted}};
  return tl;
}

}  // namespace v4lab::cli
