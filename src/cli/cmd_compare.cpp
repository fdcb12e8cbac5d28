// cmd_compare.cpp — `v4lab compare A B [--json]`: side-by-side table of every numeric metric of two
// stored runs, or of two study/sweep points (RUN:POINT), with delta = B − A and ratio = B / A.
// Runs: measurements pair by (op, backend, params), predictions by (op, hardware, params), study points
// by (study, point); rows present on one side only are listed. Read-only; every row keeps its label
// (measured / prediction / calibrated model) so quality numbers never lose theirs.
#include <cmath>
#include <map>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "store/export.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

using nlohmann::json;

struct Ref {
  std::string text;
  int64_t run = 0;
  bool has_point = false;
  std::string point;  // 1-based index or key=value[,key=value]
};

Ref parse_ref(store::Store& db, const std::string& s) {
  Ref r;
  r.text = s;
  const size_t colon = s.find(':');
  r.run = store::resolve_run_ref(db, s.substr(0, colon));
  if (colon != std::string::npos) {
    r.has_point = true;
    r.point = s.substr(colon + 1);
    if (r.point.empty()) throw usage_error("'" + s + "': empty POINT after ':' (expected an index or key=value)");
  }
  return r;
}

// Numbers (and booleans as 0/1) of a JSON object, flattened with dotted keys; arrays are skipped.
void flatten(const json& j, const std::string& prefix, std::map<std::string, double>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else if (j.is_number()) {
    out[prefix] = j.get<double>();
  } else if (j.is_boolean()) {
    out[prefix] = j.get<bool>() ? 1 : 0;
  }
}

struct Entry {
  std::string kind, key, label;
  std::map<std::string, double> metrics;
};

void put(std::map<std::string, double>& m, const char* k, double v) {
  if (!std::isnan(v)) m[k] = v;
}

std::vector<Entry> run_entries(store::Store& db, int64_t run) {
  db.get_run(run);  // config_error when there is no such run
  std::vector<Entry> out;
  std::map<std::string, size_t> at;  // last row of a key wins (as in the report's join)
  auto add = [&](Entry e) {
    const std::string k = e.kind + "\n" + e.key;
    if (at.count(k))
      out[at[k]] = std::move(e);
    else
      at[k] = out.size(), out.push_back(std::move(e));
  };
  const store::RunRow row = db.get_run(run);
  for (const auto& m : db.measurements(run)) {
    Entry e{"measurement",
            m.op + " · " + m.backend + " · " + store::canonical_params(m.params_json),
            "measured on " + row.host + " (run " + std::to_string(run) + ", " + row.info.kind + ")",
            {}};
    put(e.metrics, "median_s", m.median_s), put(e.metrics, "p10_s", m.p10_s), put(e.metrics, "p90_s", m.p90_s);
    put(e.metrics, "min_s", m.min_s), put(e.metrics, "gflops_per_s", m.gflops_per_s);
    put(e.metrics, "gbytes_per_s", m.gbytes_per_s), put(e.metrics, "flops", m.flops), put(e.metrics, "bytes", m.bytes);
    add(std::move(e));
  }
  for (const auto& p : db.predictions(run)) {
    Entry e{"prediction", p.op + " · " + p.hardware + " · " + store::canonical_params(p.params_json), p.label, {}};
    put(e.metrics, "total_s", p.total_s), put(e.metrics, "compute_s", p.compute_s);
    put(e.metrics, "memory_s", p.memory_s), put(e.metrics, "host_s", p.host_s), put(e.metrics, "comm_s", p.comm_s);
    put(e.metrics, "overhead_s", p.overhead_s), put(e.metrics, "flops", p.flops), put(e.metrics, "bytes", p.bytes);
    add(std::move(e));
  }
  for (const auto& s : db.study_points(run)) {
    Entry e{"study_point", s.study + " · " + store::canonical_params(s.point_json), s.label, {}};
    flatten(json::parse(s.metrics_json, nullptr, false), "", e.metrics);
    add(std::move(e));
  }
  return out;
}

bool point_matches(const json& point, const std::string& spec) {
  size_t start = 0;
  while (start <= spec.size()) {
    size_t e = spec.find(',', start);
    if (e == std::string::npos) e = spec.size();
    const std::string kv = spec.substr(start, e - start);
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) return false;
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (!point.is_object() || !point.contains(k)) return false;
    const json& pv = point[k];
    if (pv.is_number()) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || std::fabs(d - pv.get<double>()) > 1e-9 * std::max(1.0, std::fabs(d)))
        return false;
    } else if (pv.is_string()) {
      if (pv.get<std::string>() != v) return false;
    } else if (pv.dump() != v) {
      return false;
    }
    start = e + 1;
  }
  return true;
}

Entry point_entry(store::Store& db, const Ref& r) {
  const auto pts = db.study_points(r.run);
  if (pts.empty()) throw config_error("run " + std::to_string(r.run) + " has no study points", r.text);
  int64_t idx = -1;
  if (r.point.find('=') == std::string::npos) {
    char* end = nullptr;
    const long long n = std::strtoll(r.point.c_str(), &end, 10);
    if (*end != '\0' || n < 1 || n > int64_t(pts.size()))
      throw config_error(
          "POINT '" + r.point + "' is not an index in [1, " + std::to_string(pts.size()) + "] or key=value[,key=value]",
          r.text);
    idx = n - 1;
  } else {
    std::vector<size_t> hits;
    for (size_t i = 0; i < pts.size(); ++i)
      if (point_matches(json::parse(pts[i].point_json, nullptr, false), r.point)) hits.push_back(i);
    if (hits.size() != 1)
      throw config_error("POINT '" + r.point + "' matches " + std::to_string(hits.size()) + " of the " +
                             std::to_string(pts.size()) + " study points of run " + std::to_string(r.run) +
                             " (need exactly one; e.g. budget=6e20,rho=0.8)",
                         r.text);
    idx = int64_t(hits[0]);
  }
  const auto& s = pts[size_t(idx)];
  Entry e{"study_point", s.study + " · " + store::canonical_params(s.point_json), s.label, {}};
  flatten(json::parse(s.metrics_json, nullptr, false), "", e.metrics);
  return e;
}

