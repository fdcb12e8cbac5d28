// test_trace.cpp — trace tables of the store (schema v3), the Chrome trace writer (valid JSON, named
// tracks, nested spans, exact ns round trip), the JSON/CSV reports carrying run metrics, and the
// report's numbers equal to the DB's numbers (HTML data-value cells, JSON export).
#include <sqlite3.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <regex>

#include "core/error.h"
#include "report/report.h"
#include "report/trace.h"
#include "report/trace_check.h"
#include "store/store.h"
#include "store/store_fixture.h"
#include "store/trace_store.h"

using namespace v4lab;
using nlohmann::json;
using v4lab::test::TempDir;

namespace {

std::vector<store::TraceEvent> nested_events() {
  // run > case > (verify, timed > rep x3) on the main thread; one kernel on a CUDA stream.
  return {
      {"measured on test", "thread main", "run", "run", 0, 10'000'001, ""},
      {"measured on test", "thread main", "mhc_pre.cpu", "case", 1'000, 9'000'000, R"({"op":"mhc_pre"})"},
      {"measured on test", "thread main", "verify", "verify", 2'000, 1'000'000, ""},
      {"measured on test", "thread main", "timed", "timed", 2'000'000, 3'000'003, ""},
      {"measured on test", "thread main", "rep", "rep", 2'000'000, 1'000'001, R"({"rep":0})"},
      {"measured on test", "thread main", "rep", "rep", 3'000'001, 1'000'001, R"({"rep":1})"},
      {"measured on test", "thread main", "rep", "rep", 4'000'002, 1'000'001, R"({"rep":2})"},
      {"measured on test", "cuda stream 7", "k<<<>>>", "cuda_kernel", 2'500'000, 7, R"({"grid":[1,2,3]})"},
      {"prediction: local", "compute", "mhc_pre", "predicted_op", 2'000'000, 800'000, R"({"label":"prediction"})"},
  };
}

// Every data-value="..." inside the <tr data-measurement-id="ID"> row.
std::vector<double> row_values(const std::string& html, int64_t id) {
  const std::string open = "<tr data-measurement-id=\"" + std::to_string(id) + "\">";
  const size_t a = html.find(open);
  if (a == std::string::npos) return {};
  const std::string row = html.substr(a, html.find("</tr>", a) - a);
  std::vector<double> out;
  std::regex re("data-value=\"([^\"]+)\"");
  for (auto it = std::sregex_iterator(row.begin(), row.end(), re); it != std::sregex_iterator(); ++it)
    out.push_back(std::stod((*it)[1].str()));
  return out;
}

double sql_double(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  double v = NAN;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_double(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

}  // namespace

TEST_CASE("trace store: events and metrics round-trip exactly and cascade with the run", "[report][store]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  CHECK(s.schema_version() >= 3);
  const int64_t id = s.write_run(v4lab::test::synthetic_run());
  store::add_trace_events(s, id, nested_events());
  store::set_run_metrics(s, id,
                         {{"peak_rss_bytes", 123456789.0, "VmHWM", "bytes", "measured"},
                          {"perf_counters", store::kUnknown, "unavailable: test", "", "measured"}});
  // Replace, not duplicate.
  store::set_run_metrics(s, id, {{"peak_rss_bytes", 2e8, "VmHWM", "bytes", "measured"}});

  const auto ev = store::trace_events(s, id);
  REQUIRE(ev.size() == nested_events().size());
  CHECK(store::count_trace_events(s, id) == 9);
  // Ordered by process, track, start, longer first.
  CHECK(ev[0].track == "cuda stream 7");
  CHECK(ev[1].name == "run");
  CHECK(ev[2].name == "mhc_pre.cpu");
  CHECK(ev[1].dur_ns == 10'000'001);
  const auto summary = store::trace_process_summary(s, id);
  REQUIRE(summary.size() == 2);
  CHECK(summary[0].process == "measured on test");
  CHECK(summary[0].tracks == 2);
  CHECK(summary[0].events == 8);

  const auto m = store::run_metrics(s, id);
  REQUIRE(m.size() == 2);
  CHECK(m[0].name == "peak_rss_bytes");
  CHECK(m[0].value == 2e8);
  CHECK(std::isnan(m[1].value));
  CHECK(m[1].text == "unavailable: test");

  SECTION("negative durations and unknown runs are refused") {
    CHECK_THROWS_AS(store::add_trace_events(s, id, {{"p", "t", "bad", "c", 0, -1, ""}}), Error);
    try {
      store::add_trace_events(s, id + 9, nested_events());
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.exit_code() == 2);
    }
    CHECK(store::count_trace_events(s, id) == 9);  // nothing half-written
  }
  SECTION("deleting the run deletes its trace and metrics") {
    s.delete_run(id);
    CHECK(store::count_trace_events(s, id) == 0);
    CHECK(store::run_metrics(s, id).empty());
  }
}

TEST_CASE("trace writer: valid Chrome trace JSON with named tracks and nested spans", "[report]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  const int64_t id = s.write_run(v4lab::test::synthetic_run());
  store::add_trace_events(s, id, nested_events());
  const std::string text = report::render_trace(s, {id});
  const json doc = json::parse(text);
  const auto chk = v4lab::test::check_chrome_trace(doc);
  INFO(chk.error);
  REQUIRE(chk.error.empty());
  CHECK(chk.n_spans == 9);
  CHECK(chk.processes.size() == 2);
  CHECK(chk.tracks.size() == 3);  // thread main, cuda stream 7, compute
  CHECK(doc["otherData"]["runs"][0]["run_id"] == id);
  // Integer ns -> µs exactly: 10'000'001 ns is 10000.001 µs.
  bool found = false;
  for (const auto& e : doc["traceEvents"])
    if (e["ph"] == "X" && e["name"] == "run") {
      CHECK(e["dur"].get<double>() == Approx(10000.001).epsilon(1e-12));
      CHECK(e["ts"].get<double>() == 0.0);
      found = true;
    }
  CHECK(found);
  // Deterministic: the same DB gives the same file (the run's trace.json can be regenerated).
  CHECK(report::render_trace(s, {id}) == text);
  CHECK(report::render_run_report(s, id, "trace") == text);
  CHECK(report::report_file_name("trace") == "trace.json");
  CHECK(report::report_extension("trace") == "json");

  SECTION("two runs side by side: each run's processes after the other") {
    const int64_t id2 = s.write_run(v4lab::test::synthetic_run("second"));
    store::add_trace_events(s, id2, {{"prediction: h800_sxm", "compute", "L0 wq_a", "predicted_op", 0, 5, ""}});
    const auto c2 = v4lab::test::check_chrome_trace(json::parse(report::render_trace(s, {id, id2})));
    CHECK(c2.error.empty());
    CHECK(c2.processes.size() == 3);
    CHECK(c2.processes.at(3) == "run " + std::to_string(id2) + " \xC2\xB7 prediction: h800_sxm");
  }
  SECTION("a run without events is a config error naming the run") {
    const int64_t bare = s.write_run(v4lab::test::synthetic_run("bare"));
    try {
      report::render_trace(s, {bare});
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.exit_code() == 2);
      CHECK_THAT(e.what(), Catch::Contains("run " + std::to_string(bare)));
    }
  }
}

TEST_CASE("trace check: the validator rejects overlapping and unordered spans", "[report]") {
  auto doc = [](std::vector<std::pair<double, double>> spans) {
    json ev = json::array({{{"ph", "M"}, {"pid", 1}, {"tid", 1}, {"name", "thread_name"}, {"args", {{"name", "t"}}}}});
    for (auto [ts, dur] : spans)
      ev.push_back({{"ph", "X"}, {"pid", 1}, {"tid", 1}, {"name", "s"}, {"ts", ts}, {"dur", dur}});
    return json{{"traceEvents", ev}};
  };
  CHECK(v4lab::test::check_chrome_trace(doc({{0, 10}, {1, 2}, {3, 7}, {10, 1}})).error.empty());
  CHECK_FALSE(v4lab::test::check_chrome_trace(doc({{0, 10}, {5, 10}})).error.empty());  // overlap, not nested
  CHECK_FALSE(v4lab::test::check_chrome_trace(doc({{5, 1}, {0, 1}})).error.empty());    // out of order
  CHECK_FALSE(v4lab::test::check_chrome_trace(doc({{0, -1}})).error.empty());
}

TEST_CASE("report numbers equal the DB's numbers (HTML data-value cells, JSON, CSV)", "[report]") {
  TempDir dir;
  const std::string path = dir.file("v4lab.db");
  store::Store s(path);
  store::RunRecord rec = v4lab::test::synthetic_run();
  for (auto& m : rec.measurements)
    m.counters_json = json{{"wall_median_s", m.median_s},
                           {"thread_cpu_s", m.median_s * 0.7},
                           {"process_cpu_s", m.median_s * 1.9},
                           {"cpu_utilization", 1.9},
                           {"perf", {{"status", "unavailable: test VM"}}}}
                          .dump();
  const int64_t id = s.write_run(rec);
  store::set_run_metrics(s, id,
                         {{"peak_rss_bytes", 7.5e7, "VmHWM", "bytes", "measured"},
                          {"roof.local.mem_bw_bytes_per_s", 1e10, "mem_bw_gbs", "bytes_per_s", "measured"},
                          {"roof.local.peak_flops_per_s.fp32", 1.5e11, "fp32_tflops", "flop_per_s", "measured"},
                          {"roof.local.device_class", store::kUnknown, "cpu", "", "preset"},
                          {"roof.H100.mem_bw_bytes_per_s", 3.35e12, "mem_bw_gbs", "bytes_per_s", "datasheet"},
                          {"roof.H100.peak_flops_per_s.bf16", 9.89e14, "bf16", "flop_per_s", "datasheet"},
                          {"roof.H100.device_class", store::kUnknown, "gpu", "", "preset"}});
  const std::string html = report::render_report_html(s, id);

  // Every measured row: median, GFLOP/s, GB/s and the predictions are the DB's doubles, exactly.
  for (const store::Measurement& m : s.measurements(id)) {
    const auto v = row_values(html, m.id);
    INFO("measurement " << m.id);
    REQUIRE(v.size() >= 4);
    CHECK(v[0] == sql_double(path, "SELECT median_s FROM measurements WHERE id = " + std::to_string(m.id)));
    CHECK(v[1] == sql_double(path, "SELECT gflops_per_s FROM measurements WHERE id = " + std::to_string(m.id)));
    CHECK(v[2] == sql_double(path, "SELECT gbytes_per_s FROM measurements WHERE id = " + std::to_string(m.id)));
    const double local = sql_double(path, "SELECT total_s FROM predictions WHERE hardware = 'local' AND op = '" + m.op +
                                              "' ORDER BY id DESC LIMIT 1");
    CHECK(v[3] == local);
    CHECK_THAT(html, Catch::Contains(report::format_seconds(m.median_s)));
  }
  // The profile sections: peak RSS and roofs from run_metrics, CPU time from counters_json.
  CHECK_THAT(html, Catch::Contains("<section id=\"roofline\">"));
  CHECK_THAT(html, Catch::Contains("local roof (fp32, measured)"));
  CHECK_THAT(html, Catch::Contains("H100 roof (bf16, datasheet)"));
  CHECK_THAT(html, Catch::Contains("<section id=\"profile\">"));
  CHECK_THAT(html, Catch::Contains("75.0 MB"));
  CHECK_THAT(html, Catch::Contains("data-value=\"7.5e+07\""));
  CHECK_THAT(html, Catch::Contains("unavailable: test VM"));
  CHECK_THAT(html, Catch::Contains("<section id=\"memory\">"));
  CHECK_THAT(html, Catch::Contains("<section id=\"provenance\">"));
  // Roof at the op's intensity: mhc_pre 2e9 FLOP / 4e8 B = 5 FLOP/B -> min(150, 10 x 5) = 50 GFLOP/s.
  CHECK_THAT(html, Catch::Contains("data-value=\"50\" class=\"num\">50.0</td>"));
  const std::string md = report::render_report_md(s, id);
  CHECK_THAT(md, Catch::Contains("## Roofline"));
  CHECK_THAT(md, Catch::Contains("## CPU and GPU profile (measured)"));
  CHECK_THAT(
      md, Catch::Contains("| host RAM | v4lab process peak RSS (" + s.get_run(id).host + ") | 75.0 MB | measured |"));

  // JSON carries every stored number, CSV the metric rows.
  const json j = json::parse(report::render_run_report(s, id, "json"));
  CHECK(j["run_metrics"].size() == 7);
  for (const auto& jm : j["measurements"]) {
    const std::string mid = std::to_string(jm["id"].get<int64_t>());
    CHECK(jm["median_s"].get<double>() == sql_double(path, "SELECT median_s FROM measurements WHERE id = " + mid));
    REQUIRE(jm["counters"].is_object());  // parsed, not a string
    const json stored = json::parse(s.measurements(id)[0].counters_json);
    CHECK(j["measurements"][0]["counters"]["process_cpu_s"].get<double>() == stored["process_cpu_s"].get<double>());
  }
  const std::string csv = report::render_run_report(s, id, "csv");
  CHECK_THAT(csv, Catch::Contains(std::to_string(id) + ",metric,peak_rss_bytes,,"));
}
