// compress.h — the V4 token compressor (specs/attention.md §4.2 "Compressor", §4.4, §4.6, §4.9): CSA
// ratio 4 with overlapping 8-candidate pooling (c = 2), HCA ratio 128 (c = 1), and the CSA indexer's
// own r = 4 compressor (d = 128). Per token a = W_kv·x, z = W_gate·x + ape[pos mod r] (FP32); per
// entry j a per-channel softmax pooling, then BF16 → RMSNorm(d) → RoPE on the last d_rope at position
// j·r (compress θ, YaRN, interleaved) → quant simulation (main: FP8 tiles of 64 + BF16 RoPE; indexer:
// Hadamard + MXFP4). Prefill and streaming (reference-layout state) forms; streaming ≡ prefill bit-exact.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/op_catalogue.h"
#include "core/tensor.h"

namespace v4lab::kernels {

struct CompressParams {
  int64_t n_tokens = 0;       // T: tokens of this call, at absolute positions pos0 .. pos0 + T − 1
  int64_t d_model = 4096;     // D: width of x (4096 Flash, 7168 Pro)
  int64_t ratio = 4;          // r >= 1: 4 = CSA (overlap, c = 2); else no overlap (128 HCA, 1 = test)
  int64_t d = 512;            // entry width: 512 main, 128 indexer (idx_dim)
  int64_t d_rope = 64;        // rotated dims at the end of each entry
  bool indexer = false;       // quant sim: false = FP8 tiles on [0, d − d_rope) + BF16 RoPE; true = Hadamard + FP4
  bool quant = true;          // false: entries = normed (no quant sim)
  bool streaming = false;     // run token by token through the reference-layout state (op form)
  int64_t pos0 = 0;           // position of token 0. Prefill: a fresh sequence starting there (a multiple of
                              // r; block −1 absent); streaming: continues the state at any pos0
  double theta = 160000;      // compress_rope_theta
  double yarn_factor = 16;    // YaRN s (1 = off)
  double yarn_orig_len = 65536;
  double beta_fast = 32, beta_slow = 1;
  double eps = 1e-6;          // RMSNorm eps

  bool overlap() const { return ratio == 4; }
  int64_t c() const { return overlap() ? 2 : 1; }
  int64_t cd() const { return c() * d; }            // projection rows (W_kv, W_gate), ape columns
  int64_t state_rows() const { return c() * ratio; }  // reference state rows (8 CSA, 128 HCA)
  // Entries emitted by the tokens of this call (prefill: T / r, as pos0 % r == 0).
  int64_t n_entries() const { return (pos0 + n_tokens) / ratio - pos0 / ratio; }
  int64_t first_entry() const { return pos0 / ratio; }  // absolute index of the first emitted entry
  void validate() const;  // config_error naming the field, value and accepted range
};
CompressParams compress_params_from(const ParamMap& pm);

struct CompressWeights {
  const uint16_t* w_kv;    // [c·d, D] BF16 (W_ckv)
  const uint16_t* w_gate;  // [c·d, D] BF16 (W_cg)
  const float* ape;        // [r, c·d] FP32 position bias of the gate logits
  const uint16_t* norm;    // [d] BF16 RMSNorm weight
};
struct CompressOut {
  uint16_t* entries;  // [n_entries, d] BF16: quant-simulated entries (the cache content)
  uint16_t* normed;   // [n_entries, d] BF16: after RMSNorm + RoPE, before the quant simulation
  float* pooled;      // [n_entries, d] FP32: the pooled C_j, before BF16 (may be null)
};
// Reference-layout decode state (§4.6), FP32 [c·r, c·d] each. Overlap: rows 0..r−1 the previous
// complete block, rows r..2r−1 the current one (slot r + pos mod r); no overlap: rows 0..r−1, slot
// pos mod r. Fresh state: score rows −∞, kv rows 0.
struct CompressState {
  float* kv;
  float* score;
};
void compress_state_init(const CompressParams& p, CompressState s);

// Prefill: x [T, D] BF16, a sequence starting at pos0 (% r == 0; RoPE and ape positions shift, block
// −1 is absent); writes n_entries = T / r entries. T < r: nothing, no error.
void compress_ref(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o);
void compress_cpu(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o);
// Streaming / decode: tokens pos0 .. pos0 + T − 1 (any pos0) continue `state`; an entry is emitted
// when (pos + 1) mod r = 0, written to o in order. Returns the count (p.n_entries()).
int64_t compress_step_ref(const CompressParams& p, const uint16_t* x, const CompressWeights& w, CompressState s,
                          const CompressOut& o);
int64_t compress_step_cpu(const CompressParams& p, const uint16_t* x, const CompressWeights& w, CompressState s,
                          const CompressOut& o);

// Quant simulation of n rows (the last stage of every backend; host), normed → entries.
void compress_quant_sim(const CompressParams& p, const uint16_t* normed, int64_t n, uint16_t* entries);

// Tensor contract shared by make_io, prepare and the tests. Inputs: x, w_kv, w_gate, ape, norm;
// outputs: entries, normed, pooled, and (streaming) kv_state, score_state.
struct AttnTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<AttnTensorSpec> compress_io_spec(const CompressParams& p);
void compress_check_io(const CompressParams& p, const KernelIO& io);  // config_error naming the tensor

}  // namespace v4lab::kernels
