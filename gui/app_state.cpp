// app_state.cpp — Config keys (--set key=value, the state file), their parsing and range checks, the
// CLI-equivalent deployment/workload, the state file (saved on exit) and the --dump-state JSON.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gui/app.h"

namespace v4lab::gui {

namespace {

struct Key {
  std::string name;
  std::function<std::string(const Config&)> get;
  std::function<std::string(Config&, const std::string&)> set;  // "" or error
};

std::string num_str(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

std::string bad(const std::string& key, const std::string& v, const std::string& accepted) {
  return key + "=" + v + ": expected " + accepted;
}

template <class T>
Key int_key(const std::string& name, T Config::*field, long long lo, long long hi) {
  return {name, [field](const Config& c) { return std::to_string(c.*field); },
          [name, field, lo, hi](Config& c, const std::string& v) -> std::string {
            char* end = nullptr;
            errno = 0;
            const long long x = std::strtoll(v.c_str(), &end, 10);
            const std::string acc = "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
            if (v.empty() || *end || errno) return bad(name, v, acc);
            if (x < lo || x > hi) return bad(name, v, acc);
            c.*field = T(x);
            return "";
          }};
}

Key real_key(const std::string& name, double Config::*field, double lo, double hi) {
  return {name, [field](const Config& c) { return num_str(c.*field); },
          [name, field, lo, hi](Config& c, const std::string& v) -> std::string {
            char* end = nullptr;
            const double x = std::strtod(v.c_str(), &end);
            const std::string acc = "a number in [" + num_str(lo) + ", " + num_str(hi) + "]";
            if (v.empty() || *end || !std::isfinite(x) || x < lo || x > hi) return bad(name, v, acc);
            c.*field = x;
            return "";
          }};
}

Key bool_key(const std::string& name, bool Config::*field) {
  return {name, [field](const Config& c) { return std::string(c.*field ? "true" : "false"); },
          [name, field](Config& c, const std::string& v) -> std::string {
            if (v == "1" || v == "true" || v == "on")
              c.*field = true;
            else if (v == "0" || v == "false" || v == "off")
              c.*field = false;
            else
              return bad(name, v, "true or false");
            return "";
          }};
}

Key str_key(const std::string& name, std::string Config::*field, std::vector<std::string> accepted) {
  return {name, [field](const Config& c) { return c.*field; },
          [name, field, accepted](Config& c, const std::string& v) -> std::string {
            if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), v) == accepted.end()) {
              std::string a;
              for (auto& s : accepted) a += (a.empty() ? "" : " | ") + s;
              return bad(name, v, a);
            }
            if (accepted.empty() && name != "exec_sets" && v.empty()) return bad(name, v, "a preset id");
            c.*field = v;
            return "";
          }};
}

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      str_key("model", &Config::model, {}),
      str_key("hw", &Config::hw, {}),
      str_key("phase", &Config::phase, {"decode", "prefill"}),
      int_key("batch", &Config::batch, 1, 1 << 24),
      int_key("context", &Config::context, 0, 1 << 24),
      int_key("chunk", &Config::chunk, 1, 1 << 20),
      int_key("tp", &Config::tp, 1, 1024),
      int_key("ep", &Config::ep, 0, 1 << 16),
      int_key("dp", &Config::dp, 0, 1 << 16),
      int_key("gpus", &Config::gpus, 1, 1 << 16),
      bool_key("overlap", &Config::overlap),
      bool_key("mtp", &Config::mtp),
      real_key("mtp_accept", &Config::mtp_accept, 0, 1),
      int_key("prefetch", &Config::prefetch, 0, 1024),
      real_key("price", &Config::price, -1, 1e6),
      real_key("rho", &Config::rho, 0.1, 1.0),
      int_key("topk", &Config::topk, 0, 1 << 20),
      {"hc", [](const Config& c) { return std::to_string(c.hc); },
       [](Config& c, const std::string& v) -> std::string {
         if (v == "0" || v == "1" || v == "2" || v == "4" || v == "8") {
           c.hc = std::atoi(v.c_str());
           return "";
         }
         return bad("hc", v, "0 (the preset's), 1, 2, 4 or 8");
       }},
      str_key("exec_backend", &Config::exec_backend, {"ref", "cpu", "cuda"}),
      real_key("exec_min_time", &Config::exec_min_time, 0, 600),
      str_key("exec_predict", &Config::exec_predict, {}),
      bool_key("exec_verify", &Config::exec_verify),
      str_key("exec_sets", &Config::exec_sets, {}),
  };
  return k;
}

const Key* find_key(const std::string& name) {
  for (auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

}  // namespace

const std::vector<std::string>& config_keys() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> r;
    for (auto& k : keys()) r.push_back(k.name);
    return r;
  }();
  return v;
}

std::string set_config_value(Config& c, const std::string& key, const std::string& value) {
  const Key* k = find_key(key);
  if (!k) {
    std::string all;
    for (auto& n : config_keys()) all += (all.empty() ? "" : ", ") + n;
    return "unknown knob '" + key + "' (known: " + all + ")";
  }
  return k->set(c, value);
}

