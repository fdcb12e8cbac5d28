// test_cli_sweep.cpp — `v4lab sweep` and `v4lab db merge` through the real CLI path: a sweep stores
// exactly its expanded point set; an interrupted sweep resumed completes it without duplicates;
// shard 0/2 + 1/2 merged equals the full sweep (by coordinates and metrics) and merging again adds
// nothing; kernel sweeps measure and predict; bad input exits 2. Point sets are compared by
// coordinates, never by stdout text.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>

#include "cli_test_util.h"
#include "core/presets.h"
#include "sweep_test_util.h"

using nlohmann::json;

namespace {

const std::string kData = V4LAB_SOURCE_DIR "/data";

json run_json(const std::vector<std::string>& args, int expect_code = 0) {
  CliResult r = cli(args);
  INFO(r.err);
  REQUIRE(r.code == expect_code);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("sweep: every expanded point is stored once, as a prediction, in a sweep run", "[cli][sweep]") {
  const std::string dir = sweep_dir("full");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(5, 4, "step"));
  const std::string db = dir + "/s.db";
  const v4lab::SweepSpec spec = v4lab::load_sweep(scen, kData);
  REQUIRE(spec.n_points == 40);

  const json j = run_json({"--json", "--db", db, "sweep", scen, "-j", "2"});
  CHECK(j["status"] == "ok");
  CHECK(j["n_points"] == 40);
  CHECK(j["written"] == 40);
  CHECK(j["stored"] == 40);
  CHECK(j["duplicates"] == 0);
  CHECK(j["errors"] == 0);
  CHECK(j["sweep_hash"] == spec.hash);
  CHECK(j["label"] == "prediction");
  const long long run = j["run_id"].get<long long>();

  const auto pts = stored_points(db, run);
  CHECK(keys_of(pts) == expected_coords(spec));
  for (auto& [c, m] : pts) {
    const json mj = json::parse(m);
    CHECK(mj["label"] == "prediction");
    CHECK(mj["step_s"].get<double>() > 0);
    CHECK(mj["memory"].contains("fits"));
  }
  CHECK(sql_text(db, "SELECT kind FROM runs WHERE id = " + std::to_string(run)) == "sweep");
  CHECK(sql_text(db, "SELECT status FROM runs WHERE id = " + std::to_string(run)) == "ok");
  CHECK(sql_int(db, "SELECT count(*) FROM sweep_points WHERE status = 'ok'") == 40);
  CHECK(sql_int(db, "SELECT count(DISTINCT point_index) FROM sweep_points") == 40);
  CHECK(sql_text(db, "SELECT sweep_hash FROM sweeps WHERE run_id = " + std::to_string(run)) == spec.hash);
  // The point index encodes the coordinates (index <-> coordinates is the expansion's).
  for (long long i : {0LL, 17LL, 39LL})
    CHECK(sql_text(db, "SELECT coords_json FROM sweep_points WHERE point_index = " + std::to_string(i)) ==
          spec.coordinates(uint64_t(i)).dump());
  // The run's config carries the resolved spec, so the full config of a point can be rebuilt.
  const json cfg = json::parse(sql_text(db, "SELECT config_json FROM runs WHERE id = " + std::to_string(run)));
  CHECK(cfg["sweep_hash"] == spec.hash);
  CHECK(cfg["shard"]["count"] == 1);

  // Status lists the run with its stored/total counts.
  const json st = run_json({"--json", "--db", db, "sweep", "status"});
  REQUIRE(st.size() == 1);
  CHECK(st[0]["stored"] == 40);
  CHECK(st[0]["union_stored_for_hash"] == 40);
  CHECK(st[0]["status"] == "ok");
}

TEST_CASE("sweep: an interrupted sweep resumed loses and repeats nothing", "[cli][sweep]") {
  const std::string dir = sweep_dir("resume");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(30, 10));
  const std::string db = dir + "/s.db";
  const v4lab::SweepSpec spec = v4lab::load_sweep(scen, kData);
  REQUIRE(spec.n_points == 600);

  const json a = run_json({"--json", "--db", db, "sweep", scen, "--max-points", "150", "--commit-every", "7"});
  CHECK(a["status"] == "interrupted");
  CHECK(a["evaluated"] == 150);
  CHECK(a["stored"] == 150);
  const long long run = a["run_id"].get<long long>();
  CHECK(sql_text(db, "SELECT status FROM runs WHERE id = " + std::to_string(run)) == "interrupted");

