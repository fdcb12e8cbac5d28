// cmd_kernel.cpp — `v4lab kernel OP`: run one op on one backend with seeded inputs, optionally verify
// against `_ref`, time it, predict it, and dump every input and output as .npy plus params.json so an
// outside script can recompute the result.
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/npy.h"
#include "kernels/registry.h"
#include "profiler/executor.h"
#include "report/report.h"
#include "sim/op_cost.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {
struct KernelOpts {
  std::string op;
  std::string backend = "cpu";
  std::vector<std::string> sets;
  std::string model;
  uint64_t seed = 1;
  bool verify = false;
  std::string dump;
  double min_time_s = 0.2;
  int warmup = 2;
  std::vector<std::string> predict;
  bool save = false;
};

void dump_io(const std::string& dir, const KernelOpts& k, const ParamMap& params, const KernelIO& io) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw runtime_error("cannot create dump directory: " + ec.message(), dir);
  nlohmann::json j;
  j["op"] = k.op;
  j["backend"] = k.backend;
  j["seed"] = k.seed;
  j["params"] = params_json(params);
  j["note"] = "BF16 tensors are stored as uint16 bit patterns (<u2): value = float32 from (bits << 16)";
  for (auto [list, kind] : {std::pair{&io.inputs, "inputs"}, std::pair{&io.outputs, "outputs"}}) {
    nlohmann::json arr = nlohmann::json::array();
    for (auto& t : *list) {
      std::string file = std::string(kind == std::string("inputs") ? "in_" : "out_") + t.name() + ".npy";
      write_npy((fs::path(dir) / file).string(), t);
      arr.push_back({{"name", t.name()}, {"file", file}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}});
    }
    j[kind] = arr;
  }
  std::ofstream f(fs::path(dir) / "params.json");
  f << j.dump(2) << "\n";
  if (!f) throw runtime_error("cannot write params.json", dir);
}
}  // namespace

