// test_model_exec_calls.cpp — what the executor tells the cost model about its calls (issue 11):
// the per-call works behind each record (OpRecord::call_work, predicted call by call with
// sim::predict_calls_for) and the NVTX ranges around the phases, layers and kernel calls.
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "profiler/model_exec.h"
#include "profiler/nvtx.h"
#include "sim/hardware_model.h"
#include "sim/op_cost.h"
#include "exec_test_util.h"

using namespace v4lab;
using namespace v4lab::profiler;
using v4lab::test::tiny;

TEST_CASE("exec: call_work holds each call's work and the calls add up to the record", "[profiler][exec]") {
  const ModelPreset m = tiny("deepseek_v4_flash", 4);
  const ExecOutput r = run_exec(m, {2, 16, 6}, {});  // batch 2, prompt 16, 6 decode steps (crossing token 20)
  bool saw_indexer_decode = false;
  for (const OpRecord& rec : r.records) {
    if (rec.op == "embed") continue;
    INFO(rec.phase << " " << rec.layer << " " << rec.label);
    REQUIRE(!rec.call_work.empty());
    double calls = 0;
    for (const auto& g : rec.call_work) calls += g.second;
    CHECK(calls == Approx(rec.calls_per_step));  // counted apart from the groups (end of each step)
    if (rec.call_work.size() == 1) {  // every call had the last call's params: the catalogue's work of those
      const OpWork one = get_op(rec.op).work(rec.params);
      CHECK(rec.work.flops == Approx(rec.calls_per_step * one.flops).margin(1e-9));
      CHECK(rec.work.bytes_mem == Approx(rec.calls_per_step * one.bytes_mem).margin(1e-9));
    }
    if (rec.phase == "decode" && rec.label == "indexer") {
      // The CSA indexer scores every compressed key: a new one every 4 tokens, so its work changes
      // within the 6 steps (groups of equal work), one call per sequence per step.
      saw_indexer_decode = true;
      CHECK(rec.call_work.size() >= 2);
      CHECK(rec.calls_per_step == Approx(2));
    }
    if (rec.phase == "decode" && rec.label == "wq_a") CHECK(rec.call_work.size() == 1);  // no context in a GEMM
  }
  CHECK(saw_indexer_decode);
}

TEST_CASE("predict_calls_for: the sum of the calls' own predictions, overhead per call", "[sim][exec]") {
  HardwarePreset hp = load_hardware_preset("h100_sxm", default_data_dir());
  const sim::HardwareModel hw = sim::hardware_model(hp);
  const OpDef& op = get_op("rmsnorm");
  const OpWork a = op.work(resolve_params(op, {{"n_tokens", 4}}));
  const OpWork b = op.work(resolve_params(op, {{"n_tokens", 4096}}));
  const sim::OpCost ca = sim::predict_op_for("rmsnorm", op.family, a, hw);
  const sim::OpCost cb = sim::predict_op_for("rmsnorm", op.family, b, hw);
  const sim::OpCost s = sim::predict_calls_for("rmsnorm", op.family, {{a, 3.0}, {b, 0.5}}, hw);
  CHECK(s.total_s == Approx(3 * ca.total_s + 0.5 * cb.total_s));
  CHECK(s.overhead_s == Approx(3 * ca.overhead_s + 0.5 * cb.overhead_s));
  CHECK(s.overhead_s > 0);
  CHECK(s.flops == Approx(3 * ca.flops + 0.5 * cb.flops));
  CHECK(s.bound == (3 * ca.total_s > 0.5 * cb.total_s ? ca.bound : cb.bound));
  // One roofline over the summed work would pay the overhead once: the per-call sum is larger.
  OpWork sum = a;
  sum.flops = 3 * a.flops + 0.5 * b.flops, sum.transcendentals = 3 * a.transcendentals + 0.5 * b.transcendentals;
  sum.bytes_mem = 3 * a.bytes_mem + 0.5 * b.bytes_mem;
  CHECK(s.total_s > sim::predict_op_for("rmsnorm", op.family, sum, hw).total_s);
}

namespace {
std::vector<std::string> g_stack;
std::map<std::string, int> g_pushes;
int g_max_depth = 0, g_bad_pops = 0;
void observe(const char* name) {
  if (name) {
    g_stack.emplace_back(name);
    ++g_pushes[name];
    g_max_depth = std::max(g_max_depth, int(g_stack.size()));
  } else if (g_stack.empty()) {
    ++g_bad_pops;
  } else {
    g_stack.pop_back();
  }
}
}  // namespace

TEST_CASE("exec: NVTX ranges around the phase, every layer and every recorded kernel call", "[profiler][exec]") {
  const ModelPreset m = tiny("deepseek_v4_flash", 3);
  g_stack.clear(), g_pushes.clear(), g_max_depth = 0, g_bad_pops = 0;
  set_nvtx_observer(observe);
  ExecOutput r;
  try {
    r = run_exec(m, {1, 16, 2}, {});
  } catch (...) {
    set_nvtx_observer(nullptr);
    throw;
  }
  set_nvtx_observer(nullptr);
  CHECK(g_stack.empty());  // every push popped
  CHECK(g_bad_pops == 0);
  CHECK(g_max_depth == 3);  // phase > layer > kernel call
  CHECK(g_pushes["prefill"] == 1);
  CHECK(g_pushes["decode step"] == 2);
  CHECK(g_pushes["layer 0 swa"] == 3);  // prefill + 2 decode steps (V4-Flash layer 0 is SWA)
  CHECK(g_pushes["layer 3 mtp"] == 3);  // the MTP block after 3 main layers
  // A range per kernel call: the pushes of a label are its recorded calls over all steps.
  std::map<std::string, double> calls;
  for (const OpRecord& rec : r.records) calls[rec.label] += rec.calls_per_step * double(rec.samples_s.size());
  CHECK(g_pushes["wq_a"] == int(calls["wq_a"]));
  CHECK(g_pushes["experts"] == int(calls["experts"]));
  CHECK(g_pushes["core"] == int(calls["core"]));
}
