// model_exec_mla.cpp — the executor's MLA / DSA attention (V3, V3.2, Engram-27B; specs/attention.md
// §2 weight-absorbed MLA, §3 DSA lightning indexer + top-k + sparse MLA), the dense FFN of V3's first
// layers (moe.md: first_k_dense_replace) and the Engram block (engram.md §3–§5: hash → table gather →
// key / value projections → context gate → short causal conv, H += y). Node labels are the cost
// model's (sim/layer_graph.cpp) so measured and predicted line up op by op.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/attention/dsa_indexer.h"
#include "kernels/attention/mla.h"
#include "kernels/attention/topk.h"
#include "kernels/engram/engram.h"
#include "kernels/moe/moe.h"
#include "profiler/detail/model_exec_impl.h"

namespace v4lab::profiler {

// Prefill runs the MLA kernel over all prompt queries with causal positions (pos[i] = i over the
// prompt's own latent cache) — the "naive form over all queries causally" of the decode kernel;
// decode appends the new token's latent and attends with one query at pos = ctx − 1.
void ModelExecutor::Impl::attention_mla(const sim::LayerSpec& s, const LayerWeights& lw, int64_t B, int64_t nq,
                                        bool /*prefill*/) {
  const int64_t T = B * nq, D = d.d_model, H = d.n_heads, dn = d.qk_nope, dr = d.d_rope, Dq = d.d_head;
  const int64_t R = d.kv_rank, dv = d.v_head, Dc = R + dr, Hi = d.idx_heads, Di = d.idx_dim;
  const int64_t ctx = pos + nq;
  const bool dsa = s.attn_kind == "dsa";
  auto& lc = cache[size_t(s.index)];
  RopeParams rp;  // V3 RoPE: θ 10000, YaRN s 40 over L 4096 (rope_scaling), on the last d_rope of each head
  rp.d_rope = int(dr), rp.theta = mla_theta, rp.yarn_factor = mla_yarn, rp.yarn_orig_len = mla_yarn_orig;
  for (int64_t q = 0; q < B; ++q)
    for (int64_t t = 0; t < nq; ++t) ws.tpos[size_t(q * nq + t)] = int32_t(pos + t);

  quant("x_fp8", ws.xn.data(), T, D, ws.a8.data(), ws.a8s.data());
  gemm("wq_a", ws.a8.data(), ws.a8s.data(), T, lw.wq_a, ws.qa.data());
  rmsnorm("q_norm", ws.qa.data(), lw.q_norm.data(), T, d.q_rank, ws.qn.data());
  quant("cq_fp8", ws.qn.data(), T, d.q_rank, ws.c8.data(), ws.c8s.data());
  gemm("wq_b", ws.c8.data(), ws.c8s.data(), T, lw.wq_b, ws.q.data());
  rope("q_rope", ws.q.data(), B, nq, pos, H, Dq, rp);
  gemm("wkv_a", ws.a8.data(), ws.a8s.data(), T, lw.wkv, ws.kva.data());
  for (int64_t t = 0; t < T; ++t) {  // [c_kv | k_pe] rows → the two halves (a view split; not timed)
    std::memcpy(ws.ckv.data() + t * R, ws.kva.data() + t * Dc, size_t(R) * 2);
    std::memcpy(ws.kpe.data() + t * dr, ws.kva.data() + t * Dc + R, size_t(dr) * 2);
  }
  rmsnorm("kv_norm", ws.ckv.data(), lw.kv_norm.data(), T, R, ws.ckvn.data());
  rope("k_rope", ws.kpe.data(), B, nq, pos, 1, dr, rp);
  for (int64_t q = 0; q < B; ++q) {  // append to the latent cache: rows pos .. pos + nq − 1
    uint16_t* lat = lc[size_t(q)].latent.data();
    for (int64_t t = 0; t < nq; ++t) {
      std::memcpy(lat + (pos + t) * Dc, ws.ckvn.data() + (q * nq + t) * R, size_t(R) * 2);
      std::memcpy(lat + (pos + t) * Dc + R, ws.kpe.data() + (q * nq + t) * dr, size_t(dr) * 2);
    }
  }

  if (dsa) {  // indexer q from the query latent, k from x; w = W_w x · (H_I·d_I)^−½ (dsa_indexer.h)
    gemm("idx_wq_b", ws.c8.data(), ws.c8s.data(), T, lw.idx_wq_b, ws.iqf.data(), true);
    gemm("idx_wk", ws.a8.data(), ws.a8s.data(), T, lw.idx_wk, ws.ikf.data(), true);
    gemm("idx_weights", ws.a8.data(), ws.a8s.data(), T, lw.idx_w, ws.iw.data(), true);
    const float wscale = float(1.0 / std::sqrt(double(Hi * Di)));
    for (int64_t i = 0; i < T * Hi; ++i) ws.iw[size_t(i)] *= wscale;
    // RoPE on the first 64 dims + 128-point Hadamard + FP8 per vector, for q (T·H_I rows) and k (T rows).
    op("idx_hadamard", "hadamard", {{"n_tokens", double(T * (Hi + 1))}, {"n", double(Di)}}, [&] {
      dsa_indexer_prepare(T * Hi, Di, Hi, ws.tpos.data(), true, true, ws.iqf.data(), ws.iq8.data(), ws.iq8s.data());
      dsa_indexer_prepare(T, Di, 1, ws.tpos.data(), true, true, ws.ikf.data(), ws.ik8.data(), ws.ik8s.data());
    });
    for (int64_t q = 0; q < B; ++q) {
      SeqCache& c = lc[size_t(q)];
      std::memcpy(c.ikeys.data() + pos * Di, ws.ik8.data() + q * nq * Di, size_t(nq * Di));
      std::memcpy(c.ikeys_s.data() + pos, ws.ik8s.data() + q * nq, size_t(nq));
    }
  }
  MlaParams mp;
  mp.n_q = nq, mp.n_ctx = ctx, mp.n_heads = H, mp.d_nope = dn, mp.d_rope = dr, mp.kv_rank = R, mp.d_v = dv;
  mp.form = MlaForm::Absorbed, mp.top_k = dsa ? d.top_k : 0, mp.max_seq_len = max_pos;
  mp.yarn_factor = mla_yarn, mp.yarn_orig_len = mla_yarn_orig;
  DsaIndexerParams ip;
  ip.n_q = nq, ip.n_ctx = ctx, ip.idx_heads = Hi, ip.idx_dim = Di;
  TopkParams tp;
  tp.n_queries = nq, tp.n_cand = ctx, tp.top_k = d.top_k;
  for (int64_t q = 0; q < B; ++q) {
    SeqCache& c = lc[size_t(q)];
    const int32_t* qpos = ws.tpos.data() + q * nq;
    if (dsa) {
      op("indexer", "attn_dsa_indexer",
         {{"n_tokens", double(nq)}, {"n_ctx", double(ctx)}, {"idx_heads", double(Hi)}, {"idx_dim", double(Di)}}, [&] {
           dsa_indexer_cpu(ip, ws.iq8.data() + q * nq * Hi * Di, ws.iq8s.data() + q * nq * Hi, c.ikeys.data(),
                           c.ikeys_s.data(), ws.iw.data() + q * nq * Hi, qpos, ws.scores.data());
         });
      for (int64_t i = 0; i < nq; ++i) ws.lengths[size_t(i)] = int32_t(pos + i + 1);  // token-level causal bound
      op("idx_topk", "attn_topk", {{"n_tokens", double(nq)}, {"n_cand", double(ctx)}, {"top_k", double(d.top_k)}},
         [&] { topk_cpu(tp, ws.scores.data(), ws.lengths.data(), ws.sel.data(), ws.nan.data()); });
    }
    op("core", "attn_mla_decode",
       {{"n_tokens", double(nq)},
        {"n_ctx", double(ctx)},
        {"n_heads", double(H)},
        {"d_nope", double(dn)},
        {"d_rope", double(dr)},
        {"kv_rank", double(R)},
        {"d_v", double(dv)},
        {"form", 1},
        {"top_k", dsa ? double(d.top_k) : 0.0},
        {"max_seq_len", double(max_pos)}},
       [&] {
         mla_decode_cpu(mp, ws.q.data() + q * nq * H * Dq, c.latent.data(), lw.w_kvb.data(), qpos,
                        dsa ? ws.sel.data() : nullptr, ws.mla_o.data() + q * nq * H * dv, ws.lse.data());
       });
  }
  quant_f32("o_fp8", ws.mla_o.data(), T, H * dv, ws.t8.data(), ws.t8s.data());
  gemm("wo", ws.t8.data(), ws.t8s.data(), T, lw.wo_b, ws.attn_out.data());
}

// Dense SwiGLU FFN (V3 layers 0..first_k_dense_replace−1): the shared-expert kernel at intermediate_size.
void ModelExecutor::Impl::dense_ffn(const LayerWeights& lw, int64_t T) {
  const int64_t D = d.d_model;
  MoeParams sh;
  sh.n_tokens = T, sh.d_model = D, sh.d_expert = d.d_dense, sh.n_experts = 1, sh.top_k = 1, sh.limit = 0;
  sh.expert_dtype = ExpertDtype::FP8, sh.weight_before_down = d.v4, sh.hash = false, sh.use_bias = false;
  const MoeWeight w1{lw.s1.codes.data(), lw.s1.scales.data()}, w3{lw.s3.codes.data(), lw.s3.scales.data()},
      w2{lw.s2.codes.data(), lw.s2.scales.data()};
  op("dense_ffn", "moe_shared", {{"n_tokens", double(T)}, {"d_model", double(D)}, {"d_expert", double(d.d_dense)}}, [&] {
    moe_experts_cpu(sh, T, nullptr, ws.xn.data(), nullptr, w1, w3, w2, ws.ys.data());
    for (int64_t i = 0; i < T * D; ++i) ws.ffn_out[size_t(i)] = bf16_from_f32(ws.ys[size_t(i)]);
  });
}

// Engram before the layer's attention (engram.md §5): per sequence the N-gram hash over the step's
// raw ids with the previous N−1 ids as context, one gather of R rows per token from the layer's
// host-resident table (synchronous: on the CPU backend the table already is in RAM, so the prefetch
// pipeline of §9 has nothing to overlap), the key / value projections, the gate per mHC branch, the
// causal conv with its running state, and H += y on every branch.
void ModelExecutor::Impl::engram(const sim::LayerSpec& s, const LayerWeights& lw, const std::vector<int32_t>& tok,
                                 int64_t B, int64_t nq, bool prefill) {
  const int N = d.engram_max_ngram, K = d.engram_heads, M = d.hc;
  const int64_t R = int64_t(N - 1) * K, Dh = d.engram_head_dim, dmem = R * Dh, D = d.d_model, T = B * nq;
  auto& lc = cache[size_t(s.index)];
  const int64_t li = std::find(d.engram_layers.begin(), d.engram_layers.end(), s.index) - d.engram_layers.begin();
  EngramHashParams hp;
  hp.n_tokens = nq, hp.max_ngram = N, hp.heads = K, hp.raw_vocab = d.vocab, hp.pad_id = std::min<int64_t>(2, d.vocab - 1);
  op(
      "hash", "engram_hash",
      {{"n_tokens", double(nq)},
       {"max_ngram", double(N)},
       {"heads", double(K)},
       {"raw_vocab", double(d.vocab)},
       {"vocab_size_per_order", double(engram_rows > 0 ? engram_rows : kDefaultEngramRows)},
       {"reduction", 0},
       {"layer_id", double(s.index)},
       {"layer_index", double(li)}},
      [&] {
        for (int64_t q = 0; q < B; ++q) {
          SeqCache& c = lc[size_t(q)];
          if (prefill && pos == 0) std::fill(c.eng_ctx.begin(), c.eng_ctx.end(), -1);  // pad before the prompt
          const int32_t* ids = tok.data() + q * nq;
          if (verify_step && nq > 1) {  // the context after the step's first token (rollback())
            std::vector<int32_t> a(c.eng_ctx.begin(), c.eng_ctx.end());
            a.push_back(ids[0]);
            std::copy(a.end() - (N - 1), a.end(), c.sv_eng_ctx.begin());
          }
          engram_hash_cpu(hp, ids, c.eng_ctx.data(), w.eng_cmap.data(), lw.eng_mult.data(), lw.eng_primes.data(),
                          ws.eng_rows.data() + q * nq * R, ws.eng_off.data(), ws.eng_mix.data());
          // Context for the next step: the last N−1 ids of (context ++ this step's ids), oldest first.
          std::vector<int32_t> all(c.eng_ctx.begin(), c.eng_ctx.end());
          all.insert(all.end(), ids, ids + nq);
          std::copy(all.end() - (N - 1), all.end(), c.eng_ctx.begin());
        }
      },
      double(B));
  EngramGatherParams gp;
  gp.n_tokens = T, gp.rows_per_token = int(R), gp.head_dim = Dh, gp.table_rows = lw.eng_table_rows;
  gp.row_format = EngramRowFormat::BF16, gp.out_format = EngramOutFormat::BF16;
  op("gather", "engram_gather",
     {{"n_tokens", double(T)},
      {"max_ngram", double(N)},
      {"heads", double(K)},
      {"head_dim", double(Dh)},
      {"table_rows", double(lw.eng_table_rows)},
      {"row_dtype", 1},
      {"out_dtype", 1}},
     [&] { engram_gather_cpu(gp, lw.eng_table.data(), ws.eng_rows.data(), ws.eng_e.data()); });
  quant("engram_fp8", ws.eng_e.data(), T, dmem, ws.eng_e8.data(), ws.eng_e8s.data());
  gemm("engram_wk", ws.eng_e8.data(), ws.eng_e8s.data(), T, lw.eng_wk, ws.eng_key.data(), true);
  gemm("engram_wv", ws.eng_e8.data(), ws.eng_e8s.data(), T, lw.eng_wv, ws.eng_val.data(), true);
  EngramGateParams gt;
  gt.n_tokens = T, gt.hc = M, gt.d_model = D;
  if (m.has_number("engram_gate_norm_eps")) gt.gate_norm_eps = m.number("engram_gate_norm_eps");
  gt.sign_zero = m.has("engram_gate_sign_zero") && m.string("engram_gate_sign_zero") == "copysign"
                     ? GateSignZero::Copysign
                     : GateSignZero::Sign0;
  op("gate", "engram_gate",
     {{"n_tokens", double(T)},
      {"hc", double(M)},
      {"d_model", double(D)},
      {"gate_norm_eps", gt.gate_norm_eps},
      {"sign_zero", double(int(gt.sign_zero))}},
     [&] {
       engram_gate_cpu(gt, ws.X.data(), ws.eng_key.data(), ws.eng_val.data(), lw.eng_qnorm.data(),
                       lw.eng_knorm.data(), ws.eng_score.data(), ws.eng_alpha.data(), ws.eng_vg.data());
     });
  EngramConvParams cp;
  cp.n_tokens = nq, cp.hc = M, cp.d_model = D, cp.conv_kernel = detail::kEngramTaps, cp.conv_dilation = N;
  if (m.has_number("engram_conv_norm_eps")) cp.conv_norm_eps = m.number("engram_conv_norm_eps");
  const int64_t L = detail::engram_history(d), MD = int64_t(M) * D;
  op(
      "conv", "engram_conv",
      {{"n_tokens", double(nq)},
       {"hc", double(M)},
       {"d_model", double(D)},
       {"conv_kernel", double(cp.conv_kernel)},
       {"conv_dilation", double(cp.conv_dilation)},
       {"conv_norm_eps", cp.conv_norm_eps}},
      [&] {
        for (int64_t q = 0; q < B; ++q) {
          SeqCache& c = lc[size_t(q)];
          if (prefill && pos == 0) std::fill(c.conv_state.begin(), c.conv_state.end(), 0.0f);
          if (verify_step && nq > 1) {  // token by token, keeping the history after the first token
            EngramConvParams c1 = cp;
            c1.n_tokens = 1;
            for (int64_t t = 0; t < nq; ++t) {
              engram_conv_cpu(c1, ws.eng_vg.data() + (q * nq + t) * MD, lw.eng_cnorm.data(), lw.eng_conv.data(),
                              c.conv_state.data(), ws.eng_y.data() + (q * nq + t) * MD, ws.eng_state.data());
              std::memcpy(c.conv_state.data(), ws.eng_state.data(), size_t(L * MD) * 4);
              if (t == 0) c.sv_conv_state = c.conv_state;
            }
            continue;
          }
          engram_conv_cpu(cp, ws.eng_vg.data() + q * nq * MD, lw.eng_cnorm.data(), lw.eng_conv.data(),
                          c.conv_state.data(), ws.eng_y.data() + q * nq * MD, ws.eng_state.data());
          std::memcpy(c.conv_state.data(), ws.eng_state.data(), size_t(L * MD) * 4);
        }
        for (int64_t i = 0; i < T * MD; ++i)  // H ← H + y on every branch (BF16 streams)
          ws.X[size_t(i)] = bf16_from_f32(bf16_to_f32(ws.X[size_t(i)]) + ws.eng_y[size_t(i)]);
      },
      double(B));
}

}  // namespace v4lab::profiler
