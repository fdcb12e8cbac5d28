// trace_store.cpp — reads and writes of trace_events and run_metrics (trace_store.h).
#include "store/trace_store.h"

#include "core/error.h"
#include "store/detail/sqlite.h"

namespace v4lab::store {

using detail::Statement;

void add_trace_events(Store& store, int64_t run_id, const std::vector<TraceEvent>& events) {
  Transaction tx(store);
  store.get_run(run_id);  // "no run N" rather than a foreign-key failure
  Statement st(store.handle(),
               "INSERT INTO trace_events (run_id, process, track, name, category, ts_ns, dur_ns, args_json) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
               store.path());
  for (const TraceEvent& e : events) {
    if (e.dur_ns < 0)
      throw runtime_error("trace event '" + e.name + "' has a negative duration " + std::to_string(e.dur_ns) + " ns",
                          store.path());
    st.bind(1, run_id)
        .bind(2, e.process)
        .bind(3, e.track)
        .bind(4, e.name)
        .bind(5, e.category)
        .bind(6, e.ts_ns)
        .bind(7, e.dur_ns)
        .bind_text_or_null(8, e.args_json);
    st.run();
  }
  tx.commit();
}

std::vector<TraceEvent> trace_events(Store& store, int64_t run_id) {
  Statement st(store.handle(),
               "SELECT process, track, name, category, ts_ns, dur_ns, args_json FROM trace_events WHERE run_id = ?1 "
               "ORDER BY process, track, ts_ns, dur_ns DESC, id",
               store.path());
  st.bind(1, run_id);
  std::vector<TraceEvent> out;
  while (st.step()) {
    TraceEvent e;
    e.process = st.column_text(0);
    e.track = st.column_text(1);
    e.name = st.column_text(2);
    e.category = st.column_text(3);
    e.ts_ns = st.column_int(4);
    e.dur_ns = st.column_int(5);
    e.args_json = st.column_text(6);
    out.push_back(std::move(e));
  }
  return out;
}

int64_t count_trace_events(Store& store, int64_t run_id) {
  Statement st(store.handle(), "SELECT count(*) FROM trace_events WHERE run_id = ?1", store.path());
  st.bind(1, run_id);
  st.step();
  return st.column_int(0);
}

std::vector<TraceProcessSummary> trace_process_summary(Store& store, int64_t run_id) {
  Statement st(store.handle(),
               "SELECT process, count(*), count(DISTINCT track) FROM trace_events WHERE run_id = ?1 GROUP BY process "
               "ORDER BY process",
               store.path());
  st.bind(1, run_id);
  std::vector<TraceProcessSummary> out;
  while (st.step()) out.push_back({st.column_text(0), st.column_int(1), st.column_int(2)});
  return out;
}

void set_run_metrics(Store& store, int64_t run_id, const std::vector<RunMetric>& metrics) {
  Transaction tx(store);
  store.get_run(run_id);
  Statement st(store.handle(),
               "INSERT OR REPLACE INTO run_metrics (run_id, name, value, text, unit, label) "
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
               store.path());
  for (const RunMetric& m : metrics) {
    if (m.name.empty()) throw runtime_error("run metric without a name", store.path());
    st.bind(1, run_id)
        .bind(2, m.name)
        .bind(3, m.value)
        .bind_text_or_null(4, m.text)
        .bind_text_or_null(5, m.unit)
        .bind(6, m.label.empty() ? std::string("measured") : m.label);
    st.run();
  }
  tx.commit();
}

std::vector<RunMetric> run_metrics(Store& store, int64_t run_id) {
  Statement st(store.handle(), "SELECT name, value, text, unit, label FROM run_metrics WHERE run_id = ?1 ORDER BY name",
               store.path());
  st.bind(1, run_id);
  std::vector<RunMetric> out;
  while (st.step()) {
    RunMetric m;
    m.name = st.column_text(0);
    m.value = st.column_double(1);
    m.text = st.column_text(2);
    m.unit = st.column_text(3);
    m.label = st.column_text(4);
    out.push_back(std::move(m));
  }
  return out;
}

std::optional<RunMetric> find_metric(const std::vector<RunMetric>& metrics, const std::string& name) {
  for (const RunMetric& m : metrics)
    if (m.name == name) return m;
  return std::nullopt;
}

}  // namespace v4lab::store
