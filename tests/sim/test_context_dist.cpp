// test_context_dist.cpp — context-length distributions (sim/context_dist.h): deterministic quantile
// buckets, a point mass equals the single-context prediction exactly, a wider spread at the same mean
// keeps the KV sum but raises p99 TTFT, bad specs refused naming the field; and `v4lab predict
// --context-dist` end to end (JSON and exit code 2).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "cli/cli_test_util.h"
#include "core/error.h"
#include "core/presets.h"
#include "sim/context_dist.h"

using namespace v4lab;
using namespace v4lab::sim;

TEST_CASE("context dist: quantile buckets are deterministic, normalised and keep the mean", "[sim]") {
  const ContextDist a = parse_context_dist("lognormal:mean=32768,sigma=1.0", "--context-dist");
  const ContextDist b = parse_context_dist("lognormal:mean=32768,sigma=1.0", "--context-dist");
  REQUIRE(a.context == b.context);
  REQUIRE(a.context.size() == 16);
  double ws = 0;
  for (double w : a.weight) ws += w;
  REQUIRE(ws == Approx(1.0).epsilon(1e-12));
  REQUIRE(a.mean() == Approx(32768).epsilon(1e-4));  // rescaled mid-quantiles, rounded to tokens
  REQUIRE(std::is_sorted(a.context.begin(), a.context.end()));
  REQUIRE(a.quantile(0.99) == a.context.back());
  const ContextDist u = parse_context_dist("uniform:1000,3000,buckets=4", "f");
  REQUIRE(u.context == std::vector<int64_t>{1250, 1750, 2250, 2750});
  REQUIRE(u.mean() == Approx(2000));
  // sigma 0 collapses to one bucket at the mean
  const ContextDist p = parse_context_dist("lognormal:mean=4096,sigma=0", "f");
  REQUIRE(p.context == std::vector<int64_t>{4096});
  REQUIRE(p.weight == std::vector<double>{1.0});
}

TEST_CASE("context dist: a csv histogram is read and normalised", "[sim]") {
  const std::string path = "test_context_dist_hist.csv";
  {
    std::ofstream f(path);
    f << "context,weight\n# comment\n1024,3\n65536,1\n";
  }
  const ContextDist d = parse_context_dist("csv:" + path, "--context-dist");
  REQUIRE(d.context == std::vector<int64_t>{1024, 65536});
  REQUIRE(d.weight[0] == Approx(0.75));
  REQUIRE(d.quantile(0.5) == 1024);
  REQUIRE(d.quantile(0.99) == 65536);
  std::remove(path.c_str());
}

TEST_CASE("context dist: bad specs are config errors naming the field and the accepted range", "[sim]") {
  for (const char* bad : {"lognormal:mean=0,sigma=1", "lognormal:mean=32768,sigma=-1", "lognormal:mean=1e9,sigma=1",
                          "uniform:5000,100", "uniform:0,100", "gamma:1,2", "32768", "lognormal:mean=x,sigma=1",
                          "lognormal:mean=4096,sigma=1,buckets=0", "point:nan", "csv:/nonexistent/hist.csv",
                          "lognormal:mean=4096,sigma=1,shape=2"}) {
    INFO(bad);
    try {
      parse_context_dist(bad, "--context-dist");
      FAIL("accepted");
    } catch (const Error& e) {
      REQUIRE(e.exit_code() == 2);
      const std::string msg = e.what();
      REQUIRE(msg.find("--context-dist") != std::string::npos);
      REQUIRE(msg.find(bad) != std::string::npos);
      REQUIRE(msg.find("accepted") != std::string::npos);
    }
  }
}

