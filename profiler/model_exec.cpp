// model_exec.cpp — the reduced-model executor (model_exec.h): one workspace sized once for the
// largest step, per-(layer, sequence) caches, and a forward pass that calls the `_cpu` kernels in the
// order of a V4 block (attention.md §4.2, moe.md, mhc.md). Every call is timed and attributed to a
// (phase, layer, label) record with its op-catalogue params, mirroring sim/layer_graph.cpp's nodes.
#include "profiler/model_exec.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/numerics.h"
#include "core/rng.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/csa_indexer.h"
#include "kernels/attention/sparse_attn.h"
#include "kernels/attention/topk.h"
#include "kernels/mhc/mhc.h"
#include "kernels/moe/moe.h"
#include "kernels/numerics/numerics.h"
#include "kernels/quant/quant.h"
#include "profiler/detail/model_exec_impl.h"

namespace v4lab::profiler {

namespace {
double proc_status_kb(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream s(line.substr(std::strlen(key)));
    double kb = 0;
    s >> kb;
    return kb;
  }
  return 0;
}
}  // namespace

double rss_bytes() { return proc_status_kb("VmRSS:") * 1024.0; }
double peak_rss_bytes() { return proc_status_kb("VmHWM:") * 1024.0; }

MemoryEstimate estimate_memory(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, const ExecShape& s,
                               int64_t engram_rows) {
  MemoryEstimate e;
  e.weights_bytes = weight_bytes(d, layers, engram_rows);
  Workspace ws;
  e.activation_bytes = detail::plan_workspace(ws, d, layers, s, false);
  std::vector<std::vector<SeqCache>> caches;
  e.cache_bytes = detail::plan_caches(caches, d, layers, s, false);
  e.scratch_bytes = detail::kernel_scratch_bytes(d, layers, s);
  return e;
}


