// sweep_runner.cpp — the sweep engine (docs/sweeps.md). Points of this shard (index % N == i) not yet
// stored are handed out to worker threads by an atomic counter; finished points go through a queue to
// the writer (the main thread of rank 0), which commits them in batches (every N points or T ms), so
// a SIGKILL loses at most the uncommitted points and `--resume` recomputes exactly those: the stored
// index set is the only state, and UNIQUE(run_id, point_index) makes a duplicate impossible.
// Under mpirun (built with MPI) rank r of W takes the shard positions k with k % W == r and sends its
// finished points to rank 0, the only process that opens the database.
#include "cli/sweep_runner.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <ostream>
#include <thread>

#ifdef V4LAB_HAVE_MPI
#include <mpi.h>
#endif

#include "cli/common.h"
#include "cli/sweep_eval.h"
#include "core/error.h"
#include "store/store.h"
#include "store/sweep_store.h"

namespace v4lab::cli {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true); }

// SIGINT/SIGTERM stop the sweep cleanly (finished points are committed, the run is 'interrupted');
// the previous handlers come back when the sweep ends.
struct SignalGuard {
  struct sigaction old_int {}, old_term {};
  SignalGuard() {
    g_stop.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
  }
  ~SignalGuard() {
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
  }
};

// The indices this process evaluates: shard positions k (index = shard_index + k·shard_count) with
// k % ranks == rank, minus the indices already stored.
struct WorkSource {
  uint64_t shard_index = 0, shard_count = 1, ranks = 1, rank = 0, n_local = 0, max_claims = 0;
  const std::vector<int64_t>* stored = nullptr;
  std::atomic<uint64_t> next{0}, claimed{0};

  WorkSource(uint64_t points_in_shard, uint64_t si, uint64_t sc, uint64_t nr, uint64_t r, uint64_t max,
             const std::vector<int64_t>* done)
      : shard_index(si), shard_count(sc), ranks(nr), rank(r), max_claims(max), stored(done) {
    n_local = points_in_shard > rank ? (points_in_shard - 1 - rank) / ranks + 1 : 0;
  }
  bool take(uint64_t& index) {
    for (;;) {
      if (g_stop.load(std::memory_order_relaxed)) return false;
      const uint64_t j = next.fetch_add(1, std::memory_order_relaxed);
      if (j >= n_local) return false;
      const uint64_t i = shard_index + (rank + j * ranks) * shard_count;
      if (std::binary_search(stored->begin(), stored->end(), static_cast<int64_t>(i))) continue;
      if (max_claims && claimed.fetch_add(1) >= max_claims) return false;
      index = i;
      return true;
    }
  }
};

struct ResultQueue {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<PointResult> items;
  int workers_left = 0;
  size_t wake_at = 1;
  std::exception_ptr failure;

  void push(PointResult&& r) {
    std::lock_guard<std::mutex> l(mu);
    items.push_back(std::move(r));
    if (items.size() >= wake_at) cv.notify_one();
  }
  void worker_done(std::exception_ptr e) {
    std::lock_guard<std::mutex> l(mu);
    if (e && !failure) failure = e;
    --workers_left;
    cv.notify_one();
  }
  // Moves the finished points into `out` once `wake_at` are ready, the workers are done, or at
  // `deadline`; returns true when every worker has finished and nothing is left.
  bool take_all(std::vector<PointResult>& out, Clock::time_point deadline) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait_until(l, deadline, [&] { return items.size() >= wake_at || workers_left == 0; });
    for (auto& r : items) out.push_back(std::move(r));
    items.clear();
    return workers_left == 0;
  }
};

std::string human_rate(double x) {
  char b[32];
  if (x >= 1e4) std::snprintf(b, sizeof b, "%.0fk", x / 1e3);
  else std::snprintf(b, sizeof b, "%.0f", x);
  return b;
}

