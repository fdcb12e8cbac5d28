// test_cli_predict.cpp — `v4lab predict` through the real CLI path: --json parses and carries the
// metrics for the V3/V3.2/V4 presets on h800_sxm, the run is stored (kind predict), bad inputs exit 2.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

TEST_CASE("predict --json: metrics for v4-flash, v4-pro, v3, v3.2 and the Engram variants on h800, stored as a predict run",
          "[cli]") {
  const std::string dir = fresh_dir("predict");
  const std::string db = dir + "/p.db";
  // Short names (docs/presets.md): v4-pro = deepseek_v4_pro, h800 = h800_sxm, ...
  for (const char* id : {"v4-flash", "v4-pro", "v3", "v3.2", "engram-27b", "v41_flash_like"}) {
    for (const char* phase : {"decode", "prefill"}) {
      CliResult r = cli({"--json", "--db", db, "predict", "--model", id, "--hw", "h800", "--phase", phase,
                         "--batch", "16", "--context", "8192", "--chunk", "2048"});
      INFO(id << " " << phase << " " << r.err);
      REQUIRE(r.code == 0);
      const auto j = nlohmann::json::parse(r.out);
      REQUIRE(j["label"] == "prediction");
      for (const char* k : {"step_s", "ttft_s", "tpot_s", "decode_tokens_per_s_per_gpu", "usd_per_m_input_tokens",
                            "usd_per_m_output_tokens"})
        REQUIRE(j["metrics"][k].get<double>() > 0);
      REQUIRE(j["metrics"]["label"] == "prediction");
      REQUIRE(j["memory"].contains("fits"));
      REQUIRE(j["step"]["by_layer_type_s"].size() >= 2);
      REQUIRE(j["step"]["missing_ops"].empty());
    }
  }
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs WHERE kind = 'predict'") == 12);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM predictions WHERE op = 'step'") == 12);
  // h800 has published-anchor efficiencies: the stored predictions name the calibrated model.
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM predictions WHERE op = 'step' AND model = 'roofline-eff-v2'") == 12);
}

TEST_CASE("predict: bad inputs exit 2 naming the flag and value", "[cli]") {
  const std::string dir = fresh_dir("predict_bad");
  const std::string db = dir + "/p.db";
  CliResult r = cli({"--db", db, "predict", "--model", "no_such_model"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("no_such_model") != std::string::npos);
  r = cli({"--db", db, "predict", "--model", "deepseek_v4_flash", "--batch", "0"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--batch 0") != std::string::npos);
  r = cli({"--db", db, "predict", "--model", "deepseek_v4_pro", "--tp", "3", "--gpus", "3"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--tp 3") != std::string::npos);
  r = cli({"--db", db, "predict", "--model", "deepseek_v4_pro", "--phase", "train"});
  REQUIRE(r.code == 2);
}
