// test_scenario.cpp — scenario loading: quickstart resolves every parameter from the model preset,
// defaults apply, and every bad input (tests/bad_inputs/scenarios, plus inline cases) is a config
// error naming file:line and the offending key/value.
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "core/scenario.h"

using namespace v4lab;

namespace {

const std::string kData = V4LAB_SOURCE_DIR "/data";
const std::string kBad = V4LAB_SOURCE_DIR "/tests/bad_inputs/scenarios/";

template <class F>
std::string scenario_error_text(F&& f) {
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

std::string parse_error(const std::string& text) {
  return scenario_error_text([&] { parse_scenario(text, "x.toml", kData); });
}

const std::string kHead = "[scenario]\nname = \"t\"\nmodel = \"deepseek_v4_flash\"\n";

}  // namespace

TEST_CASE("scenario: quickstart resolves shapes from the model preset", "[core]") {
  Scenario sc = load_scenario(V4LAB_SOURCE_DIR "/scenarios/quickstart.toml", kData);
  CHECK(sc.name == "quickstart");
  CHECK(sc.model_id == "deepseek_v4_flash");
  CHECK(sc.hardware_ids == std::vector<std::string>{"local", "h800_sxm", "b200"});
  REQUIRE(sc.hardware.size() == 3);
  CHECK_FALSE(sc.hardware[0].has("fp32_tflops"));  // local: filled by probing, not here
  CHECK(sc.hardware[1].value("bf16_dense_tflops") == 989);
  CHECK(sc.backends == std::vector<std::string>{"ref", "cpu"});
  CHECK(sc.verify);
  CHECK(sc.timing.min_time_s == 0.2);
  REQUIRE(sc.kernels.size() >= 2);
  CHECK(sc.kernels[0].op == "mhc_pre");
  CHECK(sc.kernels[1].op == "mhc_post");
  for (size_t i = 0; i < 2; ++i) {  // the mHC pair: shapes from the scenario and the preset
    const auto& k = sc.kernels[i];
    CHECK(k.params.at("n_tokens") == 256);
    CHECK(k.params.at("d_model") == 4096);
    CHECK(k.params.at("hc") == 4);
    CHECK(k.param_source.at("n_tokens") == "scenario");
    CHECK(k.param_source.at("d_model") == "model:hidden_size");
    CHECK(contains(k.where, "quickstart.toml:"));
  }
  CHECK(sc.kernels[0].params.at("iters") == 20);
  CHECK(sc.warnings.empty());
  nlohmann::json j = sc.to_json();
  CHECK(j["kernels"][0]["params"]["d_model"] == 4096);
  CHECK(j["model"]["fields"]["hidden_size"] == 4096);
  CHECK(j["hardware"][1]["id"] == "h800_sxm");
  CHECK(j["timing"]["min_time_s"] == 0.2);
}

TEST_CASE("scenario: defaults", "[core]") {
  Scenario sc = parse_scenario(kHead, "x.toml", kData);
  CHECK(sc.hardware_ids == std::vector<std::string>{"local"});
  CHECK(sc.backends == std::vector<std::string>{"cpu"});
  CHECK(sc.seed == 1);
  CHECK(sc.verify);
  CHECK(sc.timing.warmup == 2);
  CHECK(sc.timing.min_time_s == 0.2);
  CHECK(sc.timing.min_reps == 5);
  CHECK(sc.timing.max_reps == 1000);
  CHECK(sc.report_dir == "reports");
  CHECK(sc.kernels.empty());
  CHECK(sc.description.empty());
}

TEST_CASE("scenario: scenario keys override the model, which overrides op defaults", "[core]") {
  Scenario sc = parse_scenario(kHead + "[[kernel]]\nop = \"mhc_pre\"\nd_model = 128\nhc = 2\n", "x.toml", kData);
  REQUIRE(sc.kernels.size() == 1);
  CHECK(sc.kernels[0].params.at("d_model") == 128);
  CHECK(sc.kernels[0].params.at("hc") == 2);
  CHECK(sc.kernels[0].params.at("iters") == 20);
  CHECK(sc.kernels[0].where == "x.toml:4");

  // V3 has no mHC fields: the op default is used and a warning says so.
  Scenario v3 = parse_scenario("[scenario]\nname = \"t\"\nmodel = \"deepseek_v3\"\n[[kernel]]\nop = \"mhc_pre\"\n",
                               "x.toml", kData);
  REQUIRE(v3.kernels.size() == 1);
  CHECK(v3.kernels[0].params.at("d_model") == 7168);
  CHECK(v3.kernels[0].param_source.at("hc") == "default");
  REQUIRE(!v3.warnings.empty());
  CHECK(contains(v3.warnings[0], "has no field 'hc_mult'"));
}

TEST_CASE("scenario: bad input files are config errors with the expected text", "[core]") {
  struct Case {
    const char* file;
    const char* line;
    std::vector<std::string> want;
  };
  const Case cases[] = {
      {"typo_key.toml",
       ":9",
       {"unknown key 'n_tokenz' in [[kernel]] #1 (op mhc_pre)", "did you mean 'n_tokens'?", "accepted: op, "}},
      {"typo_section.toml", ":6", {"unknown key 'timng'", "did you mean 'timing'?"}},
      {"negative_size.toml", ":8", {"n_tokens = -5 is out of range [0, 16777216]"}},
      {"missing_preset.toml", ":4", {"model preset 'deepseek_v9' not found", "available: ", "deepseek_v4_flash"}},
      {"wrong_type.toml", ":5", {"seed: expected integer, got string \"abc\""}},
      {"bad_syntax.toml", ":3", {"TOML syntax error"}},
  };
  for (auto& c : cases) {
    INFO(c.file);
    std::string msg = scenario_error_text([&] { load_scenario(kBad + c.file, kData); });
    INFO(msg);
    CHECK(contains(msg, std::string(c.file) + c.line));
    for (auto& w : c.want) CHECK(contains(msg, w));
  }
}

TEST_CASE("scenario: validation of every section", "[core]") {
  CHECK(contains(scenario_error_text([] { load_scenario(kBad + "no_such_file.toml", kData); }), "not found"));
  CHECK(contains(parse_error("[scenario]\nmodel = \"deepseek_v4_flash\"\n"), "missing required key 'name'"));
  CHECK(contains(parse_error("[scenario]\nname = \"t\"\n"), "missing required key 'model'"));
  CHECK(contains(parse_error("[timing]\nwarmup = 1\n"), "missing required section [scenario]"));
  CHECK(contains(parse_error("[scenario]\nname = \"a b\"\nmodel = \"deepseek_v4_flash\"\n"), "name = \"a b\""));
  CHECK(contains(parse_error(kHead + "sed = 3\n"), "unknown key 'sed' in [scenario] (did you mean 'seed'?)"));
  CHECK(contains(parse_error(kHead + "seed = -1\n"), "seed = -1 is out of range"));
  CHECK(contains(parse_error(kHead + "backends = [\"gpu\"]\n"), "\"gpu\" is not a backend (accepted: ref, cpu, cuda)"));
  CHECK(contains(parse_error(kHead + "backends = []\n"), "backends: must not be empty"));
  CHECK(contains(parse_error(kHead + "backends = [\"cpu\", \"cpu\"]\n"), "listed twice"));
  CHECK(contains(parse_error(kHead + "verify = 1\n"), "verify: expected boolean, got integer 1"));
  CHECK(contains(parse_error(kHead + "hardware = [\"h900\"]\n"), "x.toml:4: hardware preset 'h900' not found"));
  CHECK(contains(parse_error(kHead + "hardware = \"b200\"\n"), "hardware: expected array of strings"));
  CHECK(contains(parse_error(kHead + "[timing]\nwarmup = 5000\n"), "warmup = 5000 is out of range [0, 1000]"));
  CHECK(contains(parse_error(kHead + "[timing]\nmin_time_s = 0\n"), "min_time_s = 0 is out of range (0, 600]"));
  CHECK(contains(parse_error(kHead + "[timing]\nmin_reps = 10\nmax_reps = 5\n"),
                 "x.toml:6: max_reps = 5 is below min_reps = 10"));
  CHECK(contains(parse_error(kHead + "[output]\nreport = \"r\"\n"), "unknown key 'report' in [output]"));
  CHECK(contains(parse_error(kHead + "[[kernel]]\nn_tokens = 4\n"), "missing required key 'op'"));
  CHECK(contains(parse_error(kHead + "[[kernel]]\nop = \"mhc_pree\"\n"),
                 "unknown op 'mhc_pree' (did you mean 'mhc_pre'?)"));
  CHECK(contains(parse_error(kHead + "[[kernel]]\nop = \"mhc_pre\"\nn_tokens = \"many\"\n"),
                 "x.toml:6: n_tokens: expected number, got string \"many\""));
  CHECK(contains(parse_error(kHead + "[[kernel]]\nop = \"mhc_pre\"\nn_tokens = 2.5\n"), "must be an integer"));
  CHECK(contains(parse_error("kernel = 3\n" + kHead), "expected [[kernel]] tables"));
}

TEST_CASE("scenario: field help covers every section with defaults", "[core]") {
  const auto& help = scenario_field_help();
  REQUIRE(!help.empty());
  for (auto& f : help) {
    INFO(f.section + "." + f.key);
    CHECK(!f.help.empty());
    CHECK(!f.type.empty());
  }
  auto find = [&](const std::string& s, const std::string& k) {
    for (auto& f : help)
      if (f.section == s && f.key == k) return f.default_value;
    return std::string("<missing>");
  };
  CHECK(find("timing", "min_time_s") == "0.2");
  CHECK(find("timing", "max_reps") == "1000");
  CHECK(find("scenario", "backends") == "[\"cpu\"]");
  CHECK(find("output", "report_dir") == "\"reports\"");
}
