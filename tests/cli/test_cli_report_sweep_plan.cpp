// test_cli_report_sweep_plan.cpp — `v4lab report SWEEP|PLAN` on a small sweep and small plans stored
// through the real CLI: every number of the sweep / plan sections in HTML (data-value cells), Markdown
// (its %.6g text), CSV and JSON equals the value stored in SQLite (sweep_points / study_points, parsed
// from the stored JSON text); charts are present; an infeasible plan's report shows the closest miss
// the planner chose, with its reasons.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "cli/cli_test_util.h"

using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}


struct HtmlCell {
  std::string text;
  bool has_value = false;
  double value = NAN;
};

// The header of the table holding `<tr data-key="key">` and that row's cells.
bool html_row(const std::string& html, const std::string& key, std::vector<std::string>& header,
              std::vector<HtmlCell>& cells) {
  const size_t at = html.find("<tr data-key=\"" + key + "\">");
  if (at == std::string::npos) return false;
  const size_t table = html.rfind("<table>", at);
  const std::string head = html.substr(table, html.find("</tr>", table) - table);
  header.clear();
  std::regex th("<th>([^<]*)</th>");
  for (auto it = std::sregex_iterator(head.begin(), head.end(), th); it != std::sregex_iterator(); ++it)
    header.push_back((*it)[1].str());
  const std::string row = html.substr(at, html.find("</tr>", at) - at);
  cells.clear();
  std::regex td("<td( data-value=\"([^\"]+)\")?[^>]*>([^<]*)</td>");
  for (auto it = std::sregex_iterator(row.begin(), row.end(), td); it != std::sregex_iterator(); ++it) {
    HtmlCell c;
    c.text = (*it)[3].str();
    if ((*it)[1].matched) c.has_value = true, c.value = std::stod((*it)[2].str());
    cells.push_back(c);
  }
  return true;
}

// RFC 4180 records (quoted fields with doubled quotes, CRLF).
std::vector<std::vector<std::string>> parse_csv(const std::string& s) {
  std::vector<std::vector<std::string>> rows(1);
  std::string f;
  bool q = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (q) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') f += '"', ++i;
      else if (c == '"') q = false;
      else f += c;
    } else if (c == '"') {
      q = true;
    } else if (c == ',') {
      rows.back().push_back(f), f.clear();
    } else if (c == '\r') {
    } else if (c == '\n') {
      rows.back().push_back(f), f.clear();
      rows.emplace_back();
    } else {
      f += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

// A "a.b" key of a nested JSON object (nullptr when absent).
const json* at_path(const json& j, const std::string& dotted) {
  const json* cur = &j;
  size_t a = 0;
  while (true) {
    const size_t b = dotted.find('.', a);
    const std::string k = dotted.substr(a, b == std::string::npos ? std::string::npos : b - a);
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
    if (b == std::string::npos) return cur;
    a = b + 1;
  }
}

std::string g6(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.6g", v);
  return b;
}

// Markdown table rows (cells trimmed) that follow the line "## title".
std::vector<std::vector<std::string>> md_table(const std::string& md, const std::string& title, size_t nth = 0) {
  size_t at = md.find("## " + title + "\n");
  std::vector<std::vector<std::string>> rows;
  if (at == std::string::npos) return rows;
  const size_t end = md.find("\n## ", at + 3);
  std::istringstream in(md.substr(at, end == std::string::npos ? std::string::npos : end - at));
  size_t table = 0;
  bool in_table = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("|", 0) != 0) {
      if (in_table) ++table;
      in_table = false;
      continue;
    }
    in_table = true;
    if (table != nth || line.rfind("|---", 0) == 0) continue;
    std::vector<std::string> cells;
    size_t a = 1;
    while (a < line.size()) {
      size_t b = line.find(" |", a);
      if (b == std::string::npos) break;
      std::string c = line.substr(a, b - a);
      while (!c.empty() && c.front() == ' ') c.erase(c.begin());
      cells.push_back(c);
      a = b + 2;
    }
    rows.push_back(cells);
  }
  return rows;
}

constexpr const char* kSweep = R"(
[sweep]
name = "report_sweep"
kind = "predict"
metrics = "serving"
[sweep.base]
model = "deepseek_v4_flash"
hw = "h800_sxm"
gpus = 8
[[sweep.axis]]
field = "batch"
values = [1, 8, 64]
[[sweep.axis]]
field = "tp"
values = [1, 2, 3]
)";  // tp = 3 does not divide 64 heads: 3 error points

