// test_numeric_edges.cpp — numerical limits of the cost model (issue 10; docs/cost-model.md §Numerical
// limits): contexts up to 2^24 tokens, byte counts past 2^40, parameter counts past 2^40, zero and
// non-finite inputs. Every output is finite and agrees with a long-double hand computation from the
// preset's fields, or the input is refused with a config/usage error (exit code 2) — never UB or NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "cli/cli_test_util.h"
#include "core/error.h"
#include "core/op_catalogue.h"
#include "core/presets.h"
#include "sim/context_dist.h"
#include "sim/memory_model.h"
#include "sim/op_cost.h"
#include "sim/planner.h"
#include "sim/step_model.h"

using namespace v4lab;
using namespace v4lab::sim;

namespace {

constexpr int64_t kCtx24 = int64_t(1) << 24;
constexpr long double k2e40 = 1099511627776.0L;

// KV bytes of one sequence at T tokens, by hand in long double from the preset's cache fields
// (attention.md §4.5: SWA ring, compressed entries floor(T / r), CSA indexer keys, compressor state).
long double kv_per_seq_hand(const ModelPreset& m, long double T) {
  const std::vector<LayerSpec> layers = layer_schedule(m);
  const long double entry = m.number("kv_entry_bytes"), window = m.number("sliding_window");
  long double b = 0;
  for (const LayerSpec& s : layers) {
    b += window * entry;
    if (s.compress_ratio > 0) b += std::floor(T / s.compress_ratio) * entry;
    if (s.attn_kind == "csa")
      b += std::floor(T / s.compress_ratio) * (long double)m.number("indexer_key_bytes") +
           (long double)m.number("compressor_state_bytes_csa") + (long double)m.number("compressor_state_bytes_csa_indexer");
    else if (s.attn_kind == "hca")
      b += (long double)m.number("compressor_state_bytes_hca");
  }
  return b;
}

void require_finite_serving(const ServingMetrics& s) {
  for (double v : {s.step.step_s, s.decode.step_s, s.ttft_s, s.tpot_s, s.decode_tokens_per_s_per_gpu,
                   s.decode_tokens_per_s_per_node, s.prefill_tokens_per_s_per_gpu, s.usd_per_m_input_tokens,
                   s.usd_per_m_output_tokens, s.memory.total_bytes, s.memory.kv_bytes, s.memory.weights_bytes,
                   s.memory.params_total, s.memory.shortfall_bytes, s.memory.headroom_bytes}) {
    CHECK(std::isfinite(v));
    CHECK(v >= 0);
  }
  CHECK(s.step.step_s > 0);
  CHECK(s.memory.max_batch >= 0);
}

}  // namespace

TEST_CASE("numeric edges: memory at context 2^24 and bytes past 2^40 match a long-double hand computation", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  const ModelPreset pro = load_model_preset("deepseek_v4_pro", data);
  Deployment dep;
  dep.mtp = true;
  Workload wl;
  wl.context = kCtx24 - 1;  // T = 2^24 with the decode token
  wl.batch = int64_t(1) << 20;
  const MemoryFootprint f = memory_footprint(pro, hw, dep, wl);
  const long double per_seq = kv_per_seq_hand(pro, (long double)kCtx24);
  REQUIRE(std::isfinite(f.kv_bytes_per_seq));
  REQUIRE((long double)f.kv_bytes_per_seq == Approx(double(per_seq)).epsilon(1e-12));
  const long double kv = per_seq * (long double)wl.batch;
  REQUIRE(kv > 64 * k2e40);  // far past 2^40 and 2^32
  REQUIRE(f.kv_bytes == Approx(double(kv)).epsilon(1e-12));
  REQUIRE(f.total_bytes == Approx(double(kv + (long double)f.weights_bytes + (long double)f.activation_bytes)).epsilon(1e-12));
  REQUIRE_FALSE(f.fits);
  REQUIRE(f.shortfall_bytes == Approx(f.total_bytes - f.capacity_bytes).epsilon(1e-12));
  REQUIRE(f.max_batch >= 0);
  // The same memory at 2^24 over a distribution (sum over sequences) stays finite.
  const MemoryFootprint fd =
      memory_footprint_dist(pro, hw, dep, wl, parse_context_dist("uniform:1,16777216,buckets=8", "f"));
  REQUIRE(std::isfinite(fd.kv_bytes));
  REQUIRE(fd.kv_bytes < f.kv_bytes);
}

TEST_CASE("numeric edges: a model with more than 2^40 parameters counts exactly", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("h800_sxm", data);
  ModelPreset big = load_model_preset("deepseek_v4_pro", data);
  const MemoryFootprint base = memory_footprint(big, hw, Deployment{}, Workload{});
  REQUIRE((long double)base.params_total > k2e40);  // V4-Pro itself: 1.6T > 2^40 = 1.0995T
  big.fields["n_routed_experts"] = 384 * 16;        // 16x the experts: ~25T parameters
  const MemoryFootprint f = memory_footprint(big, hw, Deployment{}, Workload{});
  // Routed experts by hand: MoE layers (main + MTP) × E × 3·d·f.
  const long double d = big.number("hidden_size"), ff = big.number("moe_intermediate_size");
  const long double layers = (long double)big.n_layers_total();
  const long double experts_hand = layers * (384.0L * 16) * 3 * d * ff;
  const long double experts_model =
      (long double)f.params_by_part.at("experts");
  REQUIRE(experts_model == Approx(double(experts_hand * 61 / 62)).epsilon(1e-12));  // 61 main layers
  REQUIRE((long double)f.params_total > 16 * k2e40);
  REQUIRE(f.params_total - base.params_total ==
          Approx(double(experts_hand * 15 / 16 + 384.0L * 15 * d * layers)).epsilon(1e-9));  // experts + router rows
  REQUIRE(std::isfinite(f.weights_bytes));
  REQUIRE_FALSE(f.fits);
}

