// app_worker.cpp — what the worker threads compute: the prediction snapshot (sim::predict_serving, the
// scheduled step for the timeline, the top-k and mHC-streams study curves from the op catalogue and
// predict_step), and the database snapshot (runs, the selected runs' rows, the U-curve study points).
// Every number here is a cost-model prediction; measured numbers come only from the Execute panel.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "gui/app.h"
#include "sim/op_cost.h"

namespace v4lab::gui {

Worker::Worker(std::string name) : name_(std::move(name)), th_([this] { loop(); }) {}

Worker::~Worker() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    q_.clear();
  }
  cv_.notify_all();
  th_.join();
}

void Worker::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    q_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Worker::post_latest(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    q_.clear();
    q_.push_back(std::move(job));
  }
  cv_.notify_one();
}

bool Worker::idle() const {
  std::lock_guard<std::mutex> l(mu_);
  return q_.empty() && !busy_;
}

void Worker::loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return stop_ || !q_.empty(); });
      if (stop_) return;
      job = std::move(q_.front());
      q_.pop_front();
      busy_ = true;
    }
    try {
      job();
    } catch (...) {
      // Jobs report their own errors into snapshots; nothing may escape a worker thread.
    }
    std::lock_guard<std::mutex> l(mu_);
    busy_ = false;
  }
}

