// test_cli_study_ucurve.cpp — `v4lab study ucurve` through the real CLI path: JSON parses, the run
// (kind "study") holds one study_points row per rho plus the fit and optimum rows, every row and JSON
// quality output carries the label, a changed calibration file changes the stored curve, the scenario
// file works and flags win over it, bad inputs exit 2 naming flag/file and value, the report of the run
// has the U-curve section, and the topk/streams placeholders say "not built yet".
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "cli/cli_test_util.h"

namespace {

const char* kLabel = "calibrated model, not a training run";

std::vector<std::string> fast(std::vector<std::string> extra) {
  std::vector<std::string> a = {"study", "ucurve", "--rho-grid", "0.4:1.0:0.2", "--sim-tokens", "512", "--batch", "16"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> with_db(const std::string& db, std::vector<std::string> args) {
  std::vector<std::string> a = {"--db", db, "--json", "--quiet"};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("cli study ucurve: JSON, stored rows, labels, fit acceptance numbers", "[cli][study][ucurve]") {
  const std::string db = fresh_dir("study_ucurve") + "/t.db";
  auto r = cli(with_db(db, fast({})));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["label"] == kLabel);
  const std::string id = std::to_string(j["run_id"].get<long long>());
  CHECK(sql_text(db, "SELECT kind FROM runs WHERE id=" + id) == "study");
  // 4 rho points + fit + optimum, all study "ucurve", all labelled
  CHECK(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + id) == 6);
  CHECK(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + id + " AND study='ucurve'") == 6);
  CHECK(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + id + " AND label LIKE '%" + kLabel + "%'") ==
        6);
  CHECK(sql_int(db, "SELECT COUNT(*) FROM study_points WHERE run_id=" + id +
                        " AND json_extract(point_json, '$.kind') = 'fit'") == 1);
  const auto& b = j["budgets"][0];
  CHECK(b["budget"] == "6e20");
  const auto& fit = b["fit"];
  CHECK(fit["label"] == kLabel);
  CHECK(fit["rho_star"].get<double>() >= 0.6);
  CHECK(fit["rho_star"].get<double>() <= 0.9);
  CHECK(fit["delta_star"].get<double>() <= -0.005);
  CHECK(fit["delta_star"].get<double>() >= -0.03);
  CHECK(fit["u_shaped"] == true);
  CHECK(fit["max_abs_residual_published"].get<double>() <= 0.001);
  REQUIRE(fit["residuals"].size() == 3);
  CHECK(fit["residuals"][0]["where"].get<std::string>().find("ucurve_points.csv:") != std::string::npos);
  CHECK(j["inputs"]["points_hash"].get<std::string>().size() == 16);
  REQUIRE(b["checks"].size() == 5);
  for (const auto& c : b["checks"]) {
    INFO(c.dump());
    CHECK(c["passed"] == true);
  }
  REQUIRE(b["points"].size() == 4);
  for (const auto& p : b["points"]) {
    CHECK(p["loss_label"] == kLabel);
    CHECK(p["loss_band_lo"].get<double>() <= p["loss"].get<double>() + 1e-12);
    CHECK(p["loss_band_hi"].get<double>() >= p["loss"].get<double>() - 1e-12);
    CHECK(std::abs(p["p_tot_deviation"].get<double>()) <= 0.005);
    REQUIRE(p.contains("cost"));
    CHECK(p["cost"]["label"] == "prediction");
    CHECK(p["cost"]["decode_step_s"].get<double>() > 0);
  }
  // rho 0.4 -> 43 experts (exact 0.398); rho 1 has no Engram traffic; zero cache: 16 rows x 96 B x 2 layers
  CHECK(b["points"][0]["experts"] == 43);
  CHECK(b["points"][3]["cost"]["pcie_bytes_per_token"] == 0.0);
  CHECK(b["points"][0]["cost"]["pcie_bytes_per_token"] == 16.0 * 96 * 2);
  CHECK(b["optimum"]["cost_vs_pure_moe"]["host_bytes"].get<double>() > 0);
  CHECK(b["optimum"]["cost_vs_pure_moe"]["hbm_weight_bytes"].get<double>() < 0);

  // the report of the run has the U-curve section with its charts and labels
  const std::string dir = fresh_dir("study_ucurve_report");
  REQUIRE(cli({"--db", db, "report", id, "--format", "html", "-o", dir + "/r.html"}).code == 0);
  const std::string html = read(dir + "/r.html");
  CHECK(html.find("U-curve study: budget 6e20") != std::string::npos);
  CHECK(html.find("Loss vs rho, budget 6e20") != std::string::npos);
  CHECK(html.find("SSE heat map") != std::string::npos);
  CHECK(html.find("Cost vs rho") != std::string::npos);
  CHECK(html.find("iso-parameter") != std::string::npos);
  CHECK(html.find(kLabel) != std::string::npos);
  REQUIRE(cli({"--db", db, "report", id, "--format", "md", "-o", dir + "/r.md"}).code == 0);
  const std::string md = read(dir + "/r.md");
  CHECK(md.find("## U-curve study: budget 6e20") != std::string::npos);
  CHECK(md.find("<svg") != std::string::npos);
}

