// ucurve.cpp — rho <-> expert mapping, Engram sizing (engram spec §3 prime rule via the caller's rule),
// and the calibrated quality model of the U-curve study (specs/studies.md (a) "Recommended quality
// model"): for every (alpha, beta, X_0) on the grid, weighted non-negative least squares for
// (E0, A, B) by exact active-set enumeration (Eigen QR per subset), objective = SSE + lambda·prior,
// heat map, uncertainty band over near-optimal cells, rho* and L(rho*) − L(1). Deterministic: no
// random numbers, fixed iteration order, ties broken by the objective then grid order.
#include "sim/studies/ucurve.h"

// GCC 12 reports a false -Wmaybe-uninitialized inside avx512fintrin.h when Eigen's AVX-512 GEMM
// kernels are instantiated (as in kernels/moe/moe_cpu.cpp); it is not in this file's code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Dense>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/error.h"

namespace v4lab::sim::ucurve {

namespace {

std::string num(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// Engram conv kernel w of the paper's geometry (engram spec §1: 4 for 27B/40B); only used for the
// reported size of the Engram dense (active) parts.
constexpr int kEngramConvKernel = 4;

std::vector<double> grid(double lo, double hi, double step) {
  std::vector<double> out;
  const int n = int(std::floor((hi - lo) / step + 1e-9)) + 1;
  for (int i = 0; i < n; ++i) out.push_back(std::round((lo + i * step) * 1e12) / 1e12);
  return out;
}

}  // namespace

double rho_of_experts(int experts, int e_base, int top_k) { return double(experts - top_k) / double(e_base - top_k); }

int experts_for_rho(double rho, int e_base, int top_k) {
  if (!(rho >= 0 && rho <= 1)) throw config_error("rho = " + num(rho) + " is out of range [0, 1]");
  return int(std::lround(double(top_k) + rho * double(e_base - top_k)));
}

Allocation allocate(const BudgetGeometry& g, double rho, const PrimeRule& rule) {
  Allocation a;
  a.rho_requested = rho;
  a.experts = experts_for_rho(rho, g.e_base, g.top_k);
  a.rho_exact = rho_of_experts(a.experts, g.e_base, g.top_k);
  const double pe = g.p_expert_b();
  a.p_act_b = g.p_act_b;
  a.p_moe_sparse_b = double(a.experts - g.top_k) * pe;
  a.p_engram_target_b = double(g.e_base - a.experts) * pe;
  a.p_engram_b = a.p_engram_target_b;
  if (g.has_backbone() && a.p_engram_target_b > 0) {
    if (!rule) throw config_error("U-curve Engram sizing needs the prime rule (engram spec §3)");
    const int L = int(g.engram_layers.size()), orders = g.engram_max_ngram - 1, K = g.engram_heads;
    const double per_head = a.p_engram_target_b * 1e9 / (double(L) * orders * K * g.engram_head_dim);
    a.vocab_size_per_order = uint64_t(std::max(2.0, std::round(per_head)));
    a.primes = rule(L, std::vector<uint64_t>(size_t(orders), a.vocab_size_per_order), K);
    double rows = 0;
    for (auto& layer : a.primes) {
      uint64_t s = 0;
      for (uint64_t p : layer) s += p;
      a.rows_per_layer.push_back(s);
      rows += double(s);
    }
    a.p_engram_b = rows * g.engram_head_dim / 1e9;
    // W_K (M branches) + W_V: d_mem·(M+1)·d; conv w·M·d; RMSNorms q, k per branch and the conv norm 3·M·d.
    const double d_mem = double(orders) * K * g.engram_head_dim, md = double(g.hc_mult) * double(g.d_model);
    a.engram_dense_params_b =
        double(L) * (d_mem * (g.hc_mult + 1) * double(g.d_model) + md * (kEngramConvKernel + 3)) / 1e9;
  }
  a.p_tot_b = a.p_act_b + a.p_moe_sparse_b + a.p_engram_b;
  a.p_tot_deviation = (a.p_tot_b - g.p_tot_b) / g.p_tot_b;
  a.x_m = g.p_act_b + a.rho_exact * g.p_sparse_b();
  a.x_e = (1 - a.rho_exact) * g.p_sparse_b();
  return a;
}

// ---- quality model ----

double quality_loss(const QualityParams& q, const BudgetGeometry& g, double rho) {
  const double xm = g.p_act_b + rho * g.p_sparse_b(), xe = (1 - rho) * g.p_sparse_b();
  return q.e0 + q.a * std::pow(xm, -q.alpha) + q.b * std::pow(xe + q.x0, -q.beta);
}

double quality_dloss_drho(const QualityParams& q, const BudgetGeometry& g, double rho) {
  const double ps = g.p_sparse_b(), xm = g.p_act_b + rho * ps, xe = (1 - rho) * ps;
  return -q.alpha * q.a * std::pow(xm, -q.alpha - 1) * ps + q.beta * q.b * std::pow(xe + q.x0, -q.beta - 1) * ps;
}

void FitOptions::validate() const {
  auto range = [](const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw config_error(std::string(name) + " = " + num(v) + " is out of range [" + num(lo) + ", " + num(hi) + "]");
  };
  range("alpha_lo", alpha_lo, 1e-6, 10);
  range("alpha_hi", alpha_hi, alpha_lo, 10);
  range("alpha_step", alpha_step, 1e-4, 10);
  range("beta_lo", beta_lo, 1e-6, 10);
  range("beta_hi", beta_hi, beta_lo, 10);
  range("beta_step", beta_step, 1e-4, 10);
  for (double x : x0_values) range("x0", x, 1e-9, 1e6);
  range("lambda", lambda, 0, 1);
  range("band_tol", band_tol, 0, 1e3);
  range("rho_lo", rho_lo, 0, 1);
  range("rho_hi", rho_hi, rho_lo, 1);
}

namespace {

// Weighted NNLS for 3 unknowns, exact: the optimum lies on one face of the orthant, so solve the
// unconstrained LS on every subset of free variables and keep the best feasible one.
void nnls3(const Eigen::MatrixXd& M, const Eigen::VectorXd& y, const Eigen::VectorXd& sw, FitCell& c) {
  const Eigen::MatrixXd Mw = sw.asDiagonal() * M;
  const Eigen::VectorXd yw = sw.asDiagonal() * y;
  double best = std::numeric_limits<double>::infinity();
  Eigen::Vector3d best_x = Eigen::Vector3d::Zero();
  for (int mask = 0; mask < 8; ++mask) {
    std::vector<int> idx;
    for (int j = 0; j < 3; ++j)
      if (mask & (1 << j)) idx.push_back(j);
    Eigen::Vector3d x = Eigen::Vector3d::Zero();
    if (!idx.empty()) {
      Eigen::MatrixXd S(Mw.rows(), Eigen::Index(idx.size()));
      for (size_t j = 0; j < idx.size(); ++j) S.col(Eigen::Index(j)) = Mw.col(idx[j]);
      const Eigen::VectorXd sol = S.colPivHouseholderQr().solve(yw);
      bool ok = sol.allFinite();
      for (Eigen::Index j = 0; ok && j < sol.size(); ++j) ok = sol[j] >= 0;
      if (!ok) continue;
      for (size_t j = 0; j < idx.size(); ++j) x[idx[j]] = sol[Eigen::Index(j)];
    }
    const double sse = (Mw * x - yw).squaredNorm();
    if (sse < best) best = sse, best_x = x;
  }
  c.e0 = best_x[0], c.a = best_x[1], c.b = best_x[2], c.sse = best;
  c.feasible = std::isfinite(best);
}

}  // namespace

double argmin_rho(const QualityParams& q, const BudgetGeometry& g, double lo, double hi) {
  const int n = 400;
  int bi = 0;
  double bv = std::numeric_limits<double>::infinity();
  for (int i = 0; i <= n; ++i) {
    const double r = lo + (hi - lo) * i / n, v = quality_loss(q, g, r);
    if (v < bv) bv = v, bi = i;
  }
  double a = lo + (hi - lo) * std::max(0, bi - 1) / n, b = lo + (hi - lo) * std::min(n, bi + 1) / n;
  const double phi = 0.5 * (std::sqrt(5.0) - 1);
  double x1 = b - phi * (b - a), x2 = a + phi * (b - a);
  double f1 = quality_loss(q, g, x1), f2 = quality_loss(q, g, x2);
  for (int it = 0; it < 80 && b - a > 1e-12; ++it) {
    if (f1 <= f2) {
      b = x2, x2 = x1, f2 = f1, x1 = b - phi * (b - a), f1 = quality_loss(q, g, x1);
    } else {
      a = x1, x1 = x2, f1 = f2, x2 = a + phi * (b - a), f2 = quality_loss(q, g, x2);
    }
  }
  const double r = 0.5 * (a + b);
  return quality_loss(q, g, r) <= bv ? r : lo + (hi - lo) * bi / n;
}

UcurveFit fit_ucurve(const std::vector<CalibrationPoint>& all_points, const BudgetGeometry& g, const FitOptions& o,
                     const std::vector<double>& curve_rho) {
  o.validate();
  std::vector<CalibrationPoint> pts;
  for (auto& p : all_points)
    if (p.budget_id == g.id) pts.push_back(p);
  if (pts.size() < 3) {
    std::string have;
    for (auto& p : all_points)
      if (have.find(p.budget_id) == std::string::npos) have += (have.empty() ? "" : ", ") + p.budget_id;
    throw config_error("budget '" + g.id + "' has " + std::to_string(pts.size()) +
                           " calibration points; the fit needs at least 3 (budgets with points: " +
                           (have.empty() ? "none" : have) + ")",
                       "--budget");
  }
  UcurveFit f;
  f.budget_id = g.id;
  f.alphas = grid(o.alpha_lo, o.alpha_hi, o.alpha_step);
  f.betas = grid(o.beta_lo, o.beta_hi, o.beta_step);
  if (!o.x0_values.empty()) {
    f.x0s = o.x0_values, f.x0_source = "given";
  } else if (g.has_embedding()) {
    f.x0s = {double(g.vocab) * double(g.d_model) / 1e9}, f.x0_source = "embedding V·d_model";
  } else {
    f.x0s = grid(0.05, 1.0, 0.05), f.x0_source = "grid 0.05:1.0:0.05";
  }
  const Eigen::Index n = Eigen::Index(pts.size());
  Eigen::VectorXd y(n), sw(n), xm(n), xe(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    y[i] = pts[size_t(i)].loss, sw[i] = std::sqrt(pts[size_t(i)].weight);
    xm[i] = g.p_act_b + pts[size_t(i)].rho * g.p_sparse_b();
    xe[i] = (1 - pts[size_t(i)].rho) * g.p_sparse_b();
  }
  f.heat_sse.assign(f.alphas.size() * f.betas.size(), std::numeric_limits<double>::infinity());
  Eigen::MatrixXd M(n, 3);
  size_t best = 0;
  for (size_t ia = 0; ia < f.alphas.size(); ++ia)
    for (size_t ib = 0; ib < f.betas.size(); ++ib)
      for (double x0 : f.x0s) {
        FitCell c;
        c.alpha = f.alphas[ia], c.beta = f.betas[ib], c.x0 = x0;
        for (Eigen::Index i = 0; i < n; ++i) {
          M(i, 0) = 1;
          M(i, 1) = std::pow(xm[i], -c.alpha);
          M(i, 2) = std::pow(xe[i] + x0, -c.beta);
        }
        nnls3(M, y, sw, c);
        c.objective = c.sse + o.lambda * ((c.alpha - o.alpha_prior) * (c.alpha - o.alpha_prior) +
                                          (c.beta - o.beta_prior) * (c.beta - o.beta_prior));
        double& h = f.heat_sse[ia * f.betas.size() + ib];
        h = std::min(h, c.sse);
        f.cells.push_back(c);
        if (c.objective < f.cells[best].objective) best = f.cells.size() - 1;
      }
  const FitCell& b = f.cells[best];
  f.best = {b.e0, b.a, b.b, b.alpha, b.beta, b.x0};
  f.objective_min = b.objective;
  f.sse_min = std::numeric_limits<double>::infinity();
  for (auto& c : f.cells) f.sse_min = std::min(f.sse_min, c.sse);
  for (auto& p : pts) {
    PointResidual r;
    r.point = p;
    r.fitted = quality_loss(f.best, g, p.rho);
    r.residual = p.loss - r.fitted;
    if (p.kind == "published")
      f.max_abs_residual_published = std::max(f.max_abs_residual_published, std::fabs(r.residual));
    f.residuals.push_back(r);
  }
  f.rho_star = argmin_rho(f.best, g, o.rho_lo, o.rho_hi);
  f.loss_star = quality_loss(f.best, g, f.rho_star);
  f.loss_at_1 = quality_loss(f.best, g, 1.0);
  f.delta_star = f.loss_star - f.loss_at_1;
  f.loss_at_0_1 = quality_loss(f.best, g, 0.1);
  f.dloss_drho_at_1 = quality_dloss_drho(f.best, g, 1.0);
  f.u_shaped = f.loss_at_0_1 > f.loss_at_1 && f.dloss_drho_at_1 > 0;

  f.band_rho = curve_rho;
  f.band_lo.assign(curve_rho.size(), std::numeric_limits<double>::infinity());
  f.band_hi.assign(curve_rho.size(), -std::numeric_limits<double>::infinity());
  for (double r : curve_rho) f.curve.push_back(quality_loss(f.best, g, r));
  f.band_rho_star_lo = f.band_delta_lo = std::numeric_limits<double>::infinity();
  f.band_rho_star_hi = f.band_delta_hi = -std::numeric_limits<double>::infinity();
  f.band_sse_max = f.sse_min + o.band_tol;
  for (auto& c : f.cells) {
    if (!(c.sse <= f.band_sse_max)) continue;
    ++f.band_cells;
    const QualityParams q{c.e0, c.a, c.b, c.alpha, c.beta, c.x0};
    for (size_t i = 0; i < curve_rho.size(); ++i) {
      const double v = quality_loss(q, g, curve_rho[i]);
      f.band_lo[i] = std::min(f.band_lo[i], v), f.band_hi[i] = std::max(f.band_hi[i], v);
    }
    const double rs = argmin_rho(q, g, o.rho_lo, o.rho_hi);
    const double d = quality_loss(q, g, rs) - quality_loss(q, g, 1.0);
    f.band_rho_star_lo = std::min(f.band_rho_star_lo, rs), f.band_rho_star_hi = std::max(f.band_rho_star_hi, rs);
    f.band_delta_lo = std::min(f.band_delta_lo, d), f.band_delta_hi = std::max(f.band_delta_hi, d);
  }
  return f;
}

void band_at(const UcurveFit& f, const BudgetGeometry& g, double rho, double& lo, double& hi) {
  lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (auto& c : f.cells) {
    if (!(c.sse <= f.band_sse_max)) continue;
    const QualityParams q{c.e0, c.a, c.b, c.alpha, c.beta, c.x0};
    const double v = quality_loss(q, g, rho);
    lo = std::min(lo, v), hi = std::max(hi, v);
  }
}

std::vector<double> parse_rho_grid(const std::string& spec, const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return usage_error(flag + " '" + spec + "': " + why + " (expected lo:hi:step or a comma list, values in [0, 1])");
  };
  auto to_d = [&](const std::string& s) {
    size_t pos = 0;
    double v = 0;
    try {
      v = std::stod(s, &pos);
    } catch (...) {
      throw bad("'" + s + "' is not a number");
    }
    if (pos != s.size() || !std::isfinite(v)) throw bad("'" + s + "' is not a number");
    if (v < 0 || v > 1) throw bad("value " + s + " outside [0, 1]");
    return v;
  };
  std::vector<std::string> parts;
  const char sep = spec.find(':') != std::string::npos ? ':' : ',';
  size_t start = 0;
  while (true) {
    const size_t e = spec.find(sep, start);
    parts.push_back(spec.substr(start, e == std::string::npos ? std::string::npos : e - start));
    if (e == std::string::npos) break;
    start = e + 1;
  }
  std::vector<double> out;
  if (sep == ':') {
    if (parts.size() != 3) throw bad("need three fields lo:hi:step");
    const double lo = to_d(parts[0]), hi = to_d(parts[1]);
    size_t pos = 0;
    double step = 0;
    try {
      step = std::stod(parts[2], &pos);
    } catch (...) {
      throw bad("step '" + parts[2] + "' is not a number");
    }
    if (pos != parts[2].size() || !(step > 0)) throw bad("step must be > 0");
    if (hi < lo) throw bad("hi < lo");
    if ((hi - lo) / step > 1e5) throw bad("more than 100000 points");
    out = grid(lo, hi, step);
  } else {
    for (auto& p : parts) out.push_back(to_d(p));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  if (out.empty()) throw bad("no values");
  return out;
}

}  // namespace v4lab::sim::ucurve
