// test_cli_exec_trace.cpp — `v4lab exec --trace` / `--project-hw` through the real CLI path (issue 11
// "Side by side"; docs/exec.md "Timeline and projection"): the Chrome trace parses, has the measured and
// the predicted process with one track per phase, one measured event per traced kernel call nested in
// its phase span, durations that add up to the stored measurements, predicted ops equal to the stored
// predictions; an unwritable --trace exits 2 before anything runs; the full-scale projection equals
// `v4lab predict` for the same shape; the report shows both with the DB's numbers.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "report/report.h"
#include "report/trace_check.h"
#include "store/store.h"

namespace {
const char* kMeasured = "measured (this machine)";
const char* kPredicted = "predicted (h100_sxm preset)";
std::vector<std::string> exec_args(const std::string& db) {
  return {"--json", "--quiet",  "--db",     db,          "exec",      "--model", "v4-flash", "--scale",
          "tiny",   "--layers", "3",        "--prefill", "8",         "--decode", "3",       "--batch",
          "2",      "--hardware", "h100_sxm"};
}
}  // namespace

TEST_CASE("exec --trace: Chrome trace of measured calls and predicted ops, stored as the run's trace",
          "[cli][exec][trace]") {
  const std::string dir = fresh_dir("exec_trace");
  const std::string db = dir + "/e.db", trace = dir + "/out/trace.json";
  std::vector<std::string> args = exec_args(db);
  for (const char* a : {"--trace", trace.c_str(), "--trace-steps", "2"}) args.push_back(a);
  CliResult r = cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const std::string run = std::to_string(j["run_id"].get<long long>());
  const auto& tl = j["timeline"];
  REQUIRE(tl["decode_steps"] == 3);
  REQUIRE(tl["decode_steps_traced"] == 2);
  REQUIRE(tl["calls_dropped"] == 0);

  // The file: valid trace-event JSON (nesting, start order, named tracks), both processes, phase tracks.
  std::ifstream f(trace);
  REQUIRE(f.good());
  const auto doc = nlohmann::json::parse(f);
  const v4lab::test::TraceCheck chk = v4lab::test::check_chrome_trace(doc);
  INFO(chk.error);
  REQUIRE(chk.error.empty());
  std::map<std::string, int> pid;
  for (auto& [p, name] : chk.processes)
    for (const char* want : {kMeasured, kPredicted})
      if (name.size() >= std::string(want).size() && name.substr(name.size() - std::string(want).size()) == want)
        pid[want] = p;
  REQUIRE(pid.size() == 2);
  for (const char* proc : {kMeasured, kPredicted}) {
    std::vector<std::string> tracks;
    for (auto& [key, name] : chk.tracks)
      if (key.first == pid[proc]) tracks.push_back(name);
    std::sort(tracks.begin(), tracks.end());
    CHECK(tracks == std::vector<std::string>{"decode", "prefill"});
  }
  // Stored: the file's events are the DB's; one measured event per traced call.
  const std::string w = " FROM trace_events WHERE run_id = " + run;
  const long long stored = sql_int(db, "SELECT COUNT(*)" + w);
  CHECK(stored == (long long)chk.n_spans);
  CHECK(stored == tl["events_measured"].get<long long>() + tl["events_predicted"].get<long long>());
  CHECK(sql_int(db, "SELECT COUNT(*)" + w + " AND category = 'exec_op' AND process = '" + kMeasured + "'") ==
        tl["calls_traced"].get<long long>());
  long long traced_calls = 0;
  for (const auto& p : tl["phases"])
    if (!p["aggregated"].get<bool>()) traced_calls += p["calls"].get<long long>();
  CHECK(traced_calls == tl["calls_traced"].get<long long>());
  // Every op event inside a phase span of its process and track.
  CHECK(sql_int(db, "SELECT COUNT(*)" + w + " AND category IN ('exec_op', 'predicted_op') AND NOT EXISTS (SELECT 1 "
                    "FROM trace_events p WHERE p.run_id = trace_events.run_id AND p.process = trace_events.process AND "
                    "p.track = trace_events.track AND p.category = 'phase' AND p.ts_ns <= trace_events.ts_ns AND "
                    "p.ts_ns + p.dur_ns >= trace_events.ts_ns + trace_events.dur_ns)") == 0);

  // Prefill (one sample per row): the calls' durations add up to the stored measurement.
  const auto sums = sql_rows(db, "SELECT json_extract(args_json, '$.layer'), json_extract(args_json, '$.label'), "
                                 "SUM(dur_ns), COUNT(*)" + w + " AND category = 'exec_op' AND track = 'prefill' "
                                 "GROUP BY 1, 2");
  REQUIRE(sums.size() > 50);
  for (const auto& s : sums) {
    INFO("L" << s[0] << " " << s[1]);
    const std::string m = sql_text(db, "SELECT median_s FROM measurements WHERE run_id = " + run +
                                           " AND json_extract(params_json, '$.exec.phase') = 'prefill' AND "
                                           "json_extract(params_json, '$.exec.layer') = " + s[0] +
                                           " AND json_extract(params_json, '$.exec.label') = '" + s[1] + "'");
    REQUIRE(!m.empty());
    CHECK(std::fabs(std::stod(s[2]) * 1e-9 - std::stod(m)) <= 1e-9 * std::stod(s[3]) + 1e-12);
  }
  // Predicted ops: duration (ns-rounded) and args = the stored prediction of the same row.
  const auto preds = sql_rows(db, "SELECT json_extract(args_json, '$.phase'), json_extract(args_json, '$.layer'), "
                                  "json_extract(args_json, '$.label'), dur_ns, json_extract(args_json, "
                                  "'$.predicted_s')" + w + " AND category = 'predicted_op'");
  REQUIRE(preds.size() > 100);
  for (const auto& p : preds) {
    INFO(p[0] << " L" << p[1] << " " << p[2]);
    const std::string t = sql_text(db, "SELECT p.total_s FROM predictions p WHERE p.run_id = " + run +
                                           " AND json_extract(p.params_json, '$.exec.phase') = '" + p[0] +
                                           "' AND json_extract(p.params_json, '$.exec.layer') = " + p[1] +
                                           " AND json_extract(p.params_json, '$.exec.label') = '" + p[2] + "'");
    REQUIRE(!t.empty());
    CHECK(std::fabs(std::stod(p[3]) * 1e-9 - std::stod(t)) <= 1.0e-9);
    CHECK(std::stod(p[4]) == Approx(std::stod(t)).epsilon(1e-12));
  }
  // The measured process has no event for `embed` in the predicted one (no catalogue op, no prediction).
  CHECK(sql_int(db, "SELECT COUNT(*)" + w + " AND category = 'predicted_op' AND name LIKE '%embed%'") == 0);
  CHECK(sql_int(db, "SELECT COUNT(*)" + w + " AND category = 'exec_op' AND name = 'embed'") == 3);  // prefill + 2
}

