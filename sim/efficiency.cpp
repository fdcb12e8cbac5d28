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
constexpr double kMaxShare = 1e9;  // largest share a table may hold (a fitted tier that never mattered)
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
    if (std::isfinite(e.memory_cached)) j["memory_cached"] = e.memory_cached;
    if (!e.note.empty()) j["note"] = e.note;
    if (e.n_points > 0) {
      j["n_points"] = e.n_points;
      j["fit_median_rel_err"] = e.fit_median_rel_err;
      j["fit_max_rel_err"] = e.fit_max_rel_err;
      if (std::isfinite(e.loo_median_rel_err)) j["loo_median_rel_err"] = e.loo_median_rel_err;
    }
    es.push_back(j);
  }
  nlohmann::json out = {{"hardware", hardware}, {"source", source}, {"label", label}, {"entries", es}};
  if (std::isfinite(cache_bytes)) out["cache_bytes"] = cache_bytes;
  if (!cache_note.empty()) out["cache_note"] = cache_note;
  return out;
}

EfficiencyTable efficiency_from_json(const nlohmann::json& j, const std::string& where) {
  EfficiencyTable t;
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    throw config_error(where + ": efficiency table needs an 'entries' array");
  t.hardware = j.value("hardware", "");
  t.source = j.value("source", where);
  t.label = j.value("label", "");
  if (j.contains("cache_bytes")) {
    const double c = or_nan(j, "cache_bytes");
    if (!(c > 0 && c <= 1e15)) throw config_error(where + ": 'cache_bytes' must be a number in (0, 1e15]");
    t.cache_bytes = c;
  }
  t.cache_note = j.value("cache_note", "");
  static const std::set<std::string> known = {"key",  "compute", "memory",   "net",      "host",   "overhead_us",
                                              "kind", "source",  "note",     "n_points", "fit_median_rel_err",
                                              "fit_max_rel_err", "loo_median_rel_err", "anchor", "conditions",
                                              "additive", "memory_cached"};
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
      if (!(v > 0 && v <= kMaxShare))
        throw config_error(at + ": '" + std::string(k) + "' = " + std::to_string(v) + " is outside (0, 1e9]");
      dst = v;
    };
    share("compute", x.compute);
    share("memory", x.memory);
    share("net", x.net);
    share("host", x.host);
    share("memory_cached", x.memory_cached);
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

// A fitted form: t = c[0]·x0 + c[1]·x1 + c[2] + c[3]·x3 with x = (max, 0, 1, 0) (overlap),
// (compute, memory, 1, 0) (additive) or (compute, memory outside C, 1, memory inside C) (cached).
enum class Kind { Overlap, Additive, Cached };
struct Form {
  Kind kind = Kind::Overlap;
  double C = 0;  // cache capacity of a cached form
  double c[4] = {1, 0, 0, 0};
  double sse = std::numeric_limits<double>::infinity();
};

void features(const FitPoint& p, Kind k, double C, double x[4]) {
  x[0] = k == Kind::Overlap ? p.roofline_s() : p.compute_s;
  x[1] = k == Kind::Overlap ? 0.0 : k == Kind::Additive ? p.memory_s : p.memory_out_s(C);
  x[2] = 1.0;
  x[3] = k == Kind::Cached ? p.memory_in_s(C) : 0.0;
}

double predict(const Form& f, const FitPoint& p) {
  double x[4];
  features(p, f.kind, f.C, x);
  return f.c[0] * x[0] + f.c[1] * x[1] + f.c[2] * x[2] + f.c[3] * x[3];
}

// Non-negative weighted least squares over the form's columns (exhaustive active set: every subset
// solved unconstrained with Eigen, the best feasible one kept). Rows are scaled by 1/t.
Form fit_form(const std::vector<const FitPoint*>& pts, Kind kind, double C = 0) {
  Form best;
  best.kind = kind;
  best.C = C;
  const int n = int(pts.size());
  if (n == 0) return best;
  const std::vector<int> cols = kind == Kind::Overlap    ? std::vector<int>{0, 2}
                                : kind == Kind::Additive ? std::vector<int>{0, 1, 2}
                                                         : std::vector<int>{0, 1, 2, 3};
  const int nc = int(cols.size());
  for (int mask = 1; mask < (1 << nc); ++mask) {
    std::vector<int> use;
    for (int i = 0; i < nc; ++i)
      if (mask & (1 << i)) use.push_back(cols[i]);
    if (int(use.size()) > n) continue;
    Eigen::MatrixXd A(n, int(use.size()));
    Eigen::VectorXd y = Eigen::VectorXd::Ones(n);
    for (int r = 0; r < n; ++r) {
      double x[4];
      features(*pts[r], kind, C, x);
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
      best.c[0] = best.c[1] = best.c[2] = best.c[3] = 0;
      for (size_t c = 0; c < use.size(); ++c) best.c[use[c]] = s(int(c));
    }
  }
  return best;
}