  // --resume RUN_ID continues exactly that run; a second --max-points slice, then the rest.
  const json b = run_json({"--json", "--db", db, "sweep", scen, "--resume", std::to_string(run), "--max-points", "100"});
  CHECK(b["resumed"] == true);
  CHECK(b["run_id"] == run);
  CHECK(b["already_stored"] == 150);
  CHECK(b["evaluated"] == 100);
  const json c = run_json({"--json", "--db", db, "sweep", "--resume", scen});  // --resume before SCENARIO works too
  CHECK(c["resumed"] == true);
  CHECK(c["run_id"] == run);
  CHECK(c["already_stored"] == 250);
  CHECK(c["evaluated"] == 350);
  CHECK(c["duplicates"] == 0);
  CHECK(c["status"] == "ok");
  CHECK(sql_int(db, "SELECT count(*) FROM sweep_points") == 600);
  CHECK(sql_int(db, "SELECT count(DISTINCT point_index) FROM sweep_points") == 600);
  CHECK(keys_of(stored_points(db, run)) == expected_coords(spec));
  CHECK(sql_int(db, "SELECT count(*) FROM runs") == 1);

  // --resume of a complete sweep is a no-op; without --resume a new run starts from scratch.
  const json d = run_json({"--json", "--db", db, "sweep", scen, "--resume"});
  CHECK(d["run_id"] == run);
  CHECK(d["evaluated"] == 0);
  CHECK(d["status"] == "ok");
  const json e = run_json({"--json", "--db", db, "sweep", scen, "--max-points", "10"});
  CHECK(e["run_id"] != run);
  CHECK(e["resumed"] == false);

  // Resuming a run of another sweep or another shard is a config error (exit 2).
  const std::string other = write_file(dir + "/o.toml", predict_sweep_toml(3, 2));
  CliResult r = cli({"--db", db, "sweep", other, "--resume", std::to_string(run)});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("not this scenario"));
  r = cli({"--db", db, "sweep", scen, "--resume", std::to_string(run), "--shard", "1/2"});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("is shard 0/1"));
}

