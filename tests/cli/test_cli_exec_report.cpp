// test_cli_exec_report.cpp — the report section of an exec run (src/report/report_exec.cpp): the
// measured and predicted time per layer type in the Markdown and HTML reports are the sums of the
// run's measurement and prediction rows in the database, with a bar chart and the memory table.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"
#include "report/report.h"
#include "store/store.h"

TEST_CASE("report: the exec section shows the DB's measured and predicted sums per layer type", "[cli][exec]") {
  const std::string dir = fresh_dir("exec_report");
  const std::string db = dir + "/e.db";
  CliResult r = cli({"--json", "--quiet", "--db", db, "exec", "--model", "v3", "--scale", "tiny", "--layers", "4",
                     "--prefill", "8", "--decode", "2", "--batch", "1", "--hardware", "h100_sxm"});
  INFO(r.err);
  REQUIRE(r.code == 0);
  const long long run = nlohmann::json::parse(r.out)["run_id"].get<long long>();
  v4lab::store::Store st(db);
  const std::string md = v4lab::report::render_report_md(st, run);
  const std::string html = v4lab::report::render_report_html(st, run);
  REQUIRE(md.find("## Exec: deepseek_v3@tiny (measured vs prediction)") != std::string::npos);
  REQUIRE(html.find("<h2>Exec: deepseek_v3@tiny") != std::string::npos);
  REQUIRE(html.find("<svg") != std::string::npos);
  REQUIRE(md.find("### Memory") != std::string::npos);
  REQUIRE(md.find("| kernel scratch (accounted) | ") != std::string::npos);  // part of the accounted total
  int checked = 0;
  for (const char* ph : {"prefill", "decode"})
    for (const char* t : {"mla", "dense", "moe", "mtp", "head"}) {
      INFO(ph << " " << t);
      const std::string cond = " WHERE m.run_id = " + std::to_string(run) +
                               " AND json_extract(m.params_json, '$.exec.phase') = '" + ph +
                               "' AND json_extract(m.params_json, '$.exec.layer_type') = '" + t + "'";
      const double measured = std::stod(sql_text(db, "SELECT SUM(m.median_s) FROM measurements m" + cond));
      const double predicted = std::stod(sql_text(
          db, "SELECT SUM(p.total_s) FROM measurements m JOIN predictions p ON p.run_id = m.run_id AND "
              "p.params_json = m.params_json AND p.op = m.op" + cond));
      const long long ops = sql_int(db, "SELECT COUNT(*) FROM measurements m" + cond);
      const std::string row = "| " + std::string(t) + " | " + std::to_string(ops) + " | " +
                              v4lab::report::format_seconds(measured) + " | " +
                              v4lab::report::format_seconds(predicted) + " |";
      INFO(row);
      CHECK(md.find(row) != std::string::npos);
      ++checked;
    }
  CHECK(checked == 10);
}
