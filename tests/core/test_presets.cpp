// test_presets.cpp — hardware and model presets: every file in data/ loads and validates, spot values
// match the presets spec (§2, §3), and malformed preset text is rejected with file:line, key and value.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "core/presets.h"

using namespace v4lab;

namespace {

const std::string kData = V4LAB_SOURCE_DIR "/data";

// Runs f, requires a config error, returns its full text (where + message).
template <class F>
std::string config_error_text(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  FAIL("expected a config error");
  return {};
}

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

const char* kMinimalHw = R"(display = "test"
source = "test"
device_class = "gpu"
)";

}  // namespace

TEST_CASE("presets: every hardware preset loads", "[core]") {
  auto ids = list_hardware_presets(kData);
  for (const char* want : {"h100_sxm", "h800_sxm", "h200_sxm", "b200", "gb200", "local"})
    CHECK(std::find(ids.begin(), ids.end(), want) != ids.end());
  for (auto& id : ids) {
    INFO(id);
    HardwarePreset hw = load_hardware_preset(id, kData);
    CHECK(hw.id == id);
    CHECK(!hw.display.empty());
    CHECK(!hw.source.empty());
    CHECK((hw.device_class == "gpu" || hw.device_class == "cpu"));
    for (auto& [k, q] : hw.fields) {
      INFO(k);
      CHECK(!q.unit.empty());
      CHECK(!q.kind.empty());
    }
    CHECK(hw.to_json()["id"] == id);
  }
}

TEST_CASE("presets: hardware spot values match the spec", "[core]") {
  HardwarePreset h800 = load_hardware_preset("h800_sxm", kData);
  CHECK(h800.value("bf16_dense_tflops") == 989);
  CHECK(h800.value("fp8_dense_tflops") == 1979);
  CHECK(h800.value("nvlink_gbs") == 200);
  CHECK(h800.value("nvlink_total_gbs") == 400);
  CHECK(h800.value("nvlink_achievable_gbs") == 160);
  CHECK(h800.quantity("nvlink_achievable_gbs").kind == "measured");
  CHECK(h800.value("price_usd_per_gpu_hour") == 2.0);
  CHECK(h800.quantity("price_usd_per_gpu_hour").kind == "assumption");
  CHECK(h800.sources.at("deepep") == "https://github.com/deepseek-ai/DeepEP");

  HardwarePreset b200 = load_hardware_preset("b200", kData);
  CHECK(b200.value("mem_bw_gbs") == 7700);
  CHECK(b200.value("fp4_dense_tflops") == 9000);
  CHECK(b200.value("fp4_sparse_tflops") == 18000);
  CHECK(b200.value("l2_mb") == 126);
  CHECK(b200.quantity("l2_mb").kind == "measured");

  HardwarePreset h100 = load_hardware_preset("h100_sxm", kData);
  CHECK(h100.value("mem_bw_gbs") == 3350);
  CHECK(h100.value("host_link_gbs") == 64);
  CHECK_FALSE(h100.has("fp4_dense_tflops"));
  CHECK_FALSE(h100.has("price_usd_per_gpu_hour"));  // only H800 has a default price
  std::string msg = config_error_text([&] { h100.value("fp4_dense_tflops"); });
  CHECK(contains(msg, "hardware preset 'h100_sxm'"));
  CHECK(contains(msg, "has no value for 'fp4_dense_tflops'"));

  HardwarePreset gb200 = load_hardware_preset("gb200", kData);
  CHECK(gb200.value("bf16_dense_tflops") == 2500);
  CHECK(gb200.value("mem_capacity_gb") == 186);
  CHECK(gb200.value("nvlink_domain_gpus") == 72);
  CHECK(load_hardware_preset("h200_sxm", kData).value("mem_capacity_gb") == 141);
}

TEST_CASE("presets: the local preset declares measured fields without values", "[core]") {
  HardwarePreset hw = load_hardware_preset("local", kData);
  CHECK(hw.device_class == "cpu");
  for (const char* key : {"fp32_tflops", "mem_bw_gbs", "mem_capacity_gb", "l2_mb", "launch_overhead_us"}) {
    INFO(key);
    REQUIRE(hw.fields.count(key));
    CHECK(hw.fields.at(key).kind == "measured");
    CHECK_FALSE(hw.has(key));
  }
  CHECK(hw.fields.at("fp32_tflops").probe == "fma_peak");
  std::string msg = config_error_text([&] { hw.value("fp32_tflops"); });
  CHECK(contains(msg, "v4lab calibrate"));
  CHECK(hw.to_json()["fields"]["fp32_tflops"]["value"].is_null());

  hw.set_measured("fp32_tflops", 0.25, "TFLOPS", "fma_peak, 2 threads");
  CHECK(hw.has("fp32_tflops"));
  CHECK(hw.value("fp32_tflops") == 0.25);
  CHECK(hw.fields.at("fp32_tflops").note == "fma_peak, 2 threads");
  CHECK(!hw.measured_at.empty());
  CHECK_THROWS(hw.set_measured("fp32_tflops", 1, "GFLOPS", ""));  // wrong unit is a programming error
}