TEST_CASE("sweep: shard 0/2 + shard 1/2 merged equals the full sweep, merging again duplicates nothing",
          "[cli][sweep][store]") {
  const std::string dir = sweep_dir("shards");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(7, 3, "step"));  // 42 points
  const v4lab::SweepSpec spec = v4lab::load_sweep(scen, kData);
  const std::string full = dir + "/full.db", s0 = dir + "/s0.db", s1 = dir + "/s1.db", out = dir + "/out.db";

  run_json({"--json", "--db", full, "sweep", scen});
  const json a = run_json({"--json", "--db", s0, "sweep", scen, "--shard", "0/2"});
  const json b = run_json({"--json", "--db", s1, "sweep", scen, "--shard", "1/2", "-j", "1"});
  CHECK(a["points_in_shard"] == 21);
  CHECK(b["points_in_shard"] == 21);
  CHECK(sql_int(s0, "SELECT count(*) FROM sweep_points WHERE point_index % 2 != 0") == 0);
  CHECK(sql_int(s1, "SELECT count(*) FROM sweep_points WHERE point_index % 2 != 1") == 0);
  // Another run kind in a shard file is copied too (and only once).
  REQUIRE(cli({"--db", s0, "predict", "--model", "deepseek_v4_flash", "--batch", "4"}).code == 0);

  const json m = run_json({"--json", "db", "merge", out, s0, s1});
  REQUIRE(m["inputs"].size() == 2);
  CHECK(m["inputs"][0]["sweeps_created"] == 1);
  CHECK(m["inputs"][0]["runs_copied"] == 1);
  CHECK(m["inputs"][1]["sweeps_created"] == 0);  // folded into the same logical sweep
  CHECK(m["inputs"][0]["points_added"].get<int>() + m["inputs"][1]["points_added"].get<int>() == 42);

  const auto merged = stored_points(out), reference = stored_points(full);
  CHECK(keys_of(merged) == expected_coords(spec));
  CHECK(merged == reference);  // same coordinates, same metrics
  CHECK(sql_int(out, "SELECT count(*) FROM sweeps") == 1);
  CHECK(sql_int(out, "SELECT shard_count FROM sweeps") == 1);
  CHECK(sql_text(out, "SELECT status FROM runs WHERE kind = 'sweep'") == "ok");
  CHECK(sql_text(out, "SELECT name FROM runs WHERE kind = 'sweep'") == "t");
  CHECK(sql_int(out, "SELECT count(*) FROM merge_sources") >= 3);
  CHECK(sql_int(out, "SELECT count(*) FROM runs WHERE kind = 'predict'") == 1);
  CHECK(sql_int(out, "SELECT count(*) FROM predictions") == sql_int(s0, "SELECT count(*) FROM predictions"));
  // Provenance kept: the copied predict run has the source's commit, host and start time.
  CHECK(sql_text(out, "SELECT started_at || host || git_commit FROM runs WHERE kind = 'predict'") ==
        sql_text(s0, "SELECT started_at || host || git_commit FROM runs WHERE kind = 'predict'"));

  // Merging the same shards again (and the merged file into a second output) adds nothing.
  const json again = run_json({"--json", "db", "merge", out, s1, s0});
  for (auto& in : again["inputs"]) {
    CHECK(in["points_added"] == 0);
    CHECK(in["runs_copied"] == 0);
    CHECK(in["sweeps_created"] == 0);
  }
  CHECK(sql_int(out, "SELECT count(*) FROM sweep_points") == 42);
  CHECK(sql_int(out, "SELECT count(*) FROM runs") == 2);
  const std::string out2 = dir + "/out2.db";
  run_json({"--json", "db", "merge", out2, out});
  const json loop = run_json({"--json", "db", "merge", out2, s0, s1});
  CHECK(loop["inputs"][0]["runs_copied"] == 0);
  CHECK(loop["inputs"][0]["points_added"] == 0);
  CHECK(loop["inputs"][1]["points_added"] == 0);
  CHECK(sql_int(out2, "SELECT count(*) FROM runs") == 2);
  CHECK(stored_points(out2) == reference);

  // A partial shard merged then completed and merged again fills in the rest.
  const std::string p0 = dir + "/p0.db", out3 = dir + "/out3.db";
  run_json({"--json", "--db", p0, "sweep", scen, "--shard", "0/2", "--max-points", "5"});
  run_json({"--json", "db", "merge", out3, p0, s1});
  CHECK(sql_text(out3, "SELECT status FROM runs WHERE kind = 'sweep'") == "interrupted");
  run_json({"--json", "--db", p0, "sweep", scen, "--shard", "0/2", "--resume"});
  const json fill = run_json({"--json", "db", "merge", out3, p0});
  CHECK(fill["inputs"][0]["points_added"] == 16);
  CHECK(sql_text(out3, "SELECT status FROM runs WHERE kind = 'sweep'") == "ok");
  CHECK(stored_points(out3) == reference);

  // Bad merge inputs.
  CliResult r = cli({"db", "merge", out, dir + "/missing.db"});
  CHECK(r.code == 2);
  r = cli({"db", "merge", out, out});
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("is the output database itself"));
}

TEST_CASE("sweep: shards written into one database are seen as one union by sweep status", "[cli][sweep]") {
  const std::string dir = sweep_dir("one_file");
  const std::string scen = write_file(dir + "/s.toml", predict_sweep_toml(3, 3));  // 18 points
  const std::string db = dir + "/s.db";
  for (const char* sh : {"0/3", "1/3", "2/3"}) run_json({"--json", "--db", db, "sweep", scen, "--shard", sh});
  const json st = run_json({"--json", "--db", db, "sweep", "status", scen});
  REQUIRE(st.size() == 3);
  for (auto& s : st) {
    CHECK(s["stored"] == 6);
    CHECK(s["union_stored_for_hash"] == 18);
  }
  CHECK(keys_of(stored_points(db)) == expected_coords(v4lab::load_sweep(scen, kData)));
}

