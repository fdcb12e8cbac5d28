// test_cli_sweep_process.cpp — the sweep engine as a real process (the v4lab binary in V4LAB_BIN_DIR):
// SIGKILL at random moments, then --resume, loses and duplicates no point; under mpirun (when MPI was
// found at build time and mpirun exists) 2 ranks store the same point set as one process.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <cstdlib>
#include <random>
#include <thread>

#include "cli_test_util.h"
#include "sweep_test_util.h"

extern char** environ;

namespace {

const std::string kData = V4LAB_SOURCE_DIR "/data";
const std::string kBin = std::string(V4LAB_BIN_DIR) + "/v4lab";

// Starts `kBin args...` with stdout/stderr to files in `dir`; returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::string& dir) {
  std::vector<std::string> all = {kBin};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, (dir + "/stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, (dir + "/stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, kBin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  REQUIRE(rc == 0);
  return pid;
}

// Waits for pid; returns true when it was killed by SIGKILL (false: it exited on its own, code in *code).
bool wait_killed(pid_t pid, int* code) {
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  if (WIFSIGNALED(st)) return WTERMSIG(st) == SIGKILL;
  *code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return false;
}

}  // namespace

TEST_CASE("sweep: SIGKILL at random moments and --resume lose and duplicate no point", "[cli][sweep][slow]") {
  REQUIRE(access(kBin.c_str(), X_OK) == 0);
  const std::string dir = sweep_dir("sigkill");
  // 40,000 memory-footprint points: a few seconds per full pass, so the kills land mid-sweep.
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(100, 200));
  const std::string db = dir + "/s.db";
  const v4lab::SweepSpec spec = v4lab::load_sweep(scen, kData);
  REQUIRE(spec.n_points == 40000);

  std::mt19937 rng(20240607);  // fixed seed: the same kill fractions every run
  // Kill points are fractions of one unkilled sweep's time on this machine now (measured), so they land
  // mid-sweep whether the machine is idle or loaded (fixed 150-900 ms let an idle sweep finish first).
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t ref = spawn({"--quiet", "--db", dir + "/time.db", "sweep", scen, "--commit-ms", "20"}, dir);
  int ref_code = -1;
  REQUIRE_FALSE(wait_killed(ref, &ref_code));
  REQUIRE(ref_code == 0);
  const double full_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::uniform_real_distribution<double> kill_at(0.1, 0.9);
  int killed_mid_sweep = 0;
  long long last = 0;
  for (int it = 0; it < 8; ++it) {
    const pid_t pid = spawn({"--quiet", "--db", db, "sweep", scen, "--resume", "--commit-ms", "20"}, dir);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::max(1, static_cast<int>(kill_at(rng) * full_ms))));
    kill(pid, SIGKILL);
    int code = 0;
    const bool killed = wait_killed(pid, &code);
    const long long n = sql_int(db, "SELECT count(*) FROM sweep_points");
    INFO("iteration " << it << ": " << n << " points stored, killed " << killed << " exit " << code);
    // Never a duplicate, never fewer points than before the kill.
    CHECK(sql_int(db, "SELECT count(DISTINCT point_index) FROM sweep_points") == n);
    CHECK(n >= last);
    last = n;
    if (killed && n < 40000) ++killed_mid_sweep;
    if (!killed) {
      CHECK(code == 0);
      if (n == 40000) break;
    }
  }
  INFO("kills that landed mid-sweep: " << killed_mid_sweep << " (unkilled sweep: " << full_ms << " ms)");
  CHECK(killed_mid_sweep >= 1);  // else the test proved nothing: the machine was too fast or too slow
  CHECK(sql_int(db, "SELECT count(*) FROM runs WHERE kind = 'sweep'") == 1);  // every restart resumed

  CliResult r = cli({"--json", "--db", db, "sweep", scen, "--resume"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["status"] == "ok");
  CHECK(j["duplicates"] == 0);
  CHECK(sql_int(db, "SELECT count(*) FROM sweep_points") == 40000);
  CHECK(sql_int(db, "SELECT count(DISTINCT point_index) FROM sweep_points") == 40000);
  CHECK(keys_of(stored_points(db)) == expected_coords(spec));
  CHECK(sql_text(db, "SELECT status FROM runs WHERE kind = 'sweep'") == "ok");
}

TEST_CASE("sweep: SIGINT stops cleanly: finished points committed, run 'interrupted', exit 130", "[cli][sweep]") {
  const std::string dir = sweep_dir("sigint");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(300, 300));  // 180,000 points
  const std::string db = dir + "/s.db";
  const pid_t pid = spawn({"--quiet", "--db", db, "sweep", scen, "--commit-ms", "20"}, dir);
  // Wait until points are being stored (the handler is installed by then), then interrupt.
  for (int i = 0; i < 1000 && sql_int(db, "SELECT count(*) FROM sweep_points") <= 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  kill(pid, SIGINT);
  int code = 0;
  REQUIRE_FALSE(wait_killed(pid, &code));
  CHECK(code == 130);
  const long long n = sql_int(db, "SELECT count(*) FROM sweep_points");
  CHECK(n > 0);
  CHECK(n < 180000);
  CHECK(sql_int(db, "SELECT count(DISTINCT point_index) FROM sweep_points") == n);
  CHECK(sql_text(db, "SELECT status FROM runs WHERE kind = 'sweep'") == "interrupted");
  CHECK(sql_text(db, "SELECT finished_at FROM runs WHERE kind = 'sweep'") != "");
}

#ifdef V4LAB_TEST_MPIRUN
TEST_CASE("sweep: mpirun -np 2 stores the same point set as a single process", "[cli][sweep][mpi]") {
  const std::string mpirun = V4LAB_TEST_MPIRUN;
  if (access(mpirun.c_str(), X_OK) != 0) {
    WARN("no " << mpirun << ": MPI sweep test not run");
    return;
  }
  const std::string dir = sweep_dir("mpi");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(20, 10, "step"));  // 400 points
  const std::string single = dir + "/single.db", multi = dir + "/mpi.db";
  REQUIRE(cli({"--quiet", "--db", single, "sweep", scen}).code == 0);
  const std::string cmd = mpirun + " --oversubscribe --allow-run-as-root -np 2 " + kBin + " --json --db " + multi +
                          " sweep " + scen + " > " + dir + "/mpi.json 2> " + dir + "/mpi.err";
  const int rc = std::system(cmd.c_str());
  INFO(cmd);
  REQUIRE(rc == 0);
  std::ifstream in(dir + "/mpi.json");
  const auto j = nlohmann::json::parse(in);  // only rank 0 prints
  CHECK(j["ranks"] == 2);
  CHECK(j["status"] == "ok");
  CHECK(j["evaluated"] == 400);
  CHECK(j["duplicates"] == 0);
  CHECK(sql_int(multi, "SELECT count(*) FROM runs") == 1);
  const auto a = stored_points(single), b = stored_points(multi);
  CHECK(a.size() == 400);
  CHECK(keys_of(b) == keys_of(a));
  CHECK(b == a);  // the same metrics too: the cost model is deterministic
  CHECK(keys_of(b) == expected_coords(v4lab::load_sweep(scen, kData)));
}
#endif
