// test_ucurve.cpp — the Engram-vs-MoE U-curve study (specs/studies.md (a) acceptance checks 1–5):
// rho mapping anchors, iso-parameter sweep with the §3 prime rule, the calibrated fit on the shipped
// points (residuals, U shape, rho* in 0.6–0.9, L(rho*) − L(1)), zero-cache PCIe bytes, the
// distinct-expert formula vs a Monte-Carlo routing simulation, the label, CSV validation, and that
// editing the calibration file moves the curve (no curve constant in code).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/ops/moe_cost.h"
#include "core/presets.h"
#include "core/rng.h"
#include "kernels/engram/primes.h"
#include "sim/studies/ucurve.h"
#include "sim/zipf.h"

using namespace v4lab;
using namespace v4lab::sim::ucurve;

namespace {

std::string data_path(const std::string& rel) { return std::string(V4LAB_SOURCE_DIR) + "/data/" + rel; }

const std::vector<BudgetGeometry>& budgets() {
  static const auto b = load_budgets(data_path("calibration/ucurve_budgets.csv"));
  return b;
}
const std::vector<CalibrationPoint>& points() {
  static const auto p = load_calibration_points(data_path("calibration/ucurve_points.csv"));
  return p;
}
const BudgetGeometry& budget(const std::string& id) { return find_budget(budgets(), id, "ucurve_budgets.csv"); }

PrimeRule prime_rule() {
  return [](int n, const std::vector<uint64_t>& s, int k) { return kernels::engram_select_primes(n, s, k); };
}

// Test trace: Zipf-ranked n-gram ids spread over each head table (not the real hash; ids only need to
// be valid rows with some reuse).
TraceFn test_trace() {
  return [](const std::vector<uint64_t>& primes, int layer, int64_t n_tokens) {
    const auto ranks = sim::zipf_stream(1 << 20, 1.0, n_tokens, 7 + uint64_t(layer));
    std::vector<uint32_t> ids;
    for (uint32_t r : ranks) {
      uint64_t off = 0;
      for (size_t j = 0; j < primes.size(); ++j) {
        ids.push_back(uint32_t(off + (uint64_t(r) * 2654435761ull + j * 97) % primes[j]));
        off += primes[j];
      }
    }
    return ids;
  };
}

std::vector<double> default_grid() { return parse_rho_grid("0.1:1.0:0.05", "--rho-grid"); }

}  // namespace

TEST_CASE("ucurve check 1: rho mapping reproduces 0.400, 0.398 and 0.742", "[sim][ucurve]") {
  CHECK(std::round(rho_of_experts(46, budget("2e20").e_base, 6) * 1000) / 1000 == Approx(0.400));
  CHECK(std::round(rho_of_experts(43, budget("6e20").e_base, 6) * 1000) / 1000 == Approx(0.398));
  CHECK(std::round(rho_of_experts(55, budget("27b").e_base, 6) * 1000) / 1000 == Approx(0.742));
  CHECK(experts_for_rho(0.4, 106, 6) == 46);
  CHECK(experts_for_rho(0.4, 99, 6) == 43);
  CHECK(experts_for_rho(1.0, 99, 6) == 99);
  CHECK(experts_for_rho(0.0, 99, 6) == 6);
  // ρ = 0.75–0.80 ↔ ≈81–86 experts (2e20) and ≈76–80 (6e20)
  CHECK(experts_for_rho(0.75, 106, 6) == 81);
  CHECK(experts_for_rho(0.80, 106, 6) == 86);
  CHECK(experts_for_rho(0.75, 99, 6) == 76);
  CHECK(experts_for_rho(0.80, 99, 6) == 80);
  // per-expert params ≈51M / ≈96M and tokens ≈58.7B / ≈100.7B [derived]
  CHECK(budget("2e20").p_expert_b() == Approx(0.0513).epsilon(0.01));
  CHECK(budget("6e20").p_expert_b() == Approx(0.0958).epsilon(0.01));
  CHECK(budget("2e20").tokens_b() == Approx(58.7).epsilon(0.002));
  CHECK(budget("6e20").tokens_b() == Approx(100.7).epsilon(0.002));
  REQUIRE_THROWS_AS(experts_for_rho(1.5, 99, 6), v4lab::Error);
}

