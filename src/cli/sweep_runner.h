// sweep_runner.h — runs a SweepSpec (core/sweep.h): evaluates its points on a thread pool (and over MPI
// ranks when built with MPI and started under mpirun), stores each finished point in batched
// transactions (every N points or T ms), shows a progress bar on a TTY, and resumes an interrupted
// sweep without repeating or losing a point (docs/sweeps.md).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli.h"
#include "core/sweep.h"

namespace v4lab::cli {

struct SweepOptions {
  int jobs = 0;                  // worker threads; 0 = hardware threads (predict) or 1 (kernel: timing)
  int shard_index = 0;           // evaluate the points with index % shard_count == shard_index
  int shard_count = 1;
  bool resume = false;           // continue the newest unfinished run of this sweep hash and shard
  int64_t resume_run = 0;        // ... or exactly this run (must be the same sweep hash and shard)
  int commit_every = 2000;       // commit after this many finished points ...
  int commit_ms = 250;           // ... or this many milliseconds, whichever comes first
  int64_t max_points = 0;        // > 0: stop after evaluating this many points (run left 'interrupted')
};

// What one invocation did; also the --json output.
struct SweepOutcome {
  int64_t run_id = 0;
  bool resumed = false;
  uint64_t points_in_shard = 0;
  uint64_t already_stored = 0;   // stored before this invocation (resume)
  uint64_t evaluated = 0;        // evaluated by this invocation (all ranks)
  uint64_t written = 0;          // inserted by this invocation
  uint64_t duplicates = 0;       // inserts that found the point already stored (always 0 unless two writers)
  uint64_t errors = 0;           // evaluated points whose status is 'error'
  uint64_t stored = 0;           // stored for the run after this invocation
  std::string status;            // ok | interrupted
  double wall_s = 0;
  int ranks = 1;                 // MPI ranks (1 without MPI)
  int jobs = 1;                  // worker threads per rank
  bool rank0 = true;             // false on MPI ranks > 0 (they print nothing)
  nlohmann::json to_json(const SweepSpec& spec, const std::string& db_path) const;
};

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& opt, const Context& ctx);

// World size when this process is one rank of a multi-rank MPI job (OMPI_COMM_WORLD_SIZE / PMI_SIZE > 1).
int mpi_world_size_from_env();  // 1 when not under mpirun

}  // namespace v4lab::cli