class Progress {
 public:
  Progress(bool on, std::ostream& err, uint64_t total, uint64_t start) : on_(on), err_(err), total_(total), start_(start) {}
  void update(uint64_t done, bool force = false) {
    if (!on_) return;
    const auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double el = std::chrono::duration<double>(now - t0_).count();
    const double rate = el > 0 ? double(done - start_) / el : 0;
    const double frac = total_ ? double(done) / double(total_) : 1;
    const int w = 30, fill = static_cast<int>(frac * w);
    char eta[32] = "";
    if (rate > 0 && done < total_) std::snprintf(eta, sizeof eta, " ETA %.0f s", double(total_ - done) / rate);
    err_ << "\r[" << std::string(fill, '#') << std::string(w - fill, '.') << "] " << done << "/" << total_ << " ("
         << static_cast<int>(100 * frac) << "%) " << human_rate(rate) << " points/s" << eta << "   " << std::flush;
  }
  void clear() {
    if (on_) err_ << "\r" << std::string(90, ' ') << "\r" << std::flush;
  }

 private:
  bool on_;
  std::ostream& err_;
  uint64_t total_, start_;
  Clock::time_point t0_ = Clock::now(), last_{};
};

// Writes finished points of one run, one transaction per batch.
struct PointSink {
  store::Store& db;
  store::SweepPointWriter writer;
  std::string label;
  uint64_t written = 0, duplicates = 0, errors = 0;

  void write(std::vector<PointResult>& batch) {
    if (batch.empty()) return;
    store::Transaction tx(db);
    store::SweepPointRow row;
    row.label = label;
    for (auto& r : batch) {
      row.point_index = static_cast<int64_t>(r.index);
      row.coords_json = std::move(r.coords_json);
      row.metrics_json = std::move(r.metrics_json);
      row.status = r.ok ? "ok" : "error";
      if (writer.insert(row)) {
        ++written;
        errors += !r.ok;
      } else {
        ++duplicates;
      }
    }
    tx.commit();
    batch.clear();
  }
};

// Wire format of a batch sent to rank 0: per point u64 index, u8 ok, u32 + bytes coords, u32 + bytes metrics.
void encode(const std::vector<PointResult>& batch, std::vector<char>& out) {
  out.clear();
  auto put = [&](const void* p, size_t n) { out.insert(out.end(), static_cast<const char*>(p), static_cast<const char*>(p) + n); };
  for (auto& r : batch) {
    const uint64_t i = r.index;
    const uint8_t ok = r.ok;
    const uint32_t a = static_cast<uint32_t>(r.coords_json.size()), b = static_cast<uint32_t>(r.metrics_json.size());
    put(&i, 8), put(&ok, 1), put(&a, 4), put(r.coords_json.data(), a), put(&b, 4), put(r.metrics_json.data(), b);
  }
}

[[maybe_unused]] void decode(const std::vector<char>& in, std::vector<PointResult>& out) {
  size_t at = 0;
  auto get = [&](void* p, size_t n) {
    if (at + n > in.size()) throw runtime_error("sweep: malformed MPI batch (" + std::to_string(in.size()) + " bytes)");
    std::memcpy(p, in.data() + at, n);
    at += n;
  };
  while (at < in.size()) {
    PointResult r;
    uint8_t ok = 0;
    uint32_t n = 0;
    get(&r.index, 8), get(&ok, 1);
    r.ok = ok != 0;
    get(&n, 4), r.coords_json.resize(n), get(r.coords_json.data(), n);
    get(&n, 4), r.metrics_json.resize(n), get(r.metrics_json.data(), n);
    out.push_back(std::move(r));
  }
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

#ifdef V4LAB_HAVE_MPI
constexpr int kTagBatch = 1, kTagDone = 2;

struct MpiSession {
  bool owned = false;
  int rank = 0, size = 1;
  MpiSession() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      // Only the main thread of each rank calls MPI; workers never do.
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
      owned = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
  }
  ~MpiSession() {
    if (owned) MPI_Finalize();
  }
};
#endif

}  // namespace

int mpi_world_size_from_env() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"})
    if (int n = env_int(v); n > 0) return n;
  return 1;
}