namespace {

plot::Series series(const std::string& name, uint32_t color) {
  plot::Series s;
  s.name = name;
  s.color = color;
  return s;
}
plot::Axis axis(const std::string& label, bool log, double lo = NAN, double hi = NAN) {
  plot::Axis a;
  a.label = label, a.log = log, a.min = lo, a.max = hi;
  return a;
}

// "--tp 3: must divide ..." (sim::check_deployment) -> the knob "tp"; `msg` becomes "tp 3: must divide ...".
std::string knob_of_flag(std::string& msg) {
  static const std::vector<std::pair<std::string, std::string>> flags = {{"--batch", "batch"},
                                                                         {"--context", "context"},
                                                                         {"--chunk", "chunk"},
                                                                         {"--tp", "tp"},
                                                                         {"--ep", "ep"},
                                                                         {"--dp", "dp"},
                                                                         {"--gpus", "gpus"},
                                                                         {"--mtp-accept", "mtp_accept"},
                                                                         {"--engram-prefetch", "prefetch"}};
  for (auto& [f, k] : flags)
    if (msg.rfind(f + " ", 0) == 0) {
      msg = k + msg.substr(f.size());
      return k;
    }
  return "";
}

double op_time(const std::string& op, const ParamMap& over, const sim::HardwareModel& hw, std::string* bound) {
  const OpDef& d = get_op(op);
  const sim::OpCost c = sim::predict_op_for(op, d.family, d.work(resolve_params(d, over, "studies")), hw);
  if (bound) *bound = c.bound;
  return c.total_s;
}

plot::Figure topk_figure(const ModelPreset& m, const HardwarePreset& hw, const Resolved& r, int64_t k_now) {
  plot::Figure f;
  f.title = "top-k: sparse attention cost vs k";
  f.note =
      "prediction: decode at the current context; indexer and attention = op-catalogue time per call x "
      "selecting layers x sequences per GPU";
  f.x = axis("k (selected entries)", true);
  f.y = axis("time per decode step", true);
  const sim::ModelDims d = sim::model_dims(m);
  if (d.top_k <= 0) {
    f.placeholder = m.id + " has no indexer top-k (index_topk): nothing to sweep. Pick deepseek_v4_* or deepseek_v32.";
    return f;
  }
  f.marker_x = double(k_now);
  f.marker_label = "k = " + std::to_string(k_now);
  const sim::HardwareModel hwm = sim::hardware_model(hw);
  std::set<int64_t> ks = {64, 128, 256, 512, 1024, 2048, 4096, 8192, k_now};
  const double ctx = double(std::max<int64_t>(1, r.wl.context));
  const double heads = double(d.n_heads / std::max(1, r.dep.tp));
  // One call per sequence per selecting layer: summed over the step so the three curves share a scale.
  int n_sel = 0;
  for (auto& l : sim::layer_schedule(m)) n_sel += l.attn_kind == "csa" || l.attn_kind == "dsa";
  const double seqs = std::ceil(double(r.wl.batch) / double(std::max(1, r.dep.dp)));
  const double calls = double(std::max(1, n_sel)) * seqs;
  plot::Series idx = series("indexer", plot::palette(0)), att = series("sparse attention", plot::palette(1)),
               step = series("decode step, whole model", plot::palette(3));
  sim::Workload dw = r.wl;
  dw.phase = sim::Phase::Decode;
  for (int64_t k : ks) {
    std::string bi, ba;
    double ti, ta;
    if (d.v4) {
      ti = op_time("attn_csa_indexer",
                   {{"n_tokens", 1},
                    {"n_ctx", ctx},
                    {"idx_heads", double(d.idx_heads)},
                    {"idx_dim", double(d.idx_dim)},
                    {"ratio", 4}},
                   hwm, &bi);
      ta = op_time("attn_sparse",
                   {{"n_tokens", 1},
                    {"n_ctx", ctx},
                    {"n_heads", heads},
                    {"d_head", double(d.d_head)},
                    {"d_rope", double(d.d_rope)},
                    {"window", double(d.window)},
                    {"ratio", 4},
                    {"top_k", double(k)},
                    {"o_groups", double(d.o_groups / std::max(1, r.dep.tp))}},
                   hwm, &ba);
    } else {
      ti =
          op_time("attn_dsa_indexer",
                  {{"n_tokens", 1}, {"n_ctx", ctx}, {"idx_heads", double(d.idx_heads)}, {"idx_dim", double(d.idx_dim)}},
                  hwm, &bi);
      ta = op_time("attn_mla_decode",
                   {{"n_tokens", 1},
                    {"n_ctx", ctx},
                    {"n_heads", heads},
                    {"d_nope", double(d.qk_nope)},
                    {"d_rope", double(d.d_rope)},
                    {"kv_rank", double(d.kv_rank)},
                    {"d_v", double(d.v_head)},
                    {"form", 1},
                    {"top_k", double(k)}},
                   hwm, &ba);
    }
    ModelPreset mk = m;
    mk.fields["index_topk"] = k;
    const double ts = sim::predict_step(mk, hw, r.dep, dw).step_s;
    const std::string ks_ = "k = " + std::to_string(k) + ", context " + std::to_string(r.wl.context) + "\n";
    const std::string per = " per call (" + bi + "-bound), x " + plot::format_value(calls) + " calls";
    idx.x.push_back(double(k)), idx.y.push_back(ti * calls), idx.tips.push_back(ks_ + plot::format_seconds(ti) + per);
    att.x.push_back(double(k)), att.y.push_back(ta * calls);
    att.tips.push_back(ks_ + plot::format_seconds(ta) + " per call (" + ba + "-bound), x " + plot::format_value(calls) +
                       " calls");
    step.x.push_back(double(k)), step.y.push_back(ts),
        step.tips.push_back(ks_ + plot::format_seconds(ts) + " per decode step");
  }
  f.series = {idx, att, step};
  return f;
}

plot::Figure streams_figure(const ModelPreset& m, const HardwarePreset& hw, const Resolved& r, int hc_now,
                            int64_t tokens) {
  plot::Figure f;
  f.title = "mHC streams: cost vs n (relative to n = 1)";
  f.x = axis("residual streams n", true);
  f.y = axis("x cost of n = 1", true);
  const sim::ModelDims d = sim::model_dims(m);
  const bool has_mhc = d.mhc;
  f.note = has_mhc ? "prediction (mhc_pre + mhc_post per sublayer; decode step with hc_mult = n)"
                   : "prediction (op catalogue only: " + m.id + " has no mHC)";
  f.marker_x = double(hc_now);
  f.marker_label = "n = " + std::to_string(hc_now);
  const double T = double(std::max<int64_t>(1, tokens));
  plot::Series by = series("bytes / token", plot::palette(2)), fl = series("FLOPs / token", plot::palette(4)),
               st = series("decode step", plot::palette(3));
  double b1 = 0, f1 = 0, s1 = 0;
  sim::Workload dw = r.wl;
  dw.phase = sim::Phase::Decode;
  for (int n : {1, 2, 4, 8}) {
    const ParamMap p = {
        {"n_tokens", T}, {"hc", double(n)}, {"d_model", double(d.d_model)}, {"iters", double(d.hc_iters)}};
    const OpWork pre = get_op("mhc_pre").work(resolve_params(get_op("mhc_pre"), p, "studies"));
    ParamMap pp = p;
    pp.erase("iters");
    const OpWork post = get_op("mhc_post").work(resolve_params(get_op("mhc_post"), pp, "studies"));
    const double bytes = (pre.bytes_mem + post.bytes_mem) / T, flops = (pre.flops + post.flops) / T;
    if (n == 1) b1 = bytes, f1 = flops;
    by.x.push_back(n), by.y.push_back(bytes / b1);
    by.tips.push_back("n = " + std::to_string(n) + ": " + plot::format_value(bytes) + " B per token per sublayer");
    fl.x.push_back(n), fl.y.push_back(flops / f1);
    fl.tips.push_back("n = " + std::to_string(n) + ": " + plot::format_value(flops) + " FLOP per token per sublayer");
    if (has_mhc) {
      ModelPreset mn = m;
      mn.fields["hc_mult"] = n;
      const double t = sim::predict_step(mn, hw, r.dep, dw).step_s;
      if (n == 1) s1 = t;
      st.x.push_back(n), st.y.push_back(t / s1);
      st.tips.push_back("n = " + std::to_string(n) + ": " + plot::format_seconds(t) + " per decode step");
    }
  }
  f.series = {by, fl};
  if (has_mhc) f.series.push_back(st);
  return f;
}

}  // namespace

