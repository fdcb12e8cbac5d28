// test_cli_exec.cpp — `v4lab exec` through the real CLI path: a tiny reduced V4-Flash / V4-Pro run is
// stored as an exec run with per-(phase, layer, op) measurements and a prediction beside each; runs
// that do not fit the memory budget are refused before allocation; bad scales exit 2.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

TEST_CASE("exec --json: reduced V4-Flash and V4-Pro store per-layer rows with predictions", "[cli][exec]") {
  const std::string dir = fresh_dir("exec");
  const std::string db = dir + "/e.db";
  for (const char* id : {"v4-flash", "v4-pro"}) {
    INFO(id);
    // Every layer of the schedule (Flash 43 + MTP, Pro 61 + MTP); h100_sxm needs no machine probe.
    CliResult r = cli({"--json", "--quiet", "--db", db, "exec", "--model", id, "--scale", "tiny", "--prefill", "8",
                       "--decode", "2", "--batch", "2", "--hardware", "h100_sxm"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    const long long run = j["run_id"].get<long long>();
    REQUIRE(j["prefill_s"].get<double>() > 0);
    REQUIRE(j["decode_step_s"].get<double>() > 0);
    REQUIRE(j["memory"]["accounted_bytes"].get<double>() > 0);
    for (const char* ph : {"prefill", "decode"}) {
      const auto& t = j["by_layer_type"][ph];
      for (const char* k : {"swa", "csa", "hca", "hash", "moe", "mtp", "head"}) {
        if (std::string(k) == "swa" && std::string(id) == "v4-pro") continue;  // Pro: HCA/CSA only (+ SWA MTP)
        INFO(ph << " " << k);
        REQUIRE(t.contains(k));
        REQUIRE(t[k]["measured_s"].get<double>() > 0);
      }
      REQUIRE(j["sim_step_s"][ph].get<double>() > 0);
    }
    const std::string where = " WHERE run_id = " + std::to_string(run);
    REQUIRE(sql_text(db, "SELECT kind FROM runs WHERE id = " + std::to_string(run)) == "exec");
    REQUIRE(sql_text(db, "SELECT status FROM runs WHERE id = " + std::to_string(run)) == "ok");
    // One row per layer of the schedule in each phase (layer -1: embedding and head).
    const long long layers = j["layers"].get<long long>();
    REQUIRE(layers == (std::string(id) == "v4-flash" ? 44 : 62));
    for (const char* ph : {"prefill", "decode"})
      REQUIRE(sql_int(db, std::string("SELECT COUNT(DISTINCT json_extract(params_json, '$.exec.layer')) FROM "
                                      "measurements") +
                              where + " AND json_extract(params_json, '$.exec.phase') = '" + ph +
                              "' AND json_extract(params_json, '$.exec.layer') >= 0") == layers);
    // Each core attention row is one call per sequence, two decode steps → two samples.
    REQUIRE(sql_int(db, "SELECT MIN(reps) FROM measurements" + where +
                            " AND json_extract(params_json, '$.exec.phase') = 'decode'") == 2);
    // Every catalogue op has its prediction with the same params.
    const long long catalogued = sql_int(db, "SELECT COUNT(*) FROM measurements" + where + " AND op != 'embed'");
    REQUIRE(catalogued > 100);
    REQUIRE(sql_int(db,
                    "SELECT COUNT(*) FROM predictions p JOIN measurements m ON m.run_id = p.run_id AND "
                    "m.params_json = p.params_json AND m.op = p.op" +
                        std::string(" WHERE p.run_id = ") + std::to_string(run) + " AND p.hardware = 'h100_sxm'") ==
            catalogued);
    REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points" + where + " AND study = 'exec'") == 1);
  }
}

TEST_CASE("exec: configurations over the memory budget are refused before allocation", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_refuse");
  const std::string db = dir + "/e.db";
  // Full-width V4-Pro weights alone are ~1 TB: refused against any real machine.
  CliResult r = cli({"--db", db, "exec", "--model", "v4-pro", "--scale", "preset", "--prefill", "64", "--batch", "1"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("needs") != std::string::npos);
  REQUIRE(r.err.find("GiB") != std::string::npos);
  r = cli(
      {"--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--prefill", "8", "--mem-budget-gib", "0.001"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--mem-budget-gib") != std::string::npos);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs") <= 0);  // nothing stored (or no database at all)
  // The dry run reports the estimate and stores nothing.
  r = cli({"--json", "--db", db, "exec", "--model", "v4-flash", "--scale", "small", "--prefill", "2048", "--decode",
           "64", "--dry-run"});
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["config"]["memory_estimate"]["total_bytes"].get<double>() > 1e7);
  REQUIRE(j["config"]["layers"].get<int>() == 44);
}

TEST_CASE("exec: bad inputs and unsupported models exit 2 naming the problem", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_bad");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--db", db, "exec", "--model", "engram-27b", "--scale", "tiny", "--engram-head-dim", "20"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("engram_head_dim = 20") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "v4-flash", "--batch", "0"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--batch 0") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "v4-flash", "--scale", "huge"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("tiny, small, preset") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "v4-flash", "--d-model", "100", "--dry-run"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("hidden_size = 100") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "v4-flash", "--layers", "0", "--dry-run"});
  REQUIRE(r.code == 2);
}
