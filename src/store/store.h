// store.h — the v4lab results store: one SQLite file (WAL, foreign keys on) holding every run with its
// provenance (git commit, build, host, seed, resolved config), measurements of real kernels, cost-model
// predictions and study points. Report writers and the GUI read from here only. Schema: docs/store.md.
//
// Conventions: times are ISO 8601 UTC strings; doubles that are not known are NaN in C++ and NULL in
// SQL; optional text is "" in C++ and NULL in SQL; every value goes through a bound parameter.
#pragma once
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

struct sqlite3;

namespace v4lab::store {

inline constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
inline constexpr const char* kEfficiencyFitMethod = "efficiency_fit";  // hardware_probes.method of calibrate --fit

// What the caller says about a run; provenance (commit, build, host, times, version) is added by the store.
struct RunInfo {
  std::string kind = "run";        // run, kernel, bench, calibrate, predict, sweep, study, plan
  std::string name;                // human label, e.g. scenario name
  std::string scenario_path;       // "" when not from a scenario file
  std::string backends;            // comma-separated, e.g. "ref,cpu"
  std::string config_json = "{}";  // fully resolved config (must be valid JSON)
  std::string notes;
  uint64_t seed = 0;
  std::string started_at;  // ISO 8601 UTC; "" = when the store writes the run
};

// One timed kernel (profiler harness), mirrors table `measurements`.
struct Measurement {
  int64_t id = 0;      // filled when read back; ignored on write
  int64_t run_id = 0;  // filled when read back; ignored on write
  std::string op;
  std::string backend;             // ref, cpu, cuda
  std::string params_json = "{}";  // resolved op params
  double median_s = kUnknown;      // required
  double p10_s = kUnknown;
  double p90_s = kUnknown;
  double min_s = kUnknown;
  int64_t reps = 0;
  double flops = kUnknown;         // op catalogue FLOPs per call
  double bytes = kUnknown;         // op catalogue memory bytes per call
  double gflops_per_s = kUnknown;  // 1e9 FLOP/s
  double gbytes_per_s = kUnknown;  // 1e9 B/s
  std::optional<bool> verified;    // nullopt: not checked; false: failed; true: passed
  std::string verify_json;         // check_close details, "" = none
  std::string counters_json;       // CPU/GPU counters, "" = none
  int thread_count = 0;            // 0 = unknown (NULL)
};

// One cost-model prediction, mirrors table `predictions`.
struct Prediction {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string op;
  std::string backend;   // implementation it is compared with; "" (NULL) = any backend
  std::string hardware;  // hardware preset id; "local" = this machine's measured probe
  std::string params_json = "{}";
  double compute_s = kUnknown;
  double memory_s = kUnknown;
  double host_s = kUnknown;
  double comm_s = kUnknown;
  double overhead_s = kUnknown;
  double total_s = kUnknown;  // required
  std::string bound;          // compute, memory, host, comm, overhead
  double flops = kUnknown;
  double bytes = kUnknown;
  std::string model;  // cost model name/version, e.g. "roofline-v1"
  std::string label = "prediction";
};

// One point of a study (U-curve, top-k, mHC streams), mirrors table `study_points`.
struct StudyPoint {
  int64_t id = 0;
  int64_t run_id = 0;
  std::string study;
  std::string point_json = "{}";    // the swept coordinates
  std::string metrics_json = "{}";  // what was computed there
  std::string label;                // e.g. "calibrated model, not a training run"
};

struct RunRecord {
  RunInfo info;
  std::vector<Measurement> measurements;
  std::vector<Prediction> predictions;
  std::vector<StudyPoint> study_points;
};

// A stored run: the caller's info plus the provenance the store added.
struct RunRow {
  int64_t id = 0;
  RunInfo info;
  std::string status;  // running, ok, failed, interrupted
  std::string started_at;
  std::string finished_at;  // "" while running
  std::string git_commit;
  bool git_dirty = false;
  std::string build_type;
  std::string compiler;
  std::string cxx_flags;
  std::string host;
  std::string v4lab_version;
};

struct RunSummary {
  int64_t id = 0;
  std::string kind, name, status, started_at, host;
  std::string git_commit;  // first 12 hex digits
  int64_t n_measurements = 0;
  int64_t n_predictions = 0;
  int64_t n_study_points = 0;
};

struct Migration {
  int version;
  const char* description;
  const char* sql;
};
const std::vector<Migration>& migrations();  // ordered, version 1..latest

enum class OpenMode {
  ReadWrite,  // create the file if missing, migrate to the latest schema
  ReadOnly,   // the file must exist and already have the latest schema; nothing is written
};

// One connection to one database file. Not for concurrent use from several threads: give each thread
// (or process: sweep shards) its own Store; WAL + busy_timeout let them share the file.
class Store {
 public:
  // Throws runtime_error (file is not SQLite / corrupt / newer schema / cannot open) or
  // config_error (ReadOnly and the file does not exist), each naming the path.
  explicit Store(std::string path, OpenMode mode = OpenMode::ReadWrite);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& path() const { return path_; }
  bool read_only() const { return read_only_; }
  int schema_version();
  static int latest_schema_version();

  // Whole run in ONE transaction (status 'ok'); nothing is left behind if anything throws.
  int64_t write_run(const RunRecord& record);

  // Incremental writing for long jobs: begin_run inserts status 'running'; each add_* is its own
  // transaction (or a savepoint inside the caller's Transaction); end_run sets status and finished_at.
  int64_t begin_run(const RunInfo& info);
  int64_t add_measurement(int64_t run_id, const Measurement& m);
  int64_t add_prediction(int64_t run_id, const Prediction& p);
  int64_t add_study_point(int64_t run_id, const StudyPoint& s);
  void end_run(int64_t run_id, const std::string& status = "ok");
  void delete_run(int64_t run_id);  // cascades to the run's rows; config_error if there is no such run

  // Queries. get_run throws config_error "no run 42 in <path>" (exit code 2).
  std::vector<RunSummary> list_runs(int limit = 20);  // newest first; limit <= 0: all
  RunRow get_run(int64_t run_id);
  std::optional<int64_t> latest_run_id();
  std::vector<Measurement> measurements(int64_t run_id);
  std::vector<Prediction> predictions(int64_t run_id);
  std::vector<StudyPoint> study_points(int64_t run_id);

  // Hardware probes of a host (the measured "local" preset, presets.md §3.1).
  int64_t save_probe(const std::string& host, const std::string& method, const nlohmann::json& probe);
  // Newest machine probe (any method except the efficiency fit).
  std::optional<nlohmann::json> latest_probe(const std::string& host);
  // Newest `v4lab calibrate --fit` efficiency table of a host (saved with method kEfficiencyFitMethod).
  std::optional<nlohmann::json> latest_efficiency_fit(const std::string& host);

  // CREATE statements of this database (sqlite_master), for `v4lab db schema`.
  std::vector<std::string> schema_sql();

  sqlite3* handle() { return db_; }

 private:
  void configure_and_migrate();
  void require_writable(const char* what) const;

  std::string path_;
  bool read_only_ = false;
  sqlite3* db_ = nullptr;
};

// RAII transaction: BEGIN IMMEDIATE (or a SAVEPOINT when one is already open), rolled back in the
// destructor unless commit() was called. Nesting is allowed.
class Transaction {
 public:
  explicit Transaction(Store& store);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Store& store_;
  std::string savepoint_;  // "" for a top-level transaction
  bool done_ = false;
};

// Resolves a run reference typed by a user: a decimal id, or "latest"/"last". Throws config_error.
int64_t resolve_run_ref(Store& store, const std::string& ref);

}  // namespace v4lab::store