json SweepOutcome::to_json(const SweepSpec& spec, const std::string& db_path) const {
  return {{"run_id", run_id},
          {"db", db_path},
          {"name", spec.name},
          {"kind", spec.kind},
          {"sweep_hash", spec.hash},
          {"n_points", spec.n_points},
          {"points_in_shard", points_in_shard},
          {"resumed", resumed},
          {"already_stored", already_stored},
          {"evaluated", evaluated},
          {"written", written},
          {"duplicates", duplicates},
          {"errors", errors},
          {"stored", stored},
          {"status", status},
          {"wall_s", wall_s},
          {"points_per_s", wall_s > 0 ? double(evaluated) / wall_s : 0.0},
          {"ranks", ranks},
          {"jobs", jobs},
          {"label", spec.kind == "predict" ? "prediction" : "measurement and prediction"}};
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepOptions& opt, const Context& ctx) {
  const auto t0 = Clock::now();
  if (opt.shard_count < 1 || opt.shard_index < 0 || opt.shard_index >= opt.shard_count)
    throw usage_error("--shard " + std::to_string(opt.shard_index) + "/" + std::to_string(opt.shard_count) +
                      ": expected i/N with 0 <= i < N");
  if (opt.commit_every < 1) throw usage_error("--commit-every " + std::to_string(opt.commit_every) + ": must be >= 1");
  if (opt.commit_ms < 1) throw usage_error("--commit-ms " + std::to_string(opt.commit_ms) + ": must be >= 1");
  const int world = mpi_world_size_from_env();
  SweepOutcome out;
  int rank = 0;
#ifdef V4LAB_HAVE_MPI
  std::unique_ptr<MpiSession> mpi;
  if (world > 1) {
    mpi = std::make_unique<MpiSession>();
    rank = mpi->rank;
    out.ranks = mpi->size;
  }
#else
  if (world > 1)
    throw usage_error("this v4lab was built without MPI (V4LAB_MPI=OFF or no libopenmpi-dev), but it runs as one of " +
                      std::to_string(world) + " MPI ranks: every rank would run the whole sweep. Rebuild with "
                      "-DV4LAB_MPI=ON, or run one process per shard with --shard i/N and `v4lab db merge`");
#endif
  out.rank0 = rank == 0;
  const uint64_t ranks = static_cast<uint64_t>(out.ranks);
  store::SweepRunInfo info;
  info.hash = spec.hash;
  info.name = spec.name;
  info.kind = spec.kind;
  info.n_points = static_cast<int64_t>(spec.n_points);
  info.shard_index = opt.shard_index;
  info.shard_count = opt.shard_count;
  out.points_in_shard = static_cast<uint64_t>(info.points_in_shard());

  // Rank 0: open the store, find or create the run, read which points are already stored.
  std::unique_ptr<store::Store> db;
  std::vector<int64_t> stored;
  int setup = 0;  // 0 proceed, 1 failed on rank 0
  std::exception_ptr setup_error;
  if (rank == 0) {
    try {
      db = std::make_unique<store::Store>(ctx.db_path);
      std::optional<store::SweepRunInfo> prev;
      if (opt.resume_run > 0) {
        prev = store::get_sweep_run(*db, opt.resume_run);
        if (prev->hash != spec.hash)
          throw config_error("--resume " + std::to_string(opt.resume_run) + ": run is sweep '" + prev->name + "' (hash " +
                             prev->hash + "), not this scenario (hash " + spec.hash + ")");
        if (prev->shard_index != opt.shard_index || prev->shard_count != opt.shard_count)
          throw config_error("--resume " + std::to_string(opt.resume_run) + ": run is shard " +
                             std::to_string(prev->shard_index) + "/" + std::to_string(prev->shard_count) +
                             ", not --shard " + std::to_string(opt.shard_index) + "/" + std::to_string(opt.shard_count));
      } else if (opt.resume) {
        prev = store::find_resumable_sweep(*db, spec.hash, opt.shard_index, opt.shard_count);
        if (!prev)  // nothing unfinished: a complete run of this sweep and shard makes --resume a no-op
          for (auto& s : store::list_sweep_runs(*db))
            if (s.hash == spec.hash && s.shard_index == opt.shard_index && s.shard_count == opt.shard_count &&
                s.status == "ok") {
              prev = s;
              break;
            }
      } else if (auto open = store::find_resumable_sweep(*db, spec.hash, opt.shard_index, opt.shard_count)) {
        if (!ctx.quiet)
          *ctx.err << "note: run " << open->run_id << " is an unfinished run of this sweep (" << open->n_done << "/"
                   << open->points_in_shard() << " points); pass --resume to continue it instead of starting over\n";
      }
      if (prev) {
        out.run_id = prev->run_id;
        out.resumed = true;
        stored = store::stored_point_indices(*db, prev->run_id);
      } else {
        store::RunInfo ri;
        ri.kind = "sweep";
        ri.name = spec.name + (opt.shard_count > 1 ? " shard " + std::to_string(opt.shard_index) + "/" +
                                                         std::to_string(opt.shard_count)
                                                   : "");
        ri.scenario_path = spec.path;
        json cfg = spec.to_json();
        cfg["shard"] = {{"index", opt.shard_index}, {"count", opt.shard_count}};
        ri.config_json = cfg.dump();
        if (spec.kind == "kernel") ri.backends = spec.base.value("backend", std::string());
        out.run_id = store::begin_sweep_run(*db, ri, info);
      }
    } catch (...) {
      setup = 1;
      setup_error = std::current_exception();
    }
  }
#ifdef V4LAB_HAVE_MPI
  if (out.ranks > 1) {
    uint64_t hdr[2] = {static_cast<uint64_t>(setup), stored.size()};
    MPI_Bcast(hdr, 2, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    setup = static_cast<int>(hdr[0]);
    if (setup == 0) {
      stored.resize(hdr[1]);
      for (uint64_t at = 0; at < hdr[1]; at += (1u << 24)) {  // chunks: MPI counts are int
        const int n = static_cast<int>(std::min<uint64_t>(hdr[1] - at, 1u << 24));
        MPI_Bcast(stored.data() + at, n, MPI_INT64_T, 0, MPI_COMM_WORLD);
      }
    }
  }
#endif
  if (setup_error) std::rethrow_exception(setup_error);
  if (setup) throw runtime_error("MPI rank " + std::to_string(rank) + ": rank 0 could not set up the sweep (see its error)");
  out.already_stored = stored.size();

  const int hw_threads = std::max(1u, std::thread::hardware_concurrency());
  const int local_ranks = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE"));
  // Kernel points are timed: one at a time unless asked, so they do not compete for the cores.
  const int jobs = opt.jobs > 0 ? opt.jobs : (spec.kind == "kernel" ? 1 : std::max(1, hw_threads / local_ranks));
  out.jobs = jobs;

  SignalGuard signals;
  SweepEvaluator eval(spec, ctx, db.get());
  WorkSource src(out.points_in_shard, opt.shard_index, opt.shard_count, ranks, rank, opt.max_points, &stored);
  ResultQueue q;
  q.workers_left = jobs;
  q.wake_at = static_cast<size_t>(opt.commit_every);
  std::vector<std::thread> pool;
  for (int t = 0; t < jobs; ++t)
    pool.emplace_back([&] {
      std::exception_ptr e;
      try {
        uint64_t i = 0;
        while (src.take(i)) q.push(eval.evaluate(i));
      } catch (...) {
        e = std::current_exception();
        g_stop.store(true);
      }
      q.worker_done(e);
    });

  const auto commit_period = std::chrono::milliseconds(opt.commit_ms);
  std::vector<PointResult> buf;
  uint64_t local_evaluated = 0, remote_evaluated = 0;
  int remote_left = out.ranks - 1;
  Clock::time_point oldest{};  // when the oldest uncommitted point arrived
  try {
    if (rank == 0) {
      PointSink sink{*db, store::SweepPointWriter(*db, out.run_id, spec.hash), eval.label()};
      Progress progress(show_progress(ctx), *ctx.err, out.points_in_shard, out.already_stored);
      for (;;) {
        const auto now = Clock::now();
        auto deadline = buf.empty() ? now + commit_period : oldest + commit_period;
        if (out.ranks > 1) deadline = std::min(deadline, now + std::chrono::milliseconds(2));
        const size_t before = buf.size();
        const bool local_done = q.take_all(buf, std::max(deadline, now));
        local_evaluated += buf.size() - before;
        bool received = false;
#ifdef V4LAB_HAVE_MPI
        for (int flag = 1; out.ranks > 1 && flag;) {
          MPI_Status st;
          MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
          if (!flag) break;
          int n = 0;
          MPI_Get_count(&st, MPI_BYTE, &n);
          std::vector<char> bytes(static_cast<size_t>(n));
          MPI_Recv(bytes.data(), n, MPI_BYTE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          if (st.MPI_TAG == kTagDone) {
            uint64_t c[2];
            std::memcpy(c, bytes.data(), sizeof c);
            remote_evaluated += c[0];  // c[1]: its error points, counted again by the writer
            --remote_left;
          } else {
            decode(bytes, buf);
          }
          received = true;
        }
#endif
        if (buf.size() > before && before == 0) oldest = Clock::now();
        const bool all_done = local_done && remote_left == 0;
        if (!buf.empty() &&
            (all_done || buf.size() >= size_t(opt.commit_every) || Clock::now() - oldest >= commit_period)) {
          sink.write(buf);
        }
        progress.update(out.already_stored + sink.written, all_done);
        if (all_done) break;
        // Local workers finished, other ranks still busy: do not spin (it would steal their core).
        if (local_done && !received) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      progress.clear();
      out.written = sink.written;
      out.duplicates = sink.duplicates;
      out.errors = sink.errors;
    } else {
#ifdef V4LAB_HAVE_MPI
      std::vector<char> bytes;
      uint64_t errors = 0;
      for (;;) {
        const auto now = Clock::now();
        const size_t before = buf.size();
        const bool local_done = q.take_all(buf, buf.empty() ? now + commit_period : std::max(now, oldest + commit_period));
        local_evaluated += buf.size() - before;
        if (buf.size() > before && before == 0) oldest = Clock::now();
        if (!buf.empty() && (local_done || buf.size() >= size_t(opt.commit_every) || Clock::now() - oldest >= commit_period)) {
          for (auto& r : buf) errors += !r.ok;
          encode(buf, bytes);
          MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, 0, kTagBatch, MPI_COMM_WORLD);
          buf.clear();
        }
        if (local_done) break;
      }
      uint64_t c[2] = {local_evaluated, errors};
      MPI_Send(c, sizeof c, MPI_BYTE, 0, kTagDone, MPI_COMM_WORLD);
#endif
    }
  } catch (...) {
    g_stop.store(true);
    for (auto& t : pool) t.join();
#ifdef V4LAB_HAVE_MPI
    if (out.ranks > 1) MPI_Abort(MPI_COMM_WORLD, 1);  // the other ranks would wait for rank 0 forever
#endif
    throw;
  }
  for (auto& t : pool) t.join();
  if (q.failure) std::rethrow_exception(q.failure);
  out.evaluated = local_evaluated + remote_evaluated;
  if (rank == 0) {
    out.stored = static_cast<uint64_t>(store::get_sweep_run(*db, out.run_id).n_done);
    out.status = out.stored >= out.points_in_shard ? "ok" : "interrupted";
    const store::RunRow row = db->get_run(out.run_id);
    if (row.status != out.status || out.status != "ok" || row.finished_at.empty()) db->end_run(out.run_id, out.status);
  } else {
    out.status = g_stop.load() ? "interrupted" : "ok";
  }
  out.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return out;
}

}  // namespace v4lab::cli
