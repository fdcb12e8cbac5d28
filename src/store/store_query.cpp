// store_query.cpp — read side of the store: run list, one run with its rows, hardware probes, schema text.
#include <sqlite3.h>

#include <bit>
#include <charconv>

#include "core/build_info.h"
#include "core/error.h"
#include "store/detail/sqlite.h"
#include "store/store.h"

namespace v4lab::store {

using detail::Statement;

namespace {

[[noreturn]] void no_such_run(int64_t run_id, const std::string& path) {
  throw config_error("no run " + std::to_string(run_id) + " in " + path);
}

}  // namespace

std::vector<RunSummary> Store::list_runs(int limit) {
  Statement st(db_,
               "SELECT r.id, r.kind, r.name, r.status, r.started_at, r.host, substr(r.git_commit, 1, 12), "
               "(SELECT count(*) FROM measurements m WHERE m.run_id = r.id), "
               "(SELECT count(*) FROM predictions p WHERE p.run_id = r.id), "
               "(SELECT count(*) FROM study_points s WHERE s.run_id = r.id) "
               "FROM runs r ORDER BY r.id DESC LIMIT ?1",
               path_);
  st.bind(1, static_cast<int64_t>(limit > 0 ? limit : -1));  // LIMIT -1: no limit
  std::vector<RunSummary> out;
  while (st.step()) {
    RunSummary s;
    s.id = st.column_int(0);
    s.kind = st.column_text(1);
    s.name = st.column_text(2);
    s.status = st.column_text(3);
    s.started_at = st.column_text(4);
    s.host = st.column_text(5);
    s.git_commit = st.column_text(6);
    s.n_measurements = st.column_int(7);
    s.n_predictions = st.column_int(8);
    s.n_study_points = st.column_int(9);
    out.push_back(std::move(s));
  }
  return out;
}

RunRow Store::get_run(int64_t run_id) {
  Statement st(db_,
               "SELECT id, kind, name, scenario_path, status, started_at, finished_at, git_commit, git_dirty, "
               "build_type, compiler, cxx_flags, host, backends, seed, config_json, v4lab_version, notes "
               "FROM runs WHERE id = ?1",
               path_);
  st.bind(1, run_id);
  if (!st.step()) no_such_run(run_id, path_);
  RunRow r;
  r.id = st.column_int(0);
  r.info.kind = st.column_text(1);
  r.info.name = st.column_text(2);
  r.info.scenario_path = st.column_text(3);
  r.status = st.column_text(4);
  r.started_at = st.column_text(5);
  r.info.started_at = r.started_at;
  r.finished_at = st.column_text(6);
  r.git_commit = st.column_text(7);
  r.git_dirty = st.column_int(8) != 0;
  r.build_type = st.column_text(9);
  r.compiler = st.column_text(10);
  r.cxx_flags = st.column_text(11);
  r.host = st.column_text(12);
  r.info.backends = st.column_text(13);
  r.info.seed = std::bit_cast<uint64_t>(st.column_int(14));
  r.info.config_json = st.column_text(15);
  r.v4lab_version = st.column_text(16);
  r.info.notes = st.column_text(17);
  return r;
}

std::optional<int64_t> Store::latest_run_id() {
  Statement st(db_, "SELECT max(id) FROM runs", path_);
  st.step();
  if (st.is_null(0)) return std::nullopt;
  return st.column_int(0);
}

std::vector<Measurement> Store::measurements(int64_t run_id) {
  Statement st(db_,
               "SELECT id, run_id, op, backend, params_json, median_s, p10_s, p90_s, min_s, reps, flops, bytes, "
               "gflops_per_s, gbytes_per_s, verified, verify_json, counters_json, thread_count "
               "FROM measurements WHERE run_id = ?1 ORDER BY id",
               path_);
  st.bind(1, run_id);
  std::vector<Measurement> out;
  while (st.step()) {
    Measurement m;
    m.id = st.column_int(0);
    m.run_id = st.column_int(1);
    m.op = st.column_text(2);
    m.backend = st.column_text(3);
    m.params_json = st.column_text(4);
    m.median_s = st.column_double(5);
    m.p10_s = st.column_double(6);
    m.p90_s = st.column_double(7);
    m.min_s = st.column_double(8);
    m.reps = st.column_int(9);
    m.flops = st.column_double(10);
    m.bytes = st.column_double(11);
    m.gflops_per_s = st.column_double(12);
    m.gbytes_per_s = st.column_double(13);
    m.verified = st.column_bool(14);
    m.verify_json = st.column_text(15);
    m.counters_json = st.column_text(16);
    m.thread_count = static_cast<int>(st.column_int(17));
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Prediction> Store::predictions(int64_t run_id) {
  Statement st(db_,
               "SELECT id, run_id, op, backend, hardware, params_json, compute_s, memory_s, host_s, comm_s, "
               "overhead_s, total_s, bound, flops, bytes, model, label "
               "FROM predictions WHERE run_id = ?1 ORDER BY id",
               path_);
  st.bind(1, run_id);
  std::vector<Prediction> out;
  while (st.step()) {
    Prediction p;
    p.id = st.column_int(0);
    p.run_id = st.column_int(1);
    p.op = st.column_text(2);
    p.backend = st.column_text(3);
    p.hardware = st.column_text(4);
    p.params_json = st.column_text(5);
    p.compute_s = st.column_double(6);
    p.memory_s = st.column_double(7);
    p.host_s = st.column_double(8);
    p.comm_s = st.column_double(9);
    p.overhead_s = st.column_double(10);
    p.total_s = st.column_double(11);
    p.bound = st.column_text(12);
    p.flops = st.column_double(13);
    p.bytes = st.column_double(14);
    p.model = st.column_text(15);
    p.label = st.column_text(16);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<StudyPoint> Store::study_points(int64_t run_id) {
  Statement st(db_,
               "SELECT id, run_id, study, point_json, metrics_json, label FROM study_points WHERE run_id = ?1 "
               "ORDER BY id",
               path_);
  st.bind(1, run_id);
  std::vector<StudyPoint> out;
  while (st.step()) {
    StudyPoint s;
    s.id = st.column_int(0);
    s.run_id = st.column_int(1);
    s.study = st.column_text(2);
    s.point_json = st.column_text(3);
    s.metrics_json = st.column_text(4);
    s.label = st.column_text(5);
    out.push_back(std::move(s));
  }
  return out;
}

int64_t Store::save_probe(const std::string& host, const std::string& method, const nlohmann::json& probe) {
  require_writable("save a hardware probe");
  Statement st(db_, "INSERT INTO hardware_probes (host, measured_at, method, json) VALUES (?1, ?2, ?3, ?4)", path_);
  st.bind(1, host).bind(2, utc_timestamp_now()).bind(3, method).bind(4, probe.dump());
  st.run();  // a single INSERT is atomic on its own
  return sqlite3_last_insert_rowid(db_);
}

std::optional<nlohmann::json> Store::latest_probe(const std::string& host) {
  Statement st(db_,
               "SELECT json FROM hardware_probes WHERE host = ?1 AND method <> ?2 ORDER BY measured_at DESC, id DESC LIMIT 1",
               path_);
  st.bind(1, host).bind(2, std::string(kEfficiencyFitMethod));
  if (!st.step()) return std::nullopt;
  return nlohmann::json::parse(st.column_text(0));
}

std::optional<nlohmann::json> Store::latest_efficiency_fit(const std::string& host) {
  Statement st(db_,
               "SELECT json FROM hardware_probes WHERE host = ?1 AND method = ?2 ORDER BY measured_at DESC, id DESC LIMIT 1",
               path_);
  st.bind(1, host).bind(2, std::string(kEfficiencyFitMethod));
  if (!st.step()) return std::nullopt;
  return nlohmann::json::parse(st.column_text(0));
}

std::vector<std::string> Store::schema_sql() {
  Statement st(db_, "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid", path_);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.column_text(0));
  return out;
}

int64_t resolve_run_ref(Store& store, const std::string& ref) {
  if (ref == "latest" || ref == "last") {
    auto id = store.latest_run_id();
    if (!id) throw config_error("no runs in " + store.path() + " yet");
    return *id;
  }
  int64_t id = 0;
  const char* end = ref.data() + ref.size();
  auto [p, ec] = std::from_chars(ref.data(), end, id);
  if (ref.empty() || ec != std::errc() || p != end || id <= 0) {
    throw config_error("'" + ref + "' is not a run id (a positive number, or 'latest')");
  }
  return id;
}

}  // namespace v4lab::store