void App::compute_prediction(const Config& c, uint64_t version) {
  std::lock_guard<std::mutex> measuring(measure_mu_);  // never while a kernel is being timed
  const auto t0 = std::chrono::steady_clock::now();
  auto snap = std::make_shared<PredictionSnapshot>();
  snap->version = version;
  snap->cfg = c;
  snap->res = resolve(c);
  std::string stage = "model";
  snap->errors = validate_basic(c);  // the UI shows these already; do not spend the worker on them
  if (!snap->errors.empty()) {
    std::lock_guard<std::mutex> l(snap_mu_);
    if (!pred_ || pred_->version <= version) pred_ = snap;
    return;
  }
  try {
    std::shared_ptr<const ModelPreset> mp;
    std::shared_ptr<const HardwarePreset> hp;
    {
      std::lock_guard<std::mutex> l(cache_mu_);
      auto& mc = model_cache_[c.model];
      if (!mc) mc = std::make_shared<ModelPreset>(load_model_preset(c.model, opt_.data_dir));
      mp = mc;
      stage = "hw";
      auto& hc = hw_cache_[c.hw];
      if (!hc) hc = std::make_shared<HardwarePreset>(load_hardware_preset(c.hw, opt_.data_dir));
      hp = hc;
    }
    ModelPreset m = *mp;
    const HardwarePreset& hw = *hp;
    stage = "model";
    snap->preset_topk = m.has_number("index_topk") ? int64_t(m.number("index_topk")) : 0;
    snap->preset_hc = m.has_number("hc_mult") ? int64_t(m.number("hc_mult")) : 0;
    stage = "topk";
    if (c.topk > 0) {
      if (!snap->preset_topk) throw usage_error(m.id + " has no indexer top-k (index_topk); set topk = 0");
      m.fields["index_topk"] = c.topk;
    }
    stage = "hc";
    if (c.hc > 0) {
      if (!snap->preset_hc) throw usage_error(m.id + " has no mHC (hc_mult); set hc = 0");
      m.fields["hc_mult"] = c.hc;
    }
    stage = "model";
    const sim::ModelDims dims = sim::model_dims(m);
    stage = "";
    sim::check_deployment(dims, snap->res.dep, snap->res.wl);
    stage = "hw";
    (void)sim::hardware_model(hw);  // an un-probed `local` preset fails here, naming the field
    stage = "";
    snap->cost_model = hw.efficiency.is_null() ? sim::kCostModelName : sim::kCalibratedModelName;  // as cmd_predict
    snap->serving = sim::predict_serving(m, hw, snap->res.dep, snap->res.wl);
    sim::StepPredictor sp(m, hw, snap->res.dep, snap->res.wl);
    const sim::StepCost sc = sp.predict();
    const auto& g = sp.graph();
    snap->timeline.resize(sc.schedule.timeline.size());
    for (const auto& e : sc.schedule.timeline) {
      const sim::OpNode& n = g.dag[e.node];
      TimelineItem& t = snap->timeline[e.node];
      t.label = n.label, t.op = n.op, t.family = n.family, t.layer = n.layer, t.stream = e.stream,
      t.micro_batch = n.micro_batch, t.start_s = e.start_s, t.end_s = e.end_s;
      snap->n_layers = std::max(snap->n_layers, n.layer + 1);
    }
    for (auto& l : g.layers) snap->layer_kinds.push_back(l.attn_kind + "/" + l.moe_kind + (l.mtp ? " (MTP)" : ""));
    stage = "studies";
    snap->ok = true;
    {  // Publish the prediction now; the study curves (13 more step predictions) follow in a second snapshot.
      auto first = std::make_shared<PredictionSnapshot>(*snap);
      std::lock_guard<std::mutex> l(snap_mu_);
      for (auto [fig, prev] : {std::pair{&first->topk_fig, good_ ? &good_->topk_fig : nullptr},
                               std::pair{&first->streams_fig, good_ ? &good_->streams_fig : nullptr}}) {
        if (prev) *fig = *prev;
        fig->note = "updating...";
      }
      first->compute_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      if (!pred_ || pred_->version <= version) pred_ = first;
      if (!good_ || good_->version <= version) good_ = first;
    }
    const int64_t k_now = c.topk > 0 ? c.topk : snap->preset_topk;
    const int hc_now = c.hc > 0 ? c.hc : (snap->preset_hc > 0 ? int(snap->preset_hc) : 1);
    snap->topk_fig = topk_figure(m, hw, snap->res, k_now);
    ModelPreset m_hc = m;  // the streams sweep varies n itself
    snap->streams_fig = streams_figure(m_hc, hw, snap->res, hc_now, sc.tokens_per_gpu);
  } catch (const Error& e) {
    std::string msg = e.what();
    std::string k = stage == "studies" ? "" : knob_of_flag(msg);
    if (k.empty()) k = stage;
    if (stage == "studies") {
      snap->ok = true;  // the prediction stands; the studies say why they are empty
      snap->topk_fig.placeholder = snap->streams_fig.placeholder = std::string("study failed: ") + e.what();
    } else {
      snap->errors.push_back({k, msg});
    }
  } catch (const std::exception& e) {
    snap->errors.push_back({stage, e.what()});
  }
  const double total_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (snap->ok)
    snap->studies_ms = total_ms;
  else
    snap->compute_ms = total_ms;
  std::lock_guard<std::mutex> l(snap_mu_);
  if (snap->ok && pred_ && pred_->version == version) snap->compute_ms = pred_->compute_ms;
  if (!pred_ || pred_->version <= version) pred_ = snap;
  if (snap->ok && (!good_ || good_->version <= version)) good_ = snap;
}

