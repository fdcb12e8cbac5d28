// test_cli_engram.cpp — `v4lab engram cache-sim` and `engram pipeline` through the real CLI path: JSON
// parses, the run (kind "engram") is stored with its study point / measurements, the corpus run names
// the corpus, bad flags exit 2 naming flag, value and range, --help lists defaults.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "core/text_corpus.h"

TEST_CASE("cli engram cache-sim: zipf JSON parses and the run is stored", "[cli][engram]") {
  const std::string db = fresh_dir("engram_cs") + "/t.db";
  auto r = cli({"--db", db, "--json", "--quiet", "engram", "cache-sim", "--source", "zipf", "--zipf-s", "1.1",
                "--tokens", "20000", "--cache-rows", "2000", "--policy", "lfu", "--table-rows", "100000", "--batch",
                "64", "--prefetch", "2", "--hw", "h800_sxm"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  const long long id = j["run_id"];
  REQUIRE(sql_text(db, "SELECT kind FROM runs WHERE id=" + std::to_string(id)) == "engram");
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + std::to_string(id)) == 1);
  auto& res = j["results"];
  REQUIRE(res["lookups"] == 20000 * 16);
  const long long sum = res["tiers"]["hbm"]["bytes"].get<long long>() + res["tiers"]["dram"]["bytes"].get<long long>() +
                        res["tiers"]["nvme"]["bytes"].get<long long>();
  REQUIRE(sum == res["requested_bytes"].get<long long>());
  REQUIRE(res["tiers"]["hbm"]["hit_rate"].get<double>() > 0);
  REQUIRE(j["trace"]["source"] == "zipf");
}

TEST_CASE("cli engram cache-sim: corpus replay names the corpus", "[cli][engram]") {
  if (!std::filesystem::exists(v4lab::kDefaultCorpusPath)) {
    WARN("skipped: " << v4lab::kDefaultCorpusPath << " missing (apt-get install fortunes)");
    return;
  }
  const std::string db = fresh_dir("engram_corpus") + "/t.db";
  auto r = cli({"--db", db, "--json", "--quiet", "engram", "cache-sim", "--source", "corpus", "--tokens", "50000",
                "--cache-rows", "20000", "--policy", "static", "--table-rows", "1000000"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["trace"]["name"] == "fortunes");
  REQUIRE(j["trace"]["tokens"] == 50000);
  REQUIRE(j["results"]["tiers"]["hbm"]["hit_rate"].get<double>() > 0);
}

TEST_CASE("cli engram pipeline: both modes measured and stored", "[cli][engram]") {
  const std::string db = fresh_dir("engram_pl") + "/t.db";
  auto r = cli({"--db", db, "--json", "--quiet", "engram", "pipeline", "--steps", "4", "--rows-per-step", "512",
                "--row-bytes", "128", "--table-rows", "20000", "--compute-ms", "0.2", "--mode", "both"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["runs"].size() == 2);
  REQUIRE(j["runs"][0]["mode"] == "serial");
  REQUIRE(j["runs"][1]["steps"].size() == 4);
  REQUIRE(j.contains("exposed_reduction"));
  const long long id = j["run_id"];
  REQUIRE(sql_int(db, "SELECT COUNT(*) FROM measurements WHERE run_id=" + std::to_string(id)) == 2);
  REQUIRE(sql_text(db, "SELECT kind FROM runs WHERE id=" + std::to_string(id)) == "engram");
}

TEST_CASE("cli engram: bad input exits 2 naming the flag, value and range, --help shows defaults", "[cli][engram]") {
  const std::string db = fresh_dir("engram_bad") + "/t.db";
  auto a = cli({"--db", db, "engram", "cache-sim", "--zipf-s", "9"});
  REQUIRE(a.code == 2);
  REQUIRE(a.err.find("--zipf-s") != std::string::npos);
  REQUIRE(a.err.find("9") != std::string::npos);
  REQUIRE(a.err.find("4") != std::string::npos);
  auto b = cli({"--db", db, "engram", "cache-sim", "--policy", "fifo"});
  REQUIRE(b.code == 2);
  REQUIRE(b.err.find("--policy") != std::string::npos);
  REQUIRE(b.err.find("fifo") != std::string::npos);
  auto c = cli({"--db", db, "engram", "pipeline", "--steps", "0"});
  REQUIRE(c.code == 2);
  REQUIRE(c.err.find("--steps") != std::string::npos);
  auto big = cli({"--db", db, "engram", "pipeline", "--table-rows", "3000000000", "--row-bytes", "65536"});
  REQUIRE(big.code == 2);
  REQUIRE(big.err.find("needs") != std::string::npos);
  REQUIRE(big.err.find("available") != std::string::npos);
  auto h = cli({"engram", "cache-sim", "--help"});
  REQUIRE(h.code == 0);
  for (const char* s : {"--cache-rows", "65536", "--policy", "lru", "--zipf-s", "--batch", "--prefetch", "--hw",
                        "h800_sxm", "--corpus", "fortunes"})
    REQUIRE(h.out.find(s) != std::string::npos);
  auto hp = cli({"engram", "pipeline", "--help"});
  for (const char* s : {"--steps", "--rows-per-step", "6144", "--row-bytes", "--compute-ms", "--mode", "both"})
    REQUIRE(hp.out.find(s) != std::string::npos);
}