void ModelExecutor::Impl::attention(const sim::LayerSpec& s, const LayerWeights& lw, int64_t B, int64_t nq,
                                    bool prefill) {
  const int64_t T = B * nq, D = d.d_model, H = d.n_heads, Dh = d.d_head, dr = d.d_rope, g = d.o_groups;
  const int64_t Hi = d.idx_heads, Di = d.idx_dim, r = s.compress_ratio, win = d.window;
  const int64_t ctx = pos + nq;  // context seen by the last query of each sequence
  auto& lc = cache[size_t(s.index)];
  // Three forms: a fresh prefill (pos 0: the prompt, or its first chunk) attends over its own raw KV
  // and runs the compressors' prefill form; a 1-token decode step writes the ring first and attends
  // over it; a later prefill chunk or a 2-token verification step (`multi`) streams the compressors
  // from their running state and attends over the ring's last window − 1 tokens followed by its own
  // tokens (ws.kvcat, gathered per sequence), then writes its tokens into the ring.
  const bool fresh = prefill && pos == 0, decode1 = !prefill && nq == 1, multi = !fresh && !decode1;
  const bool keep = verify_step && nq > 1;  // keep the state after the first token (rollback())
  // V4 CSA/HCA layers rotate with compress θ and YaRN; SWA-only layers with θ 10000, no YaRN (§1.3).
  RopeParams rp;
  rp.d_rope = int(dr);
  if (r == 0) rp.theta = 10000, rp.yarn_factor = 1;
  const uint16_t* xn = ws.xn.data();
  quant("x_fp8", xn, T, D, ws.a8.data(), ws.a8s.data());
  gemm("wq_a", ws.a8.data(), ws.a8s.data(), T, lw.wq_a, ws.qa.data());
  rmsnorm("q_norm", ws.qa.data(), lw.q_norm.data(), T, d.q_rank, ws.qn.data());
  quant("cq_fp8", ws.qn.data(), T, d.q_rank, ws.c8.data(), ws.c8s.data());
  gemm("wq_b", ws.c8.data(), ws.c8s.data(), T, lw.wq_b, ws.q.data());
  rmsnorm("q_head_norm", ws.q.data(), nullptr, T * H, Dh, ws.qh.data());
  rope("q_rope", ws.qh.data(), B, nq, pos, H, Dh, rp);
  gemm("wkv", ws.a8.data(), ws.a8s.data(), T, lw.wkv, ws.kv.data());
  rmsnorm("kv_norm", ws.kv.data(), lw.kv_norm.data(), T, Dh, ws.kvn.data());
  rope("kv_rope", ws.kvn.data(), B, nq, pos, 1, Dh, rp);
  if (decode1)  // decode: the new token's KV goes into the SWA ring (slot = pos mod window)
    for (int64_t q = 0; q < B; ++q)
      std::memcpy(lc[size_t(q)].ring.data() + (pos % win) * Dh, ws.kvn.data() + q * Dh, size_t(Dh) * 2);

  // Compressors: prefill form over the prompt, then the running state is warmed on the tail blocks
  // (the streaming form is bit-exact to prefill, compress.h) so decode continues it.
  auto compressor = [&](const char* label, const CompressorWeights& cw, int64_t ratio, int64_t dd, bool indexer) {
    CompressParams cp;
    cp.d_model = D, cp.ratio = ratio, cp.d = dd, cp.d_rope = dr, cp.indexer = indexer, cp.eps = norm_eps;
    cp.n_tokens = nq, cp.pos0 = pos, cp.streaming = !fresh;
    const CompressWeights cwv{cw.w_kv.data(), cw.w_gate.data(), cw.ape.data(), cw.norm.data()};
    op(label, "attn_compress",
       {{"n_tokens", double(nq)},
        {"d_model", double(D)},
        {"ratio", double(ratio)},
        {"d", double(dd)},
        {"d_rope", double(dr)},
        {"indexer", indexer ? 1.0 : 0.0},
        {"streaming", fresh ? 0.0 : 1.0}},
       [&] {
         for (int64_t q = 0; q < B; ++q) {
           SeqCache& c = lc[size_t(q)];
           std::vector<uint16_t>& ent = indexer ? c.keys : c.cmp;
           int64_t& n_ent = indexer ? c.n_keys : c.n_cmp;
           std::vector<float>& skv = indexer ? c.ist_kv : c.st_kv;
           std::vector<float>& ssc = indexer ? c.ist_score : c.st_score;
           const uint16_t* x = xn + q * nq * D;
           if (fresh) {
             compress_cpu(cp, x, cwv, {ent.data(), ws.cmp_normed.data(), nullptr});
             n_ent = cp.n_entries();
             CompressParams sp = cp;
             sp.streaming = true;
             const int64_t s0 = std::max<int64_t>(0, (nq / ratio - (cp.c() - 1)) * ratio);
             sp.pos0 = s0, sp.n_tokens = nq - s0;
             compress_state_init(sp, {skv.data(), ssc.data()});
             compress_step_cpu(sp, x + s0 * D, cwv, {skv.data(), ssc.data()},
                               {ws.cmp_tmp.data(), ws.cmp_normed.data(), nullptr});
           } else if (keep) {  // token by token (≡ one call): keep the state after the first token
             CompressParams c1 = cp;
             c1.n_tokens = nq - 1;
             n_ent += compress_step_cpu(c1, x, cwv, {skv.data(), ssc.data()},
                                        {ent.data() + n_ent * dd, ws.cmp_normed.data(), nullptr});
             (indexer ? c.sv_ist_kv : c.sv_st_kv) = skv;
             (indexer ? c.sv_ist_score : c.sv_st_score) = ssc;
             (indexer ? c.sv_n_keys : c.sv_n_cmp) = n_ent;
             CompressParams c2 = cp;
             c2.n_tokens = 1, c2.pos0 = pos + nq - 1;
             n_ent += compress_step_cpu(c2, x + (nq - 1) * D, cwv, {skv.data(), ssc.data()},
                                        {ent.data() + n_ent * dd, ws.cmp_normed.data(), nullptr});
           } else if (prefill && (pos + ratio - 1) / ratio * ratio + (cp.c() - 1) * ratio < (pos + nq) / ratio * ratio) {
             // A later chunk: the streaming form is a token-by-token loop, so only the tokens up to
             // the first entry that needs the previous block are streamed; the whole blocks
             // [b0, b1) go through the prefill form (bit-exact to streaming; its first c − 1 entries
             // lack the previous block and are replaced by the streamed ones); the running state is
             // then warmed on the tail as after a fresh prefill.
             const int64_t cc = cp.c(), b0 = (pos + ratio - 1) / ratio * ratio, h1 = b0 + (cc - 1) * ratio,
                           b1 = (pos + nq) / ratio * ratio;
             CompressParams hp = cp;
             hp.n_tokens = h1 - pos;
             n_ent += compress_step_cpu(hp, x, cwv, {skv.data(), ssc.data()},
                                        {ent.data() + n_ent * dd, ws.cmp_normed.data(), nullptr});
             const int64_t e0 = b0 / ratio, keep_n = h1 / ratio - e0;  // streamed entries [e0, e0 + keep_n)
             std::vector<uint16_t> kept(ent.begin() + e0 * dd, ent.begin() + (e0 + keep_n) * dd);
             CompressParams fp = cp;
             fp.streaming = false, fp.pos0 = b0, fp.n_tokens = b1 - b0;
             compress_cpu(fp, x + (b0 - pos) * D, cwv, {ent.data() + e0 * dd, ws.cmp_normed.data(), nullptr});
             std::copy(kept.begin(), kept.end(), ent.begin() + e0 * dd);
             n_ent = b1 / ratio;
             CompressParams wp = cp;
             const int64_t s0 = b1 - (cc - 1) * ratio;
             wp.pos0 = s0, wp.n_tokens = pos + nq - s0;
             compress_state_init(wp, {skv.data(), ssc.data()});
             compress_step_cpu(wp, x + (s0 - pos) * D, cwv, {skv.data(), ssc.data()},
                               {ws.cmp_tmp.data(), ws.cmp_normed.data(), nullptr});
           } else {
             n_ent += compress_step_cpu(cp, x, cwv, {skv.data(), ssc.data()},
                                        {ent.data() + n_ent * dd, ws.cmp_normed.data(), nullptr});
           }
         }
       },
       double(B));  // one compressor call per sequence (params are one sequence's)
  };
  if (r > 0) compressor("compressor", lw.cmp, r, Dh, false);
  const bool csa = s.attn_kind == "csa";
  if (csa) {
    compressor("idx_compressor", lw.idx_cmp, 4, Di, true);
    gemm("idx_wq_b", ws.c8.data(), ws.c8s.data(), T, lw.idx_wq_b, ws.iq.data());
    rope("idx_q_rope", ws.iq.data(), B, nq, pos, Hi, Di, rp);
    gemm("idx_weights", ws.a8.data(), ws.a8s.data(), T, lw.idx_w, ws.iw.data(), true);
    const float wscale = float(1.0 / std::sqrt(double(Hi * Di)));
    for (int64_t i = 0; i < T * Hi; ++i) ws.iw[size_t(i)] *= wscale;
  }
  // Per sequence: indexer scores → top-k → sparse attention core (window ∪ selected / all entries).
  const bool ring = decode1;
  SparseAttnLayout L;
  L.n_tokens = nq, L.n_ctx = ctx, L.window = win, L.ratio = r, L.top_k = d.top_k, L.ring = ring;
  SparseAttnParams sp;
  sp.n_q = nq, sp.n_heads = H, sp.d_head = Dh, sp.d_rope = int(dr), sp.n_kv = L.kv_rows(), sp.n_cmp = L.n_cmp();
  sp.n_win = win, sp.n_sel = L.n_sel(), sp.rope = rp;
  sp.rope.d_head = Dh;
  CsaIndexerParams ip;
  ip.n_tokens = nq, ip.n_ctx = ctx, ip.idx_heads = Hi, ip.idx_dim = Di, ip.ratio = 4;
  TopkParams tp;
  tp.n_queries = nq, tp.n_cand = ctx / 4, tp.top_k = d.top_k;
  for (int64_t q = 0; q < B; ++q) {
    SeqCache& c = lc[size_t(q)];
    if (csa) {
      op("indexer", "attn_csa_indexer",
         {{"n_tokens", double(nq)},
          {"n_ctx", double(ctx)},
          {"idx_heads", double(Hi)},
          {"idx_dim", double(Di)},
          {"ratio", 4}},
         [&] {
           csa_indexer_cpu(ip, ws.iq.data() + q * nq * Hi * Di, c.keys.data(), ws.iw.data() + q * nq * Hi,
                           ws.scores.data(), ws.lengths.data());
         });
      op("idx_topk", "attn_topk",
         {{"n_tokens", double(nq)}, {"n_cand", double(std::max<int64_t>(1, ctx / 4))}, {"top_k", double(d.top_k)}},
         [&] { topk_cpu(tp, ws.scores.data(), ws.lengths.data(), ws.sel.data(), ws.nan.data()); });
    }
    op("core", "attn_sparse",
       {{"n_tokens", double(nq)},
        {"n_ctx", double(ctx)},
        {"n_heads", double(H)},
        {"d_head", double(Dh)},
        {"d_rope", double(dr)},
        {"window", double(win)},
        {"ratio", double(r)},
        {"top_k", double(d.top_k)},
        {"o_groups", double(g)},
        {"ring", ring ? 1.0 : 0.0},
        {"kv_layout", 0}},
       [&] {
         sparse_attn_build_lists(L, ws.posv.data(), ws.win.data(), ws.sel.data());  // CSA: sel is the top-k
         const uint16_t* kv = ring ? c.ring.data() : ws.kvn.data() + q * nq * Dh;
         SparseAttnParams sq = sp;
         if (multi) {  // rows base .. pos − 1 from the ring, then this step's tokens; window rows re-based
           const int64_t base = std::max<int64_t>(0, pos - (win - 1)), old = pos - base;
           for (int64_t t = base; t < pos; ++t)
             std::memcpy(ws.kvcat.data() + (t - base) * Dh, c.ring.data() + (t % win) * Dh, size_t(Dh) * 2);
           std::memcpy(ws.kvcat.data() + old * Dh, ws.kvn.data() + q * nq * Dh, size_t(nq * Dh) * 2);
           for (int64_t i = 0; i < nq * win; ++i)
             if (ws.win[size_t(i)] >= 0) ws.win[size_t(i)] -= int32_t(base);
           sq.n_kv = old + nq, kv = ws.kvcat.data();
         }
         sparse_attn_cpu(sq, ws.qh.data() + q * nq * H * Dh, kv, r > 0 ? c.cmp.data() : nullptr, ws.win.data(),
                         ws.sel.data(), lw.sink.data(), ws.posv.data(), ws.o.data() + q * nq * H * Dh, ws.lse.data(),
                         nullptr);
       });
    if (!decode1)  // the ring holds the last `window` tokens (of the prompt, the chunks, the verify step)
      for (int64_t t = std::max<int64_t>(pos, ctx - win); t < ctx; ++t) {
        uint16_t* slot = c.ring.data() + (t % win) * Dh;
        if (keep && t == ctx - 1) std::memcpy(c.sv_ring.data(), slot, size_t(Dh) * 2);  // the draft's slot
        std::memcpy(slot, ws.kvn.data() + (q * nq + t - pos) * Dh, size_t(Dh) * 2);
      }
  }
  // Grouped O projection: per group j, rows (t, j) of o → wo_a[j] → oa[:, j]; then wo_b.
  const int64_t kg = H / g * Dh, orank = d.o_rank;
  quant("o_fp8", ws.o.data(), T * g, kg, ws.t8.data(), ws.t8s.data());
  op(
      "wo_a", "gemm_fp8", {{"n_tokens", double(T)}, {"k", double(kg)}, {"n", double(orank)}},
      [&] {
        GemmQParams p;
        p.m = T, p.k = kg, p.n = orank;
        for (int64_t j = 0; j < g; ++j) {
          for (int64_t t = 0; t < T; ++t) {
            std::memcpy(ws.g8.data() + t * kg, ws.t8.data() + (t * g + j) * kg, size_t(kg));
            std::memcpy(ws.g8s.data() + t * (kg / 128), ws.t8s.data() + (t * g + j) * (kg / 128), size_t(kg / 128));
          }
          gemm_fp8_cpu(p, ws.g8.data(), ws.g8s.data(), lw.wo_a[size_t(j)].codes.data(),
                       lw.wo_a[size_t(j)].scales.data(), ws.oag.data());
          for (int64_t t = 0; t < T; ++t)
            std::memcpy(ws.oa.data() + (t * g + j) * orank, ws.oag.data() + t * orank, size_t(orank) * 2);
        }
      },
      double(g));  // g group GEMMs (the cost model's repeat = o_groups)
  quant("oa_fp8", ws.oa.data(), T, g * orank, ws.t8.data(), ws.t8s.data());
  gemm("wo_b", ws.t8.data(), ws.t8s.data(), T, lw.wo_b, ws.attn_out.data());
}

