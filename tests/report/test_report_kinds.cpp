// test_report_kinds.cpp — the run-kind parts of reports (report/detail/report_kinds.h) on hand-made
// store rows: a plan whose candidates carry the HBM parts gets the stacked weights / KV / activations
// bar of predict runs; without the parts one "HBM total" segment; an incomplete sweep says so and how
// to resume it; a plain run has no kind part (its report is unchanged).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "report/report.h"
#include "store/store.h"
#include "store/store_fixture.h"
#include "store/sweep_store.h"

using namespace v4lab;
using nlohmann::json;

namespace {

store::StudyPoint candidate(bool winner, bool parts) {
  json m = {{"feasible", winner}, {"pareto", winner}, {"winner", winner}, {"timed", true}, {"fits", true},
            {"total_gpus", winner ? 8 : 16}, {"replicas", 1}, {"usd_per_hour", winner ? 16.0 : 32.0},
            {"ttft_s", 0.25}, {"tpot_s", 0.02}, {"effective_tpot_s", 0.02},
            {"decode_tokens_per_s_per_gpu", winner ? 3000.0 : 1000.0}, {"hbm_bytes_per_gpu", 3.0e10},
            {"hbm_capacity_bytes", 8.0e10}, {"miss", winner ? 0.0 : 0.5}, {"reason", winner ? "" : "TPOT too high"},
            {"violations", winner ? json::array() : json::array({"tpot"})}};
  if (parts) m.update({{"hbm_weights_bytes", 2.5e10}, {"hbm_kv_bytes", 4.0e9}, {"hbm_activation_bytes", 1.0e9}});
  store::StudyPoint p;
  p.study = "plan";
  p.point_json = json{{"hw", "h800_sxm"}, {"tp", 1}, {"ep", 8}, {"dp", 8}, {"gpus", 8}, {"overlap", false},
                      {"mtp_accept", 0.0}, {"batch", 64}, {"batch_per_rank", 8}}
                     .dump();
  p.metrics_json = m.dump();
  p.label = "prediction";
  return p;
}

int64_t plan_run(store::Store& s, bool parts) {
  store::RunRecord r;
  r.info.kind = "plan";
  r.info.name = "p";
  r.info.config_json = R"({"model":"m","hw":["h800_sxm"],"context":4096,"objective":"gpus","tpot_slo_s":0.05})";
  r.study_points = {candidate(false, parts), candidate(true, parts)};
  return s.write_run(r);
}

std::string section(const std::string& html, const std::string& id) {
  const size_t a = html.find("<section id=\"" + id + "\">");
  return a == std::string::npos ? std::string() : html.substr(a, html.find("</section>", a) - a);
}

}  // namespace

TEST_CASE("report kinds: the plan winner's memory bar is stacked by its stored parts", "[report]") {
  test::TempDir dir;
  store::Store s(dir.file("v.db"));
  const std::string with = section(report::render_report_html(s, plan_run(s, true)), "plan-memory");
  REQUIRE_FALSE(with.empty());
  CHECK_THAT(with, Catch::Contains("weights (prediction)"));
  CHECK_THAT(with, Catch::Contains("KV cache (prediction)"));
  CHECK_THAT(with, Catch::Contains("data-value=\"2.5e+10\""));
  CHECK_THAT(with, Catch::Contains("HBM capacity"));
  CHECK(with.find("HBM total") == std::string::npos);
  const std::string without = section(report::render_report_html(s, plan_run(s, false)), "plan-memory");
  CHECK_THAT(without, Catch::Contains("HBM total (prediction)"));
  CHECK_THAT(without, Catch::Contains("data-value=\"3e+10\""));
  CHECK(without.find("weights (prediction)") == std::string::npos);
  // The winner is the stored one, not the first candidate.
  const std::string html = report::render_report_html(s, plan_run(s, true));
  CHECK_THAT(section(html, "plan-winner"), Catch::Contains("<tr data-key=\"winner.index\"><td>candidate</td><td>1</td>"));
}

TEST_CASE("report kinds: an interrupted sweep reports itself incomplete with the resume command", "[report]") {
  test::TempDir dir;
  store::Store s(dir.file("v.db"));
  store::RunInfo ri;
  ri.kind = "sweep";
  ri.name = "half";
  ri.scenario_path = "scenarios/half.toml";
  ri.config_json = R"({"axes":[{"field":"batch","source":"values","zip":"","values":[1,2,4,8]}],"metrics":"memory"})";
  store::SweepRunInfo si;
  si.hash = "0123456789abcdef";
  si.name = "half";
  si.kind = "predict";
  si.n_points = 4;
  const int64_t id = store::begin_sweep_run(s, ri, si);
  {
    store::Transaction tx(s);
    store::SweepPointWriter w(s, id, si.hash);
    for (int i = 0; i < 2; ++i)
      w.insert({i, json{{"batch", 1 << i}}.dump(), json{{"memory", {{"kv_bytes", 1e6 * (i + 1)}}}}.dump(), "ok",
                "prediction"});
    tx.commit();
  }
  s.end_run(id, "interrupted");
  const std::string html = report::render_report_html(s, id);
  CHECK_THAT(html, Catch::Contains("interrupted (incomplete: resumable with --resume)"));
  CHECK_THAT(html, Catch::Contains("sweep scenarios/half.toml --resume " + std::to_string(id)));
  CHECK_THAT(html, Catch::Contains("<tr data-key=\"point-1\">"));
  CHECK(html.find("<tr data-key=\"point-2\">") == std::string::npos);
  const json j = json::parse(report::render_run_report(s, id, "json"));
  CHECK(j["sweep"]["complete"] == false);
  CHECK(j["sweep"]["n_stored"] == 2);
  CHECK(j["sweep"]["points_in_shard"] == 4);
  // A plain run has no kind part.
  const int64_t run = s.write_run(test::synthetic_run());
  CHECK(json::parse(report::render_run_report(s, run, "json")).contains("sweep") == false);
  CHECK(report::render_report_html(s, run).find("<section id=\"sweep\">") == std::string::npos);
}
