// app.cpp — App: presets, scenario start, the one state-change path (apply), snapshot hand-over, and
// the jobs posted to the workers: predictions, database queries, reports, and kernel executions that
// go through the CLI's own `v4lab kernel --save` path (run_cli), so runs are stored exactly as the CLI
// stores them.
#include "gui/app.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "cli/cli.h"
#include "core/error.h"
#include "core/scenario.h"
#include "kernels/registry.h"

namespace v4lab::gui {

App::App(Options opt) : opt_(std::move(opt)) {
  if (opt_.data_dir.empty()) opt_.data_dir = default_data_dir();
  model_ids_ = list_model_presets(opt_.data_dir);
  hw_ids_ = list_hardware_presets(opt_.data_dir);
  predict_worker_ = std::make_unique<Worker>("predict");
  db_worker_ = std::make_unique<Worker>("db");
  exec_worker_ = std::make_unique<Worker>("exec");
  load_state();
  Config c = cfg_;
  if (!opt_.scenario.empty()) {
    const Scenario sc = load_scenario(opt_.scenario, opt_.data_dir);  // config_error -> exit 2 in main
    scenario_name_ = sc.name;
    c.model = sc.model_id;
    for (auto& h : sc.hardware_ids)
      if (h != "local") {  // predictions need a preset with numbers; `local` is for measured runs
        c.hw = h;
        break;
      }
    if (!sc.backends.empty()) c.exec_backend = sc.backends.back();
    c.exec_min_time = sc.timing.min_time_s;
    c.exec_verify = sc.verify;
    for (auto& k : sc.kernels) exec_cases_.push_back({k.op, k.params, true});
  } else {
    for (auto& op : kernels::kernel_ops()) exec_cases_.push_back({op, {}, false});
  }
  apply(c);
  refresh_runs();
  // Backend availability can initialise a CUDA driver (slow): ask on the exec worker, not the UI thread.
  exec_worker_->post([this] {
    for (const char* b : {"ref", "cpu", "cuda"}) {
      std::string why;
      const bool ok = kernels::backend_available(kernels::parse_backend(b), &why);
      std::lock_guard<std::mutex> l(exec_mu_);
      backends_[b] = {ok, why};
    }
  });
}

App::~App() { exec_cancel_ = true; }

void App::apply(const Config& c) {
  cfg_ = c;
  const uint64_t v = ++version_;
  predict_worker_->post_latest([this, c, v] { compute_prediction(c, v); });
}

std::string App::set_knob(const std::string& key, const std::string& value) {
  if (key.rfind("ui.", 0) == 0) return set_ui(key, value);
  Config c = cfg_;
  std::string err = set_config_value(c, key, value);
  if (err.empty()) apply(c);
  return err;
}

std::vector<std::pair<std::string, std::string>> App::errors() const {
  auto e = validate_basic(cfg_);
  auto p = prediction();
  if (p && p->version == version_)
    for (auto& x : p->errors)
      if (std::find(e.begin(), e.end(), x) == e.end()) e.push_back(x);
  return e;
}

std::string App::error_for(const std::string& key) const {
  for (auto& [k, m] : errors())
    if (k == key) return m;
  return "";
}

std::shared_ptr<const PredictionSnapshot> App::prediction() const {
  std::lock_guard<std::mutex> l(snap_mu_);
  return pred_;
}

std::shared_ptr<const PredictionSnapshot> App::prediction_good() const {
  std::lock_guard<std::mutex> l(snap_mu_);
  return good_;
}

std::shared_ptr<const RunsSnapshot> App::runs() const {
  std::lock_guard<std::mutex> l(snap_mu_);
  return runs_;
}

std::string App::report_message() const {
  std::lock_guard<std::mutex> l(snap_mu_);
  return report_message_;
}

void App::refresh_runs() {
  const uint64_t serial = ++runs_serial_;
  std::vector<int64_t> sel = ui.selected_runs;
  db_worker_->post([this, sel, serial] { query_runs(sel, serial); });
}

void App::poll() {
  if (runs_dirty_.exchange(false)) refresh_runs();
}

void App::open_report(int64_t run_id) {
  const bool may_open = !opt_.scripted;
  db_worker_->post([this, run_id, may_open] {
    const std::string out = "reports/" + std::to_string(run_id) + "/report.html";
    std::ostringstream o, e;
    const int rc = cli::run_cli({"--db", opt_.db_path, "--data-dir", opt_.data_dir, "--quiet", "report",
                                 std::to_string(run_id), "-f", "html", "-o", out},
                                o, e);
    std::string msg;
    if (rc != 0) {
      msg = "report failed: " + e.str();
    } else {
      msg = "wrote " + std::filesystem::absolute(out).string();
      // Opening is best effort and detached (&), so it never waits on the browser.
      if (may_open && std::getenv("DISPLAY") && std::system("command -v xdg-open >/dev/null 2>&1") == 0) {
        const std::string cmd = "xdg-open '" + out + "' >/dev/null 2>&1 &";
        if (std::system(cmd.c_str()) == 0) msg += " (opened)";
      }
    }
    std::lock_guard<std::mutex> l(snap_mu_);
    report_message_ = msg;
  });
}

bool App::exec_available(const std::string& backend, std::string* why) const {
  std::lock_guard<std::mutex> l(exec_mu_);
  auto it = backends_.find(backend);
  if (it == backends_.end()) {
    if (why) *why = "checking...";
    return false;
  }
  if (why) *why = it->second.second;
  return it->second.first;
}

std::string App::exec_current() const {
  std::lock_guard<std::mutex> l(exec_mu_);
  return exec_current_;
}

std::vector<ExecResult> App::exec_results() const {
  std::lock_guard<std::mutex> l(exec_mu_);
  return exec_results_;
}

namespace {
std::string num(double v) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
}  // namespace

void App::start_execution(const std::vector<ExecCase>& cases) {
  if (exec_running_ || cases.empty()) return;
  exec_running_ = true;
  exec_cancel_ = false;
  exec_total_ = int(cases.size());
  exec_done_ = 0;
  const Config c = cfg_;
  exec_worker_->post([this, cases, c] {
    for (const ExecCase& k : cases) {
      if (exec_cancel_) break;
      {
        std::lock_guard<std::mutex> l(exec_mu_);
        exec_current_ = k.op + " [" + c.exec_backend + "]";
      }
      std::vector<std::string> args = {
          "--db",  opt_.db_path, "--data-dir",   opt_.data_dir, "--json", "--quiet",    "kernel",
          k.op,    "-b",         c.exec_backend, "-m",          c.model,  "--min-time", num(c.exec_min_time),
          "--save"};
      if (c.exec_verify) args.push_back("--verify");
      if (!c.exec_predict.empty()) args.insert(args.end(), {"--predict", c.exec_predict});
      std::string params;
      for (auto& [key, v] : k.params) {
        args.insert(args.end(), {"--set", key + "=" + num(v)});
        params += (params.empty() ? "" : " ") + key + "=" + num(v);
      }
      std::istringstream extra(c.exec_sets);
      for (std::string tok; extra >> tok;) {
        args.insert(args.end(), {"--set", tok});
        params += (params.empty() ? "" : " ") + tok;
      }
      ExecResult r;
      r.op = k.op, r.backend = c.exec_backend, r.hw = c.exec_predict, r.params = params;
      std::ostringstream o, e;
      // Let a pending prediction finish first (between kernels), then measure alone.
      for (int i = 0; i < 200 && !predict_worker_->idle(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      int rc;
      {
        std::lock_guard<std::mutex> measuring(measure_mu_);
        rc = cli::run_cli(args, o, e);
      }
      const auto j = nlohmann::json::parse(o.str(), nullptr, false);
      if (j.is_object()) {
        if (j.contains("measurement")) r.measured_s = j["measurement"].value("median_s", 0.0);
        if (j.contains("predictions") && !j["predictions"].empty()) {
          r.predicted_s = j["predictions"][0].value("total_s", 0.0);
          r.bound = j["predictions"][0].value("bound", "");
        }
        if (j.contains("verified")) r.verified = j["verified"].get<bool>() ? 1 : 0;
        r.run_id = j.value("run_id", int64_t(0));
      }
      r.ok = rc == 0;
      if (!r.ok) {
        r.error = e.str();
        while (!r.error.empty() && r.error.back() == '\n') r.error.pop_back();
        if (r.error.empty()) r.error = "exit code " + std::to_string(rc);
      }
      {
        std::lock_guard<std::mutex> l(exec_mu_);
        exec_results_.push_back(r);
      }
      ++exec_done_;
      runs_dirty_ = true;
    }
    {
      std::lock_guard<std::mutex> l(exec_mu_);
      exec_current_.clear();
    }
    exec_running_ = false;
  });
}

bool App::workers_idle() const {
  return predict_worker_->idle() && db_worker_->idle() && exec_worker_->idle() && !exec_running_ && !runs_dirty_;
}

}  // namespace v4lab::gui