std::vector<std::string> plan_args(const std::string& db, const std::string& tpot_ms) {
  return {"--db", db,  "--json", "plan", "--model", "deepseek_v4_flash", "--hw", "h800_sxm", "--context", "4096",
          "--target-tokens-per-s", "20000", "--tpot-ms", tpot_ms, "--ttft-ms", "3000", "--tp", "1,2", "--batch",
          "4,16,64", "--overlap", "off", "--ep-replicas", "1", "--max-instance-gpus", "16"};
}

}  // namespace

TEST_CASE("report SWEEP: every number in HTML, Markdown, CSV and JSON equals sweep_points", "[cli][report]") {
  const std::string d = fresh_dir("report_sweep");
  const std::string db = d + "/v.db";
  std::ofstream(d + "/s.toml") << kSweep;
  REQUIRE(cli({"--db", db, "--quiet", "sweep", d + "/s.toml"}).code == 0);
  const long long run = sql_int(db, "SELECT run_id FROM sweeps");
  const std::string rid = std::to_string(run);
  REQUIRE(sql_int(db, "SELECT count(*) FROM sweep_points WHERE status = 'error'") == 3);
  std::map<long long, std::pair<json, json>> stored;  // index -> (coords, metrics) parsed from the DB text
  for (auto& r : sql_rows(db, "SELECT point_index, coords_json, metrics_json FROM sweep_points WHERE run_id = " + rid))
    stored[std::stoll(r[0])] = {json::parse(r[1]), json::parse(r[2])};
  REQUIRE(stored.size() == 9);

  for (const char* f : {"html", "md", "csv", "json"}) {
    auto r = cli({"--db", db, "--json", "report", "latest", "--format", f, "-o", d + "/r." + f});
    INFO(r.err);
    REQUIRE(r.code == 0);
    CHECK(json::parse(r.out)["run_id"].get<long long>() == run);
  }

  SECTION("HTML: status, axes, a row per point whose data-values are the stored numbers, charts") {
    const std::string html = slurp(d + "/r.html");
    CHECK_THAT(html, Catch::Contains("<section id=\"sweep\">"));
    CHECK_THAT(html, Catch::Contains("complete (ok)"));
    std::vector<std::string> head;
    std::vector<HtmlCell> cells;
    REQUIRE(html_row(html, "point-0", head, cells));
    CHECK(std::find(head.begin(), head.end(), "ttft_s") != head.end());
    size_t compared = 0;
    for (auto& [i, cm] : stored) {
      INFO("point " << i);
      REQUIRE(html_row(html, "point-" + std::to_string(i), head, cells));
      REQUIRE(cells.size() == head.size());
      for (size_t c = 0; c < head.size(); ++c) {
        if (!cells[c].has_value) continue;
        const json* v = head[c] == "point"    ? nullptr
                        : cm.first.contains(head[c]) ? &cm.first[head[c]]
                                                     : at_path(cm.second, head[c]);
        const double want = head[c] == "point" ? double(i) : v ? v->get<double>() : NAN;
        INFO("column " << head[c]);
        CHECK(cells[c].value == want);
        ++compared;
      }
      if (cm.second.contains("error")) CHECK(cells.back().text.find("must divide") != std::string::npos);
    }
    CHECK(compared > 9 * 8);
    // The best point per metric is the DB's arg-min / arg-max.
    REQUIRE(html_row(html, "best-ttft_s", head, cells));
    const auto best = sql_rows(db, "SELECT point_index FROM sweep_points WHERE status = 'ok' AND run_id = " + rid +
                                       " ORDER BY json_extract(metrics_json, '$.ttft_s'), point_index LIMIT 1");
    CHECK(cells[3].value == std::stod(best.at(0).at(0)));
    CHECK(cells[2].value == stored[std::stoll(best[0][0])].second["ttft_s"].get<double>());
    REQUIRE(html_row(html, "best-decode_tokens_per_s_per_gpu", head, cells));
    const auto top = sql_rows(db, "SELECT point_index FROM sweep_points WHERE status = 'ok' AND run_id = " + rid +
                                      " ORDER BY json_extract(metrics_json, '$.decode_tokens_per_s_per_gpu') DESC, "
                                      "point_index LIMIT 1");
    CHECK(cells[3].value == std::stod(top.at(0).at(0)));
    // Charts: lines per tp value against batch, in the chart section.
    const size_t charts = html.find("<section id=\"sweep-charts\">");
    REQUIRE(charts != std::string::npos);
    const std::string sec = html.substr(charts, html.find("</section>", charts) - charts);
    CHECK(sec.find("<svg") != std::string::npos);
    CHECK(sec.find("<polyline") != std::string::npos);
    CHECK_THAT(sec, Catch::Contains("tp = 2"));
    CHECK_THAT(sec, Catch::Contains("ttft_s vs batch"));
  }
  SECTION("Markdown: the same table, every number as its %.6g text") {
    const std::string md = slurp(d + "/r.md");
    const auto rows = md_table(md, "Sweep points");
    REQUIRE(rows.size() == 1 + stored.size());
    const std::vector<std::string>& head = rows[0];
    for (size_t r = 1; r < rows.size(); ++r) {
      const long long i = std::stoll(rows[r][0]);
      const auto& cm = stored.at(i);
      for (size_t c = 2; c < head.size() && c < rows[r].size(); ++c) {
        const json* v = cm.first.contains(head[c]) ? &cm.first[head[c]] : at_path(cm.second, head[c]);
        if (!v || !v->is_number()) continue;
        INFO("point " << i << " column " << head[c]);
        CHECK(rows[r][c] == (v->is_number_integer() ? v->dump() : g6(v->get<double>())));
      }
    }
  }
  SECTION("CSV: one row per point, every metric leaf, shortest round-trip numbers") {
    const auto rows = parse_csv(slurp(d + "/r.csv"));
    REQUIRE(rows.size() == 1 + stored.size());
    const auto& head = rows[0];
    size_t numbers = 0;
    for (size_t r = 1; r < rows.size(); ++r) {
      REQUIRE(rows[r].size() == head.size());
      const long long i = std::stoll(rows[r][2]);
      const auto& cm = stored.at(i);
      for (size_t c = 5; c < head.size(); ++c) {
        const json* v = cm.first.contains(head[c]) ? &cm.first[head[c]] : at_path(cm.second, head[c]);
        if (!v) continue;
        INFO("point " << i << " column " << head[c]);
        if (v->is_number()) {
          CHECK(std::stod(rows[r][c]) == v->get<double>());
          ++numbers;
        } else if (v->is_string()) {
          CHECK(rows[r][c] == v->get<std::string>());
        }
      }
      if (cm.second.contains("error")) CHECK(rows[r].back() == cm.second["error"].get<std::string>());
    }
    CHECK(numbers > 6 * 15);
  }
  SECTION("JSON: the stored points, counts and the chart axes") {
    const json j = json::parse(slurp(d + "/r.json"));
    REQUIRE(j.contains("sweep"));
    const json& s = j["sweep"];
    CHECK(s["n_points"] == 9);
    CHECK(s["n_errors"] == 3);
    CHECK(s["complete"] == true);
    CHECK(s["charts"]["x"] == "batch");
    CHECK(s["charts"]["series"] == "tp");
    REQUIRE(s["points"].size() == stored.size());
    for (const json& p : s["points"]) {
      const auto& cm = stored.at(p["index"].get<long long>());
      CHECK(p["coords"] == cm.first);
      CHECK(p["metrics"] == cm.second);
    }
  }
}

