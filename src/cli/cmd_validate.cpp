// cmd_validate.cpp — `v4lab validate`: predict every reference point of data/validation/*.toml with the
// cost model (calibrated efficiencies included) and compare with the published value; a gated point
// whose |error| exceeds the tolerance written beside it fails the command (exit 1). docs/validation.md.
#include <cmath>
#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "core/ops/moe_cost.h"
#include "core/presets.h"
#include "core/validation.h"
#include "sim/op_cost.h"
#include "sim/step_model.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct Evaluated {
  double predicted = 0, error = 0;
  std::string bound, efficiency;
  bool pass = false;
};

double param_or(const ParamMap& p, const char* k, double d) {
  auto it = p.find(k);
  return it == p.end() ? d : it->second;
}

Evaluated evaluate(const ValidationPoint& v, const std::string& data_dir) {
  const HardwarePreset hwp = load_hardware_preset(v.hardware, data_dir);
  sim::OpCost c;
  double flops = 0, bytes = 0;
  if (v.op == "ep_dispatch" || v.op == "ep_combine") {
    const double T = param_or(v.params, "tokens", 4096), d = param_or(v.params, "hidden", 7168);
    const double k = param_or(v.params, "top_k", 8), R = param_or(v.params, "ep", 8);
    const double E = param_or(v.params, "n_experts", 256), mode = param_or(v.params, "mode", 0);
    if (!(T >= 1 && d >= 1 && k >= 1 && R >= 2 && E >= R && (mode == 0 || mode == 1)))
      throw config_error(v.file + ": point '" + v.id + "': ep params need tokens, hidden, top_k >= 1, ep >= 2, "
                         "n_experts >= ep, mode 0 (normal) or 1 (low-latency)");
    sim::Deployment dep;
    dep.ep = dep.gpus = dep.dp = int(R);
    const sim::HardwareModel hw = sim::deployment_hardware(hwp, dep);
    const double copies = mode == 1 ? k : moe_distinct_ranks(E, R, k);
    const double meta = mode == 1 ? 16.0 : 8.0 * k;
    OpWork w;
    const double domain = hwp.has("nvlink_domain_gpus") ? hwp.value("nvlink_domain_gpus") : 8;
    const NetSplit split = ep_net_split(R, domain);
    const double b = T * copies * (v.op == "ep_dispatch" ? moe_dispatch_bytes_per_copy(d, 1, meta) : moe_combine_bytes_per_copy(d));
    w.bytes_net = b * split.intra;
    w.bytes_nic = b * split.inter;
    w.precision = v.op == "ep_dispatch" ? Precision::FP8 : Precision::BF16;
    c = sim::predict_op_for(v.op, "comm", w, hw);
    bytes = w.bytes_net + w.bytes_nic;
  } else {
    const OpDef& op = get_op(v.op);
    const ParamMap p = resolve_params(op, v.params, v.file + " params");
    const OpWork w = op.work(p);
    const sim::HardwareModel hw = sim::hardware_model(hwp);
    c = sim::predict_op_for(v.op, op.family, w, hw);
    flops = w.flops;
    bytes = w.bytes_mem;
  }
  Evaluated e;
  e.bound = c.bound;
  e.efficiency = c.efficiency_key.empty() ? "-" : c.efficiency_key + " (" + c.efficiency_kind + ")";
  if (v.metric == "time_us") e.predicted = c.total_s * 1e6;
  else if (v.metric == "tflops") e.predicted = flops / c.total_s / 1e12;
  else e.predicted = bytes / c.total_s / 1e9;
  if (v.ref_max > 0) {
    e.error = e.predicted < v.ref_min ? (e.predicted - v.ref_min) / v.ref_min
              : e.predicted > v.ref_max ? (e.predicted - v.ref_max) / v.ref_max : 0.0;
  } else {
    e.error = (e.predicted - v.reference) / v.reference;
  }
  e.pass = std::abs(e.error) <= v.tolerance;
  return e;
}

