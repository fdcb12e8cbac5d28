// model_exec_impl.h — the executor's private state (model_exec.h): weights, workspace, caches,
// the per-(phase, layer, label) recorder and thin timed wrappers around the `_cpu` kernels. Shared by
// model_exec.cpp (V4 hybrid attention, MoE, head, MTP, driver) and model_exec_mla.cpp (MLA / DSA
// attention, dense FFN, Engram), so both walk the same recorder with the cost model's labels.
#pragma once
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/numerics.h"
#include "kernels/mhc/mhc.h"
#include "kernels/numerics/numerics.h"
#include "kernels/quant/quant.h"
#include "profiler/detail/exec_workspace.h"
#include "profiler/model_exec.h"
#include "profiler/nvtx.h"

namespace v4lab::profiler {

using namespace kernels;
using detail::SeqCache;
using detail::Workspace;

struct ModelExecutor::Impl {
  ModelPreset m;
  ExecShape shape;
  ExecOptions opt;
  sim::ModelDims d;
  std::vector<sim::LayerSpec> sched;
  ModelWeights w;
  Workspace ws;
  std::vector<std::vector<SeqCache>> cache;  // [schedule index][sequence]
  MemoryEstimate acct;
  int64_t pos = 0;  // tokens cached per sequence (the first query position of the current step)
  // A 2-token verification step (decode_verify): the layers keep the state after the first token
  // (SeqCache::sv_*) so that rollback() can drop the draft's changes.
  bool verify_step = false;
  std::vector<float> mtp_logits;
  double hc_eps = 1e-6, norm_eps = 1e-6, route_scale = 1.5;
  // MLA RoPE (rope_theta, rope_scaling.factor / original_max_position_embeddings) and softmax mscale.
  double mla_theta = 10000, mla_yarn = 1, mla_yarn_orig = 4096;
  int64_t max_pos = 163840;
  int64_t engram_rows = 0;  // table-size seed per order (engram_rows_of the scaled preset)

  // Recording.
  struct Rec {
    OpRecord r;
    double pending_s = 0, pending_calls = 0, calls_sum = 0;
    ParamMap last_raw;
    OpWork last_work;
    // Distinct per-call works with their call counts over all steps (OpRecord::call_work; the
    // record's step work is derived from them).
    std::vector<std::pair<OpWork, double>> groups;
  };
  std::vector<Rec> recs;
  std::map<std::string, size_t> rec_index;
  std::string phase = "prefill";
  int cur_layer = -1;
  std::string cur_bucket = "embed";

  template <class F>
  void op(const std::string& label, const char* opname, const ParamMap& raw, F&& f, double calls = 1) {
    if (!opt.record) {
      f();
      return;
    }
    const auto t0 = std::chrono::steady_clock::now();
    {
      NvtxRange range(label.c_str());  // nested in the step's and the layer's ranges
      f();
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double el = std::chrono::duration<double>(t1 - t0).count();
    const std::string key = phase + "|" + std::to_string(cur_layer) + "|" + label;
    auto it = rec_index.find(key);
    if (it == rec_index.end()) {
      Rec rc;
      rc.r.phase = phase, rc.r.layer = cur_layer, rc.r.layer_type = cur_bucket, rc.r.label = label, rc.r.op = opname;
      const OpDef* def = find_op(opname);
      rc.r.family = def ? def->family : "numerics";
      it = rec_index.emplace(key, recs.size()).first;
      recs.push_back(std::move(rc));
    }
    if (opt.trace) trace_call(it->second, t0, t1);
    Rec& rc = recs[it->second];
    rc.pending_s += el;
    rc.pending_calls += calls;
    if (const OpDef* def = find_op(opname)) {
      if (raw != rc.last_raw || rc.r.params.empty()) {
        rc.r.params = resolve_params(*def, raw, "exec " + label);
        rc.last_work = def->work(rc.r.params);
        rc.last_raw = raw;
      }
      add_group(rc.groups, rc.last_work, calls);
    }
  }
  // Calls of equal work share one group; the works of an op change only with the context (decode
  // steps, chunks), so the match is searched among the last few groups.
  static void add_group(std::vector<std::pair<OpWork, double>>& g, const OpWork& w, double calls) {
    for (size_t i = g.size(), k = 0; i > 0 && k < 4; --i, ++k) {
      const OpWork& o = g[i - 1].first;
      if (o.flops == w.flops && o.bytes_mem == w.bytes_mem && o.transcendentals == w.transcendentals &&
          o.bytes_host_link == w.bytes_host_link && o.precision == w.precision && o.bytes_variant == w.bytes_variant) {
        g[i - 1].second += calls;
        return;
      }
    }
    g.emplace_back(w, calls);
  }
  // Timeline (ExecOptions::trace): reserved up front (constructor), one append per call, no allocation
  // in the common case.
  std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();
  ExecTrace trace;
  int32_t step = 0;  // end_step count
  void trace_call(size_t rec, std::chrono::steady_clock::time_point t0, std::chrono::steady_clock::time_point t1) {
    const int64_t a = std::chrono::duration_cast<std::chrono::nanoseconds>(t0 - epoch).count();
    const int64_t b = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - epoch).count();
    if (trace.steps.empty() || trace.steps.back().step != step) {
      const bool keep = phase != "decode" || trace.decode_steps_traced < opt.trace_decode_steps;
      if (phase == "decode" && keep) ++trace.decode_steps_traced;
      trace.steps.push_back({phase, step, a, b, 0, keep});
    }
    ExecStepSpan& s = trace.steps.back();
    s.end_ns = b;
    ++s.calls;
    if (!s.traced) return;
    if (int64_t(trace.calls.size()) < opt.trace_max_calls) trace.calls.push_back({a, b, uint32_t(rec), step});
    else ++trace.dropped_calls;
  }
  void end_step() {
    ++step;
    for (Rec& rc : recs) {
      if (rc.pending_calls == 0) continue;
      rc.r.samples_s.push_back(rc.pending_s);
      rc.calls_sum += rc.pending_calls;
      rc.pending_s = 0, rc.pending_calls = 0;
    }
  }

