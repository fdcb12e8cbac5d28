// cmd_sweep.cpp — `v4lab sweep SCENARIO`: expand a sweep scenario's axes, evaluate the points on a
// thread pool (over MPI ranks under mpirun), store each point as it finishes, resume an interrupted
// sweep (--resume), run one slice (--shard i/N); `v4lab sweep status` shows what is stored.
// Format and semantics: docs/sweeps.md.
#include <cstdio>
#include <memory>
#include <ostream>
#include <map>

#include "cli/cli.h"
#include "cli/common.h"
#include "cli/sweep_runner.h"
#include "core/error.h"
#include "core/sweep.h"
#include "store/store.h"
#include "store/sweep_store.h"

namespace v4lab::cli {

namespace {

using nlohmann::json;

void parse_shard(const std::string& s, SweepOptions& o) {
  int i = -1, n = -1;
  char tail = 0;
  if (std::sscanf(s.c_str(), "%d/%d%c", &i, &n, &tail) != 2 || n < 1 || i < 0 || i >= n)
    throw usage_error("--shard " + s + ": expected i/N with 0 <= i < N, e.g. --shard 0/4");
  o.shard_index = i;
  o.shard_count = n;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

int sweep_status(Context& ctx, const std::string& scenario, long long run) {
  std::string hash;
  if (!scenario.empty()) hash = load_sweep(scenario, ctx.data_dir).hash;
  store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
  std::vector<store::SweepRunInfo> runs;
  if (run > 0) {
    runs.push_back(store::get_sweep_run(db, run));
  } else {
    for (auto& s : store::list_sweep_runs(db))
      if (hash.empty() || s.hash == hash) runs.push_back(s);
  }
  // The union over every run of a hash (shards written into one file, or repeated runs).
  std::map<std::string, int64_t> union_points;
  for (auto& s : runs)
    if (!union_points.count(s.hash)) union_points[s.hash] = store::distinct_points_of_hash(db, s.hash);
  std::ostream& o = *ctx.out;
  if (ctx.json) {
    json j = json::array();
    for (auto& s : runs)
      j.push_back({{"run_id", s.run_id}, {"name", s.name}, {"kind", s.kind}, {"sweep_hash", s.hash},
                   {"n_points", s.n_points}, {"shard", {{"index", s.shard_index}, {"count", s.shard_count}}},
                   {"points_in_shard", s.points_in_shard()}, {"stored", s.n_done}, {"errors", s.n_errors},
                   {"status", s.status}, {"started_at", s.started_at}, {"finished_at", s.finished_at},
                   {"union_stored_for_hash", union_points[s.hash]}});
    o << j.dump(2) << "\n";
    return 0;
  }
  if (runs.empty()) {
    o << "no sweep runs" << (hash.empty() ? "" : " of " + scenario + " (hash " + hash + ")") << " in " << ctx.db_path
      << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (auto& s : runs)
    rows.push_back({std::to_string(s.run_id), s.name, s.kind, s.hash,
                    std::to_string(s.shard_index) + "/" + std::to_string(s.shard_count),
                    std::to_string(s.n_done) + "/" + std::to_string(s.points_in_shard()), std::to_string(s.n_errors),
                    s.status, std::to_string(union_points[s.hash]) + "/" + std::to_string(s.n_points)});
  print_table(o, {"run", "name", "kind", "hash", "shard", "stored", "errors", "status", "union of hash"}, rows);
  return 0;
}

}  // namespace

void add_sweep_command(CLI::App& app, Context& ctx) {
  struct Opts {
    std::string path, shard = "0/1", resume;
    SweepOptions so;
    std::string status_path;
    long long status_run = 0;
  };
  auto op = std::make_shared<Opts>();
  Opts& o = *op;
  auto* cmd = app.add_subcommand("sweep", "Run a sweep scenario: expand its axes, evaluate every point (thread pool, "
                                          "MPI ranks under mpirun), store each point, resume or shard it");
  cmd->add_option("scenario", o.path, "Sweep scenario TOML ([sweep] table; docs/sweeps.md)");
  auto* resume = cmd->add_option("--resume", o.resume,
                                 "Continue the unfinished run of this sweep (same scenario hash and shard), or "
                                 "exactly run RUN_ID; with nothing to continue, start a new run")
                     ->expected(0, 1);
  cmd->add_option("--shard", o.shard, "Evaluate only the points with index % N == i (i/N)")->capture_default_str();
  cmd->add_option("-j,--jobs", o.so.jobs, "Worker threads (0: all cores for predict, 1 for kernel sweeps)")
      ->capture_default_str();
  cmd->add_option("--commit-every", o.so.commit_every, "Commit after this many finished points ...")->capture_default_str();
  cmd->add_option("--commit-ms", o.so.commit_ms, "... or after this many milliseconds, whichever is first")
      ->capture_default_str();
  cmd->add_option("--max-points", o.so.max_points,
                  "Stop after evaluating this many points (0: no limit); the run stays resumable")
      ->capture_default_str();
  auto* status = cmd->add_subcommand("status", "Show the sweep runs in --db: stored/total points per run and the "
                                               "union over runs of the same sweep hash");
  status->add_option("scenario", o.status_path, "Only the runs of this sweep scenario (by its hash)");
  status->add_option("--run", o.status_run, "Only this run id");
  status->callback([&ctx, op] {
    ctx.action = [&ctx, op] { return sweep_status(ctx, op->status_path, op->status_run); };
  });
  cmd->callback([&ctx, op, resume, status] {
    if (status->parsed()) return;
    ctx.action = [&ctx, op, resume]() -> int {
      Opts& o = *op;
      SweepOptions so = o.so;
      if (resume->count() > 0) {
        so.resume = true;
        if (all_digits(o.resume)) {
          so.resume_run = std::stoll(o.resume);
        } else if (!o.resume.empty()) {
          if (!o.path.empty())
            throw usage_error("--resume " + o.resume + ": expected a run id (digits) or nothing");
          o.path = o.resume;  // `--resume SCENARIO`: CLI11 took the scenario as the option's value
        }
      }
      if (o.path.empty()) throw usage_error("sweep: missing SCENARIO (a sweep TOML file; see docs/sweeps.md)");
      parse_shard(o.shard, so);
      const SweepSpec spec = load_sweep(o.path, ctx.data_dir);
      SweepOutcome r = run_sweep(spec, so, ctx);
      if (!r.rank0) return r.status == "ok" ? 0 : 130;
      std::ostream& out = *ctx.out;
      if (ctx.json) {
        out << r.to_json(spec, ctx.db_path).dump(2) << "\n";
      } else {
        char rate[64];
        std::snprintf(rate, sizeof rate, "%.0f", r.wall_s > 0 ? double(r.evaluated) / r.wall_s : 0.0);
        out << "sweep " << spec.name << " (" << spec.kind << ", hash " << spec.hash << "): " << spec.n_points
            << " points";
        if (so.shard_count > 1) out << ", shard " << so.shard_index << "/" << so.shard_count << " = " << r.points_in_shard;
        out << "\n";
        out << (r.resumed ? "resumed run " : "run ") << r.run_id << ": " << r.already_stored << " already stored, "
            << r.evaluated << " evaluated (" << r.jobs << " threads x " << r.ranks << " ranks, " << rate
            << " points/s), " << r.written << " written, " << r.errors << " with status error\n";
        out << "status " << r.status << ": " << r.stored << "/" << r.points_in_shard << " points stored in " << ctx.db_path
            << (spec.kind == "predict" ? " (all metrics are predictions)" : "") << "\n";
        if (r.status != "ok") out << "continue with: v4lab --db " << ctx.db_path << " sweep " << o.path << " --resume\n";
      }
      if (r.status == "ok") return 0;
      return so.max_points > 0 && r.evaluated >= uint64_t(so.max_points) ? 0 : 130;
    };
  });
}

}  // namespace v4lab::cli
