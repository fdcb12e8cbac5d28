// test_exec_trace.cpp — the executor's timeline (profiler/model_exec.h ExecTrace; issue 11 "timeline of
// both") and its trace events (src/cli/exec_trace.h): one span per kernel call of the traced steps,
// whose durations add up to the recorded samples exactly (same t0/t1); every call inside its step's
// span; decode steps past the cap are counted but not traced; the predicted track lays out the
// given per-op predictions back to back, nested in their phase spans.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>

#include "cli/exec_trace.h"
#include "core/presets.h"
#include "profiler/model_exec.h"

using namespace v4lab;
using namespace v4lab::profiler;

namespace {
ExecOutput traced_run(int64_t batch, int64_t prefill, int64_t decode, int trace_steps, int64_t max_calls = 250000) {
  ExecScale s = named_scale("tiny");
  s.layers = 3;
  const ModelPreset m = scale_preset(load_model_preset("deepseek_v4_flash", default_data_dir()), s);
  ExecOptions o;
  o.trace = true;
  o.trace_decode_steps = trace_steps;
  o.trace_max_calls = max_calls;
  return run_exec(m, {batch, prefill, decode}, o);
}
}  // namespace

TEST_CASE("exec trace: call spans add up to the recorded samples and nest in their steps", "[profiler][exec]") {
  const ExecOutput out = traced_run(2, 12, 5, 3);
  const ExecTrace& tr = out.trace;
  REQUIRE(tr.steps.size() == 6);  // prefill + 5 decode steps
  REQUIRE(tr.decode_steps_traced == 3);
  REQUIRE(tr.dropped_calls == 0);
  // Sum of span durations per (record, step) = the record's sample of that step (same clock readings).
  std::map<std::pair<uint32_t, int32_t>, int64_t> sum_ns;
  std::map<int32_t, int64_t> calls_per_step;
  for (const ExecSpan& c : tr.calls) {
    REQUIRE(c.end_ns >= c.start_ns);
    REQUIRE(c.record < out.records.size());
    sum_ns[{c.record, c.step}] += c.end_ns - c.start_ns;
    ++calls_per_step[c.step];
  }
  int checked = 0;
  for (const auto& [key, ns] : sum_ns) {
    const OpRecord& r = out.records[key.first];
    const int sample = r.phase == "prefill" ? 0 : key.second - 1;  // decode samples: one per step, in order
    REQUIRE(sample < int(r.samples_s.size()));
    INFO(r.phase << " L" << r.layer << " " << r.label << " step " << key.second);
    CHECK(std::fabs(double(ns) * 1e-9 - r.samples_s[size_t(sample)]) <= 1e-9 * 64 + 1e-12);
    ++checked;
  }
  REQUIRE(checked > 100);
  int64_t prev_end = -1;
  for (const ExecStepSpan& s : tr.steps) {
    INFO("step " << s.step);
    REQUIRE(s.start_ns >= prev_end);  // steps do not overlap
    prev_end = s.end_ns;
    REQUIRE(s.calls > 0);
    // Traced steps: one span per call (within the cap); the steps past the cap: counted, none kept.
    CHECK(calls_per_step[s.step] == (s.traced ? s.calls : 0));
    CHECK(s.traced == (s.step <= 3));
    CHECK(s.phase == (s.step == 0 ? "prefill" : "decode"));
  }
  for (const ExecSpan& c : tr.calls) {
    const ExecStepSpan& s = tr.steps[size_t(c.step)];
    REQUIRE(c.start_ns >= s.start_ns);
    REQUIRE(c.end_ns <= s.end_ns);
  }
  // The attention core runs once per sequence: batch spans per layer and step.
  for (size_t i = 0; i < out.records.size(); ++i)
    if (out.records[i].label == "core" && out.records[i].phase == "decode") {
      int n = 0;
      for (const ExecSpan& c : tr.calls) n += c.record == i && c.step == 1;
      CHECK(n == 2);
    }
}