TEST_CASE("context dist: a point mass equals the single-context prediction exactly", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  for (const char* id : {"deepseek_v4_flash", "deepseek_v3"}) {
    const ModelPreset m = load_model_preset(id, data);
    Deployment dep;
    dep.gpus = dep.dp = dep.ep = 8;
    Workload wl;
    wl.batch = 64;
    wl.context = 12345;
    wl.chunk = 4096;
    const ServingMetrics one = predict_serving(m, hw, dep, wl);
    const DistServingMetrics d = predict_serving_dist(m, hw, dep, wl, parse_context_dist("point:12345", "f"));
    INFO(id);
    REQUIRE(d.mixed.step.step_s == one.step.step_s);
    REQUIRE(d.mixed.decode.step_s == one.decode.step_s);
    REQUIRE(d.mixed.ttft_s == one.ttft_s);
    REQUIRE(d.ttft_p50_s == one.ttft_s);
    REQUIRE(d.ttft_p99_s == one.ttft_s);
    REQUIRE(d.mixed.tpot_s == one.tpot_s);
    REQUIRE(d.mixed.decode_tokens_per_s_per_gpu == one.decode_tokens_per_s_per_gpu);
    REQUIRE(d.mixed.prefill_tokens_per_s_per_gpu == one.prefill_tokens_per_s_per_gpu);
    REQUIRE(d.mixed.usd_per_m_output_tokens == one.usd_per_m_output_tokens);
    REQUIRE(d.mixed.memory.kv_bytes == one.memory.kv_bytes);
    REQUIRE(d.mixed.memory.total_bytes == one.memory.total_bytes);
    REQUIRE(d.mixed.memory.max_batch == one.memory.max_batch);
  }
}

TEST_CASE("context dist: same mean, wider spread -> KV sum unchanged, p99 TTFT larger", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset m = load_model_preset("deepseek_v4_flash", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 32;
  wl.chunk = 8192;
  const ContextDist narrow = parse_context_dist("uniform:30000,34000,buckets=8", "f");
  const ContextDist wide = parse_context_dist("uniform:2000,62000,buckets=8", "f");
  REQUIRE(narrow.mean() == Approx(wide.mean()));
  const DistServingMetrics a = predict_serving_dist(m, hw, dep, wl, narrow);
  const DistServingMetrics b = predict_serving_dist(m, hw, dep, wl, wide);
  // KV bytes are affine in the context up to the compressed entries' floor(T / ratio): ≤ 1 entry per
  // compressed layer per sequence.
  REQUIRE(b.mixed.memory.kv_bytes == Approx(a.mixed.memory.kv_bytes).epsilon(1e-3));
  REQUIRE(b.ttft_p99_s > a.ttft_p99_s * 1.2);
  REQUIRE(b.ttft_p50_s <= b.ttft_p99_s);
  REQUIRE(a.ttft_mean_s > 0);
  REQUIRE(std::isfinite(b.mixed.decode.step_s));
}

TEST_CASE("cli: predict --context-dist reports mean/p50/p99 TTFT, a bad spec exits 2", "[cli]") {
  const std::string db = fresh_dir("ctxdist") + "/v.db";
  CliResult r = ::cli({"--json", "--db", db, "predict", "--model", "deepseek_v4_flash", "--hw", "h800_sxm",
                           "--batch", "16", "--context-dist", "lognormal:mean=16384,sigma=1.0,buckets=8"});
  REQUIRE(r.code == 0);
  const nlohmann::json j = nlohmann::json::parse(r.out);
  REQUIRE(j["context_dist"]["buckets"].size() >= 2);
  REQUIRE(j["context_dist"]["ttft_p99_s"].get<double>() >= j["context_dist"]["ttft_p50_s"].get<double>());
  REQUIRE(j["metrics"]["ttft_p99_s"].get<double>() > 0);
  REQUIRE(j["config"]["context_dist"] == "lognormal:mean=16384,sigma=1.0,buckets=8");
  CliResult bad = ::cli({"--db", db, "predict", "--model", "deepseek_v4_flash", "--context-dist", "lognormal:mean=0,sigma=1"});
  REQUIRE(bad.code == 2);
  REQUIRE(bad.err.find("--context-dist") != std::string::npos);
}
