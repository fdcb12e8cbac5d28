// test_sweep.cpp — sweep scenario parsing and expansion (core/sweep.h): values, range, log (num and
// per-decade), zip groups, index <-> coordinates (mixed radix, last axis fastest), the hash, the
// shipped scenarios, and every validation error naming file:line, field, value and accepted range.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "core/error.h"
#include "core/sweep.h"

using namespace v4lab;
using nlohmann::json;

namespace {

const std::string kData = V4LAB_SOURCE_DIR "/data";
const std::string kHead = "[sweep]\nkind = \"predict\"\n[sweep.base]\nmodel = \"deepseek_v4_flash\"\n";

SweepSpec parse(const std::string& text) { return parse_sweep(text, "s.toml", kData); }

std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  FAIL("expected a config error for:\n" << text);
  return {};
}

std::vector<json> values_of(const SweepSpec& s, size_t axis) { return s.axes.at(axis).values; }

}  // namespace

TEST_CASE("sweep: values, range and log axes expand to the documented values", "[sweep][core]") {
  const SweepSpec s = parse(kHead +
                            "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 3, 8]\n"
                            "[[sweep.axis]]\nfield = \"context\"\nrange = {start = 1024, stop = 4096, step = 1024}\n"
                            "[[sweep.axis]]\nfield = \"tp\"\nlog = {start = 1, stop = 8, num = 4}\n"
                            "[[sweep.axis]]\nfield = \"mtp_accept\"\nrange = {start = 0.1, stop = 0.3, step = 0.1}\n");
  REQUIRE(s.axes.size() == 4);
  CHECK(values_of(s, 0) == std::vector<json>{1, 3, 8});
  CHECK(values_of(s, 1) == std::vector<json>{1024, 2048, 3072, 4096});  // stop is inclusive on the grid
  CHECK(values_of(s, 2) == std::vector<json>{1, 2, 4, 8});
  CHECK(values_of(s, 3) == std::vector<json>{0.1, 0.2, 0.3});  // tidied: not 0.30000000000000004
  CHECK(s.axes[1].source == "range");
  CHECK(s.n_points == 3 * 4 * 4 * 3);
  // Integer fields stay JSON integers, numbers stay floats (the hash and coordinates depend on it).
  CHECK(values_of(s, 0)[0].is_number_integer());
  CHECK(values_of(s, 3)[0].is_number_float());
  CHECK(s.base["hw"] == "h800_sxm");  // defaults filled
  CHECK(s.base["phase"] == "decode");
}