TEST_CASE("sweep: points the cost model rejects are stored with status error and the sweep goes on", "[cli][sweep]") {
  const std::string dir = sweep_dir("errors");
  // tp = 3 does not divide V4-Flash's heads: those points are errors, the others are predictions.
  const std::string scen = write_file(dir + "/s.toml",
                                      "[sweep]\nkind = \"predict\"\nmetrics = \"step\"\n[sweep.base]\n"
                                      "model = \"deepseek_v4_flash\"\n[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 3]\n"
                                      "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 2]\n");
  const std::string db = dir + "/s.db";
  const json j = run_json({"--json", "--db", db, "sweep", scen});
  CHECK(j["status"] == "ok");
  CHECK(j["stored"] == 4);
  CHECK(j["errors"] == 2);
  CHECK(sql_int(db, "SELECT count(*) FROM sweep_points WHERE status = 'error' AND json_extract(coords_json, '$.tp') = 3") == 2);
  CHECK(sql_text(db, "SELECT json_extract(metrics_json, '$.error') FROM sweep_points WHERE status = 'error'") != "");
}

TEST_CASE("sweep: a kernel sweep measures each case on its backend and predicts it", "[cli][sweep]") {
  const std::string dir = sweep_dir("kernel");
  const std::string scen = write_file(dir + "/k.toml",
                                      "[sweep]\nkind = \"kernel\"\n[sweep.base]\nop = \"rmsnorm\"\nhardware = \"h800_sxm\"\n"
                                      "width = 256\n[sweep.timing]\nwarmup = 0\nmin_time_s = 0.001\nmin_reps = 2\n"
                                      "max_reps = 3\n[[sweep.axis]]\nfield = \"n_tokens\"\nvalues = [1, 13]\n"
                                      "[[sweep.axis]]\nfield = \"backend\"\nvalues = [\"ref\", \"cpu\"]\n");
  const std::string db = dir + "/k.db";
  const json j = run_json({"--json", "--db", db, "sweep", scen});
  CHECK(j["status"] == "ok");
  CHECK(j["stored"] == 4);
  CHECK(j["jobs"] == 1);  // timed points run one at a time by default
  CHECK(j["errors"] == 0);
  for (auto& [c, m] : stored_points(db)) {
    const json mj = json::parse(m);
    INFO(c << " " << m);
    CHECK(mj["measured"]["median_s"].get<double>() > 0);
    CHECK(mj["predicted"]["total_s"].get<double>() > 0);
    CHECK(mj["predicted"]["label"] == "prediction");
    CHECK(mj["params"]["width"] == 256);
    if (json::parse(c)["backend"] == "cpu") CHECK(mj["verified"] == true);
  }
}

TEST_CASE("sweep: bad command lines and scenarios exit 2 and write nothing", "[cli][sweep]") {
  const std::string dir = sweep_dir("bad");
  const std::string db = dir + "/b.db";
  const std::string ok = write_file(dir + "/s.toml", predict_sweep_toml(2, 2));
  const std::string bad = write_file(dir + "/bad.toml", "[sweep]\nkind = \"predict\"\n[sweep.base]\n"
                                                        "model = \"deepseek_v4_flash\"\n[[sweep.axis]]\n"
                                                        "field = \"batch\"\nvalues = [0]\n");
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases = {
      {{"--db", db, "sweep", bad}, "bad.toml:7"},
      {{"--db", db, "sweep", dir + "/none.toml"}, "not found"},
      {{"--db", db, "sweep"}, "missing SCENARIO"},
      {{"--db", db, "sweep", ok, "--shard", "2/2"}, "expected i/N with 0 <= i < N"},
      {{"--db", db, "sweep", ok, "--shard", "x"}, "expected i/N"},
      {{"--db", db, "sweep", ok, "--commit-every", "0"}, "--commit-every 0"},
      {{"--db", db, "sweep", ok, "--resume", "7"}, "no run 7"},
  };
  for (auto& c : cases) {
    CliResult r = cli(c.args);
    INFO(c.args.back() << ": " << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains(c.expect));
  }
  CHECK(sql_int(db, "SELECT count(*) FROM sweep_points") <= 0);
#ifndef V4LAB_TEST_MPIRUN
  // Built without MPI: started as one of several MPI ranks, the sweep refuses instead of double-running.
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  CliResult r = cli({"--db", db, "sweep", ok});
  unsetenv("OMPI_COMM_WORLD_SIZE");
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::Contains("built without MPI"));
#endif
}
