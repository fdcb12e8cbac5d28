// app.h — the GUI's state, snapshots and workers (docs/gui.md). The GUI is a view (STYLE 4): the UI
// thread edits a Config through one state-change path (App::apply, used by the widgets, by --set and
// by the saved state), and renders immutable snapshots that worker threads publish: predictions
// (sim::predict_serving + the step schedule + study curves), database queries, kernel executions.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/presets.h"
#include "gui/plot.h"
#include "sim/step_model.h"
#include "store/store.h"

namespace v4lab::gui {

// Everything the user can change, keyed as in `--set key=value` and in the state file (config_keys()).
// Defaults equal `v4lab predict`'s, so a fresh GUI shows what `v4lab predict --model ...` prints.
struct Config {
  std::string model = "deepseek_v4_flash";  // model preset id
  std::string hw = "h800_sxm";              // hardware preset id
  std::string phase = "decode";             // decode | prefill
  int64_t batch = 1;                        // sequences in the step over the deployment
  int64_t context = 4096;                   // cached tokens per sequence (also the TTFT prompt)
  int64_t chunk = 4096;                     // prefill chunk
  int tp = 1;                               // attention tensor parallel
  int ep = 0;                               // expert parallel ranks (0: = gpus, as the CLI)
  int dp = 0;                               // attention data parallel (0: gpus / tp, as the CLI)
  int gpus = 8;                             // total GPUs (= tp x dp)
  bool overlap = false;                     // two-micro-batch overlap
  bool mtp = true;                          // run the MTP block
  double mtp_accept = 0;                    // MTP acceptance (0..1)
  int prefetch = 1;                         // Engram prefetch distance in layers
  double price = -1;                        // USD per GPU-hour (< 0: the preset's)
  // Study knobs
  double rho = 1.0;  // Engram share: fraction of sparse params in MoE experts (0.10..1.00); U-curve marker
  int64_t topk = 0;  // indexer top-k (0: the preset's index_topk)
  int hc = 0;        // mHC residual streams n (0: the preset's hc_mult); 1, 2, 4, 8
  // Execute panel
  std::string exec_backend = "cpu";    // ref | cpu | cuda
  double exec_min_time = 0.2;          // seconds measured per kernel
  std::string exec_predict = "local";  // hardware preset the measurement is compared with
  bool exec_verify = true;             // check against _ref first
  std::string exec_sets;               // extra "key=value key=value" shape overrides for every kernel

  nlohmann::json to_json() const;
};

// Known keys of Config, in display order.
const std::vector<std::string>& config_keys();
// Parses `value` into c.<key>; returns "" or an error naming the key, the value and what is accepted.
std::string set_config_value(Config& c, const std::string& key, const std::string& value);
std::string get_config_value(const Config& c, const std::string& key);
// Range checks that need no preset (the model-dependent ones run in the prediction worker), plus the
// GUI's own bound on the TTFT loop (ceil(context / chunk) prefill steps per prediction).
inline constexpr int64_t kMaxTtftChunks = 1024;
std::vector<std::pair<std::string, std::string>> validate_basic(const Config& c);

// The deployment/workload the CLI would build from the same flags (cmd_predict.cpp's defaults).
struct Resolved {
  sim::Deployment dep;
  sim::Workload wl;
};
Resolved resolve(const Config& c);

// One scheduled node of the predicted step.
struct TimelineItem {
  std::string label, op, family;
  int layer = -1, stream = 0, micro_batch = 0;
  double start_s = 0, end_s = 0;
};

struct PredictionSnapshot {
  uint64_t version = 0;  // Config version it was computed for
  Config cfg;
  Resolved res;
  bool ok = false;
  std::string cost_model;  // roofline-v1, or the calibrated model when the hardware preset has efficiencies
  std::vector<std::pair<std::string, std::string>> errors;  // (knob, message)
  sim::ServingMetrics serving;
  std::vector<TimelineItem> timeline;  // the requested phase's step, index = node id
  int n_layers = 0;                    // layer indices 0..n_layers-1 in the timeline
  std::vector<std::string> layer_kinds;
  int64_t preset_topk = 0, preset_hc = 0;  // the model preset's values (0: none)
  plot::Figure topk_fig, streams_fig;      // studies computed from the op catalogue and predict_step
  double compute_ms = 0;                   // worker time until the prediction was published
  double studies_ms = 0;                   // ... and until the study curves were (0: still computing)
};

struct RunDetail {
  store::RunRow row;
  std::vector<store::Measurement> measurements;
  std::vector<store::Prediction> predictions;
  std::vector<store::StudyPoint> study_points;
};

struct RunsSnapshot {
  uint64_t serial = 0;
  bool ok = false;
  std::string error;
  std::vector<store::RunSummary> runs;
  std::map<int64_t, RunDetail> details;  // the selected runs
  plot::Figure ucurve_fig;               // from study_points with study = "ucurve", if any
  int64_t ucurve_run = 0;
};

struct ExecResult {
  std::string op, backend, hw, params;
  bool ok = false;
  std::string error;
  double measured_s = 0, predicted_s = 0;
  std::string bound;
  int verified = -1;  // -1 not checked, 0 failed, 1 passed
  int64_t run_id = 0;
};

// A kernel the Execute panel can run: op + shape overrides (from the scenario or the catalogue).
struct ExecCase {
  std::string op;
  std::map<std::string, double> params;  // empty: model preset + op defaults
  bool selected = false;
};

// A FIFO job thread. post_latest() drops queued (not running) jobs of the same lane first.
class Worker {
 public:
  explicit Worker(std::string name);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  void post(std::function<void()> job);
  void post_latest(std::function<void()> job);
  bool idle() const;