std::string num(double v) {
  if (std::isnan(v)) return "-";
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

int run_compare(Context& ctx, const std::string& a_text, const std::string& b_text) {
  store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
  const Ref a = parse_ref(db, a_text), b = parse_ref(db, b_text);
  if (a.has_point != b.has_point)
    throw usage_error("compare two runs (RUN RUN) or two points (RUN:POINT RUN:POINT), not one of each");
  std::vector<Entry> ea, eb;
  if (a.has_point) {
    ea = {point_entry(db, a)}, eb = {point_entry(db, b)};
    ea[0].kind = eb[0].kind = "point";  // two points pair with each other whatever their coordinates
    ea[0].key = eb[0].key = ea[0].key == eb[0].key ? ea[0].key : ea[0].key + " vs " + eb[0].key;
  } else {
    ea = run_entries(db, a.run), eb = run_entries(db, b.run);
  }
  std::map<std::string, const Entry*> bmap;
  for (auto& e : eb) bmap[e.kind + "\n" + e.key] = &e;
  json rows = json::array(), only_a = json::array(), only_b = json::array();
  std::map<std::string, bool> paired;
  for (auto& e : ea) {
    auto it = bmap.find(e.kind + "\n" + e.key);
    if (it == bmap.end()) {
      only_a.push_back({{"kind", e.kind}, {"key", e.key}, {"label", e.label}});
      continue;
    }
    paired[it->first] = true;
    const Entry& f = *it->second;
    std::map<std::string, bool> seen;
    for (auto& [m, va] : e.metrics) {
      seen[m] = true;
      auto jt = f.metrics.find(m);
      const double vb = jt == f.metrics.end() ? NAN : jt->second;
      json r = {{"kind", e.kind}, {"key", e.key}, {"metric", m}, {"a", va}, {"label_a", e.label}, {"label_b", f.label}};
      r["b"] = std::isnan(vb) ? json(nullptr) : json(vb);
      r["delta"] = std::isnan(vb) ? json(nullptr) : json(vb - va);
      r["ratio"] = std::isnan(vb) || va == 0 ? json(nullptr) : json(vb / va);
      rows.push_back(r);
    }
    for (auto& [m, vb] : f.metrics)
      if (!seen.count(m))
        rows.push_back({{"kind", e.kind},
                        {"key", e.key},
                        {"metric", m},
                        {"a", nullptr},
                        {"b", vb},
                        {"delta", nullptr},
                        {"ratio", nullptr},
                        {"label_a", e.label},
                        {"label_b", f.label}});
  }
  for (auto& e : eb)
    if (!paired.count(e.kind + "\n" + e.key)) only_b.push_back({{"kind", e.kind}, {"key", e.key}, {"label", e.label}});
  json out = {{"command", "compare"},
              {"a", {{"ref", a.text}, {"run_id", a.run}}},
              {"b", {{"ref", b.text}, {"run_id", b.run}}},
              {"rows", rows},
              {"only_a", only_a},
              {"only_b", only_b}};
  std::ostream& os = *ctx.out;
  if (ctx.json) {
    os << out.dump(2) << "\n";
    return 0;
  }
  os << "compare A = " << a.text << " (run " << a.run << ")  vs  B = " << b.text << " (run " << b.run
     << "): delta = B - A, ratio = B / A\n";
  std::string last_key;
  std::vector<std::vector<std::string>> t;
  for (const json& r : rows) {
    const std::string key = r["kind"].get<std::string>() + " " + r["key"].get<std::string>();
    auto v = [](const json& x) { return x.is_null() ? std::string("-") : num(x.get<double>()); };
    std::string label = r["label_a"].get<std::string>();
    if (r["label_b"] != r["label_a"]) label += " | " + r["label_b"].get<std::string>();
    t.push_back({key == last_key ? "" : key, r["metric"], v(r["a"]), v(r["b"]), v(r["delta"]),
                 r["ratio"].is_null() ? "-" : num(r["ratio"].get<double>()) + "x", key == last_key ? "" : label});
    last_key = key;
  }
  if (t.empty())
    os << "  no paired rows\n";
  else
    print_table(os, {"row", "metric", "A", "B", "delta", "ratio", "label"}, t);
  for (const json& e : only_a)
    os << "  only in A: " << e["kind"].get<std::string>() << " " << e["key"].get<std::string>() << "\n";
  for (const json& e : only_b)
    os << "  only in B: " << e["kind"].get<std::string>() << " " << e["key"].get<std::string>() << "\n";
  return 0;
}

struct CompareArgs {
  std::string a, b;
};

}  // namespace

void add_compare_command(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<CompareArgs>();
  auto* cmd = app.add_subcommand("compare",
                                 "Side-by-side metrics of two runs (RUN RUN) or two study/sweep points "
                                 "(RUN:POINT RUN:POINT) with delta and ratio");
  cmd->add_option("A", args->a,
                  "Run id / 'latest', optionally :POINT (1-based index or key=value[,key=value], "
                  "e.g. 12:budget=6e20,rho=0.8)")
      ->required();
  cmd->add_option("B", args->b, "Second run or point, same syntax")->required();
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return run_compare(ctx, args->a, args->b); }; });
}

}  // namespace v4lab::cli
