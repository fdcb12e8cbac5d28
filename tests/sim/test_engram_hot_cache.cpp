// test_engram_hot_cache.cpp — the Engram HBM hot cache in the memory and step models (cost-model issue
// gap 3): hot rows counted in HBM per GPU and taken out of host RAM; the host copy carries only the
// misses (bytes × (1 − hit rate)); bad fractions / hit rates refused naming the flag.
#include <catch2/catch.hpp>

#include <limits>
#include <tuple>

#include "core/error.h"
#include "core/presets.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

TEST_CASE("engram hot cache: HBM gets the hot rows, host RAM the rest, the host copy only the misses", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset m = load_model_preset("v41_flash_like", data);
  Deployment dep;
  dep.gpus = dep.dp = dep.ep = 8;
  Workload wl;
  wl.batch = 64;
  const MemoryFootprint none = memory_footprint(m, hw, dep, wl);
  REQUIRE(none.engram_hot_bytes == 0);
  REQUIRE(none.host_bytes > 0);
  Deployment hot = dep;
  hot.engram_hot_fraction = 0.0625;
  const MemoryFootprint f = memory_footprint(m, hw, hot, wl);
  REQUIRE(f.engram_hot_bytes == Approx(0.0625 * none.host_bytes));
  REQUIRE(f.host_bytes + f.engram_hot_bytes == Approx(none.host_bytes));
  REQUIRE(f.total_bytes == Approx(none.total_bytes + f.engram_hot_bytes));
  REQUIRE(f.max_batch <= none.max_batch);

  const StepCost s0 = predict_step(m, hw, dep, wl);
  const StepCost s1 = predict_step(m, hw, hot, wl);  // hit rate = fraction (uniform bound)
  hot.engram_hot_hit_rate = 0.5;
  const StepCost s2 = predict_step(m, hw, hot, wl);
  REQUIRE(s0.bytes_host > 0);
  REQUIRE(s1.bytes_host == Approx(s0.bytes_host * (1 - 0.0625)));
  REQUIRE(s2.bytes_host == Approx(s0.bytes_host * 0.5));
  REQUIRE(s2.step_s <= s0.step_s);
  hot.engram_hot_hit_rate = 1.0;
  REQUIRE(predict_step(m, hw, hot, wl).bytes_host == 0);
}

TEST_CASE("engram hot cache: out-of-range fraction or hit rate is a usage error naming the flag", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset m = load_model_preset("v41_flash_like", data);
  for (auto [frac, hit, flag] : {std::tuple{1.5, -1.0, "--engram-hot-fraction"}, std::tuple{-0.1, -1.0, "--engram-hot-fraction"},
                                 std::tuple{0.1, 1.5, "--engram-hot-hit-rate"}, std::tuple{0.0, 0.3, "--engram-hot-hit-rate"},
                                 std::tuple{0.1, std::numeric_limits<double>::quiet_NaN(), "--engram-hot-hit-rate"}}) {
    Deployment dep;
    dep.engram_hot_fraction = frac;
    dep.engram_hot_hit_rate = hit;
    INFO(flag << " " << frac << " " << hit);
    try {
      memory_footprint(m, hw, dep, Workload{});
      FAIL("accepted");
    } catch (const Error& e) {
      REQUIRE(e.exit_code() == 2);
      REQUIRE(std::string(e.what()).find(flag) != std::string::npos);
    }
  }
}