TEST_CASE("exec --trace to an unwritable path, or an unknown --project-hw, exits 2 and runs nothing",
          "[cli][exec][trace]") {
  const std::string dir = fresh_dir("exec_trace_bad");
  const std::string db = dir + "/e.db";
  { std::ofstream(dir + "/a_file") << "x"; }
  std::vector<std::string> args = exec_args(db);
  args.push_back("--trace");
  args.push_back(dir + "/a_file/trace.json");  // a folder that is a file
  CliResult r = cli(args);
  CHECK(r.code == 2);
  CHECK(r.err.find("--trace") != std::string::npos);
  args = exec_args(db);
  for (const char* a : {"--project-hw", "h999"}) args.push_back(a);
  r = cli(args);
  CHECK(r.code == 2);
  CHECK(r.err.find("h999") != std::string::npos);
  args = exec_args(db);
  for (const char* a : {"--trace-steps", "-1"}) args.push_back(a);
  CHECK(cli(args).code == 2);
  CHECK(sql_int(db, "SELECT COUNT(*) FROM runs") <= 0);  // nothing stored (or no database at all)
}

TEST_CASE("exec --project-hw: the full-scale projection equals v4lab predict, and the report shows it and the timeline",
          "[cli][exec][trace]") {
  const std::string dir = fresh_dir("exec_projection");
  const std::string db = dir + "/e.db";
  std::vector<std::string> args = exec_args(db);
  for (const char* a : {"--project-hw", "h800,h100"}) args.push_back(a);
  CliResult r = cli(args);
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const long long run = j["run_id"].get<long long>();
  REQUIRE(j["projection"].size() == 2);
  const auto& pr = j["projection"][0];
  REQUIRE(pr["hardware"] == "h800_sxm");
  REQUIRE(pr["model"] == "deepseek_v4_flash");  // the unscaled preset
  // Same sim call as `v4lab predict` with the same shape → equal numbers (decode context 8 + max(0, 3/2 - 1)).
  for (const char* ph : {"prefill", "decode"}) {
    INFO(ph);
    std::vector<std::string> pa = {"--json", "--quiet", "--db", dir + "/p.db", "predict", "--model", "v4-flash",
                                   "--hw", "h800", "--phase", ph, "--batch", "2", "--no-save"};
    if (std::string(ph) == "prefill") pa.insert(pa.end(), {"--context", "0", "--chunk", "8"});
    else pa.insert(pa.end(), {"--context", "8"});
    CliResult p = cli(pa);
    INFO(p.err);
    REQUIRE(p.code == 0);
    const auto pj = nlohmann::json::parse(p.out);
    CHECK(pr["phases"][ph]["step_s"].get<double>() == pj["step"]["step_s"].get<double>());
    CHECK(pr["phases"][ph]["by_layer_type_s"] == pj["step"]["by_layer_type_s"]);
    REQUIRE(pj["step"]["by_layer_type_s"].size() >= 5);
    // Stored beside the run as predictions with the hardware name.
    for (auto& [k, v] : pj["step"]["by_layer_type_s"].items()) {
      const std::string t = sql_text(db, "SELECT total_s FROM predictions WHERE run_id = " + std::to_string(run) +
                                             " AND hardware = 'h800_sxm' AND op = 'projection.layer_type:" + k +
                                             "' AND json_extract(params_json, '$.projection.phase') = '" + ph + "'");
      REQUIRE(!t.empty());
      CHECK(std::stod(t) == Approx(v.get<double>()).epsilon(1e-12));
    }
  }

  // The report: the projection table and the timeline rows carry the DB's numbers.
  v4lab::store::Store st(db);
  const std::string md = v4lab::report::render_report_md(st, run);
  const std::string html = v4lab::report::render_report_html(st, run);
  REQUIRE(md.find("### Projected at full scale on h800_sxm (prediction)") != std::string::npos);
  REQUIRE(md.find("### Projected at full scale on h100_sxm (prediction)") != std::string::npos);
  REQUIRE(html.find("<h3>Projected at full scale on h800_sxm (prediction)</h3>") != std::string::npos);
  REQUIRE(md.find("### Timeline (measured vs prediction)") != std::string::npos);
  auto pred = [&](const std::string& op, const char* ph) {
    return std::stod(sql_text(db, "SELECT total_s FROM predictions WHERE run_id = " + std::to_string(run) +
                                      " AND hardware = 'h800_sxm' AND op = '" + op +
                                      "' AND json_extract(params_json, '$.projection.phase') = '" + ph + "'"));
  };
  int rows = 0;
  for (auto& [k, v] : pr["phases"]["prefill"]["by_layer_type_s"].items()) {
    const std::string op = "projection.layer_type:" + k;
    const std::string head = "| " + k + " | " + v4lab::report::format_seconds(pred(op, "prefill")) + " | ";
    const size_t at = md.find(head, md.find("### Projected at full scale on h800_sxm"));
    INFO(head);
    REQUIRE(at != std::string::npos);
    const std::string line = md.substr(at, md.find('\n', at) - at);
    CHECK(line.find("| " + v4lab::report::format_seconds(pred(op, "decode")) + " |") != std::string::npos);
    ++rows;
  }
  CHECK(rows >= 5);
  const std::string w = " FROM trace_events WHERE run_id = " + std::to_string(run);
  for (const char* name : {"prefill", "decode step 1", "decode step 3"}) {
    INFO(name);
    const std::string cond = " AND category = 'phase' AND name = '" + std::string(name) + "'";
    const double ms = double(sql_int(db, "SELECT dur_ns" + w + cond + " AND process = '" + kMeasured + "'")) / 1e9;
    const double ps = double(sql_int(db, "SELECT dur_ns" + w + cond + " AND process = '" + kPredicted + "'")) / 1e9;
    const long long calls =
        sql_int(db, "SELECT json_extract(args_json, '$.calls')" + w + cond + " AND process = '" + kMeasured + "'");
    REQUIRE(calls > 0);
    const std::string row = "| " + std::string(name) + " | 1 | " + std::to_string(calls) + " | " +
                            v4lab::report::format_seconds(ms) + " | " + v4lab::report::format_seconds(ps) + " |";
    INFO(row);
    CHECK(md.find(row) != std::string::npos);
  }
  // The report's generic trace section lists both processes.
  CHECK(md.find(kMeasured) != std::string::npos);
  CHECK(html.find(kPredicted) != std::string::npos);
}
