// test_cli_exec_chunk.cpp — `v4lab exec --chunk N` and `--mtp-verify` through the real CLI path, and
// the `chunk` / `mtp_verify` keys of a scenario's [exec] table: the run stores the chunked prefill as
// one sample per op whose catalogue params are the last chunk's, the verification's acceptance next
// to the cost model's --mtp-accept in the study point, and bad values exit 2 naming field and range.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>

#include "cli_test_util.h"

TEST_CASE("exec --chunk: the prefill runs in chunks, each predicted at its own context", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_chunk");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--layers", "4",
                     "--prefill", "24", "--chunk", "10", "--decode", "2", "--batch", "2", "--hardware", "h100_sxm"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["chunk"].get<int>() == 10);
  REQUIRE(j["prefill_chunks"].get<int>() == 3);
  REQUIRE(j["command"].get<std::string>().find("--chunk 10") != std::string::npos);
  const std::string run = std::to_string(j["run_id"].get<long long>());
  REQUIRE(sql_int(db, "SELECT json_extract(config_json, '$.chunk') FROM runs WHERE id = " + run) == 10);
  const std::string core = " FROM measurements WHERE run_id = " + run +
                           " AND json_extract(params_json, '$.exec.phase') = 'prefill' AND "
                           "json_extract(params_json, '$.exec.label') = 'core' AND "
                           "json_extract(params_json, '$.exec.layer') = 2";
  REQUIRE(sql_int(db, "SELECT reps" + core) == 1);  // the chunks summed into one prefill sample
  REQUIRE(sql_int(db, "SELECT json_extract(params_json, '$.exec.calls_per_step')" + core) == 6);  // 2 seqs x 3
  // The recorded params are the last chunk's (4 tokens at context 24).
  REQUIRE(sql_int(db, "SELECT json_extract(params_json, '$.n_tokens')" + core) == 4);
  REQUIRE(sql_int(db, "SELECT json_extract(params_json, '$.n_ctx')" + core) == 24);
  // The cost model's step prediction sums the chunks at their contexts: more than nothing, and
  // the work is the sum over chunks (flops of the chunked core > the last chunk's alone).
  REQUIRE(j["sim_step_s"]["prefill"].get<double>() > 0);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM predictions WHERE run_id = " + run) ==
          sql_int(db, "SELECT COUNT(*) FROM measurements WHERE run_id = " + run + " AND op != 'embed'"));

  // A chunk longer than the prompt is one chunk.
  r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--layers", "2",
           "--prefill", "8", "--chunk", "100", "--decode", "1", "--batch", "1", "--hardware", "h100_sxm"});
  REQUIRE(r.code == 0);
  REQUIRE(nlohmann::json::parse(r.out)["prefill_chunks"].get<int>() == 1);
}

TEST_CASE("exec --mtp-verify: acceptance stored beside the cost model's --mtp-accept", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_mtp");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--layers", "4",
                     "--prefill", "16", "--decode", "4", "--batch", "2", "--mtp-verify", "--hardware", "h100_sxm"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& mtp = j["mtp"];
  REQUIRE(mtp["verify"].get<bool>());
  REQUIRE(mtp["steps"].get<int>() == 4);
  REQUIRE(mtp["drafts"].get<int>() == 8);
  const double a = mtp["acceptance_rate"].get<double>();
  REQUIRE(a >= 0);
  REQUIRE(a <= 1);
  REQUIRE(mtp["steps_kept_both"].get<int>() >= 0);
  REQUIRE(mtp["steps_kept_both"].get<int>() <= 4);
  REQUIRE(mtp["cost_model_mtp_accept"].get<double>() > 0);
  const std::string run = std::to_string(j["run_id"].get<long long>());
  REQUIRE(sql_int(db, "SELECT json_extract(metrics_json, '$.mtp.drafts') FROM study_points WHERE run_id = " + run) == 8);
  REQUIRE(sql_int(db, "SELECT json_extract(config_json, '$.mtp_verify') FROM runs WHERE id = " + run) == 1);
  // Decode rows: 2 query tokens per sequence (4 rows in the batch's GEMMs), 4 steps.
  REQUIRE(sql_int(db, "SELECT json_extract(params_json, '$.n_tokens') FROM measurements WHERE run_id = " + run +
                          " AND json_extract(params_json, '$.exec.phase') = 'decode' AND "
                          "json_extract(params_json, '$.exec.label') = 'wq_a' AND "
                          "json_extract(params_json, '$.exec.layer') = 0") == 4);
  // --mtp-accept sets the cost model's input; without verification the block is off.
  r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--layers", "2",
           "--prefill", "8", "--decode", "2", "--batch", "1", "--mtp-verify", "--mtp-accept", "0.8", "--hardware",
           "h100_sxm"});
  REQUIRE(r.code == 0);
  REQUIRE(nlohmann::json::parse(r.out)["mtp"]["cost_model_mtp_accept"].get<double>() == Approx(0.8));
  r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--layers", "2",
           "--prefill", "8", "--decode", "1", "--batch", "1", "--hardware", "h100_sxm"});
  REQUIRE(r.code == 0);
  REQUIRE(!nlohmann::json::parse(r.out)["mtp"]["verify"].get<bool>());
}

TEST_CASE("exec: bad --chunk / --mtp-verify / --mtp-accept exit 2 naming the problem", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_chunk_bad");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--chunk", "-3", "--dry-run"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--chunk -3") != std::string::npos);
  REQUIRE(r.err.find("0..1048576") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "engram-27b", "--scale", "tiny", "--mtp-verify", "--dry-run"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("no MTP block") != std::string::npos);
  r = cli({"--db", db, "exec", "--model", "v4-flash", "--scale", "tiny", "--mtp-verify", "--mtp-accept", "1.5",
           "--dry-run"});
  REQUIRE(r.code == 2);
  REQUIRE(r.err.find("--mtp-accept") != std::string::npos);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs") <= 0);
}

TEST_CASE("run: [exec] chunk and mtp_verify run through the scenario, bad values exit 2", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_run_chunk");
  const std::string db = dir + "/e.db";
  const std::string head = "[scenario]\nname = \"x\"\nmodel = \"deepseek_v4_flash\"\nhardware = [\"h100_sxm\"]\n[exec]\n"
                           "scale = \"tiny\"\nlayers = 2\nprefill = 12\ndecode = 2\n";
  const std::string path = dir + "/s.toml";
  std::ofstream(path) << head << "chunk = 5\nmtp_verify = true\n";
  CliResult r = cli({"--db", db, "--quiet", "run", path});
  INFO(r.err);
  REQUIRE(r.code == 0);
  REQUIRE(sql_int(db, "SELECT json_extract(config_json, '$.chunk') FROM runs WHERE kind = 'exec'") == 5);
  REQUIRE(sql_int(db, "SELECT json_extract(metrics_json, '$.mtp.steps') FROM study_points") == 2);
  for (auto [body, needle] : {std::pair<const char*, const char*>{"chunk = -1\n", "chunk = -1 is out of range [0, 1048576]"},
                              {"mtp_verify = 1\n", "mtp_verify: expected boolean"}}) {
    INFO(body);
    std::ofstream(path) << head << body;
    r = cli({"--db", db, "--quiet", "run", path});
    REQUIRE(r.code == 2);
    INFO(r.err);
    REQUIRE(r.err.find(needle) != std::string::npos);
  }
}