 private:
  void loop();
  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool busy_ = false, stop_ = false;
  std::thread th_;
};

enum class PanelId { Configure = 0, Predict, Studies, Timeline, Runs, Execute, Count };
const char* panel_name(PanelId p);
struct Rect {
  float x = 0, y = 0, w = 0, h = 0;
};

// UI-only state (not part of the prediction), partly saved in the state file.
struct UiState {
  float split_left = 0.22f, split_top = 0.42f, split_mid = 0.66f, split_top_x = 0.5f, split_bottom_x = 0.5f;
  // Timeline
  bool timeline_whole_step = false;
  int timeline_layer = 0;
  double view_t0 = 0, view_t1 = 0;  // 0,0: fit
  // Runs
  std::string runs_kind = "all";
  std::vector<int64_t> selected_runs;  // at most two
  Rect panels[int(PanelId::Count)];
};

struct Options {
  std::string db_path = "v4lab.db";
  std::string data_dir;
  std::string scenario;
  std::string state_path;  // "" = $XDG_CONFIG_HOME/v4lab/gui.ini or ~/.config/v4lab/gui.ini
  bool no_state = false;
  bool scripted = false;  // --frames given: headless capture; waits for workers before the final frame
};

class App {
 public:
  explicit App(Options opt);
  ~App();

  const Options& options() const { return opt_; }
  const Config& config() const { return cfg_; }
  uint64_t version() const { return version_; }
  // The one state-change path: widgets, --set and the state file all end here.
  void apply(const Config& c);
  std::string set_knob(const std::string& key, const std::string& value);  // "ui.*" keys: set_ui
  std::string set_ui(const std::string& key, const std::string& value);    // layout/view state (not predicted)

  std::vector<std::pair<std::string, std::string>> errors() const;  // basic + the worker's (current version)
  std::string error_for(const std::string& key) const;
  std::shared_ptr<const PredictionSnapshot> prediction() const;       // the newest (may hold errors)
  std::shared_ptr<const PredictionSnapshot> prediction_good() const;  // the newest without errors
  std::shared_ptr<const RunsSnapshot> runs() const;

  // Presets found in data_dir.
  const std::vector<std::string>& model_ids() const { return model_ids_; }
  const std::vector<std::string>& hardware_ids() const { return hw_ids_; }
  const std::string& scenario_name() const { return scenario_name_; }

  // Runs
  void refresh_runs();               // re-query on the db worker (UI thread only)
  void poll();                       // once per frame on the UI thread: refresh when results arrived
  void open_report(int64_t run_id);  // writes reports/<id>/report.html on the db worker, opens it
  std::string report_message() const;

  // Execute
  std::vector<ExecCase>& exec_cases() { return exec_cases_; }
  void start_execution(const std::vector<ExecCase>& cases);
  void cancel_execution() { exec_cancel_ = true; }
  bool exec_running() const { return exec_running_; }
  int exec_total() const { return exec_total_; }
  int exec_done() const { return exec_done_; }
  std::string exec_current() const;
  std::vector<ExecResult> exec_results() const;
  bool exec_available(const std::string& backend, std::string* why) const;  // cached; false while checking

  bool workers_idle() const;
  void save_state() const;
  std::string state_path() const;
  nlohmann::json dump_state() const;

  UiState ui;
  bool quit = false;

 private:
  void load_state();
  void compute_prediction(const Config& c, uint64_t version);
  void query_runs(std::vector<int64_t> selected, uint64_t serial);

  Options opt_;
  Config cfg_;
  uint64_t version_ = 0;
  std::vector<std::string> model_ids_, hw_ids_;
  std::string scenario_name_;
  std::vector<ExecCase> exec_cases_;

  mutable std::mutex snap_mu_;
  std::shared_ptr<const PredictionSnapshot> pred_, good_;
  std::shared_ptr<const RunsSnapshot> runs_;
  uint64_t runs_serial_ = 0;

  mutable std::mutex exec_mu_;
  std::vector<ExecResult> exec_results_;
  std::map<std::string, std::pair<bool, std::string>> backends_;  // backend -> (available, why not)
  std::string exec_current_;
  std::atomic<bool> exec_running_{false}, exec_cancel_{false};
  std::atomic<int> exec_total_{0}, exec_done_{0};
  std::atomic<bool> runs_dirty_{false};
  std::string report_message_;

  // Held by the exec worker while a kernel is measured and by the prediction worker while it computes:
  // on a small machine a concurrent prediction would steal a core from the kernel's OpenMP team, and
  // an OpenMP barrier waiting for a descheduled thread costs scheduler ticks (ms), not microseconds.
  std::mutex measure_mu_;
  std::mutex cache_mu_;  // preset cache used by the prediction worker
  std::map<std::string, std::shared_ptr<const ModelPreset>> model_cache_;
  std::map<std::string, std::shared_ptr<const HardwarePreset>> hw_cache_;

  // Declared last: destroyed first, so no job outlives the state it touches.
  std::unique_ptr<Worker> predict_worker_, db_worker_, exec_worker_;
};

}  // namespace v4lab::gui
