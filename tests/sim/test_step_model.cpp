// test_step_model.cpp — step model and memory model: one-node roofline cases through the scheduler,
// monotonicity over seeded random configurations (more bandwidth / FLOP/s never slower), parameter
// counts vs the presets, a configuration that does not fit, MTP gain; a hidden [.bench] timing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <random>

#include "core/error.h"
#include "core/presets.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

TEST_CASE("step model: a pure-bandwidth node takes bytes/bandwidth, a pure-compute node FLOPs/peak", "[sim]") {
  StepGraph g;
  OpNode n;
  n.work.bytes_mem = 3.35e9;  // 1 ms at 3.35 TB/s
  boost::add_vertex(n, g.dag);
  g.order = {0};
  g.pred_begin = {0, 0};
  g.stream = {0};
  g.works = {n.work};
  HardwareModel hw = hardware_model(load_hardware_preset("h800_sxm", default_data_dir()));
  hw.overhead_s = 0;
  Scheduler s;
  ScheduleResult r;
  s.run(g, hw, r);
  REQUIRE(r.step_s == Approx(1e-3));
  g.works[0] = {};
  g.works[0].flops = 1979e12 * 2e-3;  // 2 ms at the FP8 dense peak
  g.works[0].precision = Precision::FP8;
  s.run(g, hw, r);
  REQUIRE(r.step_s == Approx(2e-3));
}

TEST_CASE("step model: more bandwidth or more FLOP/s never predicts a slower step (seeded random configs)", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hwp = load_hardware_preset("h800_sxm", data);
  const char* models[] = {"deepseek_v4_flash", "deepseek_v4_pro", "deepseek_v3", "deepseek_v32"};
  std::mt19937 rng(1234);
  for (int i = 0; i < 12; ++i) {
    const ModelPreset m = load_model_preset(models[rng() % 4], data);
    Deployment dep;
    dep.gpus = dep.dp = dep.ep = 1 << (rng() % 4);
    dep.overlap = rng() % 2;
    Workload wl;
    wl.phase = rng() % 2 ? Phase::Decode : Phase::Prefill;
    wl.batch = 1 + rng() % 128;
    wl.context = 1 + rng() % 65536;
    wl.chunk = 1 + rng() % 4096;
    const StepGraph g = build_step_graph(m, dep, wl);
    const HardwareModel base = deployment_hardware(hwp, dep);
    Scheduler s;
    ScheduleResult r0, r1;
    s.run(g, base, r0);
    HardwareModel faster = base;
    const double f = 1.0 + double(rng() % 100) / 50.0;
    switch (i % 3) {
      case 0: faster.mem_bw.value *= f; break;
      case 1: for (auto& [p, rate] : faster.peak_flops_per_s) rate.value *= f; break;
      default: faster.net_bw.value *= f; break;
    }
    s.run(g, faster, r1);
    INFO(m.id << " config " << i);
    REQUIRE(r1.step_s <= r0.step_s * (1 + 1e-12));
  }
}

TEST_CASE("memory: counted parameters match the presets, experts shard by EP", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  // Counted: attention projections (+ V4 compressors, indexers), mHC fn, router, routed + shared
  // experts, dense FFNs, MTP block (+ eh_proj), untied embedding + head. Not counted: norms, biases,
  // ape, attn_sink, tid2eid (< 0.1%). V3's 671B excludes its 14B MTP weights.
  struct Case { const char* id; double published_b; };
  for (Case c : {Case{"deepseek_v4_flash", 284}, Case{"deepseek_v4_pro", 1600}, Case{"deepseek_v3", 671 + 14}}) {
    const ModelPreset m = load_model_preset(c.id, data);
    Deployment dep;
    Workload wl;
    const MemoryFootprint one = memory_footprint(m, hw, dep, wl);
    INFO(c.id << " counted " << one.params_total / 1e9 << "B");
    REQUIRE(one.params_total / 1e9 == Approx(c.published_b).epsilon(0.03));
    dep.gpus = dep.dp = dep.ep = 8;
    const MemoryFootprint eight = memory_footprint(m, hw, dep, wl);
    REQUIRE(eight.weights_bytes_by_part.at("experts") * 8 == Approx(one.weights_bytes_by_part.at("experts")));
    REQUIRE(eight.weights_bytes < one.weights_bytes);
  }
}

TEST_CASE("memory: V4 KV per token and a configuration that does not fit", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset pro = load_model_preset("deepseek_v4_pro", data);
  Deployment dep;
  dep.mtp = false;
  Workload a, b;
  a.context = 128 * 1024 - 1;  // T = 128K with the decode token
  b.context = 2 * 128 * 1024 - 1;
  const double per_token = (memory_footprint(pro, hw, dep, b).kv_bytes_per_seq -
                            memory_footprint(pro, hw, dep, a).kv_bytes_per_seq) / (128 * 1024);
  REQUIRE(per_token == Approx(5031.44).epsilon(1e-4));  // attention.md §4.5
  dep.mtp = true;
  dep.gpus = dep.dp = dep.ep = 8;  // 1.6T at FP4 over 8 x 80 GB does not fit
  a.batch = 64;
  a.context = 32768;
  const MemoryFootprint f = memory_footprint(pro, hw, dep, a);
  REQUIRE_FALSE(f.fits);
  REQUIRE(f.shortfall_bytes == Approx(f.total_bytes - f.capacity_bytes));
  REQUIRE(f.max_batch == 0);
  dep.gpus = dep.dp = dep.ep = 32;
  const MemoryFootprint g = memory_footprint(pro, hw, dep, a);
  REQUIRE(g.fits);
  REQUIRE(g.max_batch >= 64);
}

