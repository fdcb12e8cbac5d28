// model_exec.h — executes a reduced V4-class model on the CPU kernels (issue 11): embedding → mHC
// stream expansion → per layer (mHC pre → attention by layer kind → mHC post → mHC pre → MoE → mHC
// post) → mHC head → final norm → LM head, then the MTP block; a prefill of every sequence's prompt
// and decode steps (one token per sequence) with real state: the raw KV of the prompt, the SWA ring,
// the compressed-entry and indexer-key caches and the compressors' running state. Every kernel call
// is timed and recorded as (phase, layer, label, op, catalogue params), so the cost model can predict
// exactly the work that ran (specs attention.md §4, moe.md, mhc.md).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/presets.h"
#include "profiler/model_build.h"

namespace v4lab::profiler {

// One (phase, layer, label) of the run: a catalogue op with its params and one time sample per step
// (prefill: one; decode: one per step). Ops run once per sequence (attention core, indexer,
// compressors) are summed over the batch within a step, like the cost model's `repeat`.
struct OpRecord {
  std::string phase;       // prefill | decode
  int layer = -1;          // schedule index; -1: embedding / head
  std::string layer_type;  // breakdown bucket as in sim::OpNode: swa/csa/hca, hash/moe, mtp, head, embed
  std::string label;       // role: wq_a, core, experts, hc_pre_attn, ...
  std::string op;          // catalogue op ("embed" is not in the catalogue and has no prediction)
  std::string family;
  ParamMap params;  // resolved catalogue params of the last call
  double calls_per_step = 0;
  std::vector<double> samples_s;  // wall time per step
  OpWork work;                    // catalogue work per step (mean over steps, calls summed)
  // The distinct catalogue works of one call and how many calls per step had each (mean over
  // steps): the per-call prediction is Σ calls × predict(work), every call paying its own overhead.
  std::vector<std::pair<OpWork, double>> call_work;
};

struct ExecOptions {
  uint64_t seed = 1;
  bool record = true;                                // time and record every op (off: tests that only compare outputs)
  bool trace = false;                                // also keep one span per kernel call (needs `record`)
  int trace_decode_steps = 8;                        // decode steps whose calls are kept; later steps: step spans only
  int64_t trace_max_calls = 250000;                  // hard cap on kept call spans (the rest are counted)
  std::function<void(const std::string&)> progress;  // optional progress lines
};

// The run's timeline (ExecOptions::trace), steady clock in ns from the executor's construction (the
// run start): one span per kernel call of the prefill and the first `trace_decode_steps` decode
// steps (the same t0/t1 the call's sample adds up), and one span per step from its first call's
// start to its last call's end (every step, traced or not).
struct ExecSpan {
  int64_t start_ns = 0, end_ns = 0;
  uint32_t record = 0;  // index into records() (phase, layer, label, op)
  int32_t step = 0;     // 0 = prefill, then one per decode step (end_step count)
};
struct ExecStepSpan {
  std::string phase;
  int32_t step = 0;
  int64_t start_ns = 0, end_ns = 0;
  int64_t calls = 0;    // kernel calls in the step (traced or not)
  bool traced = false;  // its calls are in ExecTrace::calls (prefill; the first trace_decode_steps decode steps)
};
struct ExecTrace {
  std::vector<ExecSpan> calls;
  std::vector<ExecStepSpan> steps;
  int64_t dropped_calls = 0;  // calls of traced steps past trace_max_calls
  int decode_steps_traced = 0;
};

struct ExecOutput {
  // Last-token logits (BF16 values as float) per sequence: after prefill, and after each decode step.
  std::vector<float> prefill_logits;              // [batch, vocab]
  std::vector<float> prefill_mtp_logits;          // [batch, vocab] (empty without an MTP block)
  std::vector<std::vector<float>> decode_logits;  // [steps][batch, vocab]
  std::vector<std::vector<int32_t>> tokens;       // [batch] prompt + generated (greedy) tokens
  // MTP verification (ExecShape::mtp_verify): steps run, drafts proposed (batch per step), drafts equal
  // to the greedy choice, steps whose drafts all matched (both tokens kept). decode_logits then holds
  // the logits after the last kept token of each step.
  int64_t mtp_steps = 0, mtp_drafts = 0, mtp_matched = 0, mtp_accepted_steps = 0;
  double build_s = 0, prefill_s = 0, decode_s = 0;
  MemoryEstimate accounting;                        // the executor's own accounting (= what it allocated)
  double rss_before_bytes = 0, rss_peak_bytes = 0;  // VmRSS before building, VmHWM at the end
  std::vector<OpRecord> records;
  ExecTrace trace;  // empty unless ExecOptions::trace
};

class ModelExecutor {
 public:
  // `m` is an already scaled preset (scale_preset); throws config_error when it is not supported.
  ModelExecutor(const ModelPreset& m, const ExecShape& shape, const ExecOptions& opt);
  ~ModelExecutor();
  ModelExecutor(const ModelExecutor&) = delete;
  ModelExecutor& operator=(const ModelExecutor&) = delete;

  // Prompt of every sequence ([batch][prefill] token ids in [0, vocab)); returns last-token logits.
  std::vector<float> prefill(const std::vector<std::vector<int32_t>>& prompts);
  // One token per sequence at the next position; returns their logits [batch, vocab].
  std::vector<float> decode_step(const std::vector<int32_t>& tokens);
  // MTP verification (shape.mtp_verify): `last` at position() and `draft` at position() + 1 per
  // sequence; the draft is accepted when it equals the greedy choice after `last` for every sequence
  // (the batch shares one position), else the draft's state changes are rolled back.
  struct VerifyResult {
    std::vector<float> logits;        // [batch, 2, vocab]: after `last`, after the draft
    std::vector<int32_t> greedy;      // [batch, 2]: greedy choice after each of the two tokens
    std::vector<uint8_t> matched;     // [batch]: draft == greedy after `last`
    bool accepted = false;            // every draft matched: both tokens kept (position() += 2, else += 1)
    std::vector<int32_t> next_draft;  // [batch]: the MTP block's draft after the last kept token
  };
  VerifyResult decode_verify(const std::vector<int32_t>& last, const std::vector<int32_t>& draft);
  const std::vector<float>& last_mtp_logits() const;  // [batch, vocab] (verification: [batch, 2, vocab])
  int64_t position() const;  // tokens cached per sequence
  std::vector<OpRecord> records() const;
  const ExecTrace& trace() const;
  MemoryEstimate accounting() const;
  const sim::ModelDims& dims() const;
  const std::vector<sim::LayerSpec>& schedule() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Seeded prompts (uniform token ids), the prefill, then `decode` greedy steps.
ExecOutput run_exec(const ModelPreset& scaled, const ExecShape& shape, const ExecOptions& opt);
std::vector<std::vector<int32_t>> seeded_prompts(int64_t batch, int64_t len, int64_t vocab, uint64_t seed);

// Memory the executor will allocate for this shape, before allocating it.
// `engram_rows`: engram_rows_of(the scaled preset) (0: kDefaultEngramRows).
MemoryEstimate estimate_memory(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, const ExecShape& s,
                               int64_t engram_rows = 0);
// Resident set size now / its peak (VmRSS / VmHWM), bytes; 0 when unknown.
double rss_bytes();
double peak_rss_bytes();

}  // namespace v4lab::profiler
