// export.cpp — measured-vs-predicted join, JSON export and RFC 4180 CSV export of one run (export.h).
#include "store/export.h"

#include <charconv>
#include <cmath>
#include <map>
#include <ostream>

namespace v4lab::store {

using nlohmann::json;

namespace {

// Integral floats become integers so {"n": 4096} and {"n": 4096.0} compare equal.
void canonicalize(json& j) {
  if (j.is_object() || j.is_array()) {
    for (auto& v : j) canonicalize(v);
  } else if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {  // 2^53: exact
      j = static_cast<int64_t>(d);
    }
  }
}

json number_or_null(double d) { return std::isfinite(d) ? json(d) : json(nullptr); }

json text_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

// Parsed JSON column; an unparsable text is kept as a string rather than lost.
json parsed_or_null(const std::string& s) {
  if (s.empty()) return nullptr;
  json j = json::parse(s, nullptr, false);
  return j.is_discarded() ? json(s) : j;
}

json verified_json(const std::optional<bool>& v) { return v ? json(*v) : json(nullptr); }

json to_json(const Measurement& m) {
  return {{"id", m.id},
          {"op", m.op},
          {"backend", m.backend},
          {"params", parsed_or_null(m.params_json)},
          {"median_s", number_or_null(m.median_s)},
          {"p10_s", number_or_null(m.p10_s)},
          {"p90_s", number_or_null(m.p90_s)},
          {"min_s", number_or_null(m.min_s)},
          {"reps", m.reps},
          {"flops", number_or_null(m.flops)},
          {"bytes", number_or_null(m.bytes)},
          {"gflops_per_s", number_or_null(m.gflops_per_s)},
          {"gbytes_per_s", number_or_null(m.gbytes_per_s)},
          {"verified", verified_json(m.verified)},
          {"verify", parsed_or_null(m.verify_json)},
          {"counters", parsed_or_null(m.counters_json)},
          {"thread_count", m.thread_count > 0 ? json(m.thread_count) : json(nullptr)}};
}

json to_json(const Prediction& p) {
  return {{"id", p.id},
          {"op", p.op},
          {"backend", text_or_null(p.backend)},
          {"hardware", p.hardware},
          {"params", parsed_or_null(p.params_json)},
          {"compute_s", number_or_null(p.compute_s)},
          {"memory_s", number_or_null(p.memory_s)},
          {"host_s", number_or_null(p.host_s)},
          {"comm_s", number_or_null(p.comm_s)},
          {"overhead_s", number_or_null(p.overhead_s)},
          {"total_s", number_or_null(p.total_s)},
          {"bound", text_or_null(p.bound)},
          {"flops", number_or_null(p.flops)},
          {"bytes", number_or_null(p.bytes)},
          {"model", text_or_null(p.model)},
          {"label", p.label}};
}

json to_json(const StudyPoint& s) {
  return {{"id", s.id},
          {"study", s.study},
          {"point", parsed_or_null(s.point_json)},
          {"metrics", parsed_or_null(s.metrics_json)},
          {"label", text_or_null(s.label)}};
}

// Shortest decimal text that reads back to the same double; "" for unknown.
std::string csv_number(double d) {
  if (!std::isfinite(d)) return {};
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, p);
}

std::string verified_text(const std::optional<bool>& v) { return v ? (*v ? "passed" : "failed") : ""; }

}  // namespace

bool is_local(const Prediction& p) { return p.hardware == "local" || p.label == "local"; }

std::string canonical_params(const std::string& params_json) {
  json j = json::parse(params_json, nullptr, false);
  if (j.is_discarded()) return params_json;
  canonicalize(j);
  return j.dump();  // nlohmann's default object type is std::map: keys come out sorted
}

Comparison compare_run(const std::vector<Measurement>& measurements, const std::vector<Prediction>& predictions) {
  Comparison c;
  std::map<std::string, size_t> hw_index;
  // Local hardware first (its column carries the measured/predicted ratio), then first appearance.
  for (int pass = 0; pass < 2; ++pass) {
    for (const Prediction& p : predictions) {
      if (is_local(p) != (pass == 0) || hw_index.count(p.hardware)) continue;
      hw_index[p.hardware] = c.hardware.size();
      c.hardware.push_back(p.hardware);
    }
  }
  const size_t n_hw = c.hardware.size();

  std::map<std::string, std::vector<size_t>> by_key;  // op + params -> measured rows
  for (const Measurement& m : measurements) {
    ComparisonRow row;
    row.measured = m;
    row.op = m.op;
    row.backend = m.backend;
    row.params_json = canonical_params(m.params_json);
    row.predicted.resize(n_hw);
    by_key[row.op + '\n' + row.params_json].push_back(c.rows.size());
    c.rows.push_back(std::move(row));
  }

  std::map<std::string, size_t> predicted_only;  // op + params + backend -> row
  for (const Prediction& p : predictions) {
    const size_t h = hw_index.at(p.hardware);
    const std::string params = canonical_params(p.params_json);
    const std::string key = p.op + '\n' + params;
    bool matched = false;
    if (auto it = by_key.find(key); it != by_key.end()) {
      for (size_t i : it->second) {
        if (!p.backend.empty() && p.backend != c.rows[i].backend) continue;
        c.rows[i].predicted[h] = p;
        matched = true;
      }
    }
    if (matched) continue;
    auto [it, fresh] = predicted_only.try_emplace(key + '\n' + p.backend, c.rows.size());
    if (fresh) {
      ComparisonRow row;
      row.op = p.op;
      row.backend = p.backend;
      row.params_json = params;
      row.predicted.resize(n_hw);
      c.rows.push_back(std::move(row));
    }
    c.rows[it->second].predicted[h] = p;
  }
  return c;
}

