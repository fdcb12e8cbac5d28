// schema.cpp — the store's versioned schema: an ordered list of migrations, each applied in its own
// transaction, recorded in `schema_migrations` and in `PRAGMA user_version` (docs/store.md).
// Policy: never edit a released migration; append a new one (ALTER TABLE / new table / backfill).
#include "store/store.h"

namespace v4lab::store {

namespace {

// v1: runs and the three row kinds that hang off a run, plus hardware probes of the local machine.
// Doubles that are not known are NULL; JSON columns are checked with json_valid (SQLite >= 3.38).
constexpr const char* kSchemaV1 = R"SQL(
CREATE TABLE schema_migrations (
  version     INTEGER PRIMARY KEY,
  applied_at  TEXT NOT NULL,              -- ISO 8601 UTC
  description TEXT NOT NULL
);

CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  kind          TEXT NOT NULL,            -- run, kernel, bench, calibrate, predict, sweep, study, plan
  name          TEXT NOT NULL DEFAULT '',
  scenario_path TEXT,
  status        TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
  started_at    TEXT NOT NULL,            -- ISO 8601 UTC
  finished_at   TEXT,                     -- NULL while running
  git_commit    TEXT NOT NULL,
  git_dirty     INTEGER NOT NULL CHECK (git_dirty IN (0, 1)),
  build_type    TEXT,
  compiler      TEXT,
  cxx_flags     TEXT,
  host          TEXT NOT NULL,
  backends      TEXT,                     -- comma-separated backends used (ref,cpu,cuda)
  seed          INTEGER,                  -- uint64 stored as its int64 bit pattern
  config_json   TEXT NOT NULL CHECK (json_valid(config_json)),  -- fully resolved config
  v4lab_version TEXT NOT NULL,
  notes         TEXT
);

CREATE TABLE measurements (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  op            TEXT NOT NULL,
  backend       TEXT NOT NULL,            -- ref, cpu, cuda
  params_json   TEXT NOT NULL CHECK (json_valid(params_json)),
  median_s      REAL NOT NULL,
  p10_s         REAL,
  p90_s         REAL,
  min_s         REAL,
  reps          INTEGER NOT NULL,
  flops         REAL,                     -- op catalogue FLOPs of one call
  bytes         REAL,                     -- op catalogue memory bytes of one call
  gflops_per_s  REAL,                     -- 1e9 FLOP/s
  gbytes_per_s  REAL,                     -- 1e9 B/s
  verified      INTEGER CHECK (verified IN (0, 1)),  -- NULL: not checked, 0: failed, 1: passed
  verify_json   TEXT CHECK (verify_json IS NULL OR json_valid(verify_json)),
  counters_json TEXT CHECK (counters_json IS NULL OR json_valid(counters_json)),
  thread_count  INTEGER
);
CREATE INDEX measurements_run_id ON measurements(run_id);

CREATE TABLE predictions (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  op          TEXT NOT NULL,
  backend     TEXT,                       -- implementation the prediction is compared with; NULL: any
  hardware    TEXT NOT NULL,              -- hardware preset id; 'local' = the measured host
  params_json TEXT NOT NULL CHECK (json_valid(params_json)),
  compute_s   REAL,
  memory_s    REAL,
  host_s      REAL,
  comm_s      REAL,
  overhead_s  REAL,
  total_s     REAL NOT NULL,
  bound       TEXT,                       -- compute, memory, host, comm, overhead
  flops       REAL,
  bytes       REAL,
  model       TEXT,                       -- cost model name/version, e.g. roofline-v1
  label       TEXT NOT NULL DEFAULT 'prediction'
);
CREATE INDEX predictions_run_id ON predictions(run_id);

CREATE TABLE study_points (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  study        TEXT NOT NULL,
  point_json   TEXT NOT NULL CHECK (json_valid(point_json)),
  metrics_json TEXT NOT NULL CHECK (json_valid(metrics_json)),
  label        TEXT
);
CREATE INDEX study_points_run_id ON study_points(run_id);

CREATE TABLE hardware_probes (
  id          INTEGER PRIMARY KEY,
  host        TEXT NOT NULL,
  measured_at TEXT NOT NULL,              -- ISO 8601 UTC
  method      TEXT NOT NULL,
  json        TEXT NOT NULL CHECK (json_valid(json))
);
CREATE INDEX hardware_probes_host ON hardware_probes(host, measured_at);
)SQL";

