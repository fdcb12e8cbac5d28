// test_cli_bench.cpp — `v4lab bench` through the real CLI path: one row per (case, backend) with the
// shape, roofline share, prediction error and speedup over _ref; the reference budget skips slow _ref
// rows and verifies the fast backend at a smaller n_tokens instead; every measured row is stored.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

TEST_CASE("bench: rows carry shape, roofline share, prediction error and speedup, stored", "[cli]") {
  const std::string db = fresh_dir("bench") + "/b.db";
  auto r = cli({"--json", "--quiet", "--db", db, "bench", "--op", "mhc_post", "--model", "deepseek_v4_flash",
                "--model", "deepseek_v4_pro", "--n-tokens", "3", "--min-time", "0.001"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["rows"].size() == 4);  // 2 presets (d_model 4096 / 7168) x (ref, cpu)
  for (auto& row : j["rows"]) {
    REQUIRE(row["shape"].get<std::string>().find("n_tokens=3") != std::string::npos);
    REQUIRE(row["roofline_share"].get<double>() > 0);
    REQUIRE(row.contains("prediction_error"));
    if (row["backend"] == "cpu") {
      REQUIRE(row["verified"] == true);
      REQUIRE(row["speedup_vs_ref"].get<double>() > 0);
    }
  }
  REQUIRE(j["rows"][2]["shape"].get<std::string>().find("d_model=7168") != std::string::npos);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM measurements") == 4);
}

TEST_CASE("bench: a reference over budget is skipped and the fast backend verified smaller", "[cli]") {
  const std::string db = fresh_dir("bench_budget") + "/b.db";
  auto r = cli({"--json", "--quiet", "--db", db, "bench", "--op", "mhc_post", "--model", "deepseek_v4_flash",
                "--n-tokens", "64", "--min-time", "0.001", "--ref-budget", "2e-4"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["rows"].size() == 2);
  REQUIRE(j["rows"][0]["backend"] == "ref");
  REQUIRE(j["rows"][0].contains("skipped"));
  REQUIRE(j["rows"][1]["verified"] == true);
  const std::string at = j["rows"][1]["verified_at"];
  REQUIRE(at.rfind("n_tokens=", 0) == 0);
  REQUIRE(std::stoi(at.substr(9)) < 64);
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM measurements") == 1);
}