TEST_CASE("exec trace: the call cap drops spans but keeps the step spans", "[profiler][exec]") {
  const ExecOutput out = traced_run(1, 8, 2, 8, 100);
  REQUIRE(out.trace.calls.size() == 100);
  int64_t calls = 0;
  for (const ExecStepSpan& s : out.trace.steps) calls += s.calls;
  REQUIRE(out.trace.dropped_calls == calls - 100);
  REQUIRE(out.trace.steps.size() == 3);
  // No trace unless asked for.
  ExecScale s = named_scale("tiny");
  s.layers = 2;
  const ModelPreset m = scale_preset(load_model_preset("deepseek_v4_flash", default_data_dir()), s);
  const ExecOutput plain = run_exec(m, {1, 8, 1}, ExecOptions{});
  REQUIRE(plain.trace.calls.empty());
  REQUIRE(plain.trace.steps.empty());
}

TEST_CASE("exec trace events: measured calls, predicted ops back to back inside their phase spans", "[profiler][exec]") {
  const ExecOutput out = traced_run(1, 9, 4, 2);
  std::vector<double> pred(out.records.size(), NAN);
  for (size_t i = 0; i < pred.size(); ++i)
    if (out.records[i].op != "embed") pred[i] = 1e-6 * double(1 + i % 7) + 1e-10 * double(i);
  const cli::ExecTimeline tl = cli::exec_timeline(out, pred, "h100_sxm");
  const std::string mp = cli::kExecMeasuredProcess, pp = cli::exec_predicted_process("h100_sxm");
  REQUIRE(pp == "predicted (h100_sxm preset)");
  size_t measured_ops = 0, predicted_ops = 0;
  std::map<std::string, std::vector<const store::TraceEvent*>> phase_spans;  // process -> spans
  for (const store::TraceEvent& e : tl.events) {
    REQUIRE((e.process == mp || e.process == pp));
    REQUIRE((e.track == "prefill" || e.track == "decode"));
    if (e.category == "phase" || e.category == "phase_aggregate") phase_spans[e.process].push_back(&e);
    measured_ops += e.process == mp && e.category == "exec_op";
    predicted_ops += e.process == pp && e.category == "predicted_op";
  }
  REQUIRE(measured_ops == out.trace.calls.size());
  // Phases: prefill, decode step 1, decode step 2, decode steps 3..4 (aggregated) in both processes.
  const auto& ph = tl.summary["phases"];
  REQUIRE(ph.size() == 4);
  CHECK(ph[0]["name"] == "prefill");
  CHECK(ph[1]["name"] == "decode step 1");
  CHECK(ph[3]["name"] == "decode steps 3..4 (aggregated)");
  CHECK(ph[3]["steps"] == 2);
  REQUIRE(phase_spans[mp].size() == 4);
  REQUIRE(phase_spans[pp].size() == 4);
  // Predicted ops: one per predicted record per traced step, durations = the predictions (ns-rounded ends).
  size_t per_prefill = 0, per_decode = 0;
  for (size_t i = 0; i < pred.size(); ++i)
    if (std::isfinite(pred[i])) (out.records[i].phase == "prefill" ? per_prefill : per_decode) += 1;
  REQUIRE(predicted_ops == per_prefill + 2 * per_decode);
  for (const store::TraceEvent& e : tl.events) {
    if (e.category != "predicted_op" && e.category != "exec_op") continue;
    const auto args = nlohmann::json::parse(e.args_json);
    if (e.category == "predicted_op") CHECK(std::fabs(double(e.dur_ns) * 1e-9 - args["predicted_s"].get<double>()) <= 1e-9);
    // Inside exactly one phase span of its process and track.
    int inside = 0;
    for (const store::TraceEvent* p : phase_spans[e.process])
      inside += p->track == e.track && e.ts_ns >= p->ts_ns && e.ts_ns + e.dur_ns <= p->ts_ns + p->dur_ns;
    CHECK(inside == 1);
  }
  // The predicted phase span of a traced step = the sum of its ops; the aggregate = steps x a step.
  double step_s = 0;
  for (size_t i = 0; i < pred.size(); ++i)
    if (std::isfinite(pred[i]) && out.records[i].phase == "decode") step_s += pred[i];
  CHECK(ph[1]["predicted_s"].get<double>() == Approx(step_s).margin(2e-9));
  CHECK(ph[3]["predicted_s"].get<double>() == Approx(2 * step_s).margin(2e-9));
  CHECK(ph[0]["predicted_start_s"].get<double>() == ph[0]["measured_start_s"].get<double>());
}
