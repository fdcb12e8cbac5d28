// exec_projection.h — full-scale GPU projection of an exec run (issue 11: "the same scenario with a GPU
// hardware preset shows the projected times at full scale"; docs/exec.md "Timeline and projection"):
// the cost model's step prediction (sim::predict_serving, the entry point `v4lab predict` uses) of the
// **unscaled** preset on a GPU preset, for the run's phases — a prefill of the same batch × prompt and a
// decode step of the same batch at the run's mean decode context. Every number is a prediction.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/presets.h"
#include "store/store.h"

namespace v4lab::cli {

struct ExecProjectionShape {
  int64_t batch = 1, prefill = 1;  // the run's sequences and prompt tokens
  int64_t decode_context = 1;      // tokens cached at the projected decode step
  int gpus = 8;                    // deployment: TP 1, DP = EP = gpus (the defaults of `v4lab predict`)
};

struct ExecProjection {
  // {hardware, hardware_display, model, cost_model, label, deployment {gpus, tp, dp, ep},
  //  phases: {prefill|decode: {batch, context, chunk, step_s, tokens_per_gpu, by_layer_type_s {...}}},
  //  memory: {total_bytes, capacity_bytes, fits} (per GPU, at the decode step), ttft_s, tpot_s}
  nlohmann::json json;
  // Stored beside the run: op "projection.step" / "projection.layer_type:<t>" per phase, hardware = the
  // preset id, params_json {"projection": {phase, model, hardware, batch, context, chunk, gpus, tp, dp, ep}}.
  std::vector<store::Prediction> predictions;
};

ExecProjection exec_projection(const ModelPreset& full, const HardwarePreset& hw, const ExecProjectionShape& s);

}  // namespace v4lab::cli