void ModelExecutor::Impl::moe(const sim::LayerSpec& s, const LayerWeights& lw, const std::vector<int32_t>& tok,
                              int64_t T) {
  const int64_t D = d.d_model, E = d.n_experts, k = d.moe_top_k, V = d.vocab;
  const bool hash = s.moe_kind == "hash";
  MoeParams gp;
  gp.n_tokens = T, gp.d_model = D, gp.d_expert = d.d_expert, gp.n_experts = int(E), gp.top_k = int(k);
  gp.scoring = MoeScoring(d.scoring), gp.use_bias = !hash, gp.hash = hash, gp.vocab = V,
  gp.route_scale = float(route_scale);
  gp.limit = float(d.swiglu_limit), gp.weight_before_down = d.v4, gp.expert_dtype = ExpertDtype(d.expert_dtype);
  const double dm = double(D), Ed = double(E), kd = double(k);
  op("router", "moe_gate",
     {{"n_tokens", double(T)},
      {"d_model", dm},
      {"n_experts", Ed},
      {"top_k", kd},
      {"scoring", double(d.scoring)},
      {"use_bias", hash ? 0.0 : 1.0},
      {"hash", hash ? 1.0 : 0.0},
      {"vocab", double(V)},
      {"route_scale", route_scale}},
     [&] {
       moe_gate_cpu(gp, ws.xn.data(), lw.w_gate.data(), lw.gate_bias.data(), tok.data(),
                    hash ? lw.tid2eid.data() : nullptr, ws.topk_idx.data(), ws.topk_w.data(), ws.escores.data(),
                    ws.flags.data());
     });
  op("permute", "moe_permute", {{"n_tokens", double(T)}, {"d_model", dm}, {"n_experts", Ed}, {"top_k", kd}}, [&] {
    moe_permute_cpu(gp, ws.topk_idx.data(), ws.xn.data(), ws.offsets.data(), ws.row_map.data(), ws.xperm.data());
    for (int64_t i = 0; i < T * k; ++i) ws.wperm[size_t(i)] = ws.topk_w[size_t(ws.row_map[size_t(i)])];
  });
  auto view = [](const ExpertWeight& x) {
    return MoeWeight{x.codes.data(), x.scales.empty() ? nullptr : x.scales.data()};
  };
  op("experts", "moe_experts",
     {{"n_tokens", double(T)},
      {"d_model", dm},
      {"d_expert", double(d.d_expert)},
      {"n_experts", Ed},
      {"top_k", kd},
      {"limit", d.swiglu_limit},
      {"weight_before_down", d.v4 ? 1.0 : 0.0},
      {"expert_dtype", double(d.expert_dtype)}},
     [&] {
       moe_experts_cpu(gp, T * k, ws.offsets.data(), ws.xperm.data(), ws.wperm.data(), view(lw.w1), view(lw.w3),
                       view(lw.w2), ws.ye.data());
     });
  MoeParams sh = gp;  // one expert, all tokens, weight 1, never clamped, FP8 128×128
  sh.n_experts = 1, sh.top_k = 1, sh.limit = 0, sh.expert_dtype = ExpertDtype::FP8,
  sh.d_expert = d.d_expert * d.n_shared;
  sh.hash = false;
  op("shared", "moe_shared", {{"n_tokens", double(T)}, {"d_model", dm}, {"d_expert", double(sh.d_expert)}}, [&] {
    moe_experts_cpu(sh, T, nullptr, ws.xn.data(), nullptr, view(lw.s1), view(lw.s3), view(lw.s2), ws.ys.data());
  });
  op("combine", "moe_combine", {{"n_tokens", double(T)}, {"d_model", dm}, {"n_experts", Ed}, {"top_k", kd}}, [&] {
    moe_combine_cpu(gp, ws.ye.data(), ws.row_map.data(), ws.topk_idx.data(), ws.ys.data(), ws.ffn_out.data());
  });
}

