// exec_projection.cpp — full-scale projection of an exec run's phases on a GPU preset (exec_projection.h).
// The deployment and workloads are built exactly as `v4lab predict` builds them from its flags
// (--gpus G --phase prefill --batch B --context 0 --chunk P, resp. --phase decode --batch B --context C),
// so the numbers equal that command's step prediction for the same shape.
#include "cli/exec_projection.h"

#include "sim/op_cost.h"
#include "sim/step_model.h"

namespace v4lab::cli {

using nlohmann::json;

ExecProjection exec_projection(const ModelPreset& full, const HardwarePreset& hw, const ExecProjectionShape& s) {
  sim::Deployment dep;  // `v4lab predict` defaults: TP 1, DP = gpus / tp, EP = gpus, no overlap, MTP on
  dep.tp = 1;
  dep.gpus = s.gpus;
  dep.dp = s.gpus;
  dep.ep = s.gpus;
  const char* cost_model = hw.efficiency.is_null() ? sim::kCostModelName : sim::kCalibratedModelName;
  ExecProjection out;
  json phases = json::object();
  json memory;
  double ttft = 0, tpot = 0;
  for (const char* ph : {"prefill", "decode"}) {
    const bool pre = std::string(ph) == "prefill";
    sim::Workload wl;
    wl.phase = pre ? sim::Phase::Prefill : sim::Phase::Decode;
    wl.batch = s.batch;
    wl.context = pre ? 0 : s.decode_context;
    wl.chunk = pre ? s.prefill : 4096;  // decode: predict's default --chunk (it only shapes TTFT's chunks)
    const sim::ServingMetrics m = sim::predict_serving(full, hw, dep, wl);
    phases[ph] = {{"batch", wl.batch},
                  {"context", wl.context},
                  {"chunk", wl.chunk},
                  {"step_s", m.step.step_s},
                  {"tokens_per_gpu", m.step.tokens_per_gpu},
                  {"by_layer_type_s", m.step.by_layer_type_s}};
    if (!pre) {
      memory = {{"total_bytes", m.memory.total_bytes},
                {"capacity_bytes", m.memory.capacity_bytes},
                {"fits", m.memory.fits}};
      tpot = m.tpot_s;
    } else {
      ttft = m.step.step_s;  // the whole prompt is one chunk: the prefill step is the TTFT of the batch
    }
    const json key = {{"phase", ph},          {"model", full.id},   {"hardware", hw.id}, {"batch", wl.batch},
                      {"context", wl.context}, {"chunk", wl.chunk}, {"gpus", dep.gpus},  {"tp", dep.tp},
                      {"dp", dep.dp},         {"ep", dep.ep}};
    auto add = [&](const std::string& op, double total_s) {
      store::Prediction p;
      p.op = op;
      p.hardware = hw.id;
      p.params_json = json{{"projection", key}}.dump();
      p.total_s = total_s;
      p.model = cost_model;
      p.label = "prediction (full-scale projection)";
      out.predictions.push_back(p);
    };
    add("projection.step", m.step.step_s);
    for (auto& [k, v] : m.step.by_layer_type_s) add("projection.layer_type:" + k, v);
  }
  out.json = {{"hardware", hw.id},
              {"hardware_display", hw.display},
              {"model", full.id},
              {"cost_model", cost_model},
              {"label", "prediction: the cost model for the unscaled " + full.id + " on " + std::to_string(s.gpus) +
                            " x " + hw.id + " (not measured)"},
              {"deployment", {{"gpus", dep.gpus}, {"tp", dep.tp}, {"dp", dep.dp}, {"ep", dep.ep}}},
              {"phases", phases},
              {"memory", memory},
              {"prefill_step_s", ttft},
              {"tpot_s", tpot}};
  return out;
}

}  // namespace v4lab::cli