TEST_CASE("presets: every model preset loads", "[core]") {
  auto ids = list_model_presets(kData);
  for (const char* want : {"deepseek_v3", "deepseek_v32", "deepseek_v4_flash", "deepseek_v4_pro", "engram_27b"})
    CHECK(std::find(ids.begin(), ids.end(), want) != ids.end());
  for (auto& id : ids) {
    INFO(id);
    ModelPreset m = load_model_preset(id, kData);
    CHECK(m.id == id);
    CHECK(!m.display.empty());
    CHECK(m.number("hidden_size") > 0);
    if (m.has("attn_kind")) CHECK(static_cast<int>(m.fields["attn_kind"].size()) == m.n_layers_total());
    CHECK(m.to_json()["fields"]["hidden_size"] == m.fields["hidden_size"]);
  }
}

TEST_CASE("presets: model spot values and layer schedules", "[core]") {
  ModelPreset flash = load_model_preset("deepseek_v4_flash", kData);
  CHECK(flash.number("hidden_size") == 4096);
  CHECK(flash.number("hc_mult") == 4);
  CHECK(flash.number("hc_sinkhorn_iters") == 20);
  CHECK(flash.number("hc_eps") == 1e-6);
  CHECK(flash.number("rope_scaling.factor") == 16);
  CHECK(flash.kind_of("hidden_size") == "config");
  std::vector<int> r = flash.int_array("compress_ratios");
  REQUIRE(r.size() == 44);
  CHECK(r[0] == 0);
  CHECK(r[1] == 0);
  CHECK(r[2] == 4);
  CHECK(r[3] == 128);
  CHECK(r[42] == 4);
  CHECK(r[43] == 0);
  CHECK(std::count(r.begin(), r.end(), 4) == 21);
  CHECK(std::count(r.begin(), r.end(), 128) == 20);
  CHECK(flash.fields["attn_kind"][2] == "csa");
  CHECK(flash.fields["moe_kind"][2] == "hash");
  CHECK(flash.fields["moe_kind"][3] == "moe");

  ModelPreset pro = load_model_preset("deepseek_v4_pro", kData);
  CHECK(pro.number("hidden_size") == 7168);
  std::vector<int> rp = pro.int_array("compress_ratios");
  REQUIRE(rp.size() == 62);
  CHECK(std::count(rp.begin(), rp.end(), 4) == 30);
  CHECK(std::count(rp.begin(), rp.end(), 128) == 31);
  CHECK(rp[61] == 0);
  CHECK(pro.number("n_routed_experts") == 384);

  ModelPreset v3 = load_model_preset("deepseek_v3", kData);
  CHECK(v3.number("num_hidden_layers") == 61);
  CHECK(v3.fields["moe_kind"][2] == "dense");
  CHECK(v3.fields["moe_kind"][3] == "moe");
  CHECK_FALSE(v3.has("hc_mult"));  // no mHC in V3
  std::string msg = config_error_text([&] { v3.number("hc_mult"); });
  CHECK(contains(msg, "model preset 'deepseek_v3'"));
  CHECK(contains(msg, "'hc_mult'"));
  CHECK(load_model_preset("deepseek_v32", kData).number("index_topk") == 2048);

  ModelPreset engram = load_model_preset("engram_27b", kData);
  CHECK(engram.provenance_kind == "approximate");
  CHECK(engram.kind_of("hidden_size") == "published");
  CHECK(engram.kind_of("moe_intermediate_size") == "approximate");
  CHECK(engram.number("hidden_size") == 2560);
  CHECK(engram.int_array("engram_layer_ids") == std::vector<int>{2, 15});
}

TEST_CASE("presets: unknown ids list the available presets", "[core]") {
  std::string msg = config_error_text([] { load_hardware_preset("h900", kData); });
  CHECK(contains(msg, "hardware preset 'h900' not found"));
  CHECK(contains(msg, "h800_sxm"));
  msg = config_error_text([] { load_model_preset("deepseek_v9", kData); });
  CHECK(contains(msg, "model preset 'deepseek_v9' not found"));
  CHECK(contains(msg, "deepseek_v4_flash"));
  CHECK_THROWS_AS(load_model_preset("../models/deepseek_v3", kData), Error);
}