// One block: [Engram] → (mHC pre | the residual) → attention by kind → (mHC post | + residual) →
// (mHC pre | residual) → MoE, hash MoE or dense FFN → (mHC post | + residual), as sim/layer_graph.cpp.
void ModelExecutor::Impl::layer(const sim::LayerSpec& s, const std::vector<int32_t>& tok, int64_t B, int64_t nq,
                                bool prefill) {
  const LayerWeights& lw = w.layers[size_t(s.index)];
  const int64_t T = B * nq, D = d.d_model;
  cur_layer = s.index;
  const std::string range_name = "layer " + std::to_string(s.index) + " " + (s.mtp ? std::string("mtp") : s.attn_kind);
  NvtxRange range(range_name.c_str());  // the layer's kernel calls nest inside (Impl::op)
  if (s.engram) {
    cur_bucket = "engram";
    engram(s, lw, tok, B, nq, prefill);
  }
  // Without mHC the residual stream is X itself (hc = 1): the norms read it and the blocks add to it.
  auto add_residual = [&](const uint16_t* f) {
    for (int64_t i = 0; i < T * D; ++i) ws.X[size_t(i)] = bf16_from_f32(bf16_to_f32(ws.X[size_t(i)]) + bf16_to_f32(f[i]));
  };
  cur_bucket = s.mtp ? "mtp" : s.attn_kind;
  if (d.mhc) mhc_pre("hc_pre_attn", lw.hc_attn, T);
  rmsnorm("attn_norm", d.mhc ? ws.y.data() : ws.X.data(), lw.attn_norm.data(), T, D, ws.xn.data());
  if (d.v4) attention(s, lw, B, nq, prefill);
  else attention_mla(s, lw, B, nq, prefill);
  if (d.mhc) mhc_post("hc_post_attn", ws.attn_out.data(), T);
  else add_residual(ws.attn_out.data());
  if (d.mhc) mhc_pre("hc_pre_ffn", lw.hc_ffn, T);
  cur_bucket = s.mtp ? "mtp" : s.moe_kind;
  rmsnorm("ffn_norm", d.mhc ? ws.y.data() : ws.X.data(), lw.ffn_norm.data(), T, D, ws.xn.data());
  if (s.moe_kind == "dense") dense_ffn(lw, T);
  else moe(s, lw, tok, T);
  if (d.mhc) mhc_post("hc_post_ffn", ws.ffn_out.data(), T);
  else add_residual(ws.ffn_out.data());
}