std::string get_config_value(const Config& c, const std::string& key) {
  const Key* k = find_key(key);
  return k ? k->get(c) : "";
}

nlohmann::json Config::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (auto& k : keys()) j[k.name] = k.get(*this);
  return j;
}

std::vector<std::pair<std::string, std::string>> validate_basic(const Config& c) {
  std::vector<std::pair<std::string, std::string>> e;
  const Resolved r = resolve(c);
  if (r.dep.gpus != r.dep.tp * r.dep.dp)
    e.push_back({"gpus", "gpus " + std::to_string(r.dep.gpus) +
                             " must equal tp x dp = " + std::to_string(r.dep.tp * r.dep.dp)});
  if (r.dep.ep > 0 && r.dep.gpus % r.dep.ep != 0)
    e.push_back({"ep", "ep " + std::to_string(r.dep.ep) + " must divide gpus " + std::to_string(r.dep.gpus)});
  // TTFT predicts every prefill chunk of the prompt; bound the worker's loop so it stays interactive.
  const int64_t prompt = std::max<int64_t>(1, c.context), chunk = std::max<int64_t>(1, std::min(c.chunk, prompt));
  const int64_t steps = (prompt + chunk - 1) / chunk;
  if (steps > kMaxTtftChunks)
    e.push_back({"chunk", "chunk " + std::to_string(c.chunk) + ": TTFT of a " + std::to_string(c.context) +
                              "-token prompt would take " + std::to_string(steps) + " prefill steps; the GUI allows " +
                              std::to_string(kMaxTtftChunks) +
                              " (chunk >= " + std::to_string((prompt + kMaxTtftChunks - 1) / kMaxTtftChunks) + ")"});
  return e;
}

Resolved resolve(const Config& c) {
  // Exactly cmd_predict.cpp's resolution of --gpus/--dp/--ep (here gpus is always given).
  Resolved r;
  r.dep.tp = c.tp;
  r.dep.gpus = c.gpus > 0 ? c.gpus : (c.dp > 0 ? c.dp * c.tp : std::max(8, c.tp));
  r.dep.dp = c.dp > 0 ? c.dp : std::max(1, r.dep.gpus / c.tp);
  r.dep.ep = c.ep > 0 ? c.ep : r.dep.gpus;
  r.dep.overlap = c.overlap;
  r.dep.mtp = c.mtp;
  r.dep.mtp_accept = c.mtp_accept;
  r.dep.engram_prefetch_layers = c.prefetch;
  r.dep.price_usd_per_gpu_hour = c.price;
  r.wl.phase = c.phase == "prefill" ? sim::Phase::Prefill : sim::Phase::Decode;
  r.wl.batch = c.batch;
  r.wl.context = c.context;
  r.wl.chunk = c.chunk;
  return r;
}

const char* panel_name(PanelId p) {
  switch (p) {
    case PanelId::Configure:
      return "configure";
    case PanelId::Predict:
      return "predict";
    case PanelId::Studies:
      return "studies";
    case PanelId::Timeline:
      return "timeline";
    case PanelId::Runs:
      return "runs";
    case PanelId::Execute:
      return "execute";
    case PanelId::Count:
      break;
  }
  return "?";
}

std::string App::state_path() const {
  if (!opt_.state_path.empty()) return opt_.state_path;
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  const char* home = std::getenv("HOME");
  std::filesystem::path base = xdg && *xdg     ? std::filesystem::path(xdg)
                               : home && *home ? std::filesystem::path(home) / ".config"
                                               : std::filesystem::path(".");
  return (base / "v4lab" / "gui.ini").string();
}

// State file: "key=value" lines; knob keys as --set, layout keys prefixed "ui.".
void App::save_state() const {
  if (opt_.no_state) return;
  const std::string path = state_path();
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) return;  // not fatal: the GUI still works, the state is just not kept
    f << "# v4lab-gui state (written on exit; knobs as --set key=value)\n";
    for (auto& k : config_keys()) f << k << "=" << get_config_value(cfg_, k) << "\n";
    f << "ui.split_left=" << ui.split_left << "\nui.split_top=" << ui.split_top << "\nui.split_mid=" << ui.split_mid
      << "\nui.split_top_x=" << ui.split_top_x << "\nui.split_bottom_x=" << ui.split_bottom_x
      << "\nui.timeline_whole_step=" << (ui.timeline_whole_step ? 1 : 0) << "\nui.timeline_layer=" << ui.timeline_layer
      << "\nui.runs_kind=" << ui.runs_kind << "\n";
  }
  std::filesystem::rename(tmp, path, ec);
}

void App::load_state() {
  if (opt_.no_state) return;
  std::ifstream f(state_path());
  if (!f) return;
  Config c = cfg_;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k.rfind("ui.", 0) == 0)
      set_ui(k, v);  // a stale or bad entry keeps the default
    else
      set_config_value(c, k, v);
  }
  apply(c);
}