  // ---- kernel wrappers ----------------------------------------------------------------------
  // FP8 1×128 activation quantization of an FP32 input (the MLA core's output).
  void quant_f32(const char* label, const float* x, int64_t rows, int64_t k, uint8_t* codes, uint8_t* scales) {
    QuantFp8Params q;
    q.rows = rows, q.k = k, q.in_bf16 = false;
    op(label, "quant_fp8", {{"n_tokens", double(rows)}, {"k", double(k)}}, [&] {
      int64_t nf = 0;
      quant_fp8_cpu(q, x, codes, scales, &nf);
    });
  }
  void quant(const char* label, const uint16_t* x, int64_t rows, int64_t k, uint8_t* codes, uint8_t* scales) {
    QuantFp8Params q;
    q.rows = rows, q.k = k;
    op(label, "quant_fp8", {{"n_tokens", double(rows)}, {"k", double(k)}}, [&] {
      int64_t nf = 0;
      quant_fp8_cpu(q, x, codes, scales, &nf);
    });
  }
  void gemm(const char* label, const uint8_t* a, const uint8_t* as, int64_t M, const Fp8Weight& W, void* c,
            bool f32 = false) {
    GemmQParams p;
    p.m = M, p.k = W.k, p.n = W.n, p.out_bf16 = !f32;
    op(label, "gemm_fp8",
       {{"n_tokens", double(M)}, {"k", double(W.k)}, {"n", double(W.n)}, {"out_dtype", f32 ? 1.0 : 0.0}},
       [&] { gemm_fp8_cpu(p, a, as, W.codes.data(), W.scales.data(), c); });
  }
  void rmsnorm(const char* label, const uint16_t* x, const float* wt, int64_t rows, int64_t width, uint16_t* y) {
    RmsNormParams p;
    p.n_tokens = rows, p.width = width, p.weighted = wt != nullptr, p.eps = norm_eps;
    op(label, "rmsnorm", {{"n_tokens", double(rows)}, {"width", double(width)}, {"weighted", wt ? 1.0 : 0.0}},
       [&] { rmsnorm_cpu(p, x, wt, y); });
  }
  // RoPE on the last d_rope of every head, in place: one call per sequence (positions restart per
  // sequence in prefill; every sequence sits at `pos` in decode).
  void rope(const char* label, uint16_t* x, int64_t seqs, int64_t per_seq, int64_t p0, int64_t heads, int64_t dh,
            const RopeParams& base) {
    RopeParams p = base;
    p.n_tokens = per_seq, p.n_heads = heads, p.d_head = dh, p.pos0 = p0;
    const int64_t dr = p.d_rope, off = dh - dr;
    op(label, "rope",
       {{"n_tokens", double(seqs * per_seq)},
        {"n_heads", double(heads)},
        {"d_head", double(dh)},
        {"d_rope", double(dr)},
        {"theta", p.theta},
        {"yarn_factor", p.yarn_factor},
        {"pos0", double(p0)}},
       [&] {
         for (int64_t s = 0; s < seqs; ++s) {
           uint16_t* xs = x + s * per_seq * heads * dh;
           rope_cpu(p, xs, ws.cos_sin.data(), ws.rope_y.data());
           for (int64_t r = 0; r < per_seq * heads; ++r)
             std::memcpy(xs + r * dh + off, ws.rope_y.data() + r * dr, size_t(dr) * 2);
         }
       });
  }
  MhcParams mhc_p(int64_t T) const {
    MhcParams p;
    p.n_tokens = T, p.hc = d.hc, p.d_model = d.d_model, p.iters = d.hc_iters, p.hc_eps = hc_eps, p.norm_eps = norm_eps;
    return p;
  }
  ParamMap mhc_pm(int64_t T) const {
    return {{"n_tokens", double(T)}, {"hc", double(d.hc)}, {"d_model", double(d.d_model)}};
  }
  void mhc_pre(const char* label, const MhcWeights& hw, int64_t T) {
    const MhcParams p = mhc_p(T);
    ParamMap pm = mhc_pm(T);
    pm["iters"] = d.hc_iters;
    op(label, "mhc_pre", pm, [&] {
      mhc_pre_cpu(p, ws.X.data(), hw.fn.data(), hw.base.data(), hw.scale.data(), ws.y.data(), ws.pre.data(),
                  ws.post.data(), ws.comb.data(), ws.mixes.data());
    });
  }
  void mhc_post(const char* label, const uint16_t* f, int64_t T) {
    const MhcParams p = mhc_p(T);
    op(label, "mhc_post", mhc_pm(T),
       [&] { mhc_post_cpu(p, f, ws.X.data(), ws.post.data(), ws.comb.data(), ws.X2.data()); });
    std::swap(ws.X, ws.X2);
  }
  void embed(const std::vector<int32_t>& tok, uint16_t* out_streams, uint16_t* out_rows) {
    const int64_t D = d.d_model;
    op("embed", "embed", {}, [&] {
      for (size_t t = 0; t < tok.size(); ++t) {
        const uint16_t* row = w.embed.data() + int64_t(tok[t]) * D;
        if (out_rows) std::memcpy(out_rows + int64_t(t) * D, row, size_t(D) * 2);
        if (out_streams)
          for (int i = 0; i < d.hc; ++i) std::memcpy(out_streams + (int64_t(t) * d.hc + i) * D, row, size_t(D) * 2);
      }
    });
  }