// mHC head over every token (the MTP block reads it), then final norm + LM head on the last token
// of each sequence (nq tokens per sequence; logits [B, vocab]).
void ModelExecutor::Impl::head(int64_t T, int64_t B, int64_t nq, uint16_t* logits, int64_t rows) {
  const int64_t D = d.d_model;
  const MhcParams p = mhc_p(T);
  ParamMap pm = mhc_pm(T);
  if (d.mhc)
    op("hc_head", "mhc_head", pm, [&] {
      mhc_head_cpu(p, ws.X.data(), w.hc_head.fn.data(), w.hc_head.base.data(), w.hc_head.scale.data(), ws.hmain.data(),
                   ws.pre.data(), ws.mixes.data());
    });
  else
    std::memcpy(ws.hmain.data(), ws.X.data(), size_t(T * D) * 2);
  if (rows == 0) return;  // a prefill chunk before the last: the MTP block reads hmain, no logits
  const int64_t n = B * rows;  // the last `rows` tokens of each sequence
  for (int64_t q = 0; q < B; ++q)
    std::memcpy(ws.last.data() + q * rows * D, ws.hmain.data() + (q * nq + nq - rows) * D, size_t(rows * D) * 2);
  rmsnorm("final_norm", ws.last.data(), w.final_norm.data(), n, D, ws.lastn.data());
  quant("head_fp8", ws.lastn.data(), n, D, ws.t8.data(), ws.t8s.data());
  gemm("lm_head", ws.t8.data(), ws.t8s.data(), n, w.lm_head, logits);
}

// MTP block(s): eh_proj(cat(enorm(emb(next)), hnorm(h))) → expand → the block's layer → head.
void ModelExecutor::Impl::mtp(const std::vector<int32_t>& next, int64_t B, int64_t nq, bool prefill, int64_t rows) {
  const int64_t T = B * nq, D = d.d_model;
  for (const sim::LayerSpec& s : sched) {
    if (!s.mtp) continue;
    const LayerWeights& lw = w.layers[size_t(s.index)];
    cur_layer = s.index;
    cur_bucket = "mtp";
    embed(next, nullptr, ws.e.data());
    rmsnorm("mtp_enorm", ws.e.data(), lw.enorm.data(), T, D, ws.y.data());
    rmsnorm("mtp_hnorm", ws.hmain.data(), lw.hnorm.data(), T, D, ws.xn.data());
    for (int64_t t = 0; t < T; ++t) {
      std::memcpy(ws.cat.data() + t * 2 * D, ws.y.data() + t * D, size_t(D) * 2);
      std::memcpy(ws.cat.data() + t * 2 * D + D, ws.xn.data() + t * D, size_t(D) * 2);
    }
    quant("mtp_fp8", ws.cat.data(), T, 2 * D, ws.t8.data(), ws.t8s.data());
    gemm("mtp_eh_proj", ws.t8.data(), ws.t8s.data(), T, lw.eh_proj, ws.e.data());
    for (int64_t t = 0; t < T; ++t)
      for (int i = 0; i < d.hc; ++i) std::memcpy(ws.X.data() + (t * d.hc + i) * D, ws.e.data() + t * D, size_t(D) * 2);
    layer(s, next, B, nq, prefill);
    cur_layer = -1;
    cur_bucket = "mtp";
    head(T, B, nq, ws.logits.data(), rows);
    if (rows > 0) mtp_logits = logits_of(ws.logits.data(), B * rows);
  }
}

void ModelExecutor::Impl::rollback() {
  for (const sim::LayerSpec& s : sched)
    for (SeqCache& c : cache[size_t(s.index)]) {
      if (d.v4) {
        const int64_t slot = (pos + 1) % d.window;  // the draft sat at pos + 1
        std::memcpy(c.ring.data() + slot * d.d_head, c.sv_ring.data(), size_t(d.d_head) * 2);
      }
      if (s.compress_ratio > 0) c.st_kv = c.sv_st_kv, c.st_score = c.sv_st_score, c.n_cmp = c.sv_n_cmp;
      if (s.attn_kind == "csa") c.ist_kv = c.sv_ist_kv, c.ist_score = c.sv_ist_score, c.n_keys = c.sv_n_keys;
      if (s.engram) c.conv_state = c.sv_conv_state, c.eng_ctx = c.sv_eng_ctx;
      // MLA latent rows and DSA keys are indexed by position: the draft's row is rewritten by the next step.
    }
}