// v2: sweeps (docs/sweeps.md, docs/store.md "Sweeps and merging"). Every run gets a random uid (set by
// a trigger, so no writer has to know about it) that `db merge` uses to recognise a run it already
// copied; `sweeps` holds one row per sweep run, `sweep_points` one row per finished point with the
// point index UNIQUE per run (resume and merge insert with ON CONFLICT DO NOTHING, so a point can never
// be stored twice), and `merge_sources` records which source runs a merged run was built from.
constexpr const char* kSchemaV2 = R"SQL(
ALTER TABLE runs ADD COLUMN uid TEXT;
UPDATE runs SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL;
CREATE UNIQUE INDEX runs_uid ON runs(uid);
CREATE TRIGGER runs_uid_default AFTER INSERT ON runs WHEN NEW.uid IS NULL
BEGIN
  UPDATE runs SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id;
END;

CREATE TABLE sweeps (
  run_id      INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
  sweep_hash  TEXT NOT NULL,              -- 16 hex digits over kind, base, timing and the expanded axes
  sweep_name  TEXT NOT NULL,
  sweep_kind  TEXT NOT NULL CHECK (sweep_kind IN ('predict', 'kernel')),
  n_points    INTEGER NOT NULL CHECK (n_points >= 1),   -- points of the whole sweep (all shards)
  shard_index INTEGER NOT NULL,
  shard_count INTEGER NOT NULL CHECK (shard_count >= 1 AND shard_index >= 0 AND shard_index < shard_count)
);
CREATE INDEX sweeps_hash ON sweeps(sweep_hash, shard_count, shard_index);

CREATE TABLE sweep_points (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL REFERENCES sweeps(run_id) ON DELETE CASCADE,
  sweep_hash   TEXT NOT NULL,
  point_index  INTEGER NOT NULL CHECK (point_index >= 0),
  coords_json  TEXT NOT NULL CHECK (json_valid(coords_json)),   -- {field: value} of the swept fields
  metrics_json TEXT NOT NULL CHECK (json_valid(metrics_json)),  -- what was computed (or {"error": ...})
  status       TEXT NOT NULL CHECK (status IN ('ok', 'error')),
  label        TEXT NOT NULL,             -- prediction | measurement and prediction
  UNIQUE (run_id, point_index)
);
CREATE INDEX sweep_points_hash ON sweep_points(sweep_hash, point_index);

CREATE TABLE merge_sources (
  id            INTEGER PRIMARY KEY,
  run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  origin_uid    TEXT NOT NULL,            -- runs.uid of the source run (or of its own origins)
  source_db     TEXT NOT NULL,
  source_run_id INTEGER NOT NULL,
  merged_at     TEXT NOT NULL,            -- ISO 8601 UTC
  UNIQUE (run_id, origin_uid)
);
CREATE INDEX merge_sources_origin ON merge_sources(origin_uid);
)SQL";

// Version 3 (trace issue; after v2, the sweep tables): trace events of a run (measured CPU spans,
// CUPTI kernels/copies, the cost model's predicted schedule) and named run-level metrics (peak RSS,
// counter availability, roofs, predicted memory footprint, the command line).
constexpr const char* kSchemaV3 = R"SQL(
CREATE TABLE trace_events (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  process    TEXT NOT NULL,               -- trace process: "measured", "prediction: h800_sxm", ...
  track      TEXT NOT NULL,               -- thread or stream inside it: "thread main", "cuda stream 7", "compute"
  name       TEXT NOT NULL,
  category   TEXT NOT NULL,               -- phase, case, rep, cuda_kernel, cuda_memcpy, predicted_op, ...
  ts_ns      INTEGER NOT NULL,            -- start, ns from the run's trace epoch
  dur_ns     INTEGER NOT NULL CHECK (dur_ns >= 0),
  args_json  TEXT CHECK (args_json IS NULL OR json_valid(args_json))
);
CREATE INDEX trace_events_run_id ON trace_events(run_id, process, track, ts_ns);

CREATE TABLE run_metrics (
  run_id  INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name    TEXT NOT NULL,                  -- e.g. peak_rss_bytes, perf_counters, memory.kv_bytes
  value   REAL,                           -- NULL when the metric is text only
  text    TEXT,                           -- e.g. "unavailable: perf_event_paranoid = 3"
  unit    TEXT,                           -- bytes, s, flop_per_s, bytes_per_s, ...
  label   TEXT NOT NULL,                  -- measured, prediction, provenance
  PRIMARY KEY (run_id, name)
);
)SQL";

}  // namespace

const std::vector<Migration>& migrations() {
  static const std::vector<Migration> list = {
      {1, "runs, measurements, predictions, study_points, hardware_probes", kSchemaV1},
      {2, "run uid, sweeps, sweep_points, merge_sources", kSchemaV2},
      {3, "trace_events, run_metrics", kSchemaV3},
  };
  return list;
}

}  // namespace v4lab::store