TEST_CASE("serving: MTP divides TPOT by 1 + acceptance of a (slightly slower) 2-query step", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset m = load_model_preset("deepseek_v4_flash", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 64;
  wl.context = 8192;
  wl.chunk = 4096;
  const ServingMetrics plain = predict_serving(m, hw, dep, wl);
  dep.mtp_accept = 0.8;
  const ServingMetrics mtp = predict_serving(m, hw, dep, wl);
  REQUIRE(mtp.tpot_s == Approx(mtp.decode.step_s / 1.8));
  REQUIRE(mtp.decode.step_s >= plain.decode.step_s);
  REQUIRE(plain.ttft_s > 0);
  REQUIRE(plain.usd_per_m_output_tokens > 0);
  REQUIRE(plain.price_usd_per_gpu_hour == 2.0);
}

TEST_CASE("bench: V4-Pro decode step schedule (61 layers + MTP)", "[.bench]") {
  const std::string data = default_data_dir();
  const ModelPreset m = load_model_preset("deepseek_v4_pro", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 64;
  wl.context = 32768;
  StepPredictor p(m, load_hardware_preset("h800_sxm", data), dep, wl);
  StepCost c;
  std::vector<double> us(2000);
  p.run(c);
  for (auto& u : us) {
    const auto t0 = std::chrono::steady_clock::now();
    p.run(c);
    u = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  std::sort(us.begin(), us.end());
  WARN("V4-Pro decode step schedule: median " << us[us.size() / 2] << " us over " << us.size() << " runs, "
                                               << p.graph().works.size() << " nodes");
}

TEST_CASE("memory: KV bytes per context token of every preset agree with attention.md §4.5", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  // Main layers only (MTP off); the slope between two contexts removes the ring and compressor state.
  // V3: 61 MLA layers x 656 B; V3.2 adds the 132 B indexer key; Engram models (MLA, V3 geometry
  // assumed): 30 x 656; the V4.1-like preset reuses V4-Flash's CSA/HCA rule over 41 layers.
  const std::vector<std::pair<std::string, double>> expect = {
      {"deepseek_v4_flash", 3514.25}, {"deepseek_v4_pro", 5031.44}, {"deepseek_v32", 48068.0},
      {"deepseek_v3", 61 * 656.0},    {"engram_27b", 30 * 656.0},   {"engram_40b", 30 * 656.0},
      {"v41_flash_like", 19 * 163.0 + 19 * 4.5625}};
  for (auto& [id, per_token] : expect) {
    INFO(id);
    const ModelPreset m = load_model_preset(id, data);
    Deployment dep;
    dep.mtp = false;
    Workload a, b;
    a.context = 256 * 1024 - 1;
    b.context = 2 * 256 * 1024 - 1;
    const double got = (memory_footprint(m, hw, dep, b).kv_bytes_per_seq - memory_footprint(m, hw, dep, a).kv_bytes_per_seq) /
                       (256 * 1024);
    REQUIRE(got == Approx(per_token).epsilon(1e-4));
  }
}

TEST_CASE("serving: a prefix-cache hit rate shortens TTFT by the chunks it skips, nothing else", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 64;
  wl.context = 16384;
  wl.chunk = 4096;
  const ServingMetrics cold = predict_serving(flash, hw, dep, wl);
  wl.kv_hit_rate = 0.5;  // the first two of four chunks are cached
  const ServingMetrics half = predict_serving(flash, hw, dep, wl);
  Workload pw = wl;
  pw.phase = Phase::Prefill;
  pw.batch = dep.dp;
  double expect = 0;
  for (int64_t done = 8192; done < 16384; done += 4096) {
    pw.context = done;
    expect += predict_step(flash, hw, dep, pw).step_s;
  }
  REQUIRE(half.ttft_s == Approx(expect).epsilon(1e-12));
  REQUIRE(half.ttft_s < cold.ttft_s);
  REQUIRE(half.tpot_s == cold.tpot_s);  // decode does not change
  REQUIRE(half.prefill_tokens_per_s_per_gpu > cold.prefill_tokens_per_s_per_gpu);
  // The planner's fast path agrees exactly.
  ServingPredictor fast(flash, hw, dep);
  REQUIRE(fast.predict(wl).ttft_s == half.ttft_s);
  wl.kv_hit_rate = 1.0;  // the last token still runs
  REQUIRE(predict_serving(flash, hw, dep, wl).ttft_s > 0);
  wl.kv_hit_rate = 1.5;
  REQUIRE_THROWS_AS(predict_serving(flash, hw, dep, wl), Error);
}
