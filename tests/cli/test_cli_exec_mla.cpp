// test_cli_exec_mla.cpp — `v4lab exec` on V3 (MLA + dense FFN layers), V3.2 (MLA + DSA) and the
// Engram variants (Engram-27B: MLA + mHC + Engram; V4.1-like: V4 + Engram) at tiny scale through the
// real CLI path: every layer of the schedule has rows in both phases, the attention core is the MLA
// op, the Engram ops sit at the preset's Engram layers, and each catalogue row has its prediction.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

TEST_CASE("exec --json: V3, V3.2, Engram-27B and V4.1-like store per-layer rows with predictions", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_mla");
  const std::string db = dir + "/e.db";
  struct Case {
    const char* id;
    long long layers;  // schedule length (main + MTP)
    const char* core_op;
    std::vector<const char*> types;  // layer types that must have measured time
  };
  const std::vector<Case> cases = {
      {"v3", 62, "attn_mla_decode", {"mla", "dense", "moe", "mtp", "head"}},
      {"v3.2", 62, "attn_mla_decode", {"dsa", "dense", "moe", "mtp", "head"}},
      {"engram-27b", 30, "attn_mla_decode", {"mla", "moe", "engram", "head"}},
      {"v41_flash_like", 41, "attn_sparse", {"swa", "csa", "hca", "hash", "moe", "engram", "mtp", "head"}}};
  for (const Case& c : cases) {
    INFO(c.id);
    CliResult r = cli({"--json", "--quiet", "--db", db, "exec", "--model", c.id, "--scale", "tiny", "--prefill", "8",
                       "--decode", "2", "--batch", "2", "--hardware", "h100_sxm"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    const long long run = j["run_id"].get<long long>();
    REQUIRE(j["layers"].get<long long>() == c.layers);
    for (const char* ph : {"prefill", "decode"})
      for (const char* k : c.types) {
        INFO(ph << " " << k);
        REQUIRE(j["by_layer_type"][ph].contains(k));
        REQUIRE(j["by_layer_type"][ph][k]["measured_s"].get<double>() > 0);
      }
    const std::string where = " WHERE run_id = " + std::to_string(run);
    const std::string layer_rows =
        "SELECT COUNT(DISTINCT json_extract(params_json, '$.exec.layer')) FROM measurements" + where +
        " AND json_extract(params_json, '$.exec.layer') >= 0 AND json_extract(params_json, '$.exec.phase') = ";
    REQUIRE(sql_int(db, layer_rows + "'prefill'") == c.layers);
    REQUIRE(sql_int(db, layer_rows + "'decode'") == c.layers);
    // One attention core row per layer and phase, of the family's op.
    REQUIRE(sql_int(db, "SELECT COUNT(*) FROM measurements" + where + " AND op = '" + c.core_op +
                            "' AND json_extract(params_json, '$.exec.label') = 'core'") == 2 * c.layers);
    const long long catalogued = sql_int(db, "SELECT COUNT(*) FROM measurements" + where + " AND op != 'embed'");
    REQUIRE(sql_int(db, "SELECT COUNT(*) FROM predictions p JOIN measurements m ON m.run_id = p.run_id AND "
                        "m.params_json = p.params_json AND m.op = p.op WHERE p.run_id = " +
                            std::to_string(run)) == catalogued);
  }
  // The Engram ops run at the Engram layers only (Engram-27B: 2 and 15), in both phases.
  const std::string e27 = "(SELECT MIN(id) FROM runs WHERE config_json LIKE '%engram_27b%')";
  REQUIRE(sql_text(db, "SELECT group_concat(DISTINCT json_extract(params_json, '$.exec.layer')) FROM measurements "
                       "WHERE run_id = " +
                           e27 + " AND op = 'engram_gather'") == "2,15");
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM measurements WHERE run_id = " + e27 + " AND op LIKE 'engram_%'") == 16);
}