Comparison compare_run(Store& store, int64_t run_id) {
  return compare_run(store.measurements(run_id), store.predictions(run_id));
}

json run_to_json(Store& store, int64_t run_id) {
  const RunRow r = store.get_run(run_id);
  json j;
  j["schema_version"] = store.schema_version();
  j["run"] = {{"id", r.id},
              {"kind", r.info.kind},
              {"name", r.info.name},
              {"scenario_path", text_or_null(r.info.scenario_path)},
              {"status", r.status},
              {"started_at", r.started_at},
              {"finished_at", text_or_null(r.finished_at)},
              {"git_commit", r.git_commit},
              {"git_dirty", r.git_dirty},
              {"build_type", r.build_type},
              {"compiler", r.compiler},
              {"cxx_flags", r.cxx_flags},
              {"host", r.host},
              {"backends", r.info.backends},
              {"seed", r.info.seed},
              {"v4lab_version", r.v4lab_version},
              {"notes", text_or_null(r.info.notes)}};
  j["config"] = parsed_or_null(r.info.config_json);
  j["measurements"] = json::array();
  for (const Measurement& m : store.measurements(run_id)) j["measurements"].push_back(to_json(m));
  j["predictions"] = json::array();
  for (const Prediction& p : store.predictions(run_id)) j["predictions"].push_back(to_json(p));
  j["study_points"] = json::array();
  for (const StudyPoint& s : store.study_points(run_id)) j["study_points"].push_back(to_json(s));
  return j;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"') out += '"';
    out += ch;
  }
  out += '"';
  return out;
}

void export_run_csv(Store& store, int64_t run_id, std::ostream& os) {
  store.get_run(run_id);  // "no run N" before writing a header
  const Comparison c = compare_run(store, run_id);
  std::vector<bool> local(c.hardware.size(), false);
  for (const ComparisonRow& row : c.rows) {
    for (size_t h = 0; h < row.predicted.size(); ++h) {
      if (row.predicted[h] && is_local(*row.predicted[h])) local[h] = true;
    }
  }

  // RFC 4180: CRLF line breaks, header line first.
  const char* eol = "\r\n";
  std::vector<std::string> header = {"run_id", "row_kind", "op",   "backend",      "params",       "median_s", "p10_s",
                                     "p90_s",  "min_s",    "reps", "gflops_per_s", "gbytes_per_s", "verified"};
  for (size_t h = 0; h < c.hardware.size(); ++h) {
    header.push_back("pred_" + c.hardware[h] + "_total_s");
    header.push_back("pred_" + c.hardware[h] + "_bound");
    if (local[h]) header.push_back("measured_over_pred_" + c.hardware[h]);
  }
  for (size_t i = 0; i < header.size(); ++i) os << (i ? "," : "") << csv_field(header[i]);
  os << eol;

  const std::string id = std::to_string(run_id);
  for (const ComparisonRow& row : c.rows) {
    std::vector<std::string> f = {id, row.measured ? "measured" : "prediction", row.op, row.backend, row.params_json};
    if (row.measured) {
      const Measurement& m = *row.measured;
      for (double d : {m.median_s, m.p10_s, m.p90_s, m.min_s}) f.push_back(csv_number(d));
      f.push_back(std::to_string(m.reps));
      f.push_back(csv_number(m.gflops_per_s));
      f.push_back(csv_number(m.gbytes_per_s));
      f.push_back(verified_text(m.verified));
    } else {
      f.resize(f.size() + 8);
    }
    for (size_t h = 0; h < c.hardware.size(); ++h) {
      const auto& p = row.predicted[h];
      f.push_back(p ? csv_number(p->total_s) : "");
      f.push_back(p ? p->bound : "");
      if (local[h]) {
        const bool ratio = p && row.measured && p->total_s > 0;
        f.push_back(ratio ? csv_number(row.measured->median_s / p->total_s) : "");
      }
    }
    for (size_t i = 0; i < f.size(); ++i) os << (i ? "," : "") << csv_field(f[i]);
    os << eol;
  }
}

}  // namespace v4lab::store
