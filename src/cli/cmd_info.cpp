// cmd_info.cpp — `v4lab info`: build options, backends live on this machine, CUDA device, CPU
// features, presets and ops available.
#include <nlohmann/json.hpp>

#include <memory>
#include <ostream>

#include "cli/cli.h"
#include "core/build_info.h"
#include "core/npy.h"
#include "core/op_catalogue.h"
#include "core/presets.h"
#include "kernels/device.h"
#include "kernels/registry.h"
#include "profiler/cpu_counters.h"
#include "profiler/cupti_collector.h"
#include "profiler/machine_probe.h"
#include "profiler/nvtx.h"
#include "profiler/executor.h"

namespace v4lab::cli {

void add_info_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("info", "Build options, available backends, CUDA device, CPU features, presets, ops");
  auto pp = std::make_shared<bool>(false);  // per app: tests parse many times
  bool& probe = *pp;
  cmd->add_flag("--probe", probe, "Also run the machine probe (FMA peak, DRAM bandwidth; ~2 s)")->capture_default_str();
  auto npy = std::make_shared<std::string>();
  cmd->add_option("--npy", *npy, "Only describe this .npy file (e.g. one written by `kernel --dump`): dtype, shape, "
                                 "bytes; a malformed or truncated file exits 2");
  cmd->callback([&ctx, pp, npy] {
    ctx.action = [&ctx, pp, npy] {
      bool& probe = *pp;
      if (!npy->empty()) {
        const Tensor t = read_npy(*npy, "npy");
        const nlohmann::json d = {{"path", *npy}, {"dtype", dtype_name(t.dtype())}, {"shape", t.shape()}, {"bytes", t.nbytes()}};
        if (ctx.json) {
          *ctx.out << d.dump(2) << "\n";
        } else {
          *ctx.out << *npy << ": " << d["dtype"].get<std::string>() << " " << d["shape"].dump() << ", " << t.nbytes()
                   << " bytes\n";
        }
        return 0;
      }
      const BuildInfo& b = build_info();
      nlohmann::json j;
      j["version"] = b.version;
      j["build"] = {{"git_commit", b.git_commit}, {"git_dirty", b.git_dirty}, {"build_type", b.build_type},
                    {"compiler", b.compiler}, {"isa_flags", b.cxx_flags}, {"cuda", b.cuda}, {"gui", b.gui},
                    {"mpi", b.mpi}, {"sanitize", b.sanitize}, {"nvtx", profiler::nvtx_compiled()}};
      nlohmann::json backends = nlohmann::json::object();
      for (auto be : {kernels::Backend::Ref, kernels::Backend::Cpu, kernels::Backend::Cuda}) {
        std::string why;
        bool ok = kernels::backend_available(be, &why);
        backends[kernels::backend_name(be)] = {{"available", ok}, {"threads", profiler::backend_threads(be)},
                                               {"reason", ok ? "" : why}};
      }
      j["backends"] = backends;
      j["profiling"] = {{"cupti", {{"compiled", profiler::cupti_compiled()}, {"status", profiler::cupti_status()}}},
                        {"nvtx", profiler::nvtx_compiled()},
                        {"perf_counters", profiler::perf_counters_status()}};
      j["cuda_device"] = kernels::cuda_device_summary();
      if (kernels::cuda_compiled()) j["cuda_runtime"] = kernels::cuda_runtime_version();
      j["host"] = host_name();
      j["data_dir"] = ctx.data_dir;
      j["hardware_presets"] = list_hardware_presets(ctx.data_dir);
      j["model_presets"] = list_model_presets(ctx.data_dir);
      nlohmann::json ops = nlohmann::json::array();
      for (auto& o : all_ops()) {
        nlohmann::json bk = nlohmann::json::array();
        if (auto* k = kernels::find_kernels(o.name))
          for (auto& [be, _] : k->prepare) bk.push_back(kernels::backend_name(be));
        ops.push_back({{"op", o.name}, {"family", o.family}, {"summary", o.summary}, {"backends", bk}});
      }
      j["ops"] = ops;
      profiler::ProbeOptions po;
      po.run_benchmarks = probe;
      j["machine"] = profiler::probe_machine(po);
      std::ostream& o = *ctx.out;
      if (ctx.json) { o << j.dump(2) << "\n"; return 0; }
      o << "v4lab " << b.version << "  commit " << b.git_commit.substr(0, 12) << (b.git_dirty ? "+dirty" : "") << "  "
        << b.build_type << "  " << b.compiler << "  " << b.cxx_flags << "\n";
      o << "build options: CUDA=" << (b.cuda ? "on" : "off") << " GUI=" << (b.gui ? "on" : "off")
        << " MPI=" << (b.mpi ? "on" : "off") << " NVTX=" << (profiler::nvtx_compiled() ? "on" : "off")
        << " sanitize=" << (b.sanitize.empty() ? "none" : b.sanitize) << "\n";
      o << "backends:\n";
      for (auto& [name, v] : backends.items())
        o << "  " << name << ": " << (v["available"].get<bool>() ? "available" : "unavailable")
          << (v["available"].get<bool>() ? " (" + std::to_string(v["threads"].get<int>()) + " threads)"
                                         : " — " + v["reason"].get<std::string>())
          << "\n";
      o << "cuda device: " << j["cuda_device"].get<std::string>() << "\n";
      o << "profiling: CUPTI " << (profiler::cupti_compiled() ? "present" : "absent") << " — "
        << profiler::cupti_status() << "; CPU counters " << profiler::perf_counters_status() << "\n";
      const auto& m = j["machine"];
      o << "cpu: " << m.value("cpu_model", "?") << ", " << m["threads"] << " threads, isa " << m["isa"].dump() << "\n";
      if (probe)
        o << "probe: fp32 peak " << m["fp32_tflops"].get<double>() * 1e3 << " GFLOP/s, triad "
          << m["mem_bw_gbs"].get<double>() << " GB/s, parallel region " << m["launch_overhead_us"].get<double>()
          << " us\n";
      o << "presets: hardware " << j["hardware_presets"].dump() << "\n         models " << j["model_presets"].dump()
        << "\n";
      o << "ops:\n";
      for (auto& op : ops) o << "  " << op["op"].get<std::string>() << " [" << op["family"].get<std::string>() << "] backends "
                             << op["backends"].dump() << " — " << op["summary"].get<std::string>() << "\n";
      return 0;
    };
  });
}

}  // namespace v4lab::cli