TEST_CASE("presets: malformed hardware fields are rejected with line, key and value", "[core]") {
  auto err = [](const std::string& line) {
    return config_error_text([&] { parse_hardware_preset(std::string(kMinimalHw) + line, "t", "t.toml"); });
  };
  std::string m = err("fp32_tflops = { value = 1, unit = \"TFLOPS\", kind = \"datashet\", source = \"x\" }\n");
  CHECK(contains(m, "t.toml:4"));
  CHECK(contains(m, "\"datashet\" is not a known kind"));
  CHECK(contains(m, "datasheet, published"));

  m = err("fp32_tflops = { value = 1, kind = \"assumption\" }\n");
  CHECK(contains(m, "fp32_tflops: missing unit"));

  m = err("mem_bw_gbs = { value = -3, unit = \"GB/s\", kind = \"assumption\" }\n");
  CHECK(contains(m, "mem_bw_gbs.value = -3 is out of range [0, inf)"));

  m = err("mem_bw_gbs = { value = \"fast\", unit = \"GB/s\", kind = \"assumption\" }\n");
  CHECK(contains(m, "expected a number, got string \"fast\""));

  m = err("mem_bw_gbs = 3350\n");
  CHECK(contains(m, "mem_bw_gbs: expected a table"));

  m = err("mem_bw_gbs = { value = 1, unit = \"TB/s\", kind = \"assumption\" }\n");
  CHECK(contains(m, "\"TB/s\" does not match the schema (expected \"GB/s\")"));

  m = err("mem_bandwidth_gbs = { value = 1, unit = \"GB/s\", kind = \"assumption\" }\n");
  CHECK(contains(m, "unknown key 'mem_bandwidth_gbs'"));

  m = err("mem_bw_gbs = { value = 1, unit = \"GB/s\", kind = \"datasheet\", source = \"nowhere\" }\n");
  CHECK(contains(m, "\"nowhere\" is not in [sources]"));

  m = err("mem_bw_gbs = { unit = \"GB/s\", kind = \"datasheet\", source = \"x\" }\n[sources]\nx = \"u\"\n");
  CHECK(contains(m, "missing value"));

  m = config_error_text([] { parse_hardware_preset("display = \"x\"\nsource = \"y\"\n", "t", "t.toml"); });
  CHECK(contains(m, "missing required key 'device_class'"));

  m = config_error_text([] { parse_hardware_preset("display = \"x\n", "t", "t.toml"); });
  CHECK(contains(m, "TOML syntax error"));
  CHECK(contains(m, "t.toml:1"));
}

TEST_CASE("presets: malformed model presets are rejected", "[core]") {
  const std::string head =
      "display = \"m\"\nsource = \"s\"\nprovenance = { kind = \"config\" }\n"
      "hidden_size = 64\nnum_hidden_layers = 2\nnum_nextn_predict_layers = 1\n";
  auto err = [&](const std::string& tail) {
    return config_error_text([&] { parse_model_preset(head + tail, "m", "m.toml"); });
  };
  CHECK_NOTHROW(parse_model_preset(head + "compress_ratios = [0, 4, 0]\nattn_kind = [\"swa\", \"csa\", \"swa\"]\n", "m",
                                   "m.toml"));
  std::string m = err("compress_ratios = [0, 4]\n");
  CHECK(contains(m, "compress_ratios has 2 entries; expected 3"));
  m = err("compress_ratios = [0, 4, 0]\nattn_kind = [\"swa\", \"swa\", \"swa\"]\n");
  CHECK(contains(m, "layer 1: attn_kind \"swa\" disagrees with compress_ratios = 4"));
  m = err("hiden_size = 5\n");
  CHECK(contains(m, "m.toml:7"));
  CHECK(contains(m, "unknown key 'hiden_size'"));
  CHECK(contains(m, "did you mean 'hidden_size'?"));
  m = err("vocab_size = -1\n");
  CHECK(contains(m, "vocab_size = -1 is out of range"));
  m = err("vocab_size = \"big\"\n");
  CHECK(contains(m, "vocab_size: expected integer, got string \"big\""));
  m = err("hc_eps = { value = 1e-6, kind = \"guess\" }\n");
  CHECK(contains(m, "\"guess\" is not a known kind"));
  m = err("first_k_dense_replace = 1\nmoe_kind = [\"moe\", \"moe\", \"moe\"]\n");
  CHECK(contains(m, "layer 0: moe_kind \"moe\" disagrees"));
}