TEST_CASE("numeric edges: predict and plan at context 2^24 give finite numbers for every preset family", "[sim]") {
  const std::string data = default_data_dir();
  const HardwarePreset hw = load_hardware_preset("b200", data);
  for (const char* id : {"deepseek_v4_pro", "deepseek_v4_flash", "deepseek_v3", "deepseek_v32"}) {
    const ModelPreset m = load_model_preset(id, data);
    Deployment dep;
    dep.gpus = dep.dp = dep.ep = 64;
    Workload wl;
    wl.context = kCtx24 - 1;
    wl.batch = 4096;
    wl.chunk = 1 << 16;  // 64K-token chunks: TTFT is 256 chunks (a 1M chunk exceeds 2^24 head-rows per GPU: refused)
    INFO(id);
    const ServingMetrics s = predict_serving(m, hw, dep, wl);
    require_finite_serving(s);
    REQUIRE(s.step.bytes_mem > 0);
    wl.phase = Phase::Prefill;
    wl.batch = 64;
    wl.context = kCtx24 - wl.chunk;  // the chunk's last token at position 2^24
    require_finite_serving(predict_serving(m, hw, dep, wl));
  }
}

TEST_CASE("numeric edges: the op cost of huge and zero work is finite and exact", "[sim]") {
  const HardwareModel hw = hardware_model(load_hardware_preset("h800_sxm", default_data_dir()));
  OpWork w;
  w.bytes_mem = double(1ULL << 50);  // 1 PiB
  w.flops = 1e21;
  w.precision = Precision::FP8;
  const OpCost c = predict_op(w, hw);
  REQUIRE(c.memory_s == Approx(double((long double)w.bytes_mem / (long double)hw.mem_bw.value)).epsilon(1e-15));
  REQUIRE(std::isfinite(c.total_s));
  const OpCost z = predict_op(OpWork{}, hw);  // no work at all: the launch overhead, intensity 0, no NaN
  REQUIRE(z.total_s == Approx(hw.overhead_s));
  REQUIRE(z.intensity == 0);
  REQUIRE(z.bound == "overhead");
}

TEST_CASE("numeric edges: non-finite or out-of-range CLI inputs exit 2 naming the option", "[sim][cli]") {
  const std::string db = fresh_dir("numeric_edges") + "/v.db";
  struct Bad { std::vector<std::string> args; const char* names; };
  for (const Bad& b : std::vector<Bad>{
           {{"--context", "nan"}, "--context"},
           {{"--context", "-5"}, "--context"},
           {{"--context", "99999999999"}, "--context"},
           {{"--batch", "inf"}, "--batch"},
           {{"--kv-hit-rate", "nan"}, "--kv-hit-rate"},
           {{"--mtp-accept", "inf"}, "--mtp-accept"},
           {{"--price", "nan"}, "--price"},
           {{"--chunk", "0"}, "--chunk"},
       }) {
    std::vector<std::string> args = {"--db", db, "predict", "--model", "deepseek_v4_flash", "--no-save"};
    args.insert(args.end(), b.args.begin(), b.args.end());
    const CliResult r = ::cli(args);
    INFO(b.args[0] << " " << b.args[1] << " -> " << r.code << ": " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(b.names) != std::string::npos);
    CHECK(r.out.find("nan") == std::string::npos);
  }
  // 2^24 itself is accepted and every JSON number is finite (nlohmann writes NaN as null).
  const CliResult ok = ::cli({"--json", "--db", db, "predict", "--model", "deepseek_v4_flash", "--no-save", "--context",
                            std::to_string(kCtx24 - 1), "--batch", "1048576", "--gpus", "64", "--chunk", "65536"});
  REQUIRE(ok.code == 0);
  REQUIRE(ok.out.find("null") == std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(ok.out);
  REQUIRE(j["memory"]["kv_bytes"].get<double>() > double(k2e40));
}

TEST_CASE("numeric edges: a prefill step too large for one op names the step and the flags to reduce", "[sim][cli]") {
  const std::string db = fresh_dir("numeric_edges_step") + "/v.db";
  // 2^20 tokens x 64 heads: the per-head q norm would run over 2^26 rows, above the catalogue's 2^24.
  const CliResult r = ::cli({"--db", db, "predict", "--model", "deepseek_v4_flash", "--hw", "h800", "--no-save",
                             "--phase", "prefill", "--chunk", "1048576", "--batch", "1"});
  INFO(r.err);
  CHECK(r.code == 2);
  CHECK(r.err.find("prefill step with 1048576 tokens per GPU") != std::string::npos);
  CHECK(r.err.find("reduce --batch or --chunk") != std::string::npos);
  CHECK(r.err.find("q_head_norm") != std::string::npos);
  CHECK(r.out.empty());
}
