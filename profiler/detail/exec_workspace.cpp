// exec_workspace.cpp — sizes of the executor's workspace and caches (see exec_workspace.h).
#include "profiler/detail/exec_workspace.h"

#include <algorithm>

namespace v4lab::profiler::detail {

namespace {
struct Sizer {
  bool alloc;
  double bytes = 0;
  template <class T>
  void operator()(std::vector<T>& v, int64_t n) {
    n = std::max<int64_t>(n, 1);
    bytes += double(n) * double(sizeof(T));
    if (alloc) v.assign(size_t(n), T{});
  }
};
}  // namespace

double plan_workspace(Workspace& ws, const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers,
                      const ExecShape& s, bool alloc) {
  Sizer z{alloc};
  // P: query tokens per sequence of the largest step (a prefill chunk, or 2 in verification);
  // ctx: the context the caches hold.
  const int64_t P = s.step_tokens(), T = s.batch * P, ctx = s.capacity();
  const int64_t D = d.d_model, hc = d.hc, H = d.n_heads, Dh = d.d_head, g = std::max<int64_t>(1, d.o_groups),
                orank = d.o_rank;
  const int64_t Hi = std::max<int64_t>(1, d.idx_heads), Di = std::max<int64_t>(1, d.idx_dim), k = d.moe_top_k;
  const int64_t E = d.n_experts, qr = d.q_rank, kg = H / g * Dh;
  int64_t n_sel = std::max<int64_t>(1, d.top_k);
  for (const sim::LayerSpec& l : layers)
    if (l.compress_ratio > 0 && l.compress_ratio != 4) n_sel = std::max(n_sel, ctx / l.compress_ratio);
  for (auto* v : {&ws.X, &ws.X2}) z(*v, T * hc * D);
  for (auto* v : {&ws.y, &ws.xn, &ws.attn_out, &ws.ffn_out, &ws.hmain, &ws.e}) z(*v, T * D);
  z(ws.cat, T * 2 * D);
  z(ws.pre, T * hc), z(ws.post, T * hc), z(ws.comb, T * hc * hc), z(ws.mixes, T * (2 + hc) * hc);
  z(ws.qa, T * qr), z(ws.qn, T * qr);
  for (auto* v : {&ws.q, &ws.qh, &ws.o}) z(*v, T * H * Dh);
  z(ws.kv, T * Dh), z(ws.kvn, T * Dh);
  z(ws.iq, T * Hi * Di), z(ws.iw, T * Hi);
  z(ws.oa, T * g * orank), z(ws.oag, T * orank);
  const int64_t k8 = std::max({D, 2 * D, H * Dh, g * orank});
  z(ws.a8, T * D), z(ws.a8s, T * D / 128), z(ws.c8, T * qr), z(ws.c8s, T * qr / 128);
  z(ws.t8, T * k8), z(ws.t8s, T * k8 / 128), z(ws.g8, T * kg), z(ws.g8s, T * kg / 128);
  z(ws.topk_idx, T * k), z(ws.topk_w, T * k), z(ws.escores, T * E), z(ws.flags, T), z(ws.offsets, E + 1);
  z(ws.row_map, T * k), z(ws.xperm, T * k * D), z(ws.wperm, T * k), z(ws.ye, T * k * D), z(ws.ys, T * D);
  const int64_t dr = d.d_rope, dmax = std::max(Dh, Di);
  z(ws.rope_y, P * std::max(H, Hi) * dr), z(ws.cos_sin, P * dr);
  z(ws.cmp_normed, (P / 4 + 2) * dmax), z(ws.cmp_tmp, 4 * dmax);
  z(ws.scores, P * std::max<int64_t>(1, ctx / 4)), z(ws.lse, P * H);
  z(ws.lengths, P), z(ws.sel, P * n_sel), z(ws.win, P * d.window), z(ws.posv, P), z(ws.nan, P);
  const int64_t head_rows = s.batch * (s.mtp_verify ? 2 : 1);  // verification: logits of both tokens
  z(ws.last, head_rows * D), z(ws.lastn, head_rows * D), z(ws.logits, head_rows * d.vocab);
  if (d.v4 && (s.chunk_len() < s.prefill || s.mtp_verify)) z(ws.kvcat, (d.window + P) * Dh);
  if (!d.v4) {  // MLA / DSA
    const int64_t R = d.kv_rank, dv = d.v_head;
    z(ws.kva, T * (R + dr)), z(ws.ckv, T * R), z(ws.ckvn, T * R), z(ws.kpe, T * dr), z(ws.mla_o, T * H * dv);
    z(ws.tpos, T);
    if (d.idx_heads > 0) {
      z(ws.iqf, T * Hi * Di), z(ws.ikf, T * Di), z(ws.iq8, T * Hi * Di), z(ws.iq8s, T * Hi), z(ws.ik8, T * Di);
      z(ws.ik8s, T);
      z(ws.scores, P * ctx);  // token-level scores (replaces the CSA sizing above: ctx >= ctx / 4)
    }
  }
  bool engram = false;
  for (const sim::LayerSpec& l : layers) engram = engram || l.engram;
  if (engram) {
    const int64_t R = int64_t(d.engram_max_ngram - 1) * d.engram_heads, dmem = R * d.engram_head_dim;
    z(ws.eng_rows, T * R), z(ws.eng_off, R), z(ws.eng_mix, P * (d.engram_max_ngram - 1));
    z(ws.eng_e, T * dmem), z(ws.eng_e8, T * dmem), z(ws.eng_e8s, T * dmem / 128);
    z(ws.eng_key, T * hc * D), z(ws.eng_val, T * D), z(ws.eng_score, T * hc), z(ws.eng_alpha, T * hc);
    z(ws.eng_vg, T * hc * D), z(ws.eng_y, T * hc * D), z(ws.eng_state, engram_history(d) * hc * D);
  }
  return z.bytes;
}

double kernel_scratch_bytes(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, const ExecShape& s) {
  const double P = double(s.step_tokens()), T = double(s.batch) * P, D = double(d.d_model), ctx = double(s.capacity());
  double f = 0;  // widest FFN of one call: routed expert (a token picks an expert once: m <= T), shared, dense
  bool moe = false, dense = false, cmp = false, dsa = false;
  for (const sim::LayerSpec& l : layers) {
    moe = moe || (l.moe_kind != "dense"), dense = dense || l.moe_kind == "dense";
    cmp = cmp || l.compress_ratio > 0, dsa = dsa || l.attn_kind == "dsa";
  }
  if (moe) f = std::max(f, double(d.d_expert * std::max<int64_t>(1, d.n_shared)));
  if (dense) f = std::max(f, double(d.d_dense));
  // moe_experts_cpu: x in FP32 and its FP8 copy [m, d], gate / up / act [m, f] FP32.
  double b = 4 * (2 * T * D + 3 * T * f);
  // compress_cpu (one sequence): the widened input [P, D] and a, z [P, c·d] FP32 (c·d <= 2·max(d_head, idx_dim)).
  if (cmp) b = std::max(b, 4 * (P + 8) * (D + 4 * double(std::max(d.d_head, d.idx_dim))));
  // dsa_indexer_cpu (one sequence): every cached key decoded to FP32 [ctx, idx_dim] + its scale.
  if (dsa) b = std::max(b, 4 * ctx * double(d.idx_dim + 1));
  return b;
}

double plan_caches(std::vector<std::vector<SeqCache>>& caches, const sim::ModelDims& d,
                   const std::vector<sim::LayerSpec>& layers, const ExecShape& s, bool alloc) {
  Sizer z{alloc};
  const int64_t ctx = s.capacity(), Dh = d.d_head, Di = d.idx_dim;
  if (alloc) caches.assign(layers.size(), std::vector<SeqCache>(size_t(s.batch)));
  std::vector<SeqCache> scratch(1);
  for (size_t li = 0; li < layers.size(); ++li) {
    const sim::LayerSpec& l = layers[li];
    const int64_t r = l.compress_ratio;
    for (int64_t q = 0; q < s.batch; ++q) {
      SeqCache& c = alloc ? caches[li][size_t(q)] : scratch[0];
      z(c.ring, d.window * Dh);
      if (r > 0) {
        const int64_t cc = r == 4 ? 2 : 1;
        z(c.cmp, (ctx / r + 1) * Dh);
        z(c.st_kv, cc * r * cc * Dh), z(c.st_score, cc * r * cc * Dh);
      }
      if (l.attn_kind == "csa") {
        z(c.keys, (ctx / 4 + 1) * Di);
        z(c.ist_kv, 2 * 4 * 2 * Di), z(c.ist_score, 2 * 4 * 2 * Di);
      }
      if (!d.v4) z(c.latent, ctx * (d.kv_rank + d.d_rope));
      if (l.attn_kind == "dsa") z(c.ikeys, ctx * Di), z(c.ikeys_s, ctx);
      if (l.engram) z(c.conv_state, engram_history(d) * d.hc * d.d_model), z(c.eng_ctx, d.engram_max_ngram - 1);
      if (s.mtp_verify) {  // the rollback copy of what the draft token changes
        if (d.v4) z(c.sv_ring, Dh);
        if (r > 0) {
          const int64_t cc = r == 4 ? 2 : 1;
          z(c.sv_st_kv, cc * r * cc * Dh), z(c.sv_st_score, cc * r * cc * Dh);
        }
        if (l.attn_kind == "csa") z(c.sv_ist_kv, 2 * 4 * 2 * Di), z(c.sv_ist_score, 2 * 4 * 2 * Di);
        if (l.engram)
          z(c.sv_conv_state, engram_history(d) * d.hc * d.d_model), z(c.sv_eng_ctx, d.engram_max_ngram - 1);
      }
    }
  }
  return z.bytes;
}

}  // namespace v4lab::profiler::detail