TEST_CASE("report PLAN: target, winner, Pareto set and memory equal the stored candidates", "[cli][report]") {
  const std::string d = fresh_dir("report_plan");
  const std::string db = d + "/v.db";
  auto p = cli(plan_args(db, "50"));
  INFO(p.err);
  REQUIRE(p.code == 0);
  const json pj = json::parse(p.out);
  REQUIRE(pj["feasible"] == true);
  const std::string rid = std::to_string(pj["run_id"].get<long long>());
  std::vector<std::pair<json, json>> cands;  // by candidate index = study point order
  for (auto& r : sql_rows(db, "SELECT point_json, metrics_json FROM study_points WHERE run_id = " + rid + " ORDER BY id"))
    cands.emplace_back(json::parse(r[0]), json::parse(r[1]));
  REQUIRE(cands.size() == pj["summary"]["n_candidates"].get<size_t>());
  const int winner = pj["winner"]["index"].get<int>();
  for (const char* f : {"html", "md", "csv", "json"})
    REQUIRE(cli({"--db", db, "report", rid, "--format", f, "-o", d + "/p." + f}).code == 0);
  const std::string html = slurp(d + "/p.html");

  SECTION("HTML: the winner's table and every Pareto row carry the stored doubles") {
    std::vector<std::string> head;
    std::vector<HtmlCell> cells;
    for (const char* k : {"total_gpus", "replicas", "usd_per_hour", "usd_per_m_output_tokens_full_load", "ttft_s",
                          "tpot_s", "effective_tpot_s", "decode_tokens_per_s_per_gpu", "hbm_bytes_per_gpu",
                          "hbm_capacity_bytes"}) {
      INFO(k);
      REQUIRE(html_row(html, std::string("winner.") + k, head, cells));
      REQUIRE(cells.at(1).has_value);
      CHECK(cells[1].value == cands[winner].second[k].get<double>());
    }
    for (const char* k : {"tp", "ep", "dp", "gpus", "batch", "batch_per_rank"}) {
      INFO(k);
      REQUIRE(html_row(html, std::string("winner.") + k, head, cells));
      CHECK(cells.at(1).value == cands[winner].first[k].get<double>());
    }
    REQUIRE(html_row(html, "target.context", head, cells));
    CHECK(cells.at(1).value == double(sql_int(db, "SELECT json_extract(config_json, '$.context') FROM runs WHERE id = " + rid)));
    REQUIRE(html_row(html, "target.tpot_slo_s", head, cells));
    CHECK(cells.at(1).value == 0.05);
    // The Pareto table: the same rows as `plan --json`, in its order, values from the DB.
    const std::map<std::string, std::pair<bool, std::string>> col = {
        {"TP", {true, "tp"}},          {"EP", {true, "ep"}},
        {"DP", {true, "dp"}},          {"batch", {true, "batch"}},
        {"replicas", {false, "replicas"}}, {"GPUs", {false, "total_gpus"}},
        {"USD/h", {false, "usd_per_hour"}}, {"TTFT", {false, "ttft_s"}},
        {"effective TPOT", {false, "effective_tpot_s"}}, {"tok/s/GPU", {false, "decode_tokens_per_s_per_gpu"}},
        {"HBM/GPU", {false, "hbm_bytes_per_gpu"}},     {"USD/M out", {false, "usd_per_m_output_tokens_full_load"}}};
    REQUIRE(pj["pareto"].size() == size_t(sql_int(db, "SELECT count(*) FROM study_points WHERE run_id = " + rid +
                                                          " AND json_extract(metrics_json, '$.pareto') = 1")));
    size_t last = 0;
    for (const json& e : pj["pareto"]) {
      const int i = e["index"].get<int>();
      INFO("candidate " << i);
      REQUIRE(html_row(html, "candidate-" + std::to_string(i), head, cells));
      const size_t pos = html.find("<tr data-key=\"candidate-" + std::to_string(i) + "\">");
      CHECK(pos > last);  // the planner's order
      last = pos;
      for (size_t c = 0; c < head.size(); ++c) {
        auto it = col.find(head[c]);
        if (it == col.end()) continue;
        const json& src = it->second.first ? cands[i].first : cands[i].second;
        INFO(head[c]);
        CHECK(cells.at(c).value == src[it->second.second].get<double>());
      }
    }
    // Charts: the Pareto scatter and the winner's memory bar.
    for (const char* id : {"plan-pareto", "plan-memory"}) {
      const size_t at = html.find(std::string("<section id=\"") + id + "\">");
      REQUIRE(at != std::string::npos);
      CHECK(html.substr(at, html.find("</section>", at) - at).find("<svg") != std::string::npos);
    }
    CHECK_THAT(html, Catch::Contains("Pareto set</text>"));
    CHECK(html.find("plan-closest-miss") == std::string::npos);
    CHECK(html.find("<h2>Study points</h2>") == std::string::npos);  // the plan tables replace the generic list
  }
  SECTION("Markdown: the winner and Pareto tables with the same numbers") {
    const std::string md = slurp(d + "/p.md");
    CHECK_THAT(md, Catch::Contains("| total GPUs | " + cands[winner].second["total_gpus"].dump() + " |"));
    const auto rows = md_table(md, "Pareto set (prediction)");
    REQUIRE(rows.size() == 1 + pj["pareto"].size());
    CHECK(rows[1][0] == std::to_string(winner));
    CHECK(rows[1][9] == cands[winner].second["total_gpus"].dump());
  }
  SECTION("CSV and JSON: every candidate with every stored number") {
    const auto rows = parse_csv(slurp(d + "/p.csv"));
    REQUIRE(rows.size() == 1 + cands.size());
    const auto& head = rows[0];
    for (size_t r = 1; r < rows.size(); ++r) {
      const int i = std::stoi(rows[r][2]);
      for (size_t c = 3; c < head.size(); ++c) {
        const json& src = cands[i].first.contains(head[c]) ? cands[i].first : cands[i].second;
        if (!src.contains(head[c]) || !src[head[c]].is_number()) continue;
        INFO("candidate " << i << " " << head[c]);
        CHECK(std::stod(rows[r][c]) == src[head[c]].get<double>());
      }
    }
    const json j = json::parse(slurp(d + "/p.json"));
    REQUIRE(j.contains("plan"));
    CHECK(j["plan"]["feasible"] == true);
    CHECK(j["plan"]["winner"]["index"] == winner);
    CHECK(j["plan"]["winner"]["metrics"] == cands[winner].second);
    REQUIRE(j["plan"]["pareto"].size() == pj["pareto"].size());
    for (size_t k = 0; k < pj["pareto"].size(); ++k) CHECK(j["plan"]["pareto"][k]["index"] == pj["pareto"][k]["index"]);
    CHECK(j["plan"]["n_feasible"] == pj["summary"]["n_feasible"]);
    CHECK(j["plan"]["violation_counts"] == pj["summary"]["violation_counts"]);
    CHECK(j["study_points"].size() == cands.size());
  }
}

