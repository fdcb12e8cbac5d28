// test_report_cli.cpp — end to end through the real CLI: `v4lab run` leaves a trace.json that parses as
// Chrome trace JSON with nested, ordered spans and equals `v4lab report RUN --format trace`; each
// measurement carries its CPU profile and the counters' "unavailable: <reason>" when the kernel has
// none; peak RSS and roofs are stored; `v4lab predict --trace` writes one track per busy stream whose
// last span ends at the stored step prediction; `v4lab info` says whether CUPTI is present.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "report/trace_check.h"

using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

const char* kScenario = R"(
[scenario]
name = "trace-test"
model = "deepseek_v4_flash"
hardware = ["local", "h800_sxm"]
seed = 3
backends = ["ref", "cpu"]
verify = true
[timing]
warmup = 1
min_time_s = 0.002
min_reps = 3
max_reps = 20
[[kernel]]
op = "rmsnorm"
n_tokens = 4
[[kernel]]
op = "mhc_pre"
n_tokens = 2
)";

}  // namespace

TEST_CASE("v4lab run leaves a valid, nested Chrome trace and stores the CPU profile", "[cli][report]") {
  const std::string d = fresh_dir("trace_run");
  const std::string db = d + "/t.db";
  REQUIRE(cli({"--db", db, "--quiet", "calibrate", "--budget", "0.3"}).code == 0);
  std::ofstream(d + "/s.toml") << kScenario;
  auto r = cli({"--db", db, "--json", "--quiet", "run", d + "/s.toml", "--report-dir", d + "/reports"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json out = json::parse(r.out);
  const long long id = out["run_id"];
  const std::string trace_path = out["trace"];
  CHECK(trace_path == d + "/reports/" + std::to_string(id) + "/trace.json");

  const json doc = json::parse(slurp(trace_path));
  const auto chk = v4lab::test::check_chrome_trace(doc);
  INFO(chk.error);
  REQUIRE(chk.error.empty());
  CHECK(chk.n_spans == out["trace_events"].get<size_t>());
  // Measured process (thread main) and the local prediction drawn at the measured positions.
  REQUIRE(chk.processes.size() == 2);
  CHECK_THAT(chk.processes.at(1), Catch::Contains("measured on "));
  CHECK_THAT(chk.processes.at(2), Catch::Contains("prediction: local"));
  size_t reps = 0, cases = 0, run_spans = 0;
  for (const auto& e : doc["traceEvents"]) {
    if (e["ph"] != "X") continue;
    reps += e["cat"] == "rep";
    cases += e["cat"] == "case";
    run_spans += e["cat"] == "run";
  }
  CHECK(run_spans == 1);
  CHECK(cases == 4);  // 2 kernels x 2 backends
  CHECK(reps >= 12);  // >= 3 timed reps each
  // The stored events regenerate the same file.
  const std::string again = d + "/again.json";
  auto rep = cli({"--db", db, "--quiet", "report", std::to_string(id), "--format", "trace", "-o", again});
  REQUIRE(rep.code == 0);
  CHECK(slurp(again) == slurp(trace_path));

  // Per-op CPU profile in counters_json; the counters say why they are missing when they are.
  const json prof =
      json::parse(sql_text(db, "SELECT counters_json FROM measurements WHERE run_id = " + std::to_string(id) +
                                   " AND backend = 'cpu' LIMIT 1"));
  CHECK(prof["wall_median_s"].get<double>() > 0);
  CHECK(prof["thread_cpu_s"].get<double>() >= 0);
  CHECK(prof["process_cpu_s"].get<double>() > 0);
  const std::string perf = prof["perf"]["status"];
  CHECK((perf == "available" || perf.rfind("unavailable: ", 0) == 0));
  if (perf != "available") CHECK_FALSE(prof["perf"].contains("per_rep"));
  CHECK(sql_int(db, "SELECT value > 0 FROM run_metrics WHERE name = 'peak_rss_bytes' AND run_id = " +
                        std::to_string(id)) == 1);
  CHECK(sql_text(db, "SELECT text FROM run_metrics WHERE name = 'perf_counters' AND run_id = " + std::to_string(id)) ==
        perf);
  CHECK_THAT(sql_text(db, "SELECT text FROM run_metrics WHERE name = 'command' AND run_id = " + std::to_string(id)),
             Catch::Contains("run " + d + "/s.toml"));
  CHECK(sql_int(db, "SELECT count(*) FROM run_metrics WHERE name LIKE 'roof.h800_sxm.%' AND run_id = " +
                        std::to_string(id)) >= 3);

  // The HTML report has the roofline, the profile, the trace and provenance sections.
  const std::string html = slurp(d + "/reports/" + std::to_string(id) + "/report.html");
  for (const char* sec : {"roofline", "profile", "memory", "trace", "provenance"})
    CHECK_THAT(html, Catch::Contains(std::string("<section id=\"") + sec + "\">"));
  CHECK_THAT(html, Catch::Contains("h800_sxm roof (bf16"));

  SECTION("--no-report keeps the events in the DB, --trace writes them anyway") {
    auto r2 = cli({"--db", db, "--json", "--quiet", "run", d + "/s.toml", "--no-report", "--trace", d + "/t2.json"});
    REQUIRE(r2.code == 0);
    CHECK(v4lab::test::check_chrome_trace(json::parse(slurp(d + "/t2.json"))).error.empty());
    auto r3 = cli({"--db", db, "--json", "--quiet", "run", d + "/s.toml", "--no-report"});
    REQUIRE(r3.code == 0);
    const json o3 = json::parse(r3.out);
    CHECK(o3["trace"].is_null());
    CHECK(sql_int(db, "SELECT count(*) FROM trace_events WHERE run_id = " +
                          std::to_string(o3["run_id"].get<long long>())) > 0);
  }
}

TEST_CASE("v4lab predict --trace: one track per busy stream, ending at the predicted step", "[cli][report]") {
  const std::string d = fresh_dir("trace_predict");
  const std::string db = d + "/t.db";
  // Overlap puts the EP all-to-alls on the comm stream beside compute.
  auto r = cli({"--db", db, "--json", "predict", "--model", "deepseek_v4_flash", "--hw", "h800_sxm", "--overlap",
                "--batch", "64", "--trace", d + "/p.json"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const json out = json::parse(r.out);
  const long long id = out["run_id"];
  const json doc = json::parse(slurp(d + "/p.json"));
  const auto chk = v4lab::test::check_chrome_trace(doc);
  INFO(chk.error);
  REQUIRE(chk.error.empty());
  REQUIRE(chk.processes.size() == 1);
  CHECK_THAT(chk.processes.begin()->second, Catch::Contains("prediction: h800_sxm decode step"));
  // One track per stream that has work, named after it; nodes = spans.
  const json& busy = out["step"]["busy_s"];
  size_t busy_streams = 0;
  for (const char* st : {"compute", "comm", "host"}) busy_streams += busy[st].get<double>() > 0;
  CHECK(chk.tracks.size() == busy_streams);
  CHECK(busy_streams >= 2);
  for (const auto& [key, name] : chk.tracks) CHECK((name == "compute" || name == "comm" || name == "host"));
  CHECK(chk.n_spans == out["step"]["n_nodes"].get<size_t>());
  double end_us = 0;
  for (const auto& [key, e] : chk.track_end_us) end_us = std::max(end_us, e);
  const double step_s =
      std::stod(sql_text(db, "SELECT total_s FROM predictions WHERE op = 'step' AND run_id = " + std::to_string(id)));
  CHECK(end_us * 1e-6 == Approx(step_s).epsilon(1e-6));
  // The same trace from the DB, and the report's breakdown and memory sections.
  auto rep = cli({"--db", db, "--quiet", "report", std::to_string(id), "--format", "trace", "-o", d + "/again.json"});
  REQUIRE(rep.code == 0);
  CHECK(slurp(d + "/again.json") == slurp(d + "/p.json"));
  auto html = cli({"--db", db, "--quiet", "report", std::to_string(id), "-o", d + "/p.html"});
  REQUIRE(html.code == 0);
  const std::string h = slurp(d + "/p.html");
  CHECK_THAT(h, Catch::Contains("<section id=\"breakdown\">"));
  CHECK_THAT(h, Catch::Contains("<section id=\"memory\">"));
  CHECK_THAT(h, Catch::Contains("HBM capacity"));

  SECTION("--no-save still writes the trace; a bad format names the accepted ones") {
    auto r2 = cli({"--db", db, "predict", "--model", "deepseek_v4_flash", "--no-save", "--trace", d + "/ns.json"});
    REQUIRE(r2.code == 0);
    CHECK(v4lab::test::check_chrome_trace(json::parse(slurp(d + "/ns.json"))).error.empty());
    auto bad = cli({"--db", db, "report", std::to_string(id), "--format", "pdf"});
    CHECK(bad.code == 2);
  }
}

TEST_CASE("v4lab report --format trace on a run without events exits 2, info reports CUPTI", "[cli][report]") {
  const std::string d = fresh_dir("trace_misc");
  const std::string db = d + "/t.db";
  auto p = cli({"--db", db, "--json", "predict", "--model", "deepseek_v4_flash"});
  REQUIRE(p.code == 0);
  // A run written without trace events (e.g. by an older v4lab): a clear error, exit 2, no file.
  auto sweep_like = cli({"--db", db, "--quiet", "report", "999", "--format", "trace", "-o", d + "/x.json"});
  CHECK(sweep_like.code == 2);
  CHECK_FALSE(std::filesystem::exists(d + "/x.json"));

  auto info = cli({"--json", "info"});
  REQUIRE(info.code == 0);
  const json j = json::parse(info.out);
  REQUIRE(j.contains("profiling"));
  const bool compiled = j["profiling"]["cupti"]["compiled"];
  const std::string status = j["profiling"]["cupti"]["status"];
  CHECK(status.rfind(compiled ? "compiled" : "absent", 0) == 0);
  CHECK_FALSE(j["profiling"]["perf_counters"].get<std::string>().empty());
}