void App::query_runs(std::vector<int64_t> selected, uint64_t serial) {
  auto snap = std::make_shared<RunsSnapshot>();
  snap->serial = serial;
  snap->ucurve_fig.title = "U-curve: loss vs Engram share rho";
  snap->ucurve_fig.x = axis("rho (MoE share of sparse params)", false, 0.05, 1.05);
  snap->ucurve_fig.y = axis("validation loss", false);
  snap->ucurve_fig.note = "calibrated model, not a training run";
  snap->ucurve_fig.placeholder = "no U-curve study in " + opt_.db_path + ": run `v4lab study ucurve` to fill this plot";
  try {
    if (!std::filesystem::exists(opt_.db_path)) {
      snap->error = "no database at " + opt_.db_path + " yet (the first run or kernel execution creates it)";
    } else {
      store::Store db(opt_.db_path, store::OpenMode::ReadOnly);
      snap->runs = db.list_runs(0);
      for (int64_t id : selected) {
        try {
          RunDetail d;
          d.row = db.get_run(id);
          d.measurements = db.measurements(id);
          d.predictions = db.predictions(id);
          d.study_points = db.study_points(id);
          snap->details[id] = std::move(d);
        } catch (const Error&) {
          // deleted meanwhile: the selection just loses it
        }
      }
      for (auto& r : snap->runs) {  // newest study run with ucurve points
        if (r.n_study_points == 0) continue;
        plot::Series s = series("loss", plot::palette(0));
        for (auto& p : db.study_points(r.id)) {
          if (p.study != "ucurve") continue;
          const auto pj = nlohmann::json::parse(p.point_json, nullptr, false);
          const auto mj = nlohmann::json::parse(p.metrics_json, nullptr, false);
          auto num = [](const nlohmann::json& a, const nlohmann::json& b, const char* k) {
            for (auto* j : {&a, &b})
              if (j->is_object() && j->contains(k) && (*j)[k].is_number()) return (*j)[k].get<double>();
            return double(NAN);
          };
          const double rho = num(pj, mj, "rho"), loss = num(mj, pj, "loss");
          if (std::isfinite(rho) && std::isfinite(loss)) s.x.push_back(rho), s.y.push_back(loss);
        }
        if (s.x.empty()) continue;
        std::vector<size_t> ord(s.x.size());
        for (size_t i = 0; i < ord.size(); ++i) ord[i] = i;
        std::sort(ord.begin(), ord.end(), [&](size_t a, size_t b) { return s.x[a] < s.x[b]; });
        plot::Series o = series("loss (run " + std::to_string(r.id) + ")", plot::palette(0));
        for (size_t i : ord) o.x.push_back(s.x[i]), o.y.push_back(s.y[i]);
        snap->ucurve_fig.series = {o};
        snap->ucurve_fig.placeholder.clear();
        snap->ucurve_run = r.id;
        break;
      }
      snap->ok = true;
    }
  } catch (const std::exception& e) {
    snap->error = e.what();
  }
  std::lock_guard<std::mutex> l(snap_mu_);
  if (!runs_ || runs_->serial <= serial) runs_ = snap;
}

}  // namespace v4lab::gui