void add_kernel_command(CLI::App& app, Context& ctx) {
  auto kp = std::make_shared<KernelOpts>();  // per app: tests parse many times
  KernelOpts& k = *kp;
  auto* cmd = app.add_subcommand("kernel", "Run, verify, time and predict one op on one backend");
  cmd->add_option("op", k.op, "Op name (see `v4lab info`), e.g. mhc_pre")->required();
  cmd->add_option("-b,--backend", k.backend, "Backend: ref | cpu | cuda")->capture_default_str();
  cmd->add_option("-s,--set", k.sets, "Shape/option override key=value (repeatable), e.g. --set n_tokens=13");
  cmd->add_option("-m,--model", k.model, "Model preset supplying default shapes (e.g. deepseek_v4_pro); "
                                         "default: the op's own defaults");
  cmd->add_option("--seed", k.seed, "Seed of the random inputs")->capture_default_str();
  cmd->add_flag("--verify", k.verify, "Check the backend's outputs against _ref (exit 1 on mismatch)")->capture_default_str();
  cmd->add_option("--dump", k.dump, "Write inputs/outputs as .npy and params.json into this directory");
  cmd->add_option("--min-time", k.min_time_s, "Minimum measured time in seconds (0: run once, no timing)")
      ->capture_default_str()->check(CLI::Range(0.0, 600.0));
  cmd->add_option("--warmup", k.warmup, "Untimed warm-up runs")->capture_default_str()->check(CLI::Range(0, 1000));
  cmd->add_option("--predict", k.predict, "Hardware presets to predict on (repeatable), e.g. local h800_sxm");
  cmd->add_flag("--save", k.save, "Store the measurement (and predictions) as a 'kernel' run in --db")->capture_default_str();
  cmd->callback([&ctx, kp] {
    ctx.action = [&ctx, kp]() -> int {
      KernelOpts& k = *kp;
      const OpDef& op = get_op(k.op);
      kernels::Backend be = kernels::parse_backend(k.backend);
      std::optional<ModelPreset> model;
      if (!k.model.empty()) model = load_model_preset(k.model, ctx.data_dir);
      ParamMap params = params_for(op, model ? &*model : nullptr, parse_sets(k.sets), "--set");
      std::string why;
      if (!kernels::backend_available(be, &why)) throw runtime_error(std::string("backend ") + k.backend + " unavailable: " + why);

      profiler::MeasureOptions mo;
      mo.min_time_s = k.min_time_s;
      mo.warmup = k.warmup;
      profiler::Executor ex(k.seed, mo);
      profiler::ExecResult r = ex.execute(k.op, be, params, k.verify, k.min_time_s > 0);
      if (!r.ran) throw runtime_error(r.skipped_reason);
      if (!k.dump.empty()) dump_io(k.dump, k, params, kernels::run_once(k.op, be, params, k.seed));

      std::unique_ptr<store::Store> db;
      if (k.save) db = std::make_unique<store::Store>(ctx.db_path);
      std::vector<std::pair<std::string, sim::OpCost>> preds;
      for (auto& hid : k.predict) {
        HardwarePreset hw = resolve_hardware(hid, ctx, db.get());
        preds.emplace_back(hid, sim::predict_op_for(k.op, get_op(k.op).family, r.work, sim::hardware_model(hw)));
      }

      nlohmann::json j;
      j["op"] = k.op;
      j["backend"] = k.backend;
      j["seed"] = k.seed;
      j["params"] = params_json(params);
      j["work"] = {{"flops", r.work.flops}, {"transcendentals", r.work.transcendentals}, {"bytes_mem", r.work.bytes_mem},
                   {"precision", precision_name(r.work.precision)}};
      if (k.min_time_s > 0)
        j["measurement"] = {{"median_s", r.m.median_s}, {"p10_s", r.m.p10_s}, {"p90_s", r.m.p90_s}, {"reps", r.m.reps},
                            {"gflops_per_s", r.m.gflops_per_s}, {"gbytes_per_s", r.m.gbytes_per_s}, {"threads", r.m.threads}};
      if (r.verified) {
        j["verified"] = *r.verified;
        nlohmann::json cs = nlohmann::json::array();
        for (auto& c : r.checks)
          cs.push_back({{"output", c.name}, {"passed", c.passed}, {"max_abs", c.max_abs}, {"max_rel", c.max_rel},
                        {"nmse", c.nmse}, {"violations", c.violations}, {"tolerance", c.tolerance}});
        j["checks"] = cs;
      }
      nlohmann::json pj = nlohmann::json::array();
      for (auto& [hid, c] : preds)
        pj.push_back({{"hardware", hid}, {"total_s", c.total_s}, {"bound", c.bound}, {"compute_s", c.compute_s},
                      {"memory_s", c.memory_s}, {"label", "prediction"}});
      j["predictions"] = pj;
      if (!k.dump.empty()) j["dump"] = k.dump;

      if (db) {
        store::RunRecord rec;
        rec.info.kind = "kernel";
        rec.info.name = k.op;
        rec.info.backends = k.backend;
        rec.info.seed = k.seed;
        rec.info.config_json = j.dump();
        store::Measurement m;
        m.op = k.op; m.backend = k.backend; m.params_json = params_json(params).dump();
        m.median_s = r.m.median_s; m.p10_s = r.m.p10_s; m.p90_s = r.m.p90_s; m.min_s = r.m.min_s; m.reps = r.m.reps;
        m.flops = r.m.flops; m.bytes = r.m.bytes; m.gflops_per_s = r.m.gflops_per_s; m.gbytes_per_s = r.m.gbytes_per_s;
        if (r.verified) m.verified = *r.verified;
        m.thread_count = r.m.threads;
        if (k.min_time_s > 0) rec.measurements.push_back(m);
        for (auto& [hid, c] : preds) {
          store::Prediction p;
          p.op = k.op; p.backend = k.backend; p.hardware = hid; p.params_json = m.params_json;
          p.compute_s = c.compute_s; p.memory_s = c.memory_s; p.host_s = c.host_s; p.comm_s = c.comm_s;
          p.overhead_s = c.overhead_s; p.total_s = c.total_s; p.bound = c.bound; p.flops = c.flops; p.bytes = c.bytes;
          p.model = sim::cost_model_name(c);
          rec.predictions.push_back(p);
        }
        j["run_id"] = db->write_run(rec);
      }

      std::ostream& o = *ctx.out;
      if (ctx.json) {
        o << j.dump(2) << "\n";
      } else {
        o << k.op << " [" << k.backend << "] " << params_json(params).dump() << "\n";
        if (k.min_time_s > 0)
          o << "  measured: median " << report::format_seconds(r.m.median_s) << " (p10 " << report::format_seconds(r.m.p10_s)
            << ", p90 " << report::format_seconds(r.m.p90_s) << ", " << r.m.reps << " reps, " << r.m.threads << " threads)  "
            << r.m.gflops_per_s << " GFLOP/s  " << r.m.gbytes_per_s << " GB/s\n";
        for (auto& c : r.checks) o << "  verify " << c.summary() << "\n";
        for (auto& [hid, c] : preds)
          o << "  prediction on " << hid << ": " << report::format_seconds(c.total_s) << " (" << c.bound << "-bound)\n";
        if (!k.dump.empty()) o << "  dumped inputs/outputs to " << k.dump << "\n";
      }
      return r.verified && !*r.verified ? 1 : 0;
    };
  });
}

}  // namespace v4lab::cli