ModelExecutor::ModelExecutor(const ModelPreset& m, const ExecShape& shape, const ExecOptions& opt)
    : impl_(std::make_unique<Impl>()) {
  Impl& I = *impl_;
  I.m = m, I.shape = shape, I.opt = opt;
  I.d = sim::model_dims(m);
  const std::string why = exec_unsupported_reason(I.d);
  if (!why.empty()) throw config_error("exec --model " + m.id + ": " + why);
  if (shape.batch < 1 || shape.prefill < 1 || shape.decode < 0 || shape.chunk < 0)
    throw usage_error("exec: --batch and --prefill must be >= 1, --decode and --chunk >= 0");
  if (shape.mtp_verify && I.d.n_mtp == 0)
    throw config_error("exec --mtp-verify: " + m.id + " has no MTP block (num_nextn_predict_layers = 0)");
  I.sched = sim::layer_schedule(m);
  if (m.has_number("hc_eps")) I.hc_eps = m.number("hc_eps");
  if (m.has_number("rms_norm_eps")) I.norm_eps = m.number("rms_norm_eps");
  if (m.has_number("routed_scaling_factor")) I.route_scale = m.number("routed_scaling_factor");
  if (m.has_number("rope_theta")) I.mla_theta = m.number("rope_theta");
  if (m.has_number("rope_scaling.factor")) I.mla_yarn = m.number("rope_scaling.factor");
  if (m.has_number("rope_scaling.original_max_position_embeddings"))
    I.mla_yarn_orig = m.number("rope_scaling.original_max_position_embeddings");
  if (m.has_number("max_position_embeddings")) I.max_pos = int64_t(m.number("max_position_embeddings"));
  I.engram_rows = engram_rows_of(m);
  I.w = build_weights(I.d, I.sched, opt.seed, I.engram_rows);
  I.acct.weights_bytes = I.w.bytes;
  I.acct.activation_bytes = detail::plan_workspace(I.ws, I.d, I.sched, shape, true);
  I.acct.cache_bytes = detail::plan_caches(I.cache, I.d, I.sched, shape, true);
  I.acct.scratch_bytes = detail::kernel_scratch_bytes(I.d, I.sched, shape);
  if (opt.trace && opt.record) {  // ~48 calls per layer + 3 per sequence (core, indexer, top-k) per step
    const int64_t steps = 1 + std::min<int64_t>(shape.decode, std::max(0, opt.trace_decode_steps));
    const int64_t per_step = int64_t(I.sched.size()) * (48 + 3 * shape.batch) + 16;
    I.trace.calls.reserve(size_t(std::clamp<int64_t>(steps * per_step, 0, std::max<int64_t>(0, opt.trace_max_calls))));
    I.trace.steps.reserve(size_t(2 + shape.decode));
  }
}

ModelExecutor::~ModelExecutor() = default;

std::vector<float> ModelExecutor::prefill(const std::vector<std::vector<int32_t>>& prompts) {
  Impl& I = *impl_;
  const int64_t B = I.shape.batch, P = I.shape.prefill;
  if (int64_t(prompts.size()) != B) throw usage_error("exec prefill: expected " + std::to_string(B) + " prompts");
  if (I.pos != 0) throw usage_error("exec prefill: the sequences already hold tokens (prefill runs once)");
  for (auto& p : prompts) {
    if (int64_t(p.size()) != P)
      throw usage_error("exec prefill: every prompt must have " + std::to_string(P) + " tokens");
    for (int32_t t : p)
      if (t < 0 || t >= I.d.vocab)
        throw usage_error("exec prefill: token id " + std::to_string(t) + " outside the vocabulary");
  }
  // Chunk by chunk (one chunk by default): each chunk's queries sit at positions pos .. pos + n − 1
  // and attend to the cached state of the earlier chunks. All chunks are one prefill sample per op
  // (times, calls and catalogue work summed over the chunks, each chunk's work at its own context).
  I.phase = "prefill";
  NvtxRange range("prefill");
  const int64_t C = I.shape.chunk_len(), V = I.d.vocab;
  std::vector<float> logits;
  std::vector<int32_t> ct;
  for (int64_t c0 = 0; c0 < P; c0 += C) {
    const int64_t n = std::min(C, P - c0);
    const bool last = c0 + n == P;
    ct.clear();
    for (int64_t q = 0; q < B; ++q) ct.insert(ct.end(), prompts[size_t(q)].begin() + c0, prompts[size_t(q)].begin() + c0 + n);
    if (I.opt.progress && C < P)
      I.opt.progress("prefill chunk " + std::to_string(c0 / C + 1) + "/" + std::to_string((P + C - 1) / C));
    I.cur_layer = -1, I.cur_bucket = "embed";
    I.embed(ct, I.ws.X.data(), nullptr);
    for (const sim::LayerSpec& s : I.sched)
      if (!s.mtp) I.layer(s, ct, B, n, true);
    I.cur_layer = -1, I.cur_bucket = "head";
    I.head(B * n, B, n, I.ws.logits.data(), last ? 1 : 0);
    if (last) logits = I.logits_of(I.ws.logits.data(), B);
    if (I.d.n_mtp > 0) {  // next tokens: the prompt shifted by one, then the greedy pick of the last logits
      std::vector<int32_t> next(ct.size());
      for (int64_t q = 0; q < B; ++q)
        for (int64_t t = 0; t < n; ++t) {
          if (c0 + t + 1 < P) {
            next[size_t(q * n + t)] = prompts[size_t(q)][size_t(c0 + t + 1)];
          } else {
            const float* l = logits.data() + q * V;
            next[size_t(q * n + t)] = int32_t(std::max_element(l, l + V) - l);
          }
        }
      I.mtp(next, B, n, true, last ? 1 : 0);
    }
    I.pos += n;
  }
  I.end_step();
  return logits;
}

