// test_report.cpp — run reports: Markdown and HTML content (tables, prediction labels, inline SVG,
// resolved config), HTML escaping, atomic writes, error paths, the time formatter and the SVG chart.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "report/report.h"
#include "report/svg.h"
#include "store/store.h"
#include "store/store_fixture.h"

using namespace v4lab;
using v4lab::test::TempDir;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

size_t count_of(const std::string& s, const std::string& needle) {
  size_t n = 0;
  for (size_t p = s.find(needle); p != std::string::npos; p = s.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("report: format_seconds picks the SI prefix and 3 significant digits", "[report]") {
  CHECK(report::format_seconds(812e-9) == "812 ns");
  CHECK(report::format_seconds(4.56e-6) == "4.56 \xC2\xB5s");
  CHECK(report::format_seconds(12.34e-3) == "12.3 ms");
  CHECK(report::format_seconds(1.5) == "1.50 s");
  CHECK(report::format_seconds(250.0) == "250 s");
  CHECK(report::format_seconds(0.9997e-6) == "1.00 \xC2\xB5s");  // not "1000 ns"
  CHECK(report::format_seconds(0.0) == "0 s");
  CHECK(report::format_seconds(store::kUnknown) == "n/a");
  CHECK(report::format_seconds(-1.0) == "n/a");
  CHECK(report::format_rate(2000.4) == "2000");
  CHECK(report::format_rate(45.64) == "45.6");
  CHECK(report::format_rate(1.234) == "1.23");
  CHECK(report::format_rate(0.01234) == "0.0123");
  CHECK(report::format_rate(store::kUnknown) == "n/a");
}

TEST_CASE("report: Markdown report has the summary, both tables, the chart and the config", "[report]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  store::RunRecord rec = v4lab::test::synthetic_run();
  rec.measurements[0].verified = std::nullopt;  // the _ref row is the specification
  const int64_t id = s.write_run(rec);
  const std::string md = report::render_report_md(s, id);

  CHECK_THAT(md, Catch::StartsWith("# v4lab report — run " + std::to_string(id) + ": quickstart"));
  CHECK_THAT(md, Catch::Contains("| scenario | scenarios/quickstart.toml |"));
  CHECK_THAT(md, Catch::Contains("| seed | 42 |"));
  CHECK_THAT(md, Catch::Contains("## Measured vs predicted"));
  // Header: local column with ratio, GPU columns predicted only.
  CHECK_THAT(md, Catch::Contains("| local predicted | measured / local | H100 predicted | B200 predicted |"));
  // mhc_pre cpu: 1 ms measured vs 0.8 ms local prediction -> 1.25x; H100 3 µs memory-bound.
  CHECK_THAT(md, Catch::Contains("| mhc_pre | cpu | d_model=4096, hc=4, n_tokens=128 | 1.00 ms |"));
  CHECK_THAT(md, Catch::Contains("| 800 \xC2\xB5s (memory) | 1.25\xC3\x97 | 3.00 \xC2\xB5s (memory) | - |"));
  // mhc_pre ref: 4 ms vs 0.8 ms -> 5x, flagged.
  CHECK_THAT(md, Catch::Contains("5.00\xC3\x97 \xE2\x9A\xA0"));
  CHECK_THAT(md, Catch::Contains("| 500 | 100 | reference |"));
  CHECK_THAT(md, Catch::Contains("| 2000 | 400 | passed |"));
  // Predicted-only op in its own, labelled table.
  CHECK_THAT(md, Catch::Contains("## Predictions only (cost model, not measured)"));
  CHECK_THAT(md, Catch::Contains("| prediction | attn_csa_indexer | any | ctx=65536, n_tokens=1 |"));
  CHECK(count_of(md, "| moe_gate_topk |") == 2);  // measured table + roofline table
  CHECK(count_of(md, "<svg") == 1);
  CHECK(count_of(md, "</svg>") == 1);
  CHECK_THAT(md, Catch::Contains(">10 \xC2\xB5s</text>"));  // decade ticks without trailing zeros
  CHECK_THAT(md, Catch::Contains("## Study points"));
  CHECK_THAT(md, Catch::Contains("```json\n{\n  \"hardware\": \"local\""));
}

TEST_CASE("report: HTML report is self-contained, escaped and labels predictions", "[report]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  store::RunRecord rec = v4lab::test::synthetic_run("<b>bold</b> & \"co\"");
  rec.info.config_json = R"({"note":"</pre><script>alert(1)</script>"})";
  rec.measurements[0].backend = "ref<&>";
  const int64_t id = s.write_run(rec);
  const std::string html = report::render_report_html(s, id);

  CHECK_THAT(html, Catch::StartsWith("<!DOCTYPE html>"));
  CHECK_THAT(html, Catch::Contains("<meta charset=\"utf-8\">"));
  CHECK_THAT(html, Catch::EndsWith("</html>\n"));
  CHECK_THAT(html, Catch::Contains("&lt;b&gt;bold&lt;/b&gt; &amp; &quot;co&quot;"));
  CHECK(html.find("<b>bold</b>") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("<td>mhc_pre</td><td>ref&lt;&amp;&gt;</td>"));
  CHECK(html.find("ref<&>") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);  // no JS at all, not even from stored text
  // Only the SVG namespace URI may appear; nothing is fetched.
  CHECK(count_of(html, "http") == count_of(html, "http://www.w3.org/2000/svg"));
  CHECK_THAT(html, Catch::Contains("<details>"));
  CHECK_THAT(html, Catch::Contains("&lt;/pre&gt;&lt;script&gt;"));
  CHECK(count_of(html, "<svg") == 2);    // measured vs predicted, roofline
  CHECK(count_of(html, "<table") == 6);  // summary, measured, predicted-only, roofline, study points, provenance
  CHECK(count_of(html, "<tr class=\"pred\">") == 1);
  CHECK_THAT(html, Catch::Contains("<span class=\"badge\">prediction</span></td><td>attn_csa_indexer</td>"));
  CHECK_THAT(html, Catch::Contains("class=\"num flag\">5.00\xC3\x97</td>"));
  // Balanced table markup.
  CHECK(count_of(html, "<tr") == count_of(html, "</tr>"));
  CHECK(count_of(html, "<td") == count_of(html, "</td>"));
}

TEST_CASE("report: write_run_report writes every format atomically into new folders", "[report]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  const int64_t id = s.write_run(v4lab::test::synthetic_run());
  for (std::string fmt : {"html", "md", "json", "csv"}) {
    const std::string path = dir.file("reports/" + std::to_string(id) + "/report." + fmt);
    report::write_run_report(s, id, fmt, path);
    const std::string text = slurp(path);
    if (fmt == "html") CHECK_THAT(text, Catch::StartsWith("<!DOCTYPE html>") && Catch::EndsWith("</html>\n"));
    if (fmt == "md") CHECK_THAT(text, Catch::StartsWith("# v4lab report") && Catch::Contains("```json"));
    if (fmt == "json") CHECK(nlohmann::json::parse(text)["run"]["id"] == id);
    if (fmt == "csv") CHECK(text == report::render_run_report(s, id, "csv"));
  }
  // Nothing but the four reports in the folder (no temp files left behind).
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "reports" / std::to_string(id))) {
    (void)e;
    ++files;
  }
  CHECK(files == 4);
}

