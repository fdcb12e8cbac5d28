// test_cli_report_trace_output.cpp — the scenario's `[output] trace = "path"`: `v4lab run` writes the
// run's Chrome trace there (equal to `v4lab report RUN --format trace`), `--trace` overrides it, and an
// unwritable path (scenario field or flag) is refused with exit 2 before anything is written: no
// database, no report folder, no trace file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "core/scenario.h"

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::string scenario(const std::string& output) {
  return "[scenario]\nname = \"trace-out\"\nmodel = \"deepseek_v4_flash\"\nbackends = [\"cpu\"]\nverify = false\n"
         "[timing]\nwarmup = 0\nmin_time_s = 0.0005\nmin_reps = 1\nmax_reps = 2\n"
         "[output]\n" +
         output + "\n[[kernel]]\nop = \"rmsnorm\"\nn_tokens = 2\n";
}

}  // namespace

TEST_CASE("run: [output] trace names the trace file, unwritable paths exit 2 and write nothing", "[cli][report]") {
  const std::string d = fresh_dir("trace_output");
  const std::string db = d + "/v.db";
  SECTION("written where the scenario says, equal to report --format trace; --trace overrides it") {
    const std::string toml = d + "/s.toml";
    std::ofstream(toml) << scenario("report_dir = \"" + d + "/reports\"\ntrace = \"" + d + "/sub/dir/t.json\"");
    auto r = cli({"--db", db, "--json", "run", toml, "--no-report"});
    INFO(r.err);
    REQUIRE(r.code == 0);
    const auto j = nlohmann::json::parse(r.out);
    CHECK(j["trace"] == d + "/sub/dir/t.json");
    REQUIRE(fs::exists(d + "/sub/dir/t.json"));
    CHECK_FALSE(fs::exists(d + "/reports"));  // --no-report: no report files, but the named trace
    const std::string id = std::to_string(j["run_id"].get<long long>());
    REQUIRE(cli({"--db", db, "report", id, "--format", "trace", "-o", d + "/again.json"}).code == 0);
    CHECK(slurp(d + "/sub/dir/t.json") == slurp(d + "/again.json"));
    CHECK(sql_text(db, "SELECT json_extract(config_json, '$.output.trace') FROM runs WHERE id = " + id) ==
          d + "/sub/dir/t.json");
    auto o = cli({"--db", db, "--json", "run", toml, "--no-report", "--trace", d + "/flag.json"});
    REQUIRE(o.code == 0);
    CHECK(nlohmann::json::parse(o.out)["trace"] == d + "/flag.json");
    CHECK(fs::exists(d + "/flag.json"));
  }
  SECTION("an unwritable [output] trace is a config error at its line; nothing is written") {
    std::ofstream(d + "/bad.toml") << scenario("report_dir = \"" + d + "/reports\"\ntrace = \"/proc/v4lab/t.json\"");
    auto r = cli({"--db", db, "run", d + "/bad.toml"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("bad.toml:13: trace = \"/proc/v4lab/t.json\""));
    CHECK_THAT(r.err, Catch::Contains("cannot write in folder"));
    std::ofstream(d + "/dir.toml") << scenario("trace = \"" + d + "\"");
    auto f = cli({"--db", db, "run", d + "/dir.toml"});
    CHECK(f.code == 2);
    CHECK_THAT(f.err, Catch::Contains("names a folder"));
    CHECK_FALSE(fs::exists(db));
    CHECK_FALSE(fs::exists(d + "/reports"));
  }
  SECTION("an unwritable --trace exits 2 before the run; nothing is written") {
    std::ofstream(d + "/s.toml") << scenario("report_dir = \"" + d + "/reports\"");
    auto r = cli({"--db", db, "run", d + "/s.toml", "--trace", "/proc/v4lab.json"});
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("--trace '/proc/v4lab.json': cannot write in folder '/proc'"));
    CHECK_FALSE(fs::exists(db));
    CHECK_FALSE(fs::exists(d + "/reports"));
  }
  SECTION("output_file_problem: checks only, creates nothing") {
    CHECK(v4lab::output_file_problem(d + "/a/b/c.json").empty());
    CHECK_FALSE(fs::exists(d + "/a"));
    CHECK_FALSE(v4lab::output_file_problem("").empty());
    CHECK_FALSE(v4lab::output_file_problem(d + "/").empty());
    std::ofstream(d + "/file") << "x";
    CHECK_THAT(v4lab::output_file_problem(d + "/file/t.json"), Catch::Contains("is not a folder"));
    size_t left = 0;
    for (auto& e : fs::directory_iterator(d)) left += e.path().filename().string().rfind(".v4lab-write-check", 0) == 0;
    CHECK(left == 0);
  }
}