TEST_CASE("ucurve check 2: iso-parameter across the sweep, P_act constant, prime rule applied", "[sim][ucurve]") {
  for (const char* id : {"2e20", "6e20", "27b"}) {
    const BudgetGeometry& g = budget(id);
    for (double rho : default_grid()) {
      const Allocation a = allocate(g, rho, prime_rule());
      INFO(id << " rho " << rho);
      CHECK(std::fabs(a.p_tot_deviation) <= 0.005);
      CHECK(a.p_act_b == g.p_act_b);
      CHECK(a.p_moe_sparse_b + a.p_engram_target_b == Approx(g.p_sparse_b()).epsilon(1e-12));
      if (a.experts < g.e_base) {
        REQUIRE(a.rows_per_layer.size() == g.engram_layers.size());
        for (auto& layer : a.primes)
          for (uint64_t p : layer) CHECK(kernels::is_prime_u64(p));
        CHECK(a.rows_per_layer[0] >= uint64_t(g.engram_max_ngram - 1) * g.engram_heads * a.vocab_size_per_order);
        CHECK(a.engram_dense_params_b > 0);
      } else {
        CHECK(a.p_engram_b == 0);
        CHECK(a.rows_per_layer.empty());
      }
    }
  }
  // Engram-27B cross-check: E = 55 gives ≈5.9B of Engram parameters (published 5.7B).
  const Allocation a27 = allocate(budget("27b"), rho_of_experts(55, 72, 6), prime_rule());
  CHECK(a27.experts == 55);
  CHECK(a27.p_engram_b == Approx(5.9).epsilon(0.03));
}

TEST_CASE("ucurve check 3: fit on the shipped 6e20 points", "[sim][ucurve]") {
  const BudgetGeometry& g = budget("6e20");
  const UcurveFit f = fit_ucurve(points(), g, FitOptions{}, default_grid());
  REQUIRE(f.residuals.size() == 3);
  for (auto& r : f.residuals) {
    INFO(r.point.where);
    if (r.point.kind == "published") CHECK(std::fabs(r.residual) <= 0.001);
    CHECK(r.fitted == Approx(quality_loss(f.best, g, r.point.rho)));
  }
  CHECK(f.max_abs_residual_published <= 0.001);
  CHECK(f.u_shaped);
  CHECK(f.loss_at_0_1 > f.loss_at_1);
  CHECK(f.dloss_drho_at_1 > 0);
  CHECK(f.rho_star >= 0.6);
  CHECK(f.rho_star <= 0.9);
  CHECK(f.delta_star >= -0.03);
  CHECK(f.delta_star <= -0.005);
  // the chosen cell is the prior-nearest of the exact fits (alpha 0.35, beta 0.5 on the 0.05 grid)
  CHECK(f.best.alpha == Approx(0.35));
  CHECK(f.best.beta == Approx(0.5));
  CHECK(f.best.x0 == Approx(129280.0 * 1536 / 1e9));
  CHECK(f.best.e0 >= 0);
  CHECK(f.best.a >= 0);
  CHECK(f.best.b >= 0);
  // the band holds the best curve and spans the rho* of every near-optimal cell
  REQUIRE(f.band_cells >= 1);
  CHECK(f.band_rho_star_lo <= f.rho_star);
  CHECK(f.band_rho_star_hi >= f.rho_star);
  for (size_t i = 0; i < f.band_rho.size(); ++i) {
    CHECK(f.band_lo[i] <= f.curve[i] + 1e-12);
    CHECK(f.band_hi[i] >= f.curve[i] - 1e-12);
  }
  double lo = 0, hi = 0;
  band_at(f, g, 0.8, lo, hi);
  CHECK(lo <= quality_loss(f.best, g, 0.8));
  CHECK(hi >= quality_loss(f.best, g, 0.8));
  CHECK(f.heat_sse.size() == f.alphas.size() * f.betas.size());
  CHECK(f.cells.size() == f.alphas.size() * f.betas.size() * f.x0s.size());
  // deterministic: the same inputs give bit-identical outputs
  const UcurveFit f2 = fit_ucurve(points(), g, FitOptions{}, default_grid());
  CHECK(f2.rho_star == f.rho_star);
  CHECK(f2.best.e0 == f.best.e0);
  CHECK(f2.band_lo == f.band_lo);
}

