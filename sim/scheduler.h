// scheduler.h — list scheduling of a step DAG over streams (cost-model issue): each stream runs its
// nodes one at a time in priority order, streams run concurrently, a node starts when its inputs are
// done and its stream is free. Node time = predict_op (op_cost.h). Outputs the step time, per-stream
// busy time, the critical path and a timeline a Chrome-trace writer can dump.
#pragma once
#include <array>
#include <vector>

#include "sim/hardware_model.h"
#include "sim/layer_graph.h"

namespace v4lab::sim {

struct TimelineEntry {
  int node = 0;       // vertex id in StepGraph::dag
  int stream = 0;     // StreamId as int
  double start_s = 0, end_s = 0;
};

struct ScheduleResult {
  double step_s = 0;                          // makespan
  std::array<double, kNumStreams> busy_s{};   // sum of node times per stream
  double dag_critical_path_s = 0;             // longest dependency chain, ignoring stream contention
  std::vector<int> critical_path;             // nodes that set the makespan (data or stream waits), in time order
  std::vector<TimelineEntry> timeline;        // one per node, index = vertex id
  std::vector<double> node_s;                 // predicted time per node (index = vertex id)
};

// Reusable scheduler: the first run sizes the buffers, later runs on graphs of the same size do not
// allocate (the hot loop is flat arrays only).
class Scheduler {
 public:
  void run(const StepGraph& g, const HardwareModel& hw, ScheduleResult& out);
  // Same, with node times given (tests of the scheduling alone).
  void run_with_times(const StepGraph& g, const std::vector<double>& node_s, ScheduleResult& out);

 private:
  std::vector<int> cause_;        // node whose end set this node's start (-1: none)
  std::vector<double> longest_;   // longest chain ending at the node
  std::vector<const Efficiency*> key_eff_;  // per StepGraph::op_keys entry
};

}  // namespace v4lab::sim
