// machine_probe.cpp — microbenchmarks for the measured `local` hardware preset.
// FMA peak: 12 independent vector FMA chains per thread (enough to cover FMA latency x throughput on
// current x86 cores); bandwidth: STREAM-style triad, best of several reps, 3 arrays counted (no RFO).
#include "profiler/machine_probe.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/build_info.h"
#include "core/presets.h"

namespace v4lab::profiler {

using clk = std::chrono::steady_clock;
static double secs(clk::time_point a, clk::time_point b) { return std::chrono::duration<double>(b - a).count(); }

static int thread_count() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// The widest vectors the kernels are compiled for (-march=native here): AVX-512 doubles the FMA width
// of AVX2, and a probe that used 8-wide vectors on such a machine would report half the real peak.
#if defined(__AVX512F__)
constexpr int kLanes = 16;
#else
constexpr int kLanes = 8;
#endif
typedef float v8f __attribute__((vector_size(4 * kLanes)));

// One thread's FMA chain block; returns a value so the compiler cannot drop the work.
__attribute__((noinline)) static float fma_block(long iters, float seed) {
  v8f acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = v8f{} + seed * (i + 1);
  const v8f a = v8f{} + 0.999999f, b = v8f{} + 1e-7f;
  for (long it = 0; it < iters; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = acc[i] * a + b;
  float s = 0;
  for (int i = 0; i < 12; ++i)
    for (int l = 0; l < kLanes; ++l) s += acc[i][l];
  return s;
}

static double fma_peak_flops(double budget_s) {
  const int nt = thread_count();
  long iters = 1 << 16;
  double best = 0;
  volatile float sink = 0;
  const auto t_end = clk::now() + std::chrono::duration<double>(budget_s);
  while (clk::now() < t_end) {
    auto a = clk::now();
    float s = 0;
#pragma omp parallel reduction(+ : s)
    { s += fma_block(iters, 1.0f); }
    double dt = secs(a, clk::now());
    sink = sink + s;
    if (dt < 0.02) { iters *= 4; continue; }
    best = std::max(best, double(nt) * iters * 12 * kLanes * 2 / dt);
  }
  (void)sink;
  return best;
}

static double triad_bw(size_t total_bytes, double budget_s) {
  const size_t n = total_bytes / (3 * sizeof(float));
  std::vector<float> a(n), b(n), c(n);
#pragma omp parallel for schedule(static)
  for (long i = 0; i < (long)n; ++i) { a[i] = 0; b[i] = 1.0f; c[i] = 2.0f; }  // first touch per thread
  double best = 0;
  const auto t_end = clk::now() + std::chrono::duration<double>(budget_s);
  int reps = 0;
  while (reps < 3 || clk::now() < t_end) {
    auto t0 = clk::now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)n; ++i) a[i] = b[i] + 0.5f * c[i];
    double dt = secs(t0, clk::now());
    best = std::max(best, 3.0 * n * sizeof(float) / dt);
    if (++reps > 50) break;
  }
  return best;
}

static double parallel_region_overhead_s() {
  double best = 1;
  for (int r = 0; r < 200; ++r) {
    auto t0 = clk::now();
    int x = 0;
#pragma omp parallel reduction(+ : x)
    { x += 1; }
    double dt = secs(t0, clk::now());
    if (x > 0) best = std::min(best, dt);
  }
  return best;
}

// Random row gather: rows of row_bytes picked uniformly from a table far larger than the caches,
// copied into a staging buffer by all threads (the access pattern of an Engram table gather).
// Returns gathered (read) bytes per second, best rep.
static double row_gather_bw(size_t table_bytes, size_t row_bytes, double budget_s) {
  const size_t rows = table_bytes / row_bytes;
  if (rows < 2) return 0;
  std::vector<uint8_t> table(rows * row_bytes);
#pragma omp parallel for schedule(static)
  for (long r = 0; r < (long)rows; ++r) table[size_t(r) * row_bytes] = uint8_t(r);  // touch every page
  constexpr size_t kGather = 1 << 16;
  std::vector<uint32_t> idx(kGather);
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (auto& i : idx) {  // splitmix64
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    i = uint32_t((z ^ (z >> 31)) % rows);
  }
  std::vector<uint8_t> out(kGather * row_bytes);
  double best = 0;
  const auto t_end = clk::now() + std::chrono::duration<double>(budget_s);
  for (int reps = 0; reps < 3 || (clk::now() < t_end && reps < 50); ++reps) {
    auto t0 = clk::now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)kGather; ++i)
      std::memcpy(out.data() + size_t(i) * row_bytes, table.data() + size_t(idx[size_t(i)]) * row_bytes, row_bytes);
    const double dt = secs(t0, clk::now());
    best = std::max(best, double(kGather * row_bytes) / dt);
  }
  return best;
}

