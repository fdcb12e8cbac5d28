// test_model_exec_chunk.cpp — chunked prefill and 2-token MTP verification decode of the reduced-model
// executor (profiler/model_exec.h; issue 11): a prompt prefilled chunk by chunk (each chunk attending
// to the cached state of the earlier ones) gives the one-chunk prefill's last-token logits and the
// same decode steps after it; verified MTP decoding leaves greedy output unchanged, and a rejected
// draft leaves the state plain decode would have (checked through the logits of later steps).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/presets.h"
#include "profiler/model_exec.h"
#include "exec_test_util.h"

using namespace v4lab;
using namespace v4lab::profiler;
using v4lab::test::rel_l2;
using v4lab::test::tiny;

namespace {
int32_t argmax(const float* l, int64_t V) { return int32_t(std::max_element(l, l + V) - l); }

// One-chunk vs chunked: prefill logits, MTP logits, decode logits and tokens. Returns the worst
// relative L2 error seen. Same kernels, same per-row summation order: observed bit-exact, but a
// differently batched GEMM may round a BF16 output differently and a near-tied top-k may flip, so
// the bound is the decode-vs-prefill tolerance of test_model_exec.cpp (2% relative L2).
double chunk_agreement(const ModelPreset& m, int64_t B, int64_t P, int64_t chunk, int64_t decode) {
  ExecOptions o;
  o.seed = 5;
  const ExecOutput one = run_exec(m, {B, P, decode}, o);
  const ExecOutput ch = run_exec(m, {B, P, decode, chunk}, o);
  double worst = rel_l2(ch.prefill_logits, one.prefill_logits);
  if (!one.prefill_mtp_logits.empty()) worst = std::max(worst, rel_l2(ch.prefill_mtp_logits, one.prefill_mtp_logits));
  REQUIRE(ch.decode_logits.size() == size_t(decode));
  for (int64_t s = 0; s < decode; ++s)
    worst = std::max(worst, rel_l2(ch.decode_logits[size_t(s)], one.decode_logits[size_t(s)]));
  CHECK(ch.tokens == one.tokens);
  // Prefill stays one sample per op (the chunks summed); the core ran once per sequence and chunk.
  const int64_t chunks = (P + chunk - 1) / chunk;
  for (const OpRecord& r : ch.records)
    if (r.phase == "prefill") {
      INFO(r.layer << " " << r.label);
      CHECK(r.samples_s.size() == 1);
      if (r.label == "core") CHECK(r.calls_per_step == double(B * chunks));
    }
  return worst;
}
}  // namespace

TEST_CASE("exec chunked prefill: V4-Flash CSA + HCA layers agree with the one-chunk prefill", "[profiler][exec]") {
  // Layers SWA, SWA, CSA, HCA, CSA, HCA + MTP (window 16, CSA ratio 4, HCA ratio 128). P = 137: the
  // prompt completes one HCA entry (at token 127, inside the third 43-token chunk); chunk boundaries
  // 43, 86, 129 are not multiples of 4, and chunks of 7 (< window) make 20 chunks.
  const ModelPreset m = tiny("deepseek_v4_flash", 6);
  for (int64_t chunk : {43, 7}) {
    INFO("chunk " << chunk);
    const double err = chunk_agreement(m, 2, 137, chunk, 3);
    INFO("worst relative L2 error " << err);
    CHECK(err < 0.02);
  }
  // A later chunk holding whole compressor blocks runs them through the prefill form (CSA and, with
  // chunks of 200 over 400 tokens, HCA blocks 256..383 of the second chunk): the same entries.
  const double err = chunk_agreement(m, 1, 400, 200, 2);
  INFO("worst relative L2 error (400 in chunks of 200) " << err);
  CHECK(err < 0.02);
}

TEST_CASE("exec chunked prefill: V3.2 (MLA + DSA) agrees with the one-chunk prefill", "[profiler][exec]") {
  // 3 dense + 1 MoE DSA layers + MTP; P = 37 > DSA top-k 16, chunks of 10 (the last one 7 tokens).
  const ModelPreset m = tiny("deepseek_v32", 4);
  const double err = chunk_agreement(m, 2, 37, 10, 3);
  INFO("worst relative L2 error " << err);
  CHECK(err < 0.02);
}

