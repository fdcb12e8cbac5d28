// test_cli_exec_run.cpp — `v4lab run` on a scenario whose [exec] table names a model and a scale:
// the shipped scenarios/exec_v4_flash_tiny.toml stores the same exec run as `v4lab exec` (per-layer
// rows, a prediction per row, the study point), and bad [exec] values exit 2 naming the field.
#include <catch2/catch.hpp>

#include <fstream>

#include "cli_test_util.h"

TEST_CASE("run: an [exec] scenario executes the reduced model and stores the exec run", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_run");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--db", db, "--json", "--quiet", "run", source_path("scenarios/exec_v4_flash_tiny.toml"),
                     "--hardware", "h100_sxm"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs WHERE kind = 'exec' AND status = 'ok'") == 1);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs") == 1);  // no kernel cases: the exec run only
  const std::string run = "(SELECT id FROM runs WHERE kind = 'exec')";
  REQUIRE(sql_int(db, "SELECT COUNT(DISTINCT json_extract(params_json, '$.exec.layer')) FROM measurements WHERE "
                      "run_id = " + run + " AND json_extract(params_json, '$.exec.layer') >= 0") == 44);
  REQUIRE(sql_int(db, "SELECT MAX(reps) FROM measurements WHERE run_id = " + run) == 4);  // 4 decode steps
  REQUIRE(sql_text(db, "SELECT json_extract(config_json, '$.prefill') FROM runs WHERE id = " + run) == "64");
  REQUIRE(sql_text(db, "SELECT json_extract(metrics_json, '$.command') FROM study_points WHERE run_id = " + run)
              .find("v4lab run") != std::string::npos);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM predictions WHERE run_id = " + run + " AND hardware = 'h100_sxm'") > 100);
}

TEST_CASE("run: bad exec-table values exit 2 naming the field", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_run_bad");
  const std::string db = dir + "/e.db";
  const std::string head = "[scenario]\nname = \"x\"\nmodel = \"deepseek_v4_flash\"\n[exec]\n";
  struct Case {
    const char* body;
    const char* needle;
  };
  for (const Case& c : {Case{"scale = \"huge\"\n", "scale = \"huge\""}, Case{"prefill = 0\n", "prefill = 0"},
                        Case{"batch = 2000\n", "batch = 2000"}, Case{"model = \"nope\"\n", "nope"},
                        Case{"chunks = 4\n", "unknown key 'chunks'"}, Case{"decode = \"4\"\n", "decode: expected integer"}}) {
    INFO(c.body);
    const std::string path = dir + "/s.toml";
    std::ofstream(path) << head << c.body;
    CliResult r = cli({"--db", db, "--quiet", "run", path});
    REQUIRE(r.code == 2);
    INFO(r.err);
    REQUIRE(r.err.find(c.needle) != std::string::npos);
  }
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs") <= 0);
}