std::vector<float> ModelExecutor::decode_step(const std::vector<int32_t>& tokens) {
  Impl& I = *impl_;
  const int64_t B = I.shape.batch;
  if (int64_t(tokens.size()) != B) throw usage_error("exec decode: expected one token per sequence");
  if (I.pos < 1 || I.pos >= I.shape.capacity())
    throw usage_error("exec decode: position " + std::to_string(I.pos) + " outside the prefilled / allocated range");
  for (int32_t t : tokens)
    if (t < 0 || t >= I.d.vocab)
      throw usage_error("exec decode: token id " + std::to_string(t) + " outside the vocabulary");
  I.phase = "decode";
  NvtxRange range("decode step");
  I.cur_layer = -1, I.cur_bucket = "embed";
  I.embed(tokens, I.ws.X.data(), nullptr);
  for (const sim::LayerSpec& s : I.sched)
    if (!s.mtp) I.layer(s, tokens, B, 1, false);
  I.cur_layer = -1, I.cur_bucket = "head";
  I.head(B, B, 1, I.ws.logits.data());
  std::vector<float> logits = I.logits_of(I.ws.logits.data(), B);
  if (I.d.n_mtp > 0) {
    std::vector<int32_t> next(static_cast<size_t>(B));
    for (int64_t q = 0; q < B; ++q) {
      const float* l = logits.data() + q * I.d.vocab;
      next[size_t(q)] = int32_t(std::max_element(l, l + I.d.vocab) - l);
    }
    I.mtp(next, B, 1, false);
  }
  ++I.pos;
  I.end_step();
  return logits;
}

// MTP speculative decoding, verified (DeepSeek-V3 §2.2 MTP used for speculation): the last accepted
// token and the MTP draft for the token after it go through the main model as 2 query tokens per
// sequence; the draft is accepted when it equals the greedy choice after the last token. The batch
// advances together (one position counter): both tokens stay only when every sequence's draft
// matched, otherwise rollback() returns every layer to its state after the first token.
ModelExecutor::VerifyResult ModelExecutor::decode_verify(const std::vector<int32_t>& last,
                                                         const std::vector<int32_t>& draft) {
  Impl& I = *impl_;
  const int64_t B = I.shape.batch, V = I.d.vocab;
  if (!I.shape.mtp_verify) throw usage_error("exec decode_verify: the executor was built without mtp_verify");
  if (int64_t(last.size()) != B || int64_t(draft.size()) != B)
    throw usage_error("exec decode_verify: expected one token and one draft per sequence");
  if (I.pos < 1 || I.pos + 2 > I.shape.capacity())
    throw usage_error("exec decode_verify: position " + std::to_string(I.pos) + " outside the prefilled / allocated range");
  std::vector<int32_t> tok(size_t(2 * B));
  for (int64_t q = 0; q < B; ++q) tok[size_t(2 * q)] = last[size_t(q)], tok[size_t(2 * q + 1)] = draft[size_t(q)];
  for (int32_t t : tok)
    if (t < 0 || t >= V) throw usage_error("exec decode_verify: token id " + std::to_string(t) + " outside the vocabulary");
  I.phase = "decode";
  NvtxRange range("decode verify step");
  I.verify_step = true;
  I.cur_layer = -1, I.cur_bucket = "embed";
  I.embed(tok, I.ws.X.data(), nullptr);
  for (const sim::LayerSpec& s : I.sched)
    if (!s.mtp) I.layer(s, tok, B, 2, false);
  I.cur_layer = -1, I.cur_bucket = "head";
  I.head(2 * B, B, 2, I.ws.logits.data(), 2);
  VerifyResult r;
  r.logits = I.logits_of(I.ws.logits.data(), 2 * B);
  auto argmax = [V](const float* l) { return int32_t(std::max_element(l, l + V) - l); };
  r.greedy.resize(size_t(2 * B)), r.matched.resize(size_t(B));
  r.accepted = true;
  for (int64_t q = 0; q < B; ++q) {
    r.greedy[size_t(2 * q)] = argmax(r.logits.data() + 2 * q * V);
    r.greedy[size_t(2 * q + 1)] = argmax(r.logits.data() + (2 * q + 1) * V);
    r.matched[size_t(q)] = r.greedy[size_t(2 * q)] == draft[size_t(q)];
    r.accepted = r.accepted && r.matched[size_t(q)];
  }
  // The MTP block at both positions (its input at each is the greedy token after it), then the next
  // draft from the position of the last token kept.
  I.mtp(r.greedy, B, 2, false, 2);
  const int64_t keep = r.accepted ? 1 : 0;
  r.next_draft.resize(size_t(B));
  for (int64_t q = 0; q < B; ++q) r.next_draft[size_t(q)] = argmax(I.mtp_logits.data() + (2 * q + keep) * V);
  if (!r.accepted) I.rollback();
  I.verify_step = false;
  I.pos += r.accepted ? 2 : 1;
  I.end_step();
  return r;
}

