// test_model_exec_mla.cpp — the executor on MLA (V3), MLA + DSA (V3.2) and the Engram variants
// (Engram-27B on MLA + mHC, V4.1-like on V4 attention): estimate = allocation, bit-identical reruns,
// decode over a prompt reproduces prefill's last-token logits, and every recorded label of the
// attention / MoE / Engram blocks is a node label of the cost model's layer graph.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.h"
#include "core/presets.h"
#include "profiler/model_exec.h"
#include "exec_test_util.h"
#include "sim/layer_graph.h"

using namespace v4lab;
using namespace v4lab::profiler;
using v4lab::test::rel_l2;
using v4lab::test::tiny;

namespace {
bool all_finite(const std::vector<float>& v) {
  for (float x : v)
    if (!std::isfinite(x)) return false;
  return true;
}
// Schedules that keep every layer kind of the preset: V3 / V3.2 three dense layers then MoE; Engram-27B
// its Engram layer 2; V4.1-like its Engram layer 1 (SWA) and a CSA layer.
struct Case {
  const char* id;
  int64_t layers;
};
const Case kCases[] = {{"deepseek_v3", 4}, {"deepseek_v32", 4}, {"engram_27b", 3}, {"v41_flash_like", 3}};
}  // namespace

TEST_CASE("exec mla: V3, V3.2 and the Engram variants are supported and account what they allocate",
          "[profiler][exec]") {
  for (const Case& c : kCases) {
    INFO(c.id);
    const ModelPreset m = tiny(c.id, c.layers);
    const sim::ModelDims d = sim::model_dims(m);
    CHECK(exec_unsupported_reason(d).empty());
    const ExecShape sh{2, 24, 2};
    const MemoryEstimate est = estimate_memory(d, sim::layer_schedule(m), sh, engram_rows_of(m));
    ModelExecutor ex(m, sh, {});
    CHECK(ex.accounting().weights_bytes == est.weights_bytes);
    CHECK(ex.accounting().cache_bytes == est.cache_bytes);
    CHECK(ex.accounting().activation_bytes == est.activation_bytes);
  }
  // V4 attention without mHC is still refused by name.
  ModelPreset m = tiny("deepseek_v4_flash", 2);
  m.fields.erase("hc_mult");
  CHECK_FALSE(exec_unsupported_reason(sim::model_dims(m)).empty());
  // Engram widths must give a d_mem that is a multiple of 128 (FP8 1×128 blocks of the projections).
  ExecScale s = named_scale("tiny");
  s.engram_head_dim = 20;
  try {
    scale_preset(load_model_preset("engram_27b", default_data_dir()), s);
    FAIL("expected a config_error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(std::string(e.what()).find("engram_head_dim = 20") != std::string::npos);
  }
}

TEST_CASE("exec mla: same seed gives bit-identical outputs on V3, V3.2 and Engram", "[profiler][exec]") {
  for (const Case& c : kCases) {
    INFO(c.id);
    const ModelPreset m = tiny(c.id, c.layers);
    ExecOptions o;
    o.seed = 5;
    const ExecShape sh{2, 20, 3};
    const ExecOutput a = run_exec(m, sh, o), b = run_exec(m, sh, o);
    REQUIRE(a.decode_logits.size() == 3);
    CHECK(std::memcmp(a.prefill_logits.data(), b.prefill_logits.data(), a.prefill_logits.size() * 4) == 0);
    for (size_t k = 0; k < 3; ++k)
      CHECK(std::memcmp(a.decode_logits[k].data(), b.decode_logits[k].data(), a.decode_logits[k].size() * 4) == 0);
    CHECK(a.prefill_mtp_logits == b.prefill_mtp_logits);
    CHECK(all_finite(a.prefill_logits));
    CHECK(all_finite(a.decode_logits.back()));
    o.seed = 6;
    CHECK(rel_l2(run_exec(m, sh, o).prefill_logits, a.prefill_logits) > 0.1);
  }
}

TEST_CASE("exec mla: decode over a prompt reproduces prefill's last-token output", "[profiler][exec]") {
  for (const Case& c : kCases) {
    INFO(c.id);
    const ModelPreset m = tiny(c.id, c.layers);
    const int64_t P = 37;  // > DSA top-k 16 (the selection matters), > the Engram conv history
    ExecOptions o;
    o.seed = 3;
    o.record = false;
    const std::vector<std::vector<int32_t>> prompts = seeded_prompts(2, P, 512, 11);
    ModelExecutor full(m, {2, P, 0}, o);
    const std::vector<float> want = full.prefill(prompts);
    std::vector<std::vector<int32_t>> head = prompts;
    std::vector<int32_t> last;
    for (auto& p : head) last.push_back(p.back()), p.pop_back();
    ModelExecutor inc(m, {2, P - 1, 1}, o);
    inc.prefill(head);
    const std::vector<float> got = inc.decode_step(last);
    REQUIRE(got.size() == want.size());
    const double err = rel_l2(got, want);
    INFO("relative L2 error " << err);
    CHECK(err < 0.02);  // BF16 GEMM outputs of other batchings and near-tied top-k may differ: 2%
    ModelExecutor other(m, {2, P, 0}, o);
    std::vector<std::vector<int32_t>> changed = prompts;
    for (auto& p : changed) p.back() = (p.back() + 1) % 512;
    CHECK(rel_l2(other.prefill(changed), want) > 0.05);
  }
}

TEST_CASE("exec mla: recorded ops are the cost model's layer-graph nodes", "[profiler][exec]") {
  // Labels the executor records beyond the graph's nodes (documented in docs/exec.md): the embedding,
  // the indexer head-weight GEMM and the V4 indexer query RoPE, the split MTP norms, the head's FP8 quant, Engram's projections.
  const std::set<std::string> extra = {"embed",     "idx_weights", "mtp_enorm",  "mtp_hnorm",
                                       "head_fp8",  "engram_fp8",  "engram_wk",  "engram_wv", "idx_q_rope"};
  for (const Case& c : kCases) {
    INFO(c.id);
    const ModelPreset m = tiny(c.id, c.layers);
    const ExecOutput r = run_exec(m, {2, 16, 2}, {});
    for (const char* phase : {"prefill", "decode"}) {
      sim::Workload wl;
      wl.phase = std::string(phase) == "prefill" ? sim::Phase::Prefill : sim::Phase::Decode;
      wl.batch = 2, wl.context = std::string(phase) == "prefill" ? 0 : 16, wl.chunk = 16;
      const sim::StepGraph g = sim::build_step_graph(m, sim::Deployment{}, wl);
      std::set<std::pair<std::string, std::string>> nodes;  // (label, op)
      for (auto v : boost::make_iterator_range(boost::vertices(g.dag))) nodes.insert({g.dag[v].label, g.dag[v].op});
      std::set<std::string> types;
      for (const OpRecord& rec : r.records) {
        if (rec.phase != phase) continue;
        types.insert(rec.layer_type);
        if (extra.count(rec.label) || rec.label == "lm_head") continue;  // lm_head: FP8 here, BF16 in the graph
        INFO(phase << " layer " << rec.layer << " " << rec.label << " " << rec.op);
        CHECK(nodes.count({rec.label, rec.op}) == 1);
      }
      const sim::ModelDims d = sim::model_dims(m);
      if (!d.v4) CHECK(types.count(std::string(c.id) == "deepseek_v32" ? "dsa" : "mla") == 1);
      if (std::string(c.id).rfind("deepseek_v3", 0) == 0) CHECK(types.count("dense"));
      if (!d.engram_layers.empty()) CHECK(types.count("engram"));
    }
  }
}
