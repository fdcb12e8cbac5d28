// exec_workspace.h — buffers of the reduced-model executor (model_exec.cpp): one workspace sized
// once for the largest step (batch × the largest prefill chunk) and the per-(layer, sequence)
// caches. The same functions count the bytes (the refusal estimate) and allocate them, so the
// executor's accounting is what it allocates.
#pragma once
#include <cstdint>
#include <vector>

#include "profiler/model_build.h"

namespace v4lab::profiler::detail {

struct Workspace {
  // [T, ...] activations (T = batch · max tokens per sequence in one step)
  std::vector<uint16_t> X, X2, y, xn, qa, qn, q, qh, kv, kvn, iq, o, oa, oag, attn_out, xperm, ffn_out, hmain, e, cat;
  std::vector<float> pre, post, comb, mixes, iw, topk_w, escores, wperm, ye, ys;
  std::vector<uint8_t> a8, a8s, c8, c8s, t8, t8s, g8, g8s;
  std::vector<int32_t> topk_idx, flags, offsets, row_map;
  // per-sequence scratch (one sequence at a time)
  std::vector<uint16_t> rope_y, cmp_normed, cmp_tmp;
  std::vector<float> cos_sin, scores, lse;
  std::vector<int32_t> lengths, sel, win, posv, nan;
  // head
  std::vector<uint16_t> last, lastn, logits;
  // MLA / DSA (model_exec_mla.cpp): W_kva output, latent c_kv and its norm, k_pe; the core's F32 output;
  // DSA indexer q / k (F32 then FP8 codes + one UE8M0 scale per vector); per-token positions.
  std::vector<uint16_t> kva, ckv, ckvn, kpe;
  std::vector<float> mla_o, iqf, ikf;
  std::vector<uint8_t> iq8, iq8s, ik8, ik8s;
  std::vector<int32_t> tpos;
  // Engram: row ids, offsets, mixes, gathered rows (BF16) and their FP8 copy, key / value, gate outputs,
  // conv output and the conv state written by one sequence's call.
  std::vector<uint32_t> eng_rows;
  std::vector<uint64_t> eng_off, eng_mix;
  std::vector<uint16_t> eng_e;
  std::vector<uint8_t> eng_e8, eng_e8s;
  std::vector<float> eng_key, eng_val, eng_score, eng_alpha, eng_vg, eng_y, eng_state;
  // Chunked prefill / 2-token verify (V4): one sequence's attended raw KV rows, contiguous — the
  // ring's last window − 1 tokens before the step, then the step's own tokens [window + P, d_head].
  std::vector<uint16_t> kvcat;
};

// One sequence's state in one layer (attention.md §4.6 decode state).
struct SeqCache {
  std::vector<uint16_t> ring;  // SWA ring [window, d_head] BF16 (slot = pos mod window)
  std::vector<uint16_t> cmp;   // compressed entries [capacity, d_head] BF16 (quant-simulated view)
  int64_t n_cmp = 0;
  std::vector<uint16_t> keys;  // CSA indexer keys [capacity, idx_dim] BF16 (FP4-simulated view)
  int64_t n_keys = 0;
  std::vector<float> st_kv, st_score;    // main compressor running state [c·r, c·d] FP32 each
  std::vector<float> ist_kv, ist_score;  // indexer compressor state
  std::vector<uint16_t> latent;          // MLA cache [capacity, kv_rank + d_rope] BF16 (c_kv normed, k_pe RoPE'd)
  std::vector<uint8_t> ikeys, ikeys_s;   // DSA indexer keys [capacity, idx_dim] e4m3 + [capacity] UE8M0
  std::vector<float> conv_state;         // Engram conv history [(w−1)·δ, hc·d] FP32 (per Engram layer)
  std::vector<int32_t> eng_ctx;          // Engram hash context: the last N−1 raw ids (−1 = pad)
  // MTP verification (ExecShape::mtp_verify): the state after the step's first token, restored when
  // the draft (the second token) is rejected — the ring slot the draft overwrote, the compressors'
  // running state and entry counts, the Engram conv history and hash context.
  std::vector<uint16_t> sv_ring;         // [d_head]: the previous content of the draft's ring slot
  std::vector<float> sv_st_kv, sv_st_score, sv_ist_kv, sv_ist_score, sv_conv_state;
  std::vector<int32_t> sv_eng_ctx;
  int64_t sv_n_cmp = 0, sv_n_keys = 0;
};

// Engram short conv: 4 taps, dilation = max N-gram order (engram_conv_kernel / engram_conv_dilation of
// both Engram presets; sim::ModelDims does not carry them). History L = (w − 1)·δ positions.
inline constexpr int kEngramTaps = 4;
inline int64_t engram_history(const sim::ModelDims& d) { return int64_t(kEngramTaps - 1) * d.engram_max_ngram; }

// Bytes of the workspace / caches for this shape; allocates (zero-filled) when `alloc`.
double plan_workspace(Workspace& ws, const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers,
                      const ExecShape& s, bool alloc);
// Upper bound of the largest kernel-internal transient of one call for this shape (MemoryEstimate::scratch_bytes).
double kernel_scratch_bytes(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, const ExecShape& s);
double plan_caches(std::vector<std::vector<SeqCache>>& caches, const sim::ModelDims& d,
                   const std::vector<sim::LayerSpec>& layers, const ExecShape& s, bool alloc);

}  // namespace v4lab::profiler::detail