  void attention(const sim::LayerSpec& s, const LayerWeights& lw, int64_t B, int64_t nq, bool prefill);
  // model_exec_mla.cpp: MLA / DSA attention (V3, V3.2, Engram-27B), the dense FFN, the Engram block.
  void attention_mla(const sim::LayerSpec& s, const LayerWeights& lw, int64_t B, int64_t nq, bool prefill);
  void dense_ffn(const LayerWeights& lw, int64_t T);
  void engram(const sim::LayerSpec& s, const LayerWeights& lw, const std::vector<int32_t>& tok, int64_t B, int64_t nq,
              bool prefill);
  void moe(const sim::LayerSpec& s, const LayerWeights& lw, const std::vector<int32_t>& tok, int64_t T);
  void layer(const sim::LayerSpec& s, const std::vector<int32_t>& tok, int64_t B, int64_t nq, bool prefill);
  // rows: 0 = mHC head only (a prefill chunk before the last: no logits), 1 = the last token of each
  // sequence, nq = every token (verification: logits of both query tokens, [B·nq, vocab]).
  void head(int64_t T, int64_t B, int64_t nq, uint16_t* logits, int64_t rows = 1);
  void mtp(const std::vector<int32_t>& next, int64_t B, int64_t nq, bool prefill, int64_t rows = 1);
  void rollback();  // after a rejected draft: every layer's state as after the step's first token
  std::vector<float> logits_of(const uint16_t* l, int64_t B) const {
    std::vector<float> out(size_t(B * d.vocab));
    for (size_t i = 0; i < out.size(); ++i) out[i] = bf16_to_f32(l[i]);
    return out;
  }
};

}  // namespace v4lab::profiler