TEST_CASE("ucurve: editing the calibration file moves the curve", "[sim][ucurve]") {
  const BudgetGeometry& g = budget("6e20");
  const auto base = fit_ucurve(points(), g, FitOptions{}, default_grid());
  const std::string dir = (std::filesystem::temp_directory_path() / "v4lab_ucurve_test").string();
  std::filesystem::create_directories(dir);
  std::ifstream in(data_path("calibration/ucurve_points.csv"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto edited = [&](const std::string& from, const std::string& to) {
    std::string text = ss.str();
    const auto pos = text.find(from);
    REQUIRE(pos != std::string::npos);
    text.replace(pos, from.size(), to);
    const std::string path = dir + "/points.csv";
    std::ofstream(path) << text;
    return fit_ucurve(load_calibration_points(path), g, FitOptions{}, default_grid());
  };
  // A deeper middle point deepens the curve. (With alpha, beta, X_0 fixed, rho* depends only on A/B,
  // which the two equal-loss points at 0.4 and 1.0 pin; the middle point scales the dip.)
  const auto deeper = edited("6e20,0.80,1.7109", "6e20,0.70,1.7080");
  CHECK(deeper.loss_star < base.loss_star - 0.004);
  CHECK(deeper.delta_star < base.delta_star);
  for (size_t i = 0; i < base.curve.size() - 1; ++i) CHECK(deeper.curve[i] != base.curve[i]);
  for (auto& r : deeper.residuals)
    if (r.point.kind == "published") CHECK(std::fabs(r.residual) <= 0.001);
  // A worse low-rho point pushes the optimum towards MoE.
  const auto shifted = edited("6e20,0.40,1.7248", "6e20,0.40,1.7400");
  CHECK(shifted.rho_star > base.rho_star + 0.005);
}

TEST_CASE("ucurve check 4: zero cache PCIe bytes = lookups x b_row, cost side sanity", "[sim][ucurve]") {
  const BudgetGeometry& g = budget("6e20");
  CostOptions o;
  o.hw = load_hardware_preset("h800_sxm", data_path(""));
  o.batch = 32;
  o.sim_tokens = 2048;
  o.trace = test_trace();
  const Allocation a = allocate(g, 0.8, prime_rule());
  const CostPoint c = ucurve_cost(g, a, o);
  const double row_b = g.engram_row_bytes();
  CHECK(c.engram_lookups_per_step == 32.0 * 16 * 2);
  CHECK(c.pcie_bytes_per_step == c.engram_lookups_per_step * row_b);
  CHECK(c.pcie_bytes_per_token == 16.0 * 2 * row_b);
  CHECK(c.hbm_hit_rate == 0);
  CHECK(c.host_bytes == Approx(a.p_engram_b * 1e9 * 2));  // BF16 rows
  CHECK(c.decode_step_s > 0);
  CHECK(c.usd_per_m_output_tokens > 0);
  CHECK(c.experts_touched == Approx(moe_experts_touched(32, a.experts, 6)));
  // pure MoE: no Engram bytes, more expert weights in HBM
  const CostPoint c1 = ucurve_cost(g, allocate(g, 1.0, prime_rule()), o);
  CHECK(c1.host_bytes == 0);
  CHECK(c1.pcie_bytes_per_step == 0);
  CHECK(c1.hbm_weight_bytes > c.hbm_weight_bytes);
  // iso-FLOPs: FLOPs per token move only by the router and the Engram layers (< 2%)
  CHECK(c.flops_per_token == Approx(c1.flops_per_token).epsilon(0.02));
  // HBM residency moves the table into HBM; an LRU cache cuts PCIe bytes
  CostOptions oh = o;
  oh.residency = "hbm";
  const CostPoint ch = ucurve_cost(g, a, oh);
  CHECK(ch.host_bytes == 0);
  CHECK(ch.hbm_weight_bytes == Approx(c.hbm_weight_bytes + c.engram_table_bytes));
  CostOptions oc = o;
  oc.cache_rows = 200000;
  const CostPoint cc = ucurve_cost(g, a, oc);
  CHECK(cc.hbm_hit_rate > 0);
  CHECK(cc.pcie_bytes_per_step < c.pcie_bytes_per_step);
  // derived preset: E(rho) experts of the derived width, Engram rows from the prime rule
  const ModelPreset m = derived_preset(g, a);
  CHECK(int(m.number("n_routed_experts")) == a.experts);
  CHECK(m.int_array("engram_rows_per_layer").size() == 2);
  CHECK(c.backbone_active_params_b == Approx(g.p_act_b).epsilon(0.15));
}

TEST_CASE("ucurve check 4: distinct-expert formula matches Monte-Carlo routing within 1%", "[sim][ucurve]") {
  Rng rng(12345);
  for (auto [E, B] : std::vector<std::pair<int, int>>{{99, 8}, {43, 16}, {99, 64}, {72, 4}}) {
    const int k = 6, trials = 4000;
    double sum = 0;
    std::vector<int> perm(static_cast<size_t>(E));
    for (int t = 0; t < trials; ++t) {
      std::set<int> hit;
      for (int tok = 0; tok < B; ++tok) {
        for (int i = 0; i < E; ++i) perm[size_t(i)] = i;
        for (int i = 0; i < k; ++i) {  // k distinct experts, uniform (partial Fisher–Yates)
          const int j = i + int(rng.below(uint64_t(E - i)));
          std::swap(perm[size_t(i)], perm[size_t(j)]);
          hit.insert(perm[size_t(i)]);
        }
      }
      sum += double(hit.size());
    }
    INFO("E " << E << " B " << B);
    CHECK(sum / trials == Approx(moe_experts_touched(B, E, k)).epsilon(0.01));
  }
}

TEST_CASE("ucurve check 5 and inputs: label text, CSV validation names file:line, column, value", "[sim][ucurve]") {
  CHECK(std::string(kQualityLabel) == "calibrated model, not a training run");
  const std::string hdr = "budget_id,rho,loss,kind,weight,source,note\n";
  auto err = [&](const std::string& body) {
    try {
      parse_calibration_points(hdr + body, "pts.csv");
    } catch (const v4lab::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("6e20,1.5,1.7,published,1,x,y\n").find("pts.csv:2") != std::string::npos);
  CHECK(err("6e20,1.5,1.7,published,1,x,y\n").find("'rho' = '1.5'") != std::string::npos);
  CHECK(err("6e20,0.5,abc,published,1,x,y\n").find("'loss' = 'abc'") != std::string::npos);
  CHECK(err("6e20,0.5,1.7,guess,1,x,y\n").find("published, digitized, qualitative") != std::string::npos);
  CHECK(err("6e20,0.5,1.7,published,0,x,y\n").find("'weight'") != std::string::npos);
  CHECK(err("6e20,0.5,1.7,published,1,x\n").find("expected 7 fields") != std::string::npos);
  CHECK_THROWS_AS(parse_calibration_points("budget_id,rho,loss\n", "p.csv"), v4lab::Error);
  const auto ok = parse_calibration_points(hdr + "# comment\n\n6e20,0.5,1.7,digitized,2,me,\"a, b\"\n", "p.csv");
  REQUIRE(ok.size() == 1);
  CHECK(ok[0].note == "a, b");
  CHECK(ok[0].where == "p.csv:4");
  // budgets: a bad value names the column; a budget without points cannot be fitted
  std::ifstream in(data_path("calibration/ucurve_budgets.csv"));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  text.replace(text.find("6e20,6e20,9.9,0.993,99"), 22, "6e20,6e20,9.9,0.993,5x");
  try {
    parse_budgets(text, "b.csv");
    FAIL("no error");
  } catch (const v4lab::Error& e) {
    CHECK(std::string(e.what()).find("'e_base' = '5x'") != std::string::npos);
    CHECK(std::string(e.what()).find("b.csv:") != std::string::npos);
  }
  CHECK_THROWS_AS(fit_ucurve(points(), budget("2e20"), FitOptions{}, default_grid()), v4lab::Error);
  CHECK_THROWS_AS(find_budget(budgets(), "1e21", "b.csv"), v4lab::Error);
  CHECK_THROWS_AS(parse_rho_grid("0.1:1.2:0.05", "--rho-grid"), v4lab::Error);
  CHECK_THROWS_AS(parse_rho_grid("0.1:1.0:0", "--rho-grid"), v4lab::Error);
  CHECK(parse_rho_grid("0.1:1.0:0.05", "--rho-grid").size() == 19);
  CHECK(parse_rho_grid("0.1:1.0:0.05", "--rho-grid").back() == 1.0);
  CHECK(parse_rho_grid("1,0.4,0.8", "--rho-grid") == std::vector<double>{0.4, 0.8, 1.0});
}