TEST_CASE("sweep: range off the grid, negative step, log per decade and integer rounding", "[sweep][core]") {
  const SweepSpec s = parse(kHead +
                            "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 1, stop = 10, step = 4}\n"
                            "[[sweep.axis]]\nfield = \"context\"\nrange = {start = 300, stop = 100, step = -100}\n"
                            "[[sweep.axis]]\nfield = \"chunk\"\nlog = {start = 1, stop = 10, num = 20}\n"
                            "[[sweep.axis]]\nfield = \"price\"\nlog = {start = 1, stop = 100, per_decade = 2}\n");
  CHECK(values_of(s, 0) == std::vector<json>{1, 5, 9});
  CHECK(values_of(s, 1) == std::vector<json>{300, 200, 100});
  // 20 log-spaced values between 1 and 10 round onto the integers 1..10, each kept once.
  CHECK(values_of(s, 2) == std::vector<json>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  const auto p = values_of(s, 3);
  REQUIRE(p.size() == 5);
  CHECK(p[0].get<double>() == 1);
  CHECK(p[1].get<double>() == Approx(3.16227766017));
  CHECK(p[4].get<double>() == 100);
}

TEST_CASE("sweep: index <-> coordinates is mixed radix in declaration order, last axis fastest", "[sweep][core]") {
  const SweepSpec s = parse(kHead +
                            "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 2]\n"
                            "[[sweep.axis]]\nfield = \"context\"\nvalues = [100, 200, 300]\n"
                            "[[sweep.axis]]\nfield = \"phase\"\nvalues = [\"decode\", \"prefill\"]\n");
  REQUIRE(s.n_points == 12);
  CHECK(s.coordinates(0) == json{{"batch", 1}, {"context", 100}, {"phase", "decode"}});
  CHECK(s.coordinates(1) == json{{"batch", 1}, {"context", 100}, {"phase", "prefill"}});
  CHECK(s.coordinates(2) == json{{"batch", 1}, {"context", 200}, {"phase", "decode"}});
  CHECK(s.coordinates(11) == json{{"batch", 2}, {"context", 300}, {"phase", "prefill"}});
  std::set<std::string> seen;
  for (uint64_t i = 0; i < s.n_points; ++i) seen.insert(s.coordinates(i).dump());
  CHECK(seen.size() == s.n_points);  // a bijection onto the cartesian product
  const json p = s.point_config(7);
  CHECK(p["model"] == "deepseek_v4_flash");
  CHECK(p["batch"] == 2);
  CHECK(p["context"] == 100);
  CHECK(p["phase"] == "prefill");
}

TEST_CASE("sweep: zipped axes move together and form one dimension", "[sweep][core]") {
  const SweepSpec s = parse(kHead +
                            "[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 2, 4]\nzip = \"par\"\n"
                            "[[sweep.axis]]\nfield = \"batch\"\nvalues = [8, 16]\n"
                            "[[sweep.axis]]\nfield = \"dp\"\nvalues = [8, 4, 2]\nzip = \"par\"\n");
  REQUIRE(s.groups.size() == 2);
  CHECK(s.groups[0] == std::vector<size_t>{0, 2});
  CHECK(s.n_points == 3 * 2);
  CHECK(s.coordinates(0) == json{{"tp", 1}, {"dp", 8}, {"batch", 8}});
  CHECK(s.coordinates(3) == json{{"tp", 2}, {"dp", 4}, {"batch", 16}});
  CHECK(s.coordinates(5) == json{{"tp", 4}, {"dp", 2}, {"batch", 16}});
  // A zip group may repeat a value on one axis as long as the tuples differ.
  CHECK_NOTHROW(parse(kHead + "[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 1]\nzip = \"z\"\n"
                              "[[sweep.axis]]\nfield = \"dp\"\nvalues = [8, 4]\nzip = \"z\"\n"));
}

TEST_CASE("sweep: the hash depends on what is computed, not on the name or the way values are written", "[sweep][core]") {
  const std::string axes = "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 2, 4, 8]\n";
  const SweepSpec a = parse(kHead + axes);
  const SweepSpec b = parse("[sweep]\nname = \"other\"\ndescription = \"x\"\nkind = \"predict\"\n[sweep.base]\n"
                            "model = \"deepseek_v4_flash\"\nhw = \"h800_sxm\"\n"
                            "[[sweep.axis]]\nfield = \"batch\"\nlog = {start = 1, stop = 8, num = 4}\n");
  CHECK(a.hash.size() == 16);
  CHECK(a.hash == b.hash);
  CHECK(a.hash != parse(kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 2, 4, 16]\n").hash);
  CHECK(a.hash != parse(kHead + "batch = 3\n[[sweep.axis]]\nfield = \"context\"\nvalues = [1, 2, 4, 8]\n").hash);
  CHECK(a.hash != parse("[sweep]\nkind = \"predict\"\nmetrics = \"step\"\n[sweep.base]\nmodel = \"deepseek_v4_flash\"\n" +
                        axes)
                      .hash);
  CHECK(a.name == "s");  // default name: the file stem
  CHECK(a.to_json()["sweep_hash"] == a.hash);
  CHECK(a.to_json()["n_points"] == 4);
}

TEST_CASE("sweep: kernel kind takes the op's params as fields and checks model-derived values", "[sweep][core]") {
  const SweepSpec s = parse("[sweep]\nkind = \"kernel\"\n[sweep.base]\nop = \"rmsnorm\"\nmodel = \"deepseek_v4_flash\"\n"
                            "[sweep.timing]\nmin_time_s = 0.01\nmin_reps = 2\n"
                            "[[sweep.axis]]\nfield = \"n_tokens\"\nlog = {start = 1, stop = 64, num = 4}\n"
                            "[[sweep.axis]]\nfield = \"backend\"\nvalues = [\"ref\", \"cpu\"]\n");
  CHECK(s.kind == "kernel");
  CHECK(s.n_points == 8);
  CHECK(s.timing.min_time_s == 0.01);
  CHECK(s.base["hardware"] == "local");
  CHECK(values_of(s, 0) == std::vector<json>{1, 4, 16, 64});
  CHECK(error_of("[sweep]\nkind = \"kernel\"\n[sweep.base]\nop = \"rmsnorm\"\n[[sweep.axis]]\nfield = \"op\"\n"
                 "values = [\"rmsnorm\"]\n")
            .find("cannot be an axis") != std::string::npos);
  CHECK(error_of("[sweep]\nkind = \"kernel\"\n[sweep.base]\nop = \"rmsnorm\"\nn_tokens = -1\n").find("n_tokens = -1 is out of range") !=
        std::string::npos);
  CHECK(error_of("[sweep]\nkind = \"kernel\"\n[sweep.base]\nop = \"no_such_op\"\n").find("unknown op") != std::string::npos);
  CHECK(error_of("[sweep]\nkind = \"kernel\"\n[sweep.base]\nn_tokens = 4\n").find("needs op") != std::string::npos);
}

TEST_CASE("sweep: the shipped sweep scenarios load", "[sweep][core]") {
  const SweepSpec small = load_sweep(V4LAB_SOURCE_DIR "/scenarios/sweep_decode_batch.toml", kData);
  CHECK(small.kind == "predict");
  CHECK(small.n_points >= 100);
  CHECK(small.n_points <= 1000);
  const SweepSpec big = load_sweep(V4LAB_SOURCE_DIR "/scenarios/sweep_100k.toml", kData);
  CHECK(big.n_points == 100000);
}

TEST_CASE("sweep: bad input is a config error naming file:line, field, value and what is accepted", "[sweep][core]") {
  struct Case {
    std::string text, expect;
  };
  const std::vector<Case> cases = {
      {"[scenario]\nname = \"x\"\n", "unknown key 'scenario' at the top level"},
      {"[sweep]\nname = \"t\"\n", "missing required key 'kind'"},
      {"[sweep]\nkind = \"magic\"\n", "kind = \"magic\" is not accepted (accepted: predict, kernel)"},
      {"[sweep]\nkind = \"predict\"\n", "missing required field 'model'"},
      {"[sweep]\nkind = \"predict\"\nfoo = 1\n", "s.toml:3: unknown key 'foo' in [sweep]"},
      {"[sweep]\nkind = \"predict\"\nmetrics = \"all\"\n[sweep.base]\nmodel = \"deepseek_v4_flash\"\n",
       "metrics = \"all\" is not accepted"},
      {kHead + "batsh = 4\n", "s.toml:5: unknown field 'batsh' in [sweep.base] (did you mean 'batch'?)"},
      {kHead + "batch = 0\n", "s.toml:5: [sweep.base]: batch = 0 is out of range (accepted: an integer in [1, 1000000000])"},
      {kHead + "batch = 2.5\n", "batch = 2.5 is not an integer"},
      {kHead + "overlap = 1\n", "overlap: expected boolean, got integer 1"},
      {kHead + "phase = \"both\"\n", "phase = \"both\" is not accepted (accepted: prefill, decode)"},
      {"[sweep]\nkind = \"predict\"\n[sweep.base]\nmodel = \"deepseek_v9\"\n", "no model preset 'deepseek_v9'"},
      {kHead + "hw = \"local\"\n", "hw = \"local\" is not supported by predict sweeps"},
      {kHead + "[[sweep.axis]]\nvalues = [1]\n", "missing 'field'"},
      {kHead + "[[sweep.axis]]\nfield = \"bach\"\nvalues = [1]\n", "s.toml:6: [[sweep.axis]] #1: unknown field 'bach'"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\n", "give exactly one of values"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1]\nrange = {start = 1, stop = 2}\n", "give exactly one of"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = []\n", "values: must not be empty"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1, 0]\n",
       "s.toml:7: [[sweep.axis]] #1 (batch) values[1]: batch = 0 is out of range (accepted: an integer in [1, 1000000000])"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [2, 2]\n", "value 2 is listed twice"},
      {kHead + "[[sweep.axis]]\nfield = \"tp\"\nvalues = [\"two\"]\n", "tp: expected integer, got string \"two\""},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 1, stop = 9, step = 0}\n", "range.step = 0"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 9, stop = 1, step = 2}\n", "is empty"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 1, stop = 9, stride = 2}\n", "unknown key 'stride'"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 0, stop = 4}\n", "batch = 0 is out of range"},
      {kHead + "[[sweep.axis]]\nfield = \"phase\"\nrange = {start = 0, stop = 4}\n", "range needs a numeric field"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nlog = {start = 0, stop = 4, num = 3}\n", "must be > 0"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nlog = {start = 1, stop = 4}\n", "exactly one of num or per_decade"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nlog = {start = 1, stop = 4, num = 2.5}\n", "log.num = 2.5"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1]\n[[sweep.axis]]\nfield = \"batch\"\nvalues = [2]\n",
       "field 'batch' is already swept by the axis at s.toml:5"},
      {kHead + "[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 2]\nzip = \"g\"\n[[sweep.axis]]\nfield = \"dp\"\n"
               "values = [1, 2, 4]\nzip = \"g\"\n",
       "zip group \"g\": axis 'dp' has 3 values but axis 'tp' (s.toml:5) has 2"},
      {kHead + "[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 1]\nzip = \"g\"\n[[sweep.axis]]\nfield = \"dp\"\n"
               "values = [2, 2]\nzip = \"g\"\n",
       "is listed twice"},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nvalues = [1]\nzip = 3\n", "zip: expected a non-empty group name"},
      {kHead + "[sweep.timing]\nmin_time_s = 1\n", "[sweep.timing]: only for kind = \"kernel\""},
      {kHead + "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 1, stop = 1100}\n[[sweep.axis]]\nfield = \"context\"\n"
               "range = {start = 1, stop = 1100}\n[[sweep.axis]]\nfield = \"chunk\"\nrange = {start = 1, stop = 1100}\n"
               "[[sweep.axis]]\nfield = \"ep\"\nrange = {start = 1, stop = 1100}\n",
       "more than 1099511627776 points"},
      {"[sweep\nkind = 1", "TOML syntax error"},
  };
  for (auto& c : cases) {
    INFO(c.text);
    const std::string e = error_of(c.text);
    INFO(e);
    CHECK(e.find(c.expect) != std::string::npos);
  }
  CHECK_THROWS_AS(load_sweep("/nonexistent/s.toml", kData), Error);
}