static std::string read_first_line(const std::string& path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

static double size_kb(const std::string& s) {  // "32K", "1024K", "32M"
  if (s.empty()) return 0;
  double v = std::atof(s.c_str());
  if (s.back() == 'M') v *= 1024;
  return v;
}

nlohmann::json probe_machine(const ProbeOptions& opt) {
  nlohmann::json j;
  j["host"] = host_name();
  j["measured_at"] = utc_timestamp_now();
  {
    std::ifstream f("/proc/cpuinfo");
    std::string line, flags;
    while (std::getline(f, line)) {
      if (line.rfind("model name", 0) == 0 && !j.contains("cpu_model")) j["cpu_model"] = line.substr(line.find(':') + 2);
      if (line.rfind("flags", 0) == 0 && flags.empty()) flags = line;
    }
    std::vector<std::string> isa;
    std::istringstream fs(flags);
    std::vector<std::string> have;
    for (std::string w; fs >> w;) have.push_back(w);
    for (const char* x : {"sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_bf16", "amx_tile"})
      if (std::find(have.begin(), have.end(), x) != have.end()) isa.push_back(x);
    j["isa"] = isa;
  }
  j["hardware_threads"] = std::thread::hardware_concurrency();
  j["threads"] = thread_count();
  nlohmann::json caches = nlohmann::json::object();
  double llc_kb = 0;
  for (int i = 0; i < 8; ++i) {
    std::string base = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level = read_first_line(base + "level"), type = read_first_line(base + "type");
    if (level.empty()) break;
    double kb = size_kb(read_first_line(base + "size"));
    std::string key = "l" + level + (type == "Data" ? "d" : type == "Instruction" ? "i" : "");
    caches[key + "_kb"] = kb;
    if (type != "Instruction") llc_kb = std::max(llc_kb, kb);
  }
  j["caches"] = caches;
  {
    std::ifstream f("/proc/meminfo");
    std::string k;
    double kb = 0;
    while (f >> k >> kb) {
      if (k == "MemTotal:") { j["mem_capacity_gb"] = kb * 1024 / 1e9; break; }
      std::string rest;
      std::getline(f, rest);
    }
  }
  if (llc_kb > 0) j["l2_mb"] = llc_kb * 1024 / 1e6;  // last-level cache, the CPU analogue of a GPU's L2
  if (!opt.run_benchmarks) return j;
  j["fp32_tflops"] = fma_peak_flops(opt.budget_s * 0.4) / 1e12;
  j["mem_bw_gbs"] = triad_bw(opt.stream_bytes, opt.budget_s * 0.5) / 1e9;
  j["launch_overhead_us"] = parallel_region_overhead_s() * 1e6;
  j["row_gather_gbs"] = row_gather_bw(size_t(1) << 30, 264, opt.budget_s * 0.1) / 1e9;
  j["method"] =
      "fp32_tflops: 12 independent " + std::to_string(kLanes) + "-wide FMA chains per thread on all OpenMP threads, best of repeated blocks; "
      "mem_bw_gbs: STREAM triad over " + std::to_string(opt.stream_bytes >> 20) +
      " MiB, 3 arrays counted, best rep; launch_overhead_us: empty OpenMP parallel region, min of 200; "
      "row_gather_gbs: 65536 random 264 B rows (an FP8 Engram row) out of a 1 GiB table, gathered bytes/s, best rep";
  return j;
}

void apply_probe(HardwarePreset& hw, const nlohmann::json& p) {
  const std::string note = p.value("method", std::string("probe")) + " (" + p.value("measured_at", std::string()) + ")";
  for (const char* key : {"fp32_tflops", "mem_bw_gbs", "mem_capacity_gb", "l2_mb", "launch_overhead_us", "row_gather_gbs"}) {
    if (!p.contains(key)) continue;
    std::string unit = std::string(key).find("tflops") != std::string::npos ? "TFLOPS"
                       : std::string(key).find("gbs") != std::string::npos ? "GB/s"
                       : std::string(key).find("_gb") != std::string::npos ? "GB"
                       : std::string(key).find("_mb") != std::string::npos ? "MB" : "us";
    hw.set_measured(key, p[key].get<double>(), unit, note);
  }
  if (p.contains("cpu_model")) hw.display = "this machine: " + p["cpu_model"].get<std::string>();
}

}  // namespace v4lab::profiler
