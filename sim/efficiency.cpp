// efficiency.cpp — efficiency tables (published anchors or a fit to local measurements) and the fit.
#include "sim/efficiency.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"

namespace v4lab::sim {

const Efficiency* EfficiencyTable::lookup(const std::string& op, const std::string& family,
                                          const std::string& variant) const {
  if (entries.empty()) return nullptr;
  auto it = variant.empty() ? entries.end() : entries.find(op + "@" + variant);
  if (it != entries.end()) return &it->second;
  it = entries.find(op);
  if (it != entries.end()) return &it->second;
  it = entries.find("family:" + family);
  if (it != entries.end()) return &it->second;
  it = entries.find("default");
  return it != entries.end() ? &it->second : nullptr;
}

namespace {
double or_nan(const nlohmann::json& e, const char* k) {
  return e.contains(k) && e[k].is_number() ? e[k].get<double>() : std::numeric_limits<double>::quiet_NaN();
}
}  // namespace

nlohmann::json EfficiencyTable::to_json() const {
  nlohmann::json es = nlohmann::json::array();
  for (auto& [k, e] : entries) {
    nlohmann::json j = {{"key", k},       {"compute", e.compute}, {"memory", e.memory}, {"net", e.net},
                        {"host", e.host}, {"kind", e.kind},       {"source", e.source}};
    if (std::isfinite(e.overhead_s)) j["overhead_us"] = e.overhead_s * 1e6;
    if (e.additive) j["additive"] = true;
    if (!e.note.empty()) j["note"] = e.note;
    if (e.n_points > 0) {
      j["n_points"] = e.n_points;
      j["fit_median_rel_err"] = e.fit_median_rel_err;
      j["fit_max_rel_err"] = e.fit_max_rel_err;
      if (std::isfinite(e.loo_median_rel_err)) j["loo_median_rel_err"] = e.loo_median_rel_err;
    }
    es.push_back(j);
  }
  return {{"hardware", hardware}, {"source", source}, {"label", label}, {"entries", es}};
}

EfficiencyTable efficiency_from_json(const nlohmann::json& j, const std::string& where) {
  EfficiencyTable t;
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    throw config_error(where + ": efficiency table needs an 'entries' array");
  t.hardware = j.value("hardware", "");
  t.source = j.value("source", where);
  t.label = j.value("label", "");
  static const std::set<std::string> known = {"key",  "compute", "memory",   "net",      "host",   "overhead_us",
                                              "kind", "source",  "note",     "n_points", "fit_median_rel_err",
                                              "fit_max_rel_err", "loo_median_rel_err", "anchor", "conditions",
                                              "additive"};
  for (const auto& e : j["entries"]) {
    if (!e.is_object() || !e.contains("key") || !e["key"].is_string())
      throw config_error(where + ": every efficiency entry needs a string 'key' (op name, family:<f> or default)");
    Efficiency x;
    x.key = e["key"].get<std::string>();
    const std::string at = where + ": entry '" + x.key + "'";
    for (auto& [k, v] : e.items())
      if (!known.count(k)) throw config_error(at + ": unknown field '" + k + "'");
    auto share = [&](const char* k, double& dst) {
      if (!e.contains(k)) return;
      if (!e[k].is_number()) throw config_error(at + ": '" + std::string(k) + "' must be a number");
      const double v = e[k].get<double>();
      if (!(v > 0 && v <= 100))
        throw config_error(at + ": '" + std::string(k) + "' = " + std::to_string(v) + " is outside (0, 100]");
      dst = v;
    };
    share("compute", x.compute);
    share("memory", x.memory);
    share("net", x.net);
    share("host", x.host);
    if (e.contains("overhead_us")) {
      const double us = or_nan(e, "overhead_us");
      if (!(us >= 0 && us <= 1e6)) throw config_error(at + ": 'overhead_us' must be a number in [0, 1e6]");
      x.overhead_s = us * 1e-6;
    }
    if (e.contains("additive")) {
      if (!e["additive"].is_boolean()) throw config_error(at + ": 'additive' must be true or false");
      x.additive = e["additive"].get<bool>();
    }
    x.kind = e.value("kind", "");
    x.source = e.value("source", "");
    x.note = e.value("note", "");
    x.n_points = e.value("n_points", 0);
    x.fit_median_rel_err = or_nan(e, "fit_median_rel_err");
    x.fit_max_rel_err = or_nan(e, "fit_max_rel_err");
    x.loo_median_rel_err = or_nan(e, "loo_median_rel_err");
    if (x.kind.empty()) throw config_error(at + ": needs 'kind' (anchor, derived, fit or assumption)");
    if (x.kind != "fit" && x.source.empty()) throw config_error(at + ": needs a 'source' for kind '" + x.kind + "'");
    t.entries[x.key] = x;
  }
  return t;
}

namespace {

// A fitted form: t = c[0]·x0 + c[1]·x1 + c[2] with x = (max, 0) (overlap) or (compute, memory) (additive).
struct Form {
  bool additive = false;
  double c[3] = {1, 0, 0};
  double sse = std::numeric_limits<double>::infinity();
};

void features(const FitPoint& p, bool additive, double x[3]) {
  x[0] = additive ? p.compute_s : p.roofline_s();
  x[1] = additive ? p.memory_s : 0.0;
  x[2] = 1.0;
}

double predict(const Form& f, const FitPoint& p) {
  double x[3];
  features(p, f.additive, x);
  return f.c[0] * x[0] + f.c[1] * x[1] + f.c[2] * x[2];
}

// Non-negative weighted least squares over the columns in `cols` (exhaustive active set: every subset
// solved unconstrained with Eigen, the best feasible one kept). Rows are scaled by 1/t.
Form fit_form(const std::vector<const FitPoint*>& pts, bool additive) {
  Form best;
  best.additive = additive;
  const int n = int(pts.size());
  if (n == 0) return best;
  const std::vector<int> cols = additive ? std::vector<int>{0, 1, 2} : std::vector<int>{0, 2};
  const int nc = int(cols.size());
  for (int mask = 1; mask < (1 << nc); ++mask) {
    std::vector<int> use;
    for (int i = 0; i < nc; ++i)
      if (mask & (1 << i)) use.push_back(cols[i]);
    if (int(use.size()) > n) continue;
    Eigen::MatrixXd A(n, int(use.size()));
    Eigen::VectorXd y = Eigen::VectorXd::Ones(n);
    for (int r = 0; r < n; ++r) {
      double x[3];
      features(*pts[r], additive, x);
      for (size_t c = 0; c < use.size(); ++c) A(r, int(c)) = x[use[c]] / pts[r]->measured_s;
    }
    // A column that is zero everywhere (e.g. no memory traffic) carries no information.
    bool degenerate = false;
    for (int c = 0; c < A.cols(); ++c) degenerate |= A.col(c).squaredNorm() == 0;
    if (degenerate) continue;
    Eigen::VectorXd s = A.colPivHouseholderQr().solve(y);
    bool ok = true;
    for (int c = 0; c < s.size(); ++c) ok &= std::isfinite(s(c)) && s(c) >= 0;
    if (!ok) continue;
    const double sse = (A * s - y).squaredNorm();
    if (sse < best.sse - 1e-15) {
      best.sse = sse;
      best.c[0] = best.c[1] = best.c[2] = 0;
      for (size_t c = 0; c < use.size(); ++c) best.c[use[c]] = s(int(c));
    }
  }
  return best;
}

// The simpler overlap form unless the additive one removes at least a tenth of the weighted SSE (and
// more than rounding): when compute and memory grow together the additive coefficients are not
// identifiable, and the overlap form says the same with fewer numbers.
Form fit_best(const std::vector<const FitPoint*>& pts) {
  Form a = fit_form(pts, false), b = fit_form(pts, true);
  return b.sse < 0.9 * a.sse - 1e-12 * double(pts.size()) ? b : a;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double rel(const Form& f, const FitPoint& p) { return std::abs(predict(f, p) - p.measured_s) / p.measured_s; }

// 1 / coefficient as an efficiency; a zero coefficient (that tier never mattered) is capped at 100.
double share(double coef) { return coef > 0 ? std::clamp(1.0 / coef, 1e-6, 100.0) : 100.0; }

}  // namespace

EfficiencyTable fit_efficiency(const std::vector<FitPoint>& points, const std::string& hardware,
                               const std::string& source) {
  EfficiencyTable t;
  t.hardware = hardware;
  t.source = source;
  t.label = "calibrated fit";
  std::map<std::string, std::vector<const FitPoint*>> by_op;
  std::map<std::string, std::string> family;
  for (const FitPoint& p : points)
    if (p.measured_s > 0 && std::isfinite(p.measured_s) && p.compute_s >= 0 && p.memory_s >= 0) {
      by_op[p.op].push_back(&p);
      family[p.op] = p.family;
    }
  for (auto& [op, pts] : by_op) {
    const Form f = fit_best(pts);
    Efficiency e;
    e.key = op;
    e.kind = "fit";
    e.source = source;
    e.additive = f.additive;
    if (f.additive) {
      e.compute = share(f.c[0]);
      e.memory = share(f.c[1]);
    } else {
      e.compute = e.memory = share(f.c[0]);
    }
    e.overhead_s = f.c[2];
    e.n_points = int(pts.size());
    std::vector<double> errs, loo;
    for (const FitPoint* p : pts) errs.push_back(rel(f, *p));
    if (pts.size() >= 3)
      for (size_t i = 0; i < pts.size(); ++i) {
        std::vector<const FitPoint*> rest;
        for (size_t j = 0; j < pts.size(); ++j)
          if (j != i) rest.push_back(pts[j]);
        loo.push_back(rel(fit_form(rest, f.additive), *pts[i]));
      }
    e.fit_median_rel_err = median(errs);
    e.fit_max_rel_err = *std::max_element(errs.begin(), errs.end());
    e.loo_median_rel_err = median(loo);
    char b[160];
    if (f.additive)
      std::snprintf(b, sizeof b, "t = compute/%.3g + memory/%.3g + %.3g us (additive)", e.compute, e.memory, f.c[2] * 1e6);
    else
      std::snprintf(b, sizeof b, "t = max(compute, memory)/%.3g + %.3g us", e.compute, f.c[2] * 1e6);
    e.note = b;
    t.entries[op] = e;
  }
  return t;
}

double fit_rel_error(const EfficiencyTable& t, const FitPoint& p, double default_overhead_s) {
  return std::abs(fit_predict_s(t, p, default_overhead_s) - p.measured_s) / p.measured_s;
}

double fit_predict_s(const EfficiencyTable& t, const FitPoint& p, double default_overhead_s) {
  const Efficiency* e = t.lookup(p.op, p.family);
  double pred = p.roofline_s() + default_overhead_s;
  if (e) {
    const double c = p.compute_s / e->compute, m = p.memory_s / e->memory;
    pred = (e->additive ? c + m : std::max(c, m)) + (std::isfinite(e->overhead_s) ? e->overhead_s : default_overhead_s);
  }
  return pred;
}

}  // namespace v4lab::sim