std::string num(double x, const char* f = "%.4g") {
  char b[64];
  std::snprintf(b, sizeof b, f, x);
  return b;
}

}  // namespace

void add_validate_command(CLI::App& app, Context& ctx) {
  auto no_save = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("validate", "Compare cost-model predictions with published reference points "
                                             "(data/validation/*.toml); exit 1 when a gated point is out of tolerance");
  cmd->add_flag("--no-save", *no_save, "Do not store the run in the database");
  cmd->callback([&ctx, no_save] {
    ctx.action = [&ctx, no_save]() -> int {
      const std::vector<ValidationPoint> pts = load_validation_points(ctx.data_dir);
      std::vector<std::vector<std::string>> rows;
      nlohmann::json jp = nlohmann::json::array();
      int failed = 0, passed = 0, info = 0;
      store::RunRecord rec;
      rec.info.kind = "validate";
      rec.info.name = "validate " + std::to_string(pts.size()) + " points";
      for (const ValidationPoint& v : pts) {
        const Evaluated e = evaluate(v, ctx.data_dir);
        const std::string status = e.pass ? "pass" : v.gate ? "FAIL" : "info";
        if (!e.pass && v.gate) ++failed;
        else if (e.pass) ++passed;
        else ++info;
        const std::string ref = v.ref_max > 0 ? num(v.ref_min) + ".." + num(v.ref_max) : num(v.reference);
        rows.push_back({v.id, v.hardware, v.metric, ref, num(e.predicted), num(100 * e.error, "%+.1f%%"),
                        num(100 * v.tolerance, "%.0f%%"), status + (v.used_in_calibration ? " (cal)" : ""), e.bound});
        nlohmann::json j = {{"id", v.id},           {"file", v.file},         {"hardware", v.hardware},
                            {"op", v.op},           {"metric", v.metric},     {"reference", v.reference},
                            {"predicted", e.predicted}, {"error", e.error},   {"tolerance", v.tolerance},
                            {"gate", v.gate},       {"status", status},       {"bound", e.bound},
                            {"efficiency", e.efficiency}, {"used_in_calibration", v.used_in_calibration},
                            {"source", v.source},   {"conditions", v.conditions}, {"label", "prediction vs published reference"}};
        if (v.ref_max > 0) j["reference_range"] = {v.ref_min, v.ref_max};
        jp.push_back(j);
        store::StudyPoint sp;
        sp.study = "validate";
        sp.point_json = nlohmann::json({{"id", v.id}, {"hardware", v.hardware}, {"op", v.op}, {"params", params_json(v.params)}}).dump();
        sp.metrics_json = j.dump();
        sp.label = "prediction vs published reference";
        rec.study_points.push_back(sp);
      }
      nlohmann::json out = {{"points", jp}, {"passed", passed}, {"failed", failed}, {"informational", info}};
      if (!*no_save) {
        rec.info.config_json = nlohmann::json({{"data_dir", ctx.data_dir}, {"points", pts.size()}}).dump();
        store::Store db(ctx.db_path);
        out["run_id"] = db.write_run(rec);
      }
      if (ctx.json) {
        *ctx.out << out.dump(2) << "\n";
      } else {
        std::ostream& o = *ctx.out;
        o << "v4lab validate — cost-model predictions vs published reference points (" << ctx.data_dir << "/validation)\n"
          << "error = (predicted - reference) / reference (ranges: distance outside the range); "
             "(cal) = the anchor also set an efficiency, so agreement is by construction\n\n";
        print_table(o, {"point", "hardware", "metric", "reference", "predicted", "error", "tolerance", "status", "bound"}, rows);
        o << "\n" << passed << " passed, " << failed << " failed, " << info << " informational (outside tolerance, not gated)\n";
      }
      return failed > 0 ? 1 : 0;
    };
  });
}

}  // namespace v4lab::cli
