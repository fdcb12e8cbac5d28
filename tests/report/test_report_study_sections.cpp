// test_report_study_sections.cpp — the top-k and streams report sections (report_study_sections.h):
// rendered from the study points a real `study topk` / `study streams` run stored, with the checks,
// labels, tables and one inline SVG chart per plot; empty for runs without such points; the line chart
// escapes text and leaves out points a log axis cannot show.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"
#include "report/report_study_sections.h"
#include "store/store.h"

namespace report = v4lab::report;
namespace store = v4lab::store;

namespace {
size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}
}  // namespace

TEST_CASE("report: top-k section from a stored study run", "[report][study]") {
  const std::string db = fresh_dir("report_topk") + "/t.db";
  auto r = ::cli({"--db", db, "--json", "--quiet", "study", "topk", "--n-cand", "128", "--queries", "2", "--heads", "2",
                "--idx-heads", "2", "--k", "8,32,128", "--families", "needle,random", "--contexts", "4096,16384",
                "--cost-k", "64,512"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  store::Store s(db);
  const auto pts = s.study_points(nlohmann::json::parse(r.out)["run_id"].get<int64_t>());
  const report::StudySection sec = report::render_study_topk_section(pts);
  REQUIRE_FALSE(sec.empty());
  for (const std::string* t : {&sec.markdown, &sec.html}) {
    REQUIRE(t->find("Top-k study") != std::string::npos);
    REQUIRE(t->find("synthetic inputs, not model activations") != std::string::npos);
    REQUIRE(t->find("prediction: op catalogue") != std::string::npos);
    REQUIRE(t->find("Acceptance checks") != std::string::npos);
    REQUIRE(t->find("FAILED") == std::string::npos);
    // Per arch: recall, error, FLOPs and step charts.
    REQUIRE(count(*t, "<svg") == 8);
  }
  REQUIRE(sec.markdown.find("| needle | 8 |") != std::string::npos);
  REQUIRE(sec.html.find("<h2>Top-k study") != std::string::npos);
  // Recall chart: 2 families x (indexer + oracle) series per arch.
  REQUIRE(count(sec.html, "<polyline") >= 2 * 4);
  REQUIRE(report::render_study_streams_section(pts).empty());
}

TEST_CASE("report: streams section from a stored study run", "[report][study]") {
  const std::string db = fresh_dir("report_streams") + "/t.db";
  auto r = ::cli({"--db", db, "--json", "--quiet", "study", "streams", "--n", "1,4", "--d-model", "64", "--tokens", "8",
                "--depth", "12", "--t-max", "3,20", "--cost-d-model", "4096"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  store::Store s(db);
  const auto pts = s.study_points(nlohmann::json::parse(r.out)["run_id"].get<int64_t>());
  const report::StudySection sec = report::render_study_streams_section(pts);
  REQUIRE_FALSE(sec.empty());
  for (const std::string* t : {&sec.markdown, &sec.html}) {
    REQUIRE(t->find("mHC streams study") != std::string::npos);
    REQUIRE(t->find("random weights (not trained)") != std::string::npos);
    REQUIRE(t->find("Step-time overhead") != std::string::npos);
    REQUIRE(count(*t, "<svg") == 4);  // gain vs depth for n = 1 and 4, Sinkhorn error, bytes vs n
  }
  REQUIRE(sec.markdown.find("| 4 | 4096 | 147.6 |") != std::string::npos);
  REQUIRE(report::render_study_topk_section(pts).empty());
  REQUIRE(report::render_study_topk_section({}).empty());
}

TEST_CASE("report: line chart escapes text and skips points a log axis cannot show", "[report][study]") {
  report::LineChart c{"a <b> & c", "x", "y", true, true, {}};
  c.series.push_back({"s\"1", {1, 10, 100, 0}, {1, 0, 100, 5}, false});
  const std::string svg = report::svg_line_chart(c);
  REQUIRE(svg.find("a &lt;b&gt; &amp; c") != std::string::npos);
  REQUIRE(svg.find("s&quot;1") != std::string::npos);
  REQUIRE(count(svg, "<circle") == 2);  // (10, 0) and (0, 5) are not drawable on log axes
  REQUIRE(svg.find("<b>") == std::string::npos);
  report::LineChart empty{"empty", "x", "y", false, false, {}};
  REQUIRE(report::svg_line_chart(empty).find("<svg") == 0);
}
