// machine_probe.h — measures "this machine" for the `local` hardware preset (presets.md §3.1):
// CPU model, threads, ISA, caches, DRAM capacity, FP32 FMA peak (microbenchmark), streaming DRAM
// bandwidth (triad), and the fixed cost of a parallel region (the CPU analogue of a kernel launch).
#pragma once
#include <nlohmann/json.hpp>

namespace v4lab {
struct HardwarePreset;
}

namespace v4lab::profiler {

struct ProbeOptions {
  double budget_s = 1.5;       // rough total time the probe may take
  size_t stream_bytes = 384u << 20;  // total triad working set (three arrays), well above the LLC
  bool run_benchmarks = true;  // false: only OS facts (model, ISA, caches, capacity), no timing
};

// Runs the probe; every number is measured or read from the OS (never defaulted). JSON keys match
// the canonical hardware-preset keys (fp32_tflops, mem_bw_gbs, mem_capacity_gb, l2_mb, launch_overhead_us)
// plus descriptive fields (cpu_model, threads, isa, caches, method).
nlohmann::json probe_machine(const ProbeOptions& opt = {});

// Fill the measured fields of a `local` preset from a probe result (kind "measured", note = method).
void apply_probe(HardwarePreset& hw, const nlohmann::json& probe);

}  // namespace v4lab::profiler
