// merge.h — `v4lab db merge`: copy every run of one results database into another, with new ids and
// its provenance kept. Sweep runs of the same sweep hash become ONE logical sweep in the output (the
// union of their points, shard 0/1), so shard databases merge into the full sweep. Idempotent: a run
// already copied (recognised by runs.uid / merge_sources) is skipped and a point already stored is
// not inserted again, so merging the same input twice duplicates nothing.
#pragma once
#include <cstdint>
#include <string>

#include "store/store.h"

namespace v4lab::store {

struct MergeStats {
  std::string source;
  int64_t runs_copied = 0;       // non-sweep runs copied with all their rows
  int64_t runs_skipped = 0;      // non-sweep runs already in the output
  int64_t sweeps_created = 0;    // logical sweep runs created in the output
  int64_t sweep_runs_merged = 0; // source sweep runs folded into a logical sweep
  int64_t points_added = 0;
  int64_t points_skipped = 0;    // already stored in the output
  int64_t rows_copied = 0;       // measurements, predictions, study points, ... of copied runs
  int64_t probes_copied = 0;
};

// Merges the database at `in_path` (must exist and have this binary's schema) into `out` in one
// transaction. Throws config_error when in_path is missing or is the output file itself.
MergeStats merge_database(Store& out, const std::string& in_path);

}  // namespace v4lab::store
