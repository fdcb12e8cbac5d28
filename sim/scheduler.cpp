// scheduler.cpp — in-order per-stream list scheduling (CUDA-stream semantics): walk the priority
// order once; start = max(end of inputs, stream free); the cause of each start is kept so the
// critical path is read back from the last node to finish.
#include "sim/scheduler.h"

#include <algorithm>

#include "sim/op_cost.h"

namespace v4lab::sim {

void Scheduler::run(const StepGraph& g, const HardwareModel& hw, ScheduleResult& out) {
  const size_t n = g.works.size();
  out.node_s.resize(n);
  // Efficiencies per distinct (op, family) key, then per node (map lookups stay off the node loop).
  key_eff_.resize(g.op_keys.size());
  for (size_t k = 0; k < g.op_keys.size(); ++k) key_eff_[k] = hw.efficiency_for(g.op_keys[k].op, g.op_keys[k].family, g.op_keys[k].variant);
  const bool keyed = g.op_index.size() == n;
  for (size_t v = 0; v < n; ++v)
    out.node_s[v] = predict_op(g.works[v], hw, keyed ? key_eff_[g.op_index[v]] : nullptr).total_s;
  run_with_times(g, out.node_s, out);
}

void Scheduler::run_with_times(const StepGraph& g, const std::vector<double>& node_s, ScheduleResult& out) {
  const int n = int(g.order.size());
  if (&out.node_s != &node_s) out.node_s = node_s;
  out.timeline.resize(n);
  cause_.resize(n);
  longest_.resize(n);
  std::array<double, kNumStreams> free_s{};
  std::array<int, kNumStreams> last_on{-1, -1, -1};
  out.busy_s = {};
  out.step_s = 0;
  out.dag_critical_path_s = 0;
  int last_node = -1;
  for (int i = 0; i < n; ++i) {
    const int v = g.order[i];
    const int s = g.stream[v];
    double ready = 0, chain = 0;
    int who = -1;
    for (int j = g.pred_begin[v]; j < g.pred_begin[v + 1]; ++j) {
      const int p = g.preds[j];
      if (out.timeline[p].end_s > ready) {
        ready = out.timeline[p].end_s;
        who = p;
      }
      chain = std::max(chain, longest_[p]);
    }
    if (free_s[s] > ready) {
      ready = free_s[s];
      who = last_on[s];
    }
    const double dur = node_s[v];
    TimelineEntry& t = out.timeline[v];
    t.node = v;
    t.stream = s;
    t.start_s = ready;
    t.end_s = ready + dur;
    free_s[s] = t.end_s;
    last_on[s] = v;
    out.busy_s[s] += dur;
    cause_[v] = who;
    longest_[v] = chain + dur;
    out.dag_critical_path_s = std::max(out.dag_critical_path_s, longest_[v]);
    if (t.end_s >= out.step_s) {
      out.step_s = t.end_s;
      last_node = v;
    }
  }
  out.critical_path.clear();
  for (int v = last_node; v >= 0; v = cause_[v]) out.critical_path.push_back(v);
  std::reverse(out.critical_path.begin(), out.critical_path.end());
}

}  // namespace v4lab::sim
