// test_planner.cpp — capacity planner (issue 6): the fast path (refill_step_graph, ServingPredictor)
// equals the slow path (build_step_graph, predict_serving) exactly on seeded random configurations;
// hand-checkable replica counts; feasible and infeasible plans with their reasons; the winner is minimal
// among the feasible candidates; the Pareto set is non-dominated and covers every feasible candidate.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/presets.h"
#include "core/rng.h"
#include "sim/planner.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {
bool same_work(const OpWork& a, const OpWork& b) {
  return a.flops == b.flops && a.transcendentals == b.transcendentals && a.bytes_mem == b.bytes_mem &&
         a.bytes_host_link == b.bytes_host_link && a.bytes_net == b.bytes_net && a.precision == b.precision &&
         a.bytes_variant == b.bytes_variant;
}

// A random valid deployment + workload of model `m` on at most 64 GPUs.
struct Config {
  Deployment dep;
  Workload wl;
};
Config random_config(Rng& rng, const ModelDims& d) {
  Config c;
  for (;;) {
    const int tps[] = {1, 2, 4, 8};
    c.dep.tp = tps[rng.below(4)];
    c.dep.dp = 1 << rng.below(4);
    c.dep.gpus = c.dep.tp * c.dep.dp;
    const int r = 1 << rng.below(3);
    c.dep.ep = std::max(1, c.dep.gpus / r);
    if (d.n_heads % c.dep.tp || (d.v4 && d.o_groups % c.dep.tp) || c.dep.gpus % c.dep.ep || d.n_experts % c.dep.ep) continue;
    break;
  }
  c.dep.overlap = rng.below(2) == 1;
  c.dep.mtp = rng.below(5) != 0;
  c.dep.mtp_accept = rng.below(2) ? rng.uniform(0.5, 0.95) : 0.0;
  c.dep.engram_prefetch_layers = int(rng.below(3));
  c.wl.phase = rng.below(4) == 0 ? Phase::Prefill : Phase::Decode;
  c.wl.batch = 1 + int64_t(rng.below(64));
  c.wl.chunk = 256 << rng.below(4);
  c.wl.context = int64_t(rng.below(4)) * c.wl.chunk + int64_t(rng.below(uint64_t(c.wl.chunk)));
  return c;
}

void require_same(const ServingMetrics& a, const ServingMetrics& b) {
  REQUIRE(a.step.step_s == b.step.step_s);
  REQUIRE(a.decode.step_s == b.decode.step_s);
  REQUIRE(a.step.schedule.busy_s == b.step.schedule.busy_s);
  REQUIRE(a.step.schedule.dag_critical_path_s == b.step.schedule.dag_critical_path_s);
  REQUIRE(a.step.tokens_per_gpu == b.step.tokens_per_gpu);
  REQUIRE(a.step.n_nodes == b.step.n_nodes);
  REQUIRE(a.ttft_s == b.ttft_s);
  REQUIRE(a.tpot_s == b.tpot_s);
  REQUIRE(a.prefill_tokens_per_s_per_gpu == b.prefill_tokens_per_s_per_gpu);
  REQUIRE(a.decode_tokens_per_s_per_gpu == b.decode_tokens_per_s_per_gpu);
  REQUIRE(a.decode_tokens_per_s_per_node == b.decode_tokens_per_s_per_node);
  REQUIRE(a.usd_per_m_input_tokens == b.usd_per_m_input_tokens);
  REQUIRE(a.usd_per_m_output_tokens == b.usd_per_m_output_tokens);
  REQUIRE(a.memory.total_bytes == b.memory.total_bytes);
  REQUIRE(a.memory.max_batch == b.memory.max_batch);
  REQUIRE(a.memory.fits == b.memory.fits);
}

PlanRequest flash_request() {
  PlanRequest r;
  r.model = load_model_preset("deepseek_v4_flash", default_data_dir());
  r.hardware = {load_hardware_preset("h800_sxm", default_data_dir())};
  r.context = 4096;
  r.chunk = 4096;
  r.threads = 2;
  return r;
}
}  // namespace