TEST_CASE("report: error paths", "[report]") {
  TempDir dir;
  store::Store s(dir.file("v4lab.db"));
  const int64_t id = s.write_run(v4lab::test::synthetic_run());

  SECTION("unwritable path names the path") {
    std::ofstream(dir.file("blocker")) << "a file where a folder should be";
    const std::string path = dir.file("blocker/sub/report.html");
    try {
      report::write_run_report(s, id, "html", path);
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.exit_code() == 1);
      CHECK_THAT(e.what(), Catch::Contains(path));
    }
  }
  SECTION("unknown format and unknown run are usage/config errors, nothing is written") {
    const std::string path = dir.file("r/report.pdf");
    CHECK_THROWS_AS(report::write_run_report(s, id, "pdf", path), Error);
    try {
      report::write_run_report(s, id + 5, "md", path);
      FAIL("expected an error");
    } catch (const Error& e) {
      CHECK(e.exit_code() == 2);
    }
    CHECK_FALSE(std::filesystem::exists(dir.file("r")));
  }
  SECTION("an existing report is replaced whole") {
    const std::string path = dir.file("report.md");
    std::ofstream(path) << std::string(100000, 'x');
    report::write_run_report(s, id, "md", path);
    CHECK(slurp(path).find('x' + std::string(50, 'x')) == std::string::npos);
  }
}

TEST_CASE("report: SVG bar chart escapes text and draws log decades", "[report]") {
  report::BarChart c;
  c.title = "t <&>";
  c.series = {"measured", "predicted: \"H100\""};
  c.groups.push_back({"op<1>", {1e-3, 1e-6}});
  c.groups.push_back({"op&2", {2e-5, store::kUnknown}});
  c.format_value = report::format_seconds;
  const std::string svg = report::svg_bar_chart(c);
  CHECK_THAT(svg, Catch::StartsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  CHECK_THAT(svg, Catch::Contains("t &lt;&amp;&gt;"));
  CHECK_THAT(svg, Catch::Contains("op&lt;1&gt;"));
  CHECK_THAT(svg, Catch::Contains("op&amp;2"));
  CHECK_THAT(svg, Catch::Contains("predicted: &quot;H100&quot;"));
  CHECK(count_of(svg, "<rect") == 1 + 2 + 3);  // background + legend + 3 finite bars
  // Decades 1 µs .. 1 ms labelled.
  for (const char* tick : {">1.00 \xC2\xB5s<", ">10.0 \xC2\xB5s<", ">100 \xC2\xB5s<", ">1.00 ms<"}) {
    CHECK_THAT(svg, Catch::Contains(tick));
  }
  CHECK(svg.find("\n\n") == std::string::npos);  // safe to inline in Markdown

  report::BarChart empty;
  empty.title = "nothing";
  CHECK_THAT(report::svg_bar_chart(empty), Catch::Contains("no data"));
}