TEST_CASE("cli study ucurve: a changed calibration file changes the stored curve", "[cli][study][ucurve]") {
  const std::string dir = fresh_dir("study_ucurve_points");
  std::string text = read(source_path("data/calibration/ucurve_points.csv"));
  const auto pos = text.find("6e20,0.40,1.7248");
  REQUIRE(pos != std::string::npos);
  text.replace(pos, 16, "6e20,0.40,1.7400");
  std::ofstream(dir + "/p.csv") << text;
  auto a = cli(with_db(dir + "/t.db", fast({"--no-cost"})));
  auto b = cli(with_db(dir + "/t.db", fast({"--no-cost", "--points", dir + "/p.csv"})));
  REQUIRE(a.code == 0);
  REQUIRE(b.code == 0);
  const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  CHECK(ja["inputs"]["points_hash"] != jb["inputs"]["points_hash"]);
  CHECK(jb["budgets"][0]["fit"]["rho_star"].get<double>() > ja["budgets"][0]["fit"]["rho_star"].get<double>() + 0.005);
  CHECK(jb["budgets"][0]["points"][0]["loss"] != ja["budgets"][0]["points"][0]["loss"]);
  CHECK_FALSE(ja["budgets"][0]["points"][0].contains("cost"));
}

TEST_CASE("cli study ucurve: scenario file, flags win, --no-save", "[cli][study][ucurve]") {
  const std::string dir = fresh_dir("study_ucurve_scn");
  auto r = cli(with_db(dir + "/t.db", {"study", "ucurve", "--scenario", source_path("scenarios/study_ucurve.toml"),
                                       "--rho-grid", "0.8,1", "--sim-tokens", "256"}));
  INFO(r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["budgets"][0]["points"].size() == 2);  // the flag beat the file's 0.1 grid
  CHECK(j["inputs"]["serving"]["sim_tokens"] == 256);
  CHECK(j["inputs"]["serving"]["batch"] == 64);  // from the file
  CHECK(sql_text(dir + "/t.db", "SELECT name FROM runs WHERE id=" + std::to_string(j["run_id"].get<long long>())) ==
        "ucurve-demo");
  auto n = cli(with_db(dir + "/n.db", fast({"--no-cost", "--no-save"})));
  REQUIRE(n.code == 0);
  CHECK_FALSE(nlohmann::json::parse(n.out).contains("run_id"));
  CHECK_FALSE(std::filesystem::exists(dir + "/n.db"));
}

TEST_CASE("cli study ucurve: bad inputs exit 2 naming flag, file and value", "[cli][study][ucurve]") {
  const std::string dir = fresh_dir("study_ucurve_bad");
  const std::string db = dir + "/t.db";
  auto r = cli(with_db(db, {"study", "ucurve", "--rho-grid", "0.1:1.5:0.1", "--no-save"}));
  CHECK(r.code == 2);
  CHECK(r.err.find("--rho-grid") != std::string::npos);
  r = cli(with_db(db, {"study", "ucurve", "--budget", "9e99", "--no-save"}));
  CHECK(r.code == 2);
  CHECK(r.err.find("9e99") != std::string::npos);
  r = cli(with_db(db, {"study", "ucurve", "--budget", "2e20", "--no-save", "--no-cost"}));
  CHECK(r.code == 2);  // no calibration points for 2e20 in the shipped file
  CHECK(r.err.find("at least 3") != std::string::npos);
  std::ofstream(dir + "/bad.csv") << "budget_id,rho,loss,kind,weight,source,note\n6e20,0.5,-1,published,1,x,y\n";
  r = cli(with_db(db, {"study", "ucurve", "--points", dir + "/bad.csv", "--no-save"}));
  CHECK(r.code == 2);
  CHECK(r.err.find("bad.csv:2") != std::string::npos);
  CHECK(r.err.find("'loss' = '-1'") != std::string::npos);
  std::ofstream(dir + "/bad.toml") << "[ucurve]\nbatch = \"many\"\n";
  r = cli(with_db(db, {"study", "ucurve", "--scenario", dir + "/bad.toml", "--no-save"}));
  CHECK(r.code == 2);
  CHECK(r.err.find("bad.toml:2") != std::string::npos);
  r = cli(with_db(db, {"study", "ucurve", "--batch", "0", "--no-save"}));
  CHECK(r.code == 2);
  r = cli(with_db(db, {"study", "ucurve", "--residency", "disk", "--no-save"}));
  CHECK(r.code == 2);
}

TEST_CASE("cli study: --help of every study lists its options with defaults", "[cli][study]") {
  auto h = cli({"study", "ucurve", "--help"});
  CHECK(h.code == 0);
  CHECK(h.out.find("--rho-grid") != std::string::npos);
  CHECK(h.out.find("0.1:1.0:0.05") != std::string::npos);
  CHECK(h.out.find("--scenario") != std::string::npos);
  for (const char* study : {"topk", "streams"}) {
    auto t = cli({"study", study, "--help"});
    CHECK(t.code == 0);
    CHECK(t.out.find("--no-save") != std::string::npos);
    CHECK(t.out.find("--hw") != std::string::npos);
  }
}