TEST_CASE("planner fast path: refilled step graphs equal freshly built ones node for node", "[sim]") {
  const std::string data = default_data_dir();
  Rng rng(20250611);
  for (const char* id : {"deepseek_v4_flash", "deepseek_v3", "deepseek_v32"}) {
    const ModelPreset m = load_model_preset(id, data);
    const ModelDims d = model_dims(m);
    StepGraphCache cache(m);
    for (int it = 0; it < 12; ++it) {
      Config c = random_config(rng, d);
      INFO(id << " it " << it << " tp " << c.dep.tp << " ep " << c.dep.ep << " dp " << c.dep.dp << " batch " << c.wl.batch
              << " ctx " << c.wl.context << " overlap " << c.dep.overlap);
      const StepGraph& fast = cache.get(c.dep, c.wl);
      const StepGraph slow = build_step_graph(m, c.dep, c.wl);
      REQUIRE(fast.works.size() == slow.works.size());
      REQUIRE(fast.order == slow.order);
      REQUIRE(fast.preds == slow.preds);
      REQUIRE(fast.stream == slow.stream);
      REQUIRE(fast.tokens_per_gpu == slow.tokens_per_gpu);
      for (size_t v = 0; v < slow.works.size(); ++v) {
        INFO("node " << v << " " << slow.dag[v].label);
        REQUIRE(same_work(fast.works[v], slow.works[v]));
      }
    }
  }
  // Another TP/EP/DP size and batch of the same structure is a refill, not a new graph.
  const ModelPreset m = load_model_preset("deepseek_v4_pro", data);
  StepGraphCache cache(m);
  Deployment a, b;
  a.tp = 2, a.dp = 4, a.gpus = 8, a.ep = 8;
  b.tp = 4, b.dp = 8, b.gpus = 32, b.ep = 16;
  Workload w;
  w.batch = 8;
  cache.get(a, w);
  w.batch = 96;
  w.context = 100000;
  const StepGraph& g = cache.get(b, w);
  REQUIRE(cache.graphs_built() == 1);
  const StepGraph slow = build_step_graph(m, b, w);
  for (size_t v = 0; v < slow.works.size(); ++v) REQUIRE(same_work(g.works[v], slow.works[v]));
}

TEST_CASE("planner fast path: ServingPredictor equals predict_serving exactly (seeded random configs)", "[sim]") {
  const std::string data = default_data_dir();
  Rng rng(7);
  const HardwarePreset hws[] = {load_hardware_preset("h800_sxm", data), load_hardware_preset("b200", data)};
  for (const char* id : {"deepseek_v4_pro", "deepseek_v4_flash", "deepseek_v32", "deepseek_v3"}) {
    const ModelPreset m = load_model_preset(id, data);
    const ModelDims d = model_dims(m);
    StepGraphCache cache(m);  // shared across deployments, as in the planner
    for (int it = 0; it < 6; ++it) {
      const Config c = random_config(rng, d);
      const HardwarePreset& hw = hws[rng.below(2)];
      INFO(id << " on " << hw.id << " it " << it << " tp " << c.dep.tp << " ep " << c.dep.ep << " dp " << c.dep.dp
              << " batch " << c.wl.batch << " ctx " << c.wl.context << " chunk " << c.wl.chunk);
      ServingPredictor sp(m, hw, c.dep, &cache);
      require_same(sp.predict(c.wl), predict_serving(m, hw, c.dep, c.wl));
      Workload w2 = c.wl;  // a second workload of the same predictor (TTFT cache and refill reused)
      w2.batch = 1 + int64_t(rng.below(128));
      require_same(sp.predict(w2), predict_serving(m, hw, c.dep, w2));
    }
  }
}

TEST_CASE("planner: replica count and decode share by hand", "[sim]") {
  // Decode only: 10 000 tok/s over 3 000 per instance -> ceil(3.33) = 4.
  ReplicaPlan r = replicas_for(10000, 0, 3000, 1e5, 0.02, 0.05);
  REQUIRE(r.replicas == 4);
  REQUIRE(r.decode_share == 1.0);
  REQUIRE(r.tpot_ok);
  // Exactly 2 instances of work stays 2.
  REQUIRE(replicas_for(6000, 0, 3000, 1e5, 0.02, 0).replicas == 2);
  // No target: one replica.
  REQUIRE(replicas_for(0, 0, 3000, 1e5, 0.02, 0).replicas == 1);
  // Phase mix: D = 1.5, P = 50 000 / 100 000 = 0.5 -> 2 replicas, decode share 1 - 0.5 / 2 = 0.75,
  // TPOT 20 ms / 0.75 = 26.7 ms <= 30 ms.
  r = replicas_for(4500, 50000, 3000, 1e5, 0.020, 0.030);
  REQUIRE(r.replicas == 2);
  REQUIRE(r.decode_share == Approx(0.75));
  REQUIRE(r.tpot_ok);
  // Same, SLO 22 ms: share must be >= 20/22, R >= 0.5 / (1 - 20/22) = 5.5 -> 6.
  r = replicas_for(4500, 50000, 3000, 1e5, 0.020, 0.022);
  REQUIRE(r.replicas == 6);
  REQUIRE(0.020 / r.decode_share <= 0.022);
  // The step alone is slower than the SLO: no replica count helps.
  REQUIRE_FALSE(replicas_for(4500, 0, 3000, 1e5, 0.031, 0.030).tpot_ok);
}

