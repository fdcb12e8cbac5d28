// trace.cpp — Chrome trace-event writer (trace.h). Format reference: "Trace Event Format" (Google,
// the document chrome://tracing and Perfetto's JSON importer follow): {"traceEvents": [...]} with
// ph "X" (complete: ts + dur, µs) and ph "M" (process_name, thread_name, *_sort_index).
#include "report/trace.h"

#include <algorithm>
#include <map>

#include "core/build_info.h"
#include "core/error.h"

namespace v4lab::report {

using nlohmann::json;

namespace {

// Streams and the main thread first, in a fixed order; other tracks after, in order of appearance.
int track_sort_index(const std::string& track, int appearance) {
  static const char* kOrder[] = {"thread main", "compute", "comm", "host"};
  for (int i = 0; i < 4; ++i)
    if (track == kOrder[i]) return i;
  return 10 + appearance;
}

json args_of(const store::TraceEvent& e) {
  if (e.args_json.empty()) return json::object();
  json a = json::parse(e.args_json, nullptr, false);
  if (a.is_discarded()) return json{{"args", e.args_json}};
  return a.is_object() ? a : json{{"value", a}};
}

}  // namespace

json chrome_trace(const std::vector<TraceProcess>& processes, const json& other_data) {
  json ev = json::array();
  for (size_t p = 0; p < processes.size(); ++p) {
    const int pid = static_cast<int>(p) + 1;
    ev.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", 0}, {"name", "process_name"}, {"args", {{"name", processes[p].label}}}});
    ev.push_back(
        {{"ph", "M"}, {"pid", pid}, {"tid", 0}, {"name", "process_sort_index"}, {"args", {{"sort_index", pid}}}});
    std::map<std::string, int> tids;
    std::vector<const store::TraceEvent*> sorted;
    for (const store::TraceEvent& e : processes[p].events) sorted.push_back(&e);
    // Per track by start, the longer (enclosing) span first: parents precede their children.
    std::stable_sort(sorted.begin(), sorted.end(), [](const store::TraceEvent* a, const store::TraceEvent* b) {
      if (a->ts_ns != b->ts_ns) return a->ts_ns < b->ts_ns;
      return a->dur_ns > b->dur_ns;
    });
    for (const store::TraceEvent* e : sorted) {
      auto [it, fresh] = tids.try_emplace(e->track, static_cast<int>(tids.size()) + 1);
      if (fresh) {
        ev.push_back(
            {{"ph", "M"}, {"pid", pid}, {"tid", it->second}, {"name", "thread_name"}, {"args", {{"name", e->track}}}});
        ev.push_back({{"ph", "M"},
                      {"pid", pid},
                      {"tid", it->second},
                      {"name", "thread_sort_index"},
                      {"args", {{"sort_index", track_sort_index(e->track, it->second)}}}});
      }
      // Microseconds as doubles from integer nanoseconds: a child recorded inside its parent stays
      // inside it (to the nanosecond) after the viewer converts back.
      ev.push_back({{"ph", "X"},
                    {"pid", pid},
                    {"tid", it->second},
                    {"name", e->name},
                    {"cat", e->category},
                    {"ts", static_cast<double>(e->ts_ns) / 1e3},
                    {"dur", static_cast<double>(e->dur_ns) / 1e3},
                    {"args", args_of(*e)}});
    }
  }
  return json{{"traceEvents", ev}, {"displayTimeUnit", "ns"}, {"otherData", other_data}};
}

std::vector<TraceProcess> trace_processes(int64_t run_id, const std::vector<store::TraceEvent>& events) {
  std::vector<TraceProcess> out;
  std::map<std::string, size_t> index;
  for (const store::TraceEvent& e : events) {
    auto [it, fresh] = index.try_emplace(e.process, out.size());
    if (fresh) out.push_back({"run " + std::to_string(run_id) + " \xC2\xB7 " + e.process, {}});
    out[it->second].events.push_back(e);
  }
  return out;
}

std::string render_trace_events(const std::vector<store::TraceEvent>& events, const std::string& title) {
  std::vector<TraceProcess> procs = trace_processes(0, events);
  for (auto& p : procs) p.label = title + " \xC2\xB7 " + p.events.front().process;
  return chrome_trace(procs, {{"generator", "v4lab " + build_info().version}, {"title", title}}).dump() + "\n";
}

std::string render_trace(store::Store& store, const std::vector<int64_t>& run_ids) {
  std::vector<TraceProcess> procs;
  json runs = json::array();
  for (int64_t id : run_ids) {
    const store::RunRow r = store.get_run(id);
    const std::vector<store::TraceEvent> ev = store::trace_events(store, id);
    if (ev.empty())
      throw config_error("run " + std::to_string(id) + " (" + r.info.kind + ") has no trace events in " + store.path() +
                         "; traces are recorded by `v4lab run`, `v4lab bench` and `v4lab predict`");
    for (auto& p : trace_processes(id, ev)) procs.push_back(std::move(p));
    runs.push_back({{"run_id", id},
                    {"kind", r.info.kind},
                    {"name", r.info.name},
                    {"host", r.host},
                    {"git_commit", r.git_commit},
                    {"started_at", r.started_at}});
  }
  json other = {{"generator", "v4lab " + build_info().version},
                {"runs", runs},
                {"labels", "process 'measured' = timed on the host named; 'prediction: <hw>' = cost-model prediction"}};
  return chrome_trace(procs, other).dump() + "\n";
}

}  // namespace v4lab::report
