// store_fixture.h — helpers for store and report tests: a self-deleting temp folder and a synthetic run
// with measured rows, local and GPU predictions, a predicted-only op and a study point.
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

#include "store/store.h"

namespace v4lab::test {

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("v4lab_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline store::Measurement make_measurement(const std::string& op, const std::string& backend, const std::string& params,
                                           double median_s) {
  store::Measurement m;
  m.op = op;
  m.backend = backend;
  m.params_json = params;
  m.median_s = median_s;
  m.p10_s = median_s * 0.9;
  m.p90_s = median_s * 1.2;
  m.min_s = median_s * 0.85;
  m.reps = 25;
  m.flops = 2.0e9;
  m.bytes = 4.0e8;
  m.gflops_per_s = m.flops / median_s / 1e9;
  m.gbytes_per_s = m.bytes / median_s / 1e9;
  m.verified = true;
  m.verify_json = R"({"max_abs":1e-6,"nmse":1e-12})";
  m.thread_count = 2;
  return m;
}

inline store::Prediction make_prediction(const std::string& op, const std::string& hardware, const std::string& params,
                                         double total_s, const std::string& bound) {
  store::Prediction p;
  p.op = op;
  p.hardware = hardware;
  p.params_json = params;
  p.compute_s = bound == "compute" ? total_s : total_s / 3;
  p.memory_s = bound == "memory" ? total_s : total_s / 4;
  p.total_s = total_s;
  p.bound = bound;
  p.flops = 2.0e9;
  p.bytes = 4.0e8;
  p.model = "roofline-v1";
  return p;
}

// Two measured ops (ref + cpu for mhc_pre, cpu for moe_gate_topk), each with a local and an H100
// prediction, plus an op only predicted (attn_csa_indexer on H100 and B200), plus one study point.
inline store::RunRecord synthetic_run(const std::string& name = "quickstart") {
  store::RunRecord r;
  r.info.kind = "run";
  r.info.name = name;
  r.info.scenario_path = "scenarios/quickstart.toml";
  r.info.backends = "ref,cpu";
  r.info.config_json = R"({"model":"deepseek-v4-flash","hardware":"local","workload":{"n_tokens":128}})";
  r.info.notes = "synthetic";
  r.info.seed = 42;
  const std::string p1 = R"({"n_tokens":128,"d_model":4096,"hc":4})";
  const std::string p2 = R"({"n_tokens":128,"n_experts":256,"top_k":8})";
  const std::string p3 = R"({"n_tokens":1,"ctx":65536})";
  r.measurements.push_back(make_measurement("mhc_pre", "ref", p1, 4.0e-3));
  r.measurements.push_back(make_measurement("mhc_pre", "cpu", p1, 1.0e-3));
  r.measurements.push_back(make_measurement("moe_gate_topk", "cpu", p2, 2.5e-5));
  // Same params written with another key order and a float: must still match the measurements.
  r.predictions.push_back(
      make_prediction("mhc_pre", "local", R"({"hc":4,"d_model":4096.0,"n_tokens":128})", 0.8e-3, "memory"));
  r.predictions.push_back(make_prediction("mhc_pre", "H100", p1, 3.0e-6, "memory"));
  r.predictions.push_back(make_prediction("moe_gate_topk", "local", p2, 3.0e-5, "compute"));
  r.predictions.push_back(make_prediction("moe_gate_topk", "H100", p2, 2.0e-7, "compute"));
  r.predictions.push_back(make_prediction("attn_csa_indexer", "H100", p3, 5.0e-5, "memory"));
  r.predictions.push_back(make_prediction("attn_csa_indexer", "B200", p3, 3.0e-5, "memory"));
  store::StudyPoint s;
  s.study = "topk";
  s.point_json = R"({"k":2048})";
  s.metrics_json = R"({"recall":0.97})";
  s.label = "modelled";
  r.study_points.push_back(s);
  return r;
}

}  // namespace v4lab::test
