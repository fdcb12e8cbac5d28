// test_scheduler.cpp — list scheduler over streams: hand-derived chains and parallel nodes, and the
// bounds max(busy, DAG critical path) <= step <= Σ node times on real step graphs (with overlap).
#include <catch2/catch.hpp>

#include <numeric>

#include "core/presets.h"
#include "sim/scheduler.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {
// Tiny graph: nodes on given streams with the given edges; order = vertex order.
StepGraph tiny(const std::vector<int>& streams, const std::vector<std::pair<int, int>>& edges) {
  StepGraph g;
  const int n = int(streams.size());
  for (int i = 0; i < n; ++i) {
    OpNode o;
    o.stream = StreamId(streams[i]);
    boost::add_vertex(o, g.dag);
  }
  for (auto [a, b] : edges) boost::add_edge(a, b, g.dag);
  g.order.resize(n);
  std::iota(g.order.begin(), g.order.end(), 0);
  g.stream.assign(streams.begin(), streams.end());
  g.works.resize(n);
  g.pred_begin.assign(n + 1, 0);
  for (int v = 0; v < n; ++v) {
    g.pred_begin[v] = int(g.preds.size());
    for (auto [a, b] : edges)
      if (b == v) g.preds.push_back(a);
  }
  g.pred_begin[n] = int(g.preds.size());
  return g;
}
}  // namespace

TEST_CASE("scheduler: a chain on one stream sums, independent nodes on two streams take the max", "[sim]") {
  Scheduler s;
  ScheduleResult r;
  StepGraph chain = tiny({0, 0, 0}, {{0, 1}, {1, 2}});
  s.run_with_times(chain, {1e-3, 2e-3, 3e-3}, r);
  REQUIRE(r.step_s == Approx(6e-3));
  REQUIRE(r.critical_path.size() == 3);
  StepGraph par = tiny({0, 1}, {});
  s.run_with_times(par, {1e-3, 4e-3}, r);
  REQUIRE(r.step_s == Approx(4e-3));
  REQUIRE(r.busy_s[0] == Approx(1e-3));
  REQUIRE(r.busy_s[1] == Approx(4e-3));
  // Same stream, no edge: serial anyway.
  StepGraph same = tiny({0, 0}, {});
  s.run_with_times(same, {1e-3, 4e-3}, r);
  REQUIRE(r.step_s == Approx(5e-3));
  // Diamond: 0 -> {1 on comm, 2 on compute} -> 3: 1 + max(2, 3) + 1.
  StepGraph dia = tiny({0, 1, 0, 0}, {{0, 1}, {0, 2}, {1, 3}, {2, 3}});
  s.run_with_times(dia, {1, 2, 3, 1}, r);
  REQUIRE(r.step_s == Approx(5));
  REQUIRE(r.dag_critical_path_s == Approx(5));
}

TEST_CASE("scheduler: step lies between max(busy, critical path) and the serial sum, overlap on or off", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  for (const char* id : {"deepseek_v4_flash", "deepseek_v4_pro", "deepseek_v3"})
    for (bool overlap : {false, true})
      for (Phase ph : {Phase::Decode, Phase::Prefill}) {
        const ModelPreset m = load_model_preset(id, data);
        Deployment dep;
        dep.gpus = dep.dp = dep.ep = 8;
        dep.overlap = overlap;
        Workload wl;
        wl.phase = ph;
        wl.batch = ph == Phase::Decode ? 64 : 8;
        wl.context = 8192;
        wl.chunk = 2048;
        const StepCost c = predict_step(m, hw, dep, wl);
        double sum = 0, busy_max = 0;
        for (double b : c.schedule.busy_s) {
          sum += b;
          busy_max = std::max(busy_max, b);
        }
        INFO(id << " overlap " << overlap);
        REQUIRE(c.step_s >= busy_max * (1 - 1e-12));
        REQUIRE(c.step_s >= c.schedule.dag_critical_path_s * (1 - 1e-12));
        REQUIRE(c.step_s <= sum * (1 + 1e-12));
        REQUIRE(c.schedule.busy_s[1] > 0);  // EP all-to-all on the comm stream
      }
}