TEST_CASE("report PLAN: an infeasible plan shows the planner's closest miss and its reasons", "[cli][report]") {
  const std::string d = fresh_dir("report_plan_miss");
  const std::string db = d + "/v.db";
  auto p = cli(plan_args(db, "1"));  // 1 ms TPOT: nothing meets it
  REQUIRE(p.code == 0);
  const json pj = json::parse(p.out);
  REQUIRE(pj["feasible"] == false);
  const int miss = pj["closest_miss"]["index"].get<int>();
  const std::string reason = pj["closest_miss"]["metrics"]["reason"].get<std::string>();
  REQUIRE(!reason.empty());
  REQUIRE(cli({"--db", db, "report", "latest", "-o", d + "/m.html"}).code == 0);
  REQUIRE(cli({"--db", db, "report", "latest", "-f", "md", "-o", d + "/m.md"}).code == 0);
  REQUIRE(cli({"--db", db, "report", "latest", "-f", "json", "-o", d + "/m.json"}).code == 0);
  const std::string html = slurp(d + "/m.html");
  CHECK_THAT(html, Catch::Contains("<section id=\"plan-closest-miss\">"));
  CHECK_THAT(html, Catch::Contains("No feasible deployment: closest miss (prediction)"));
  std::string first_reason = reason.substr(0, reason.find(';'));  // as HTML text: '>' escaped
  for (size_t at = first_reason.find('>'); at != std::string::npos; at = first_reason.find('>', at))
    first_reason.replace(at, 1, "&gt;");
  CHECK_THAT(html, Catch::Contains("Reason: " + first_reason));
  std::vector<std::string> head;
  std::vector<HtmlCell> cells;
  REQUIRE(html_row(html, "miss.index", head, cells));
  CHECK(cells.at(1).text == std::to_string(miss));
  REQUIRE(html_row(html, "miss.miss", head, cells));
  CHECK(cells.at(1).value == pj["closest_miss"]["metrics"]["miss"].get<double>());
  CHECK(html.find("plan-winner") == std::string::npos);
  CHECK_THAT(html, Catch::Contains("<section id=\"plan-memory\">"));  // the miss's footprint
  CHECK_THAT(slurp(d + "/m.md"), Catch::Contains("## No feasible deployment: closest miss (prediction)"));
  const json j = json::parse(slurp(d + "/m.json"));
  CHECK(j["plan"]["feasible"] == false);
  CHECK(j["plan"]["closest_miss"]["index"] == miss);
  CHECK(j["plan"]["winner"].is_null());
}

