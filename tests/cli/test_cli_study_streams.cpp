// test_cli_study_streams.cpp — `v4lab study streams` through the real CLI path: n = 1 gains exactly 1,
// mHC composite gain bounded (forward 1 ± 1e-4, backward <= 1.1) while unconstrained HC grows past 50
// at the default stress, gains vs depth stored, cost growing with n, the run stored as kind "study",
// bad input exits 2.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

TEST_CASE("cli study streams: mHC bounded, HC grows, n = 1 exact, cost grows with n, stored", "[cli][study]") {
  const std::string db = fresh_dir("study_streams") + "/t.db";
  auto r = cli({"--db", db, "--json", "--quiet", "study", "streams", "--d-model", "256", "--tokens", "32"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  for (auto& c : j["checks"]) {
    INFO(c.dump());
    REQUIRE(c["passed"] == true);  // every check runs at the default stress and passes
  }
  double hc4 = 0;
  for (auto& g : j["gain"]) {
    const int n = g["n"];
    const auto& m = g["metrics"];
    if (n == 1) {
      if (g["convention"] != "v4") {
        REQUIRE(m["final_fwd_mean"].get<double>() == 1.0);
        REQUIRE(m["final_bwd_mean"].get<double>() == 1.0);
      } else {
        REQUIRE(m["final_bwd_mean"].get<double>() == Approx(1.0).margin(1e-4));
      }
    }
    if (g["method"] == "mhc") {
      REQUIRE(m["final_fwd_mean"].get<double>() == Approx(1.0).margin(1e-4));
      if (g["t_max"] == 20) REQUIRE(m["final_bwd_mean"].get<double>() <= 1.1);
      REQUIRE(m["bwd_within_bound"] == true);
    }
    if (g["method"] == "plain") REQUIRE(m["final_bwd_mean"].get<double>() == 1.0);
    if (g["method"] == "hc" && n == 4) hc4 = m["final_bwd_mean"].get<double>();
    if (g["method"] == "hc" && n == 8) REQUIRE(m["final_bwd_mean"].get<double>() > 50);
  }
  REQUIRE(hc4 > 1.5);
  // The stored curve is a function of depth; HC's grows, mHC's stays near 1.
  const std::string id = std::to_string(j["run_id"].get<long long>());
  REQUIRE(sql_text(db, "SELECT kind FROM runs WHERE id=" + id) == "study");
  const std::string hc_curve = sql_text(db, "SELECT metrics_json FROM study_points WHERE run_id=" + id +
                                                " AND json_extract(point_json,'$.kind')='gain' AND "
                                                "json_extract(point_json,'$.method')='hc' AND json_extract(point_json,'$.n')=8");
  const auto hc = nlohmann::json::parse(hc_curve)["bwd_mean"];
  REQUIRE(hc.size() == 60);
  REQUIRE(hc.back().get<double>() > 10 * hc[4].get<double>());
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + id + " AND study='streams' AND "
                          "json_extract(point_json,'$.kind')='gain' AND label LIKE 'measured:%'") == 4 * 10);
  // Cost grows with n at each C; spec figures at C = 4096.
  double prev = 0;
  for (auto& c : j["cost"]) {
    if (c["d_model"] != 4096) continue;
    const double b = c["metrics"]["bytes_fused"];
    REQUIRE(b > prev);
    prev = b;
    if (c["n"] == 4) REQUIRE(b == 147552);
  }
  double prev_mhc = -1;
  for (auto& s : j["step"]) {
    if (s["n"] == 0) continue;
    REQUIRE(s["metrics"]["mhc_s"].get<double>() > prev_mhc);
    prev_mhc = s["metrics"]["mhc_s"];
  }
}

TEST_CASE("cli study streams: bad input exits 2 naming the flag, --help shows defaults", "[cli][study]") {
  const std::string db = fresh_dir("study_streams_bad") + "/t.db";
  auto a = cli({"--db", db, "study", "streams", "--n", "9"});
  REQUIRE(a.code == 2);
  REQUIRE(a.err.find("--n") != std::string::npos);
  REQUIRE(a.err.find("9") != std::string::npos);
  auto b = cli({"--db", db, "study", "streams", "--model", "deepseek_v32", "--no-save"});
  REQUIRE(b.code == 2);
  REQUIRE(b.err.find("hc_mult") != std::string::npos);
  auto h = cli({"study", "streams", "--help"});
  REQUIRE(h.code == 0);
  REQUIRE(h.out.find("--sigma-b") != std::string::npos);
  REQUIRE(h.out.find("0.2") != std::string::npos);
}