TEST_CASE("exec chunked prefill: a chunk longer than the prompt is one chunk, bit for bit", "[profiler][exec]") {
  const ModelPreset m = tiny("deepseek_v4_flash", 4);
  ExecOptions o;
  o.seed = 9;
  const ExecOutput a = run_exec(m, {2, 20, 2}, o), b = run_exec(m, {2, 20, 2, 1000}, o);
  REQUIRE(a.prefill_logits.size() == b.prefill_logits.size());
  CHECK(std::memcmp(a.prefill_logits.data(), b.prefill_logits.data(), a.prefill_logits.size() * 4) == 0);
  CHECK(a.decode_logits == b.decode_logits);
  CHECK(ExecShape{2, 20, 2, 1000}.chunk_len() == 20);
  CHECK(ExecShape{2, 20, 2, 0}.chunk_len() == 20);
  CHECK(ExecShape{2, 20, 2, 6}.chunk_len() == 6);
  // The chunk can fail the comparison: another prompt gives other logits.
  ExecOptions o2 = o;
  o2.seed = 10;
  CHECK(rel_l2(run_exec(m, {2, 20, 2, 6}, o2).prefill_logits, a.prefill_logits) > 0.05);
  CHECK_THROWS_AS(ModelExecutor(m, ExecShape{1, 8, 0, -1}, {}), Error);
}

namespace {
// Drives verified decoding with chosen drafts against a plain greedy run of the same prompts: per
// step the drafts of `pattern(step, seq)` are right (the true greedy token) or wrong. Checks the
// greedy picks, acceptance, the kept token's logits against plain decode at the same position, and
// returns the worst relative L2 error.
template <class Pattern>
double verify_against_plain(const ModelPreset& m, int64_t B, int64_t P, int64_t steps, Pattern pattern,
                            int64_t* accepted_steps) {
  ExecOptions o;
  o.seed = 4;
  o.record = false;
  const int64_t V = sim::model_dims(m).vocab;
  const std::vector<std::vector<int32_t>> prompts = seeded_prompts(B, P, V, 21);
  // Plain greedy: g[q][j] is the token at position P + j, L[j] the logits after feeding it.
  const int64_t plain_steps = 2 * steps + 2;
  ModelExecutor plain(m, {B, P, plain_steps}, o);
  std::vector<float> logits = plain.prefill(prompts);
  std::vector<std::vector<int32_t>> g(static_cast<size_t>(B));
  std::vector<std::vector<float>> L;
  for (int64_t j = 0; j < plain_steps; ++j) {
    std::vector<int32_t> next(static_cast<size_t>(B));
    for (int64_t q = 0; q < B; ++q) next[size_t(q)] = argmax(logits.data() + q * V, V), g[size_t(q)].push_back(next[size_t(q)]);
    logits = plain.decode_step(next);
    L.push_back(logits);
  }
  ExecShape vs{B, P, steps};
  vs.mtp_verify = true;
  ModelExecutor ver(m, vs, o);
  ver.prefill(prompts);
  double worst = 0;
  int64_t j = 0;  // plain index of the last accepted token (position P + j)
  *accepted_steps = 0;
  for (int64_t s = 0; s < steps; ++s) {
    INFO("step " << s << " plain index " << j);
    std::vector<int32_t> last(static_cast<size_t>(B)), draft(static_cast<size_t>(B));
    bool all_right = true;
    for (int64_t q = 0; q < B; ++q) {
      const bool right = pattern(s, q);
      all_right = all_right && right;
      last[size_t(q)] = g[size_t(q)][size_t(j)];
      const int32_t truth = g[size_t(q)][size_t(j + 1)];
      draft[size_t(q)] = right ? truth : (truth + 1) % int32_t(V);
    }
    REQUIRE(ver.position() == P + j);
    const ModelExecutor::VerifyResult r = ver.decode_verify(last, draft);
    REQUIRE(r.accepted == all_right);
    for (int64_t q = 0; q < B; ++q) {
      CHECK(r.matched[size_t(q)] == uint8_t(pattern(s, q)));
      CHECK(r.greedy[size_t(2 * q)] == g[size_t(q)][size_t(j + 1)]);  // verification = plain greedy
      worst = std::max(worst, rel_l2(r.logits.data() + 2 * q * V, L[size_t(j)].data() + q * V, size_t(V)));
      if (r.accepted) {
        CHECK(r.greedy[size_t(2 * q + 1)] == g[size_t(q)][size_t(j + 2)]);
        worst = std::max(worst, rel_l2(r.logits.data() + (2 * q + 1) * V, L[size_t(j + 1)].data() + q * V, size_t(V)));
      }
      CHECK(r.next_draft[size_t(q)] >= 0);
      CHECK(r.next_draft[size_t(q)] < V);
    }
    *accepted_steps += r.accepted;
    j += r.accepted ? 2 : 1;
  }
  return worst;
}
}  // namespace