// A form with more coefficients replaces a simpler one only when it removes at least a tenth of the
// weighted SSE (and more than rounding): when compute and memory grow together the additive
// coefficients are not identifiable, and the overlap form says the same with fewer numbers.
bool better(const Form& complex, const Form& simple, size_t n) {
  return complex.sse < 0.9 * simple.sse - 1e-12 * double(n);
}
Form fit_best(const std::vector<const FitPoint*>& pts, double C) {
  Form f = fit_form(pts, Kind::Overlap);
  const Form a = fit_form(pts, Kind::Additive);
  if (better(a, f, pts.size())) f = a;
  if (C > 0) {
    // The cached form only where the op has points on both sides of C (else β_c or β is unidentified).
    bool in = false, out = false;
    for (const FitPoint* p : pts) (p->bytes_mem > C ? out : in) = true;
    if (in && out) {
      const Form c = fit_form(pts, Kind::Cached, C);
      if (better(c, f, pts.size())) f = c;
    }
  }
  return f;
}

double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const size_t m = v.size() / 2;
  return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double rel(const Form& f, const FitPoint& p) { return std::abs(predict(f, p) - p.measured_s) / p.measured_s; }

// 1 / coefficient as an efficiency; a zero coefficient (that tier never mattered in the fit) becomes
// kMaxShare, which makes the tier's time negligible (a cap of 100 could leave a large catalogue
// count — e.g. moe_permute's compute — dominating a prediction the fit made without it).
double share(double coef) { return coef > 0 ? std::clamp(1.0 / coef, 1e-6, kMaxShare) : kMaxShare; }

}  // namespace

std::vector<double> cache_capacity_grid(double llc_bytes) {
  std::vector<double> g;
  const double top = std::max(llc_bytes, 64.0 * 1024 * 1024);
  for (double c = 256.0 * 1024; c <= top * 1.0001; c *= std::sqrt(2.0)) g.push_back(c);
  return g;
}

EfficiencyTable fit_efficiency(const std::vector<FitPoint>& points, const std::string& hardware,
                               const std::string& source, const std::vector<double>& cache_candidates) {
  EfficiencyTable t;
  t.hardware = hardware;
  t.source = source;
  t.label = "calibrated fit";
  auto usable = [](const FitPoint& p) {
    return p.measured_s > 0 && std::isfinite(p.measured_s) && p.compute_s >= 0 && p.memory_s >= 0;
  };
  std::map<std::string, std::set<std::string>> variants;  // per op, the kernel forms measured
  for (const FitPoint& p : points)
    if (usable(p)) variants[p.op].insert(p.variant);
  std::map<std::string, std::vector<const FitPoint*>> by_op;  // by entry key
  std::map<std::string, std::string> family;
  for (const FitPoint& p : points)
    if (usable(p)) {
      const std::string key = variants[p.op].size() > 1 && !p.variant.empty() ? p.op + "@" + p.variant : p.op;
      by_op[key].push_back(&p);
      family[key] = p.family;
    }
  // The cache capacity: the candidate with the lowest total weighted SSE over all ops (0: none).
  double best_C = 0, best_sse = 0;
  for (auto& [op, pts] : by_op) best_sse += fit_best(pts, 0).sse;
  const double no_cache_sse = best_sse;
  for (double C : cache_candidates) {
    double sse = 0;
    for (auto& [op, pts] : by_op) sse += fit_best(pts, C).sse;
    if (sse < best_sse - 1e-12) {
      best_sse = sse;
      best_C = C;
    }
  }
  if (best_C > 0) {
    t.cache_bytes = best_C;
    char b[200];
    std::snprintf(b, sizeof b, "effective cache capacity chosen by the fit from %zu candidates: %.3g MB (total weighted SSE %.3g, %.3g without a cache roof)",
                  cache_candidates.size(), best_C / 1e6, best_sse, no_cache_sse);
    t.cache_note = b;
  }
  for (auto& [op, pts] : by_op) {
    const Form f = fit_best(pts, best_C);
    Efficiency e;
    e.key = op;
    e.kind = "fit";
    e.source = source;
    e.additive = f.kind != Kind::Overlap;
    if (f.kind == Kind::Overlap) {
      e.compute = e.memory = share(f.c[0]);
    } else {
      e.compute = share(f.c[0]);
      e.memory = share(f.c[1]);
      if (f.kind == Kind::Cached) e.memory_cached = share(f.c[3]);
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
        loo.push_back(rel(fit_form(rest, f.kind, f.C), *pts[i]));
      }
    e.fit_median_rel_err = median(errs);
    e.fit_max_rel_err = *std::max_element(errs.begin(), errs.end());
    e.loo_median_rel_err = median(loo);
    char b[200];
    if (f.kind == Kind::Cached)
      std::snprintf(b, sizeof b, "t = compute/%.3g + memory[<= %.3g MB]/%.3g + memory[rest]/%.3g + %.3g us (additive, cache-aware)",
                    e.compute, f.C / 1e6, e.memory_cached, e.memory, f.c[2] * 1e6);
    else if (f.kind == Kind::Additive)
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
  const Efficiency* e = t.lookup(p.op, p.family, p.variant);
  double pred = p.roofline_s() + default_overhead_s;
  if (e) {
    const double C = std::isfinite(t.cache_bytes) ? t.cache_bytes : 0.0;
    const double c = p.compute_s / e->compute;
    const double m = std::isfinite(e->memory_cached) && C > 0
                         ? p.memory_in_s(C) / e->memory_cached + p.memory_out_s(C) / e->memory
                         : p.memory_s / e->memory;
    pred = (e->additive ? c + m : std::max(c, m)) + (std::isfinite(e->overhead_s) ? e->overhead_s : default_overhead_s);
  }
  return pred;
}

}  // namespace v4lab::sim