std::string App::set_ui(const std::string& k, const std::string& v) {
  auto fl = [&](float& dst) -> std::string {
    char* end = nullptr;
    const float x = std::strtof(v.c_str(), &end);
    if (v.empty() || *end || !(x >= 0.12f && x <= 0.88f)) return k + "=" + v + ": expected a fraction in [0.12, 0.88]";
    dst = x;
    return "";
  };
  if (k == "ui.split_left") return fl(ui.split_left);
  if (k == "ui.split_top") return fl(ui.split_top);
  if (k == "ui.split_mid") return fl(ui.split_mid);
  if (k == "ui.split_top_x") return fl(ui.split_top_x);
  if (k == "ui.split_bottom_x") return fl(ui.split_bottom_x);
  if (k == "ui.timeline_whole_step") {
    if (v != "0" && v != "1") return k + "=" + v + ": expected 0 or 1";
    ui.timeline_whole_step = v == "1";
    return "";
  }
  if (k == "ui.timeline_layer") {
    char* end = nullptr;
    const long x = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end || x < 0) return k + "=" + v + ": expected a layer index >= 0";
    ui.timeline_layer = int(x);
    return "";
  }
  if (k == "ui.selected_runs") {  // "3" or "3,5" (not saved: run ids belong to one database)
    std::vector<int64_t> ids;
    std::stringstream ss(v);
    for (std::string t; std::getline(ss, t, ',');) {
      char* end = nullptr;
      const long long id = std::strtoll(t.c_str(), &end, 10);
      if (t.empty() || *end || id < 1) return k + "=" + v + ": expected one or two run ids, e.g. 3,5";
      ids.push_back(id);
    }
    if (ids.size() > 2) return k + "=" + v + ": at most two runs";
    ui.selected_runs = ids;
    refresh_runs();
    return "";
  }
  if (k == "ui.runs_kind") {
    ui.runs_kind = v.empty() ? "all" : v;
    return "";
  }
  return "unknown ui key '" + k +
         "' (ui.split_left, ui.split_top, ui.split_mid, ui.split_top_x, ui.split_bottom_x, "
         "ui.timeline_whole_step, ui.timeline_layer, ui.runs_kind, ui.selected_runs)";
}

nlohmann::json App::dump_state() const {
  nlohmann::json j;
  j["config"] = cfg_.to_json();
  j["version"] = version_;
  auto p = prediction();
  nlohmann::json e = nlohmann::json::array();
  for (auto& [k, m] : errors()) e.push_back({{"knob", k}, {"message", m}});
  j["errors"] = e;
  if (p && p->ok && p->version == version_) {  // the prediction of the configuration on screen
    const auto& s = p->serving;
    j["prediction"] = {
        {"label", "prediction"},
        {"cost_model", p->cost_model},
        {"version", p->version},
        {"step_s", s.step.step_s},
        {"ttft_s", s.ttft_s},
        {"tpot_s", s.tpot_s},
        {"decode_step_s", s.decode.step_s},
        {"decode_tokens_per_s_per_gpu", s.decode_tokens_per_s_per_gpu},
        {"decode_tokens_per_s_per_node", s.decode_tokens_per_s_per_node},
        {"prefill_tokens_per_s_per_gpu", s.prefill_tokens_per_s_per_gpu},
        {"usd_per_m_input_tokens", s.usd_per_m_input_tokens},
        {"usd_per_m_output_tokens", s.usd_per_m_output_tokens},
        {"memory",
         {{"weights_bytes", s.memory.weights_bytes},
          {"kv_bytes", s.memory.kv_bytes},
          {"activation_bytes", s.memory.activation_bytes},
          {"total_bytes", s.memory.total_bytes},
          {"capacity_bytes", s.memory.capacity_bytes},
          {"fits", s.memory.fits}}},
        {"resolved", {{"tp", p->res.dep.tp}, {"ep", p->res.dep.ep}, {"dp", p->res.dep.dp}, {"gpus", p->res.dep.gpus}}},
        {"timeline_nodes", p->timeline.size()}};
  }
  nlohmann::json panels = nlohmann::json::object();
  for (int i = 0; i < int(PanelId::Count); ++i) {
    const Rect& r = ui.panels[i];
    panels[panel_name(PanelId(i))] = {r.x, r.y, r.w, r.h};
  }
  j["panels"] = panels;
  nlohmann::json ex = nlohmann::json::array();
  for (auto& r : exec_results())
    ex.push_back({{"op", r.op},
                  {"backend", r.backend},
                  {"ok", r.ok},
                  {"error", r.error},
                  {"measured_s", r.measured_s},
                  {"predicted_s", r.predicted_s},
                  {"hardware", r.hw},
                  {"run_id", r.run_id},
                  {"verified", r.verified}});
  j["execute"] = {{"results", ex}, {"running", exec_running()}, {"done", exec_done()}, {"total", exec_total()}};
  if (auto r = runs()) j["runs"] = {{"ok", r->ok}, {"count", r->runs.size()}, {"error", r->error}};
  j["state_path"] = opt_.no_state ? "" : state_path();
  return j;
}

}  // namespace v4lab::gui
