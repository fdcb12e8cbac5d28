// test_cli_run.cpp — end-to-end: `v4lab run` stores provenance, config, measurements and predictions
// and writes reports; bad scenarios exit 2 and write nothing; `kernel --verify --dump` round-trips.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "core/npy.h"
#include "core/scenario.h"

namespace fs = std::filesystem;

TEST_CASE("run quickstart: rows with provenance and config JSON, reports written", "[cli][slow]") {
  std::string d = fresh_dir("run");
  std::string db = d + "/t.db";
  // A pre-stored probe keeps the test fast; the probe itself is exercised by `calibrate` below.
  auto cal = cli({"--db", db, "--quiet", "calibrate", "--budget", "0.3"});
  REQUIRE(cal.code == 0);
  auto r = cli({"--db", db, "--json", "--quiet", "run", source_path("scenarios/quickstart.toml"), "--min-time", "0.01",
                "--report-dir", d + "/reports"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  long long id = j["run_id"];
  REQUIRE(id > 0);
  REQUIRE(sql_int(db, "PRAGMA user_version") >= 1);
  REQUIRE(sql_text(db, "SELECT git_commit FROM runs WHERE id=" + std::to_string(id)).size() >= 7);
  REQUIRE_FALSE(sql_text(db, "SELECT host FROM runs WHERE id=" + std::to_string(id)).empty());
  REQUIRE_FALSE(sql_text(db, "SELECT compiler FROM runs WHERE id=" + std::to_string(id)).empty());
  auto cfg = nlohmann::json::parse(sql_text(db, "SELECT config_json FROM runs WHERE id=" + std::to_string(id)));
  REQUIRE(cfg.dump().find("deepseek_v4_flash") != std::string::npos);
  long long n_meas = sql_int(db, "SELECT count(*) FROM measurements WHERE run_id=" + std::to_string(id));
  long long n_pred = sql_int(db, "SELECT count(*) FROM predictions WHERE run_id=" + std::to_string(id));
  // quickstart: every kernel x 2 backends measured, every kernel x 3 hardware presets predicted,
  // every cpu row verified against ref.
  const auto n_kernels = static_cast<long long>(
      v4lab::load_scenario(source_path("scenarios/quickstart.toml"), source_path("data")).kernels.size());
  REQUIRE(n_kernels >= 2);
  REQUIRE(n_meas == 2 * n_kernels);
  REQUIRE(n_pred == 3 * n_kernels);
  REQUIRE(sql_int(db, "SELECT count(*) FROM measurements WHERE backend='cpu' AND verified=1 AND run_id=" + std::to_string(id)) == n_kernels);
  REQUIRE(sql_int(db, "SELECT count(*) FROM measurements WHERE median_s <= 0") == 0);
  for (auto& row : j["rows"]) REQUIRE(row["ratio_measured_over_predicted"].get<double>() > 0);
  for (auto& p : j["reports"]) REQUIRE(fs::file_size(p.get<std::string>()) > 500);
}

TEST_CASE("bad scenarios exit 2, name the problem and write nothing", "[cli]") {
  struct Case { const char* file; const char* needle; };
  for (Case c : {Case{"typo_key.toml", "n_tokenz"}, Case{"negative_size.toml", "-"}, Case{"missing_preset.toml", "not found"}}) {
    std::string d = fresh_dir(std::string("bad_") + c.file);
    std::string db = d + "/t.db";
    auto r = cli({"--db", db, "--quiet", "run", source_path(std::string("tests/bad_inputs/scenarios/") + c.file)});
    INFO(c.file << ": " << r.err);
    REQUIRE(r.code == 2);
    REQUIRE(r.err.find(c.needle) != std::string::npos);
    REQUIRE_FALSE(fs::exists(db));
  }
  auto r = cli({"--db", fresh_dir("nofile") + "/t.db", "run", "/nonexistent/scenario.toml"});
  REQUIRE(r.code == 2);
}

TEST_CASE("kernel mhc_pre --verify --seed 7 --dump writes recomputable inputs and outputs", "[cli]") {
  std::string d = fresh_dir("dump");
  auto r = cli({"--json", "kernel", "mhc_pre", "--verify", "--seed", "7", "--dump", d, "--set", "n_tokens=5",
                "--set", "d_model=64", "--min-time", "0.001"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["verified"] == true);
  auto meta = nlohmann::json::parse(std::ifstream(d + "/params.json"));
  REQUIRE(meta["seed"] == 7);
  for (auto& t : meta["inputs"]) REQUIRE(fs::exists(d + "/" + t["file"].get<std::string>()));
  for (auto& t : meta["outputs"]) {
    auto x = v4lab::read_npy(d + "/" + t["file"].get<std::string>());
    REQUIRE(x.shape() == t["shape"].get<std::vector<int64_t>>());
  }
  // The outside script (NumPy, float64, written from the spec) must agree with the dump.
  if (fs::exists("/usr/bin/python3")) {
    int rc = std::system(("/usr/bin/python3 " + source_path("scripts/recompute_mhc.py") + " " + d + " > " + d + "/recompute.log 2>&1").c_str());
    std::ifstream lf(d + "/recompute.log");
    std::string log((std::istreambuf_iterator<char>(lf)), {});
    INFO(log);
    REQUIRE(rc == 0);
  }
}

TEST_CASE("kernel: usage errors exit 2", "[cli]") {
  REQUIRE(cli({"kernel", "no_such_op"}).code == 2);
  REQUIRE(cli({"kernel", "mhc_pre", "--backend", "tpu"}).code == 2);
  REQUIRE(cli({"kernel", "mhc_pre", "--set", "n_tokens=-3"}).code == 2);
  REQUIRE(cli({"kernel", "mhc_pre", "--set", "hc=9"}).code == 2);
  REQUIRE(cli({"kernel", "mhc_pre", "--set", "bogus=1"}).code == 2);
  REQUIRE(cli({"kernel", "mhc_pre", "--set", "n_tokens"}).code == 2);
  REQUIRE(cli({"--no-such-flag"}).code == 2);
  REQUIRE(cli({}).code == 2);
}

TEST_CASE("--help of the app and every subcommand describes options with defaults", "[cli]") {
  auto top = cli({"--help"});
  REQUIRE(top.code == 0);
  REQUIRE(top.out.find("--db") != std::string::npos);
  REQUIRE(top.out.find("v4lab.db") != std::string::npos);  // default shown
  for (const char* sub : {"info", "kernel", "run", "bench", "calibrate", "db", "report"}) {
    auto h = cli({sub, "--help"});
    INFO(sub);
    REQUIRE(h.code == 0);
    REQUIRE(h.out.find("Options:") != std::string::npos);
  }
  auto k = cli({"kernel", "--help"});
  REQUIRE(k.out.find("--backend") != std::string::npos);
  REQUIRE(k.out.find("cpu") != std::string::npos);  // its default
  auto v = cli({"--version"});
  REQUIRE(v.code == 0);
  REQUIRE(v.out.find("v4lab") != std::string::npos);
}

TEST_CASE("info --json lists backends and ops", "[cli]") {
  auto r = cli({"--json", "info"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["backends"]["ref"]["available"] == true);
  REQUIRE(j["backends"]["cpu"]["available"] == true);
  REQUIRE(j["backends"].contains("cuda"));
  bool has_pre = false;
  for (auto& o : j["ops"]) has_pre = has_pre || o["op"] == "mhc_pre";
  REQUIRE(has_pre);
}