TEST_CASE("planner: one hand-checkable candidate is feasible with a loose SLO and not with a tight one", "[sim]") {
  PlanRequest r = flash_request();
  r.grid.instance_gpus = {8};
  r.grid.tp = {1};
  r.grid.ep_replicas = {1};
  r.grid.batch_per_rank = {16};
  r.grid.overlap = {false};
  r.target_output_tokens_per_s = 50000;
  Deployment dep;
  dep.tp = 1, dep.dp = 8, dep.gpus = 8, dep.ep = 8;
  Workload wl;
  wl.batch = 128, wl.context = 4096, wl.chunk = 4096;
  const ServingMetrics s = predict_serving(r.model, r.hardware[0], dep, wl);
  const double inst_tps = s.decode_tokens_per_s_per_gpu * 8;
  const int64_t replicas = int64_t(std::ceil(50000 / inst_tps));

  r.tpot_slo_s = s.tpot_s * 1.01;
  PlanResult p = plan(r);
  REQUIRE(p.candidates.size() == 1);
  const PlanCandidate& c = p.candidates[0];
  REQUIRE(c.tpot_s == s.tpot_s);
  REQUIRE(c.ttft_s == s.ttft_s);
  REQUIRE(c.replicas == replicas);
  REQUIRE(c.total_gpus == replicas * 8);
  REQUIRE(c.usd_per_hour == Approx(replicas * 8 * 2.0));  // h800_sxm: 2 USD/GPU-hour
  REQUIRE(c.feasible);
  REQUIRE(p.winner == 0);
  REQUIRE(p.pareto == std::vector<int>{0});

  r.tpot_slo_s = s.tpot_s * 0.99;
  p = plan(r);
  REQUIRE(p.winner == -1);
  REQUIRE(p.closest_miss == 0);
  REQUIRE(p.candidates[0].violations == std::vector<std::string>{"tpot"});
  REQUIRE(p.candidates[0].reasons[0].find("TPOT") == 0);
  REQUIRE(p.candidates[0].reasons[0].find("the smallest in the grid") != std::string::npos);
  REQUIRE(p.candidates[0].miss == Approx(1 / 0.99 - 1));

  r.tpot_slo_s = 0;
  r.max_gpus = int(replicas * 8) - 1;
  p = plan(r);
  REQUIRE(p.winner == -1);
  REQUIRE(p.candidates[0].violations == std::vector<std::string>{"gpus"});
  REQUIRE(p.candidates[0].reasons[0].find("needs " + std::to_string(replicas * 8) + " GPUs") == 0);
}

TEST_CASE("planner: a model that cannot fit reports the HBM shortfall and is pruned before the step model", "[sim]") {
  PlanRequest r = flash_request();
  r.model = load_model_preset("deepseek_v4_pro", default_data_dir());
  r.grid.instance_gpus = {1, 2};
  r.grid.batch_per_rank = {1, 4};
  PlanResult p = plan(r);
  REQUIRE(!p.candidates.empty());
  REQUIRE(p.winner == -1);
  REQUIRE(p.n_timed == 0);
  REQUIRE(p.n_pruned == int64_t(p.candidates.size()));
  REQUIRE(p.violation_counts["hbm"] == int64_t(p.candidates.size()));
  const PlanCandidate& c = p.candidates[p.closest_miss];
  REQUIRE(c.reasons[0].find("HBM short by") == 0);
  REQUIRE(c.dep.gpus == 2);  // the larger instance is the closer miss
  // --no-prune runs the step model anyway; the verdict stays infeasible.
  r.prune_memory = false;
  p = plan(r);
  REQUIRE(p.n_timed == int64_t(p.candidates.size()));
  REQUIRE(p.winner == -1);
}

TEST_CASE("planner: the winner is minimal among the feasible, the Pareto set is non-dominated and complete", "[sim]") {
  PlanRequest r = flash_request();
  r.grid.instance_gpus = {4, 8, 16};
  r.grid.batch_per_rank = {4, 16, 64};
  r.grid.mtp_accept = {0, 0.8};
  r.target_output_tokens_per_s = 40000;
  r.tpot_slo_s = 0.050;
  r.ttft_slo_s = 2.0;
  for (PlanObjective obj : {PlanObjective::Gpus, PlanObjective::Cost}) {
    r.objective = obj;
    if (obj == PlanObjective::Cost) {  // two presets at different prices: cost and GPUs rank differently
      r.hardware.push_back(load_hardware_preset("b200", default_data_dir()));
      r.price_usd_per_gpu_hour = {2.0, 6.0};
    }
    const PlanResult p = plan(r);
    REQUIRE(p.n_feasible > 0);
    REQUIRE(p.winner >= 0);
    const PlanCandidate& w = p.candidates[p.winner];
    REQUIRE(w.feasible);
    REQUIRE(w.winner);
    for (const PlanCandidate& c : p.candidates)
      if (c.feasible) REQUIRE(w.objective_value(obj) <= c.objective_value(obj));
    auto dominates = [&](const PlanCandidate& a, const PlanCandidate& b) {
      const bool le = a.objective_value(obj) <= b.objective_value(obj) && a.effective_tpot_s <= b.effective_tpot_s &&
                      a.decode_tokens_per_s_per_gpu >= b.decode_tokens_per_s_per_gpu;
      const bool lt = a.objective_value(obj) < b.objective_value(obj) || a.effective_tpot_s < b.effective_tpot_s ||
                      a.decode_tokens_per_s_per_gpu > b.decode_tokens_per_s_per_gpu;
      return le && lt;
    };
    for (int i : p.pareto)
      for (int j : p.pareto) REQUIRE_FALSE(dominates(p.candidates[i], p.candidates[j]));
    for (int k = 0; k < int(p.candidates.size()); ++k) {
      const PlanCandidate& c = p.candidates[k];
      if (!c.feasible || c.pareto) continue;
      bool covered = false;
      for (int i : p.pareto) covered = covered || dominates(p.candidates[i], c);
      REQUIRE(covered);
    }
  }
}

