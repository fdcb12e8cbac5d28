// test_cli_plan.cpp — `v4lab plan` through the real CLI path: --json parses and carries the summary,
// the winner and the Pareto set; every candidate is a study_points row of one "plan" run (metrics with
// feasible + reason, label prediction); an infeasible target exits 0 with feasible=false and the
// closest miss's reasons; bad flag values exit 2 naming the flag.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace {
std::vector<std::string> small_plan(const std::string& db) {
  return {"--json", "--db", db, "plan", "--model", "deepseek_v4_flash", "--hw", "h800_sxm", "--context", "4096",
          "--instance-gpus", "8,16", "--batch", "8,32", "--threads", "2"};
}
}  // namespace

TEST_CASE("plan --json: a feasible target gives a winner and a Pareto set, every candidate is stored", "[cli]") {
  const std::string dir = fresh_dir("plan");
  const std::string db = dir + "/p.db";
  auto args = small_plan(db);
  for (const char* a : {"--target-tokens-per-s", "20000", "--tpot-ms", "80", "--ttft-ms", "5000"}) args.push_back(a);
  CliResult r = cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["label"] == "prediction");
  REQUIRE(j["feasible"] == true);
  const auto& s = j["summary"];
  const long long n = s["n_candidates"].get<long long>();
  REQUIRE(n >= 8);
  REQUIRE(s["candidates_per_s"].get<double>() > 0);
  REQUIRE(s["n_feasible"].get<long long>() >= 1);
  REQUIRE(j["pareto"].size() == s["n_pareto"].get<size_t>());
  const auto& w = j["winner"];
  REQUIRE(w["metrics"]["feasible"] == true);
  REQUIRE(w["metrics"]["winner"] == true);
  REQUIRE(w["metrics"]["label"] == "prediction");
  REQUIRE(w["metrics"]["effective_tpot_s"].get<double>() <= 0.080);
  REQUIRE(w["metrics"]["total_gpus"].get<long long>() ==
          w["metrics"]["replicas"].get<long long>() * w["point"]["gpus"].get<long long>());
  // The winner uses no more GPUs than any Pareto point (objective gpus).
  for (const auto& p : j["pareto"]) REQUIRE(w["metrics"]["total_gpus"] <= p["metrics"]["total_gpus"]);

  const long long run = j["run_id"].get<long long>();
  REQUIRE(sql_text(db, "SELECT kind FROM runs WHERE id = " + std::to_string(run)) == "plan");
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id = " + std::to_string(run) + " AND study = 'plan'") == n);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE label != 'prediction'") == 0);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE json_extract(metrics_json, '$.feasible') = 1") ==
          s["n_feasible"].get<long long>());
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE json_extract(metrics_json, '$.reason') IS NULL") == 0);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE json_extract(metrics_json, '$.winner') = 1") == 1);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE json_extract(point_json, '$.tp') IS NULL") == 0);

  // --all adds every candidate to the JSON; --no-save stores nothing.
  args.push_back("--all");
  args.push_back("--no-save");
  r = cli(args);
  REQUIRE(r.code == 0);
  REQUIRE(nlohmann::json::parse(r.out)["candidates"].size() == size_t(n));
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs WHERE kind = 'plan'") == 1);
}

TEST_CASE("plan: an infeasible target exits 0 with feasible=false and the closest miss's reasons", "[cli]") {
  const std::string dir = fresh_dir("plan_infeasible");
  const std::string db = dir + "/p.db";
  auto args = small_plan(db);
  for (const char* a : {"--target-tokens-per-s", "20000", "--tpot-ms", "0.5"}) args.push_back(a);
  CliResult r = cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["feasible"] == false);
  REQUIRE(j["winner"].is_null());
  REQUIRE(j["pareto"].empty());
  const auto& m = j["closest_miss"]["metrics"];
  REQUIRE(m["feasible"] == false);
  REQUIRE(m["reason"].get<std::string>().find("TPOT") != std::string::npos);
  REQUIRE(m["reason"].get<std::string>().find("> SLO 0.50 ms") != std::string::npos);
  REQUIRE(j["summary"]["violation_counts"]["tpot"].get<long long>() == j["summary"]["n_timed"].get<long long>());
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE json_extract(metrics_json, '$.feasible') = 1") == 0);

  // The text form says so in words.
  args.erase(args.begin());  // drop --json
  r = cli(args);
  REQUIRE(r.code == 0);
  REQUIRE(r.out.find("NO feasible deployment") != std::string::npos);
  REQUIRE(r.out.find("closest miss") != std::string::npos);
}

TEST_CASE("plan: bad flag values exit 2 naming the flag and value", "[cli]") {
  const std::string dir = fresh_dir("plan_bad");
  const std::string db = dir + "/p.db";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--objective", "latency"}, "--objective latency"},
      {{"--tp", "1,x"}, "--tp 1,x"},
      {{"--batch", "0"}, "--batch 0"},
      {{"--mtp-accept", "2"}, "--mtp-accept 2"},
      {{"--overlap", "maybe"}, "--overlap maybe"},
      {{"--tpot-ms", "-1"}, "--tpot-ms -1"},
      {{"--max-gpus", "0"}, "--max-gpus 0"},
      {{"--price", "b200=3"}, "--price b200=3"},
      {{"--context", "0"}, "--context 0"},
  };
  for (const auto& [extra, needle] : cases) {
    std::vector<std::string> args = {"--db", db, "plan", "--model", "deepseek_v4_flash"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = cli(args);
    INFO(needle << ": " << r.err);
    REQUIRE(r.code == 2);
    REQUIRE(r.err.find(needle) != std::string::npos);
  }
  CliResult r = cli({"--db", db, "plan", "--model", "no_such_model"});
  REQUIRE(r.code == 2);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM runs") <= 0);
}
