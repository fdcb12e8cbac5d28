// trace_check.h — validation of a Chrome trace-event document for the tests: every event has the
// fields the format requires, every track is named, and on every track the "X" spans are in start
// order and nest (a span that starts inside another ends inside it) — what Perfetto and
// chrome://tracing need to draw them as a stack.
#pragma once
#include <cmath>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace v4lab::test {

struct TraceCheck {
  std::string error;  // "" = valid
  size_t n_spans = 0;
  std::map<int, std::string> processes;               // pid -> process_name
  std::map<std::pair<int, int>, std::string> tracks;  // (pid, tid) -> thread_name
  std::map<std::pair<int, int>, size_t> spans_per_track;
  std::map<std::pair<int, int>, double> track_end_us;  // latest span end per track
};

inline TraceCheck check_chrome_trace(const nlohmann::json& doc) {
  TraceCheck r;
  auto fail = [&](std::string why) {
    r.error = std::move(why);
    return r;
  };
  if (!doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array())
    return fail("no traceEvents array");
  constexpr double kEps = 1e-3;  // 1 ns in µs: ts and dur are doubles converted from integer ns
  struct Open {
    double end;
    std::string name;
  };
  std::map<std::pair<int, int>, std::vector<Open>> stacks;
  std::map<std::pair<int, int>, double> last_ts;
  for (const auto& e : doc["traceEvents"]) {
    for (const char* k : {"ph", "pid", "tid", "name"})
      if (!e.contains(k)) return fail(std::string("event without '") + k + "': " + e.dump());
    const std::string ph = e["ph"].get<std::string>();
    const std::pair<int, int> key{e["pid"].get<int>(), e["tid"].get<int>()};
    if (ph == "M") {
      const std::string n = e["name"].get<std::string>();
      if (n == "process_name") r.processes[key.first] = e["args"]["name"].get<std::string>();
      if (n == "thread_name") r.tracks[key] = e["args"]["name"].get<std::string>();
      continue;
    }
    if (ph != "X") return fail("unexpected phase " + ph);
    if (!e.contains("ts") || !e.contains("dur") || !e["ts"].is_number() || !e["dur"].is_number())
      return fail("X event without numeric ts/dur: " + e.dump());
    const double ts = e["ts"].get<double>(), dur = e["dur"].get<double>();
    if (!std::isfinite(ts) || !std::isfinite(dur) || dur < 0) return fail("bad ts/dur: " + e.dump());
    if (!r.tracks.count(key)) return fail("span on an unnamed track: " + e.dump());
    if (last_ts.count(key) && ts + kEps < last_ts[key]) return fail("spans out of start order: " + e.dump());
    last_ts[key] = ts;
    auto& st = stacks[key];
    while (!st.empty() && st.back().end <= ts + kEps) st.pop_back();
    if (!st.empty() && ts + dur > st.back().end + kEps)
      return fail("span '" + e["name"].get<std::string>() + "' overlaps '" + st.back().name + "' without nesting");
    st.push_back({ts + dur, e["name"].get<std::string>()});
    ++r.n_spans;
    ++r.spans_per_track[key];
    r.track_end_us[key] = std::max(r.track_end_us[key], ts + dur);
  }
  return r;
}

}  // namespace v4lab::test