TEST_CASE("report latest:KIND picks the newest run of that kind, an absent kind is exit 2", "[cli][report]") {
  const std::string d = fresh_dir("report_latest_kind");
  const std::string db = d + "/v.db";
  std::ofstream(d + "/s.toml") << kSweep;
  REQUIRE(cli({"--db", db, "--quiet", "sweep", d + "/s.toml"}).code == 0);
  REQUIRE(cli(plan_args(db, "50")).code == 0);
  auto s = cli({"--db", db, "--json", "report", "latest:sweep", "-f", "json", "-o", d + "/s.json"});
  REQUIRE(s.code == 0);
  CHECK(json::parse(s.out)["run_id"].get<long long>() == sql_int(db, "SELECT run_id FROM sweeps"));
  auto p = cli({"--db", db, "--json", "report", "latest:plan", "-f", "json", "-o", d + "/p.json"});
  REQUIRE(p.code == 0);
  CHECK(json::parse(p.out)["run_id"].get<long long>() == sql_int(db, "SELECT max(id) FROM runs WHERE kind = 'plan'"));
  auto bad = cli({"--db", db, "report", "latest:bench", "-o", d + "/b.html"});
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("no run of kind 'bench'"));
  CHECK_FALSE(std::filesystem::exists(d + "/b.html"));
}