TEST_CASE("planner: results do not depend on the thread count", "[sim]") {
  PlanRequest r = flash_request();
  r.grid.instance_gpus = {8, 16};
  r.grid.batch_per_rank = {2, 32};
  r.target_output_tokens_per_s = 20000;
  r.tpot_slo_s = 0.04;
  r.threads = 1;
  const PlanResult a = plan(r);
  r.threads = 2;
  const PlanResult b = plan(r);
  REQUIRE(a.candidates.size() == b.candidates.size());
  for (size_t i = 0; i < a.candidates.size(); ++i) {
    REQUIRE(a.candidates[i].tpot_s == b.candidates[i].tpot_s);
    REQUIRE(a.candidates[i].ttft_s == b.candidates[i].ttft_s);
    REQUIRE(a.candidates[i].total_gpus == b.candidates[i].total_gpus);
  }
  REQUIRE(a.winner == b.winner);
  REQUIRE(a.pareto == b.pareto);
}

TEST_CASE("planner: bad requests are usage errors naming the flag", "[sim]") {
  PlanRequest r = flash_request();
  auto message = [&](const PlanRequest& q) {
    try {
      plan(q);
    } catch (const Error& e) {
      REQUIRE(e.exit_code() == 2);
      return std::string(e.what());
    }
    return std::string();
  };
  PlanRequest q = r;
  q.grid.mtp_accept = {1.5};
  REQUIRE(message(q).find("--mtp-accept 1.5") != std::string::npos);
  q = r;
  q.grid.batch_per_rank = {0};
  REQUIRE(message(q).find("--batch 0") != std::string::npos);
  q = r;
  q.context = 0;
  REQUIRE(message(q).find("--context 0") != std::string::npos);
  q = r;
  q.max_gpus = 0;
  REQUIRE(message(q).find("--max-gpus 0") != std::string::npos);
  q = r;
  q.grid.instance_gpus = {3};  // no TP in {2, 4} divides 3 GPUs
  q.grid.tp = {2, 4};
  REQUIRE(message(q).find("the search grid is empty") != std::string::npos);
  REQUIRE_THROWS(parse_objective("latency"));
}

TEST_CASE("planner: every candidate's predictions equal predict_serving for its deployment (shared memory, TTFT)",
          "[sim]") {
  PlanRequest r = flash_request();
  r.grid.instance_gpus = {8, 16};
  r.grid.tp = {1, 2};
  r.grid.ep_replicas = {1};
  r.grid.batch_per_rank = {3, 16};
  r.grid.mtp_accept = {0, 0.8};
  r.context = 6000;
  r.chunk = 2048;
  const PlanResult p = plan(r);
  REQUIRE(p.candidates.size() == 2 * 2 * 2 * 2 * 2);
  for (const PlanCandidate& c : p.candidates) {
    INFO("tp " << c.dep.tp << " gpus " << c.dep.gpus << " overlap " << c.dep.overlap << " accept " << c.dep.mtp_accept
               << " batch " << c.batch);
    Workload wl;
    wl.batch = c.batch, wl.context = r.context, wl.chunk = r.chunk;
    const ServingMetrics s = predict_serving(r.model, r.hardware[0], c.dep, wl);
    REQUIRE(c.timed);
    REQUIRE(c.ttft_s == s.ttft_s);
    REQUIRE(c.tpot_s == s.tpot_s);
    REQUIRE(c.decode_tokens_per_s_per_gpu == s.decode_tokens_per_s_per_gpu);
    REQUIRE(c.hbm_bytes == s.memory.total_bytes);
    REQUIRE(c.max_batch == s.memory.max_batch);
  }
}
