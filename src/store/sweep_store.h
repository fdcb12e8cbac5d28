// sweep_store.h — sweep runs in the results store (schema v2, docs/store.md "Sweeps and merging"): a
// sweep run is a `runs` row of kind 'sweep' plus a `sweeps` row (hash, name, kind, n_points, shard),
// and one `sweep_points` row per finished point, the point index UNIQUE per run. Inserts use ON
// CONFLICT DO NOTHING so a resumed or re-merged point is never stored twice.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "store/store.h"

namespace v4lab::store {

struct SweepRunInfo {
  int64_t run_id = 0;
  std::string hash, name, kind;  // kind: predict | kernel
  int64_t n_points = 0;          // of the whole sweep (all shards)
  int shard_index = 0, shard_count = 1;
  // Filled when read back:
  std::string status;            // runs.status
  std::string started_at, finished_at;
  int64_t n_done = 0;            // stored points (ok + error)
  int64_t n_errors = 0;          // stored points with status 'error'
  int64_t points_in_shard() const;  // indices i < n_points with i % shard_count == shard_index
};

struct SweepPointRow {
  int64_t point_index = 0;
  std::string coords_json = "{}";
  std::string metrics_json = "{}";
  std::string status = "ok";  // ok | error
  std::string label = "prediction";
};

// Inserts the run (status 'running') and its `sweeps` row in one transaction; returns the run id.
int64_t begin_sweep_run(Store& db, const RunInfo& info, const SweepRunInfo& sweep);

// The newest sweep run with this hash and shard whose status is 'running' or 'interrupted'.
std::optional<SweepRunInfo> find_resumable_sweep(Store& db, const std::string& hash, int shard_index, int shard_count);
// Throws config_error "run N in <db> is not a sweep run" / "no run N".
SweepRunInfo get_sweep_run(Store& db, int64_t run_id);
std::vector<SweepRunInfo> list_sweep_runs(Store& db);  // newest first

// Sorted indices of the points already stored for a run.
std::vector<int64_t> stored_point_indices(Store& db, int64_t run_id);
std::vector<SweepPointRow> sweep_points(Store& db, int64_t run_id);  // by point index
// Distinct point indices stored for a sweep hash over all its runs (the union of shards in one file).
int64_t distinct_points_of_hash(Store& db, const std::string& hash);

// Prepared insert of finished points; the caller groups calls in a Transaction.
class SweepPointWriter {
 public:
  SweepPointWriter(Store& db, int64_t run_id, std::string hash);
  ~SweepPointWriter();
  SweepPointWriter(const SweepPointWriter&) = delete;
  SweepPointWriter& operator=(const SweepPointWriter&) = delete;
  // True when the row was inserted, false when the point was already stored (nothing written).
  bool insert(const SweepPointRow& row);

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace v4lab::store