const std::vector<float>& ModelExecutor::last_mtp_logits() const { return impl_->mtp_logits; }
const ExecTrace& ModelExecutor::trace() const { return impl_->trace; }
int64_t ModelExecutor::position() const { return impl_->pos; }
MemoryEstimate ModelExecutor::accounting() const { return impl_->acct; }
const sim::ModelDims& ModelExecutor::dims() const { return impl_->d; }
const std::vector<sim::LayerSpec>& ModelExecutor::schedule() const { return impl_->sched; }

std::vector<OpRecord> ModelExecutor::records() const {
  std::vector<OpRecord> out;
  for (const Impl::Rec& rc : impl_->recs) {
    OpRecord r = rc.r;
    const double n = double(std::max<size_t>(1, r.samples_s.size()));
    r.calls_per_step = rc.calls_sum / n;
    r.call_work = rc.groups;
    for (auto& [w, calls] : r.call_work) {  // the step's work: every call's work, mean over steps
      calls /= n;
      r.work.flops += calls * w.flops, r.work.transcendentals += calls * w.transcendentals;
      r.work.bytes_mem += calls * w.bytes_mem;
      r.work.precision = w.precision, r.work.bytes_variant = w.bytes_variant;
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::vector<int32_t>> seeded_prompts(int64_t batch, int64_t len, int64_t vocab, uint64_t seed) {
  std::vector<std::vector<int32_t>> p(static_cast<size_t>(batch));
  for (int64_t q = 0; q < batch; ++q) {
    Rng r(seed * 0x9e3779b97f4a7c15ull + uint64_t(q) + 17);
    for (int64_t t = 0; t < len; ++t) p[size_t(q)].push_back(int32_t(r.below(uint64_t(vocab))));
  }
  return p;
}

ExecOutput run_exec(const ModelPreset& scaled, const ExecShape& shape, const ExecOptions& opt) {
  ExecOutput out;
  // Reset VmHWM to the current RSS (Linux >= 4.0, "5" > clear_refs), so the peak is this run's and not
  // an earlier allocation's (e.g. the `local` machine probe's bandwidth buffers).
  std::ofstream("/proc/self/clear_refs") << "5";
  out.rss_before_bytes = rss_bytes();
  auto t0 = std::chrono::steady_clock::now();
  auto since = [](auto t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };
  if (opt.progress) opt.progress("building weights and caches");
  ModelExecutor ex(scaled, shape, opt);
  out.build_s = since(t0);
  out.accounting = ex.accounting();
  out.tokens = seeded_prompts(shape.batch, shape.prefill, ex.dims().vocab, opt.seed);
  if (opt.progress) opt.progress("prefill " + std::to_string(shape.batch) + " x " + std::to_string(shape.prefill));
  t0 = std::chrono::steady_clock::now();
  out.prefill_logits = ex.prefill(out.tokens);
  out.prefill_s = since(t0);
  out.prefill_mtp_logits = ex.last_mtp_logits();
  std::vector<float> logits = out.prefill_logits;
  t0 = std::chrono::steady_clock::now();
  const int64_t V = ex.dims().vocab, B = shape.batch;
  auto argmax = [V](const float* l) { return int32_t(std::max_element(l, l + V) - l); };
  if (shape.mtp_verify && shape.decode > 0) {
    // The greedy token after the prompt, and the MTP draft for the one after it; each step then
    // verifies a draft and keeps 1 or 2 tokens per sequence.
    std::vector<int32_t> last(static_cast<size_t>(B)), draft(static_cast<size_t>(B));
    for (int64_t q = 0; q < B; ++q) {
      last[size_t(q)] = argmax(logits.data() + q * V);
      draft[size_t(q)] = argmax(out.prefill_mtp_logits.data() + q * V);
      out.tokens[size_t(q)].push_back(last[size_t(q)]);
    }
    for (int64_t step = 0; step < shape.decode; ++step) {
      const ModelExecutor::VerifyResult r = ex.decode_verify(last, draft);
      const int64_t k = r.accepted ? 1 : 0;  // the last kept token's row
      ++out.mtp_steps, out.mtp_drafts += B, out.mtp_accepted_steps += k;
      for (int64_t q = 0; q < B; ++q) {
        out.mtp_matched += r.matched[size_t(q)];
        if (r.accepted) out.tokens[size_t(q)].push_back(draft[size_t(q)]);
        last[size_t(q)] = r.greedy[size_t(2 * q + k)];
        out.tokens[size_t(q)].push_back(last[size_t(q)]);
      }
      logits.assign(size_t(B * V), 0.0f);
      for (int64_t q = 0; q < B; ++q)
        std::copy_n(r.logits.begin() + (2 * q + k) * V, V, logits.begin() + q * V);
      out.decode_logits.push_back(logits);
      draft = r.next_draft;
      if (opt.progress && (step + 1) % 16 == 0)
        opt.progress("verify step " + std::to_string(step + 1) + "/" + std::to_string(shape.decode));
    }
  }
  for (int64_t step = 0; step < (shape.mtp_verify ? 0 : shape.decode); ++step) {
    std::vector<int32_t> next(static_cast<size_t>(B));
    for (int64_t q = 0; q < B; ++q) {
      next[size_t(q)] = argmax(logits.data() + q * V);
      out.tokens[size_t(q)].push_back(next[size_t(q)]);
    }
    logits = ex.decode_step(next);
    out.decode_logits.push_back(logits);
    if (opt.progress && (step + 1) % 16 == 0)
      opt.progress("decode step " + std::to_string(step + 1) + "/" + std::to_string(shape.decode));
  }
  out.decode_s = since(t0);
  out.rss_peak_bytes = peak_rss_bytes();
  out.records = ex.records();
  out.trace = ex.trace();
  return out;
}

}  // namespace v4lab::profiler