TEST_CASE("exec MTP verify: accepted and rejected drafts keep plain greedy decode's state", "[profiler][exec]") {
  // V4-Flash (SWA, CSA, HCA rings, compressors and entries), V3 (MLA latent cache), V4.1-like
  // (Engram conv history and hash context). Drafts: both right (accepted), both wrong, one wrong
  // (the batch advances together: rejected); 14 steps move the draft across CSA block ends.
  struct Case {
    const char* id;
    int64_t layers, P;
  };
  for (const Case& c : {Case{"deepseek_v4_flash", 6, 29}, Case{"deepseek_v3", 4, 21}, Case{"v41_flash_like", 3, 23}}) {
    INFO(c.id);
    int64_t acc = 0;
    const double err = verify_against_plain(tiny(c.id, c.layers), 2, c.P, 14,
                                            [](int64_t s, int64_t q) { return s % 3 == 0 || (s % 3 == 2 && q == 0); },
                                            &acc);
    INFO("worst relative L2 error vs plain decode " << err);
    CHECK(acc == 5);  // steps 0, 3, 6, 9, 12
    CHECK(err < 0.02);
  }
}

TEST_CASE("exec MTP verify: the generated tokens are plain greedy decode's", "[profiler][exec]") {
  const ModelPreset m = tiny("deepseek_v4_flash", 6);
  ExecOptions o;
  o.seed = 6;
  const int64_t steps = 6;
  ExecShape vs{2, 24, steps};
  vs.mtp_verify = true;
  const ExecOutput v = run_exec(m, vs, o);
  const ExecOutput p = run_exec(m, {2, 24, 2 * steps + 1}, o);
  CHECK(v.mtp_steps == steps);
  CHECK(v.mtp_drafts == 2 * steps);
  CHECK(v.mtp_matched >= 0);
  CHECK(v.mtp_matched <= v.mtp_drafts);
  CHECK(v.mtp_accepted_steps >= 0);
  CHECK(v.mtp_accepted_steps <= steps);
  REQUIRE(v.decode_logits.size() == size_t(steps));
  for (size_t q = 0; q < 2; ++q) {
    // 1 token from the prefill, then 1 or 2 per step.
    REQUIRE(int64_t(v.tokens[q].size()) == 24 + 1 + steps + v.mtp_accepted_steps);
    REQUIRE(p.tokens[q].size() >= v.tokens[q].size());
    CHECK(std::equal(v.tokens[q].begin(), v.tokens[q].end(), p.tokens[q].begin()));
  }
  // Decode records: 2 query tokens per sequence per step.
  bool core = false;
  for (const OpRecord& r : v.records)
    if (r.phase == "decode" && r.label == "core") {
      core = true;
      CHECK(r.params.at("n_tokens") == 2);
      CHECK(r.samples_s.size() == size_t(steps));
    }
  CHECK(core);
  // Presets without an MTP block refuse verification.
  ExecShape bad{1, 8, 1};
  bad.mtp_verify = true;
  try {
    ModelExecutor ex(tiny("engram_27b", 3), bad, {});
    FAIL("expected a config_error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Config);
    CHECK(std::string(e.what()).find("no MTP block") != std::string::npos);
  }
}

TEST_CASE("exec: the memory estimate covers chunked and verified shapes", "[profiler][exec]") {
  const ModelPreset m = tiny("deepseek_v4_flash", 4);
  ExecShape sh{2, 40, 3, 16};
  sh.mtp_verify = true;
  const MemoryEstimate est = estimate_memory(sim::model_dims(m), sim::layer_schedule(m), sh);
  ModelExecutor ex(m, sh, {});
  CHECK(ex.accounting().cache_bytes == est.cache_bytes);
  CHECK(ex.accounting().activation_bytes == est.activation_bytes);
  // Chunks of 16 need less workspace than one chunk of 40; verification caches 2 positions per step.
  const MemoryEstimate one = estimate_memory(sim::model_dims(m), sim::layer_schedule(m), {2, 40, 3});
  CHECK(est.activation_bytes < one.activation_bytes);
  CHECK(est.cache_bytes > one.cache_bytes);
}
