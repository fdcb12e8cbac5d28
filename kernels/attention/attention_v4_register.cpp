// attention_v4_register.cpp — registry entries for the V4 hybrid-attention kernels (specs/attention.md
// §4.2, §4.4, §6): attn_compress (prefill and streaming forms), attn_csa_indexer and kv_pack_v4.
// Seeded inputs at trained-model scales, prepare per backend, and verification with the §6 tolerances
// (docs/kernels/attention-v4.md explains each one).
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/csa_indexer.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/detail/fill.h"
#include "core/check.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/attention/attention_v4_cuda.h"
#endif

namespace v4lab::kernels {
namespace {

template <class Spec>
KernelIO alloc_io(const std::vector<Spec>& specs) {
  KernelIO io;
  for (auto& s : specs) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

// ---------------------------------------------------------------------------------------------
// attn_compress
// ---------------------------------------------------------------------------------------------
// x ~ N(0,1) BF16; W ~ N(0, 1/D) BF16 so a, z ~ N(0,1); ape ~ U(−1, 1); norm weight 1 + N(0, 0.25²).
KernelIO make_compress_io(const ParamMap& pm, uint64_t seed) {
  const CompressParams p = compress_params_from(pm);
  p.validate();
  KernelIO io = alloc_io(compress_io_spec(p));
  fill_bf16_normal(io.in("x"), rng_for(seed, 0));
  fill_bf16_normal(io.in("w_kv"), rng_for(seed, 1), 1.0 / std::sqrt(double(p.d_model)));
  fill_bf16_normal(io.in("w_gate"), rng_for(seed, 2), 1.0 / std::sqrt(double(p.d_model)));
  fill_uniform(io.in("ape"), rng_for(seed, 3), -1, 1);
  Rng rng = rng_for(seed, 4);
  uint16_t* nw = io.in("norm").data<uint16_t>();
  for (int64_t i = 0; i < p.d; ++i) nw[i] = bf16_from_f32(float(1.0 + 0.25 * rng.normal()));
  return io;
}

CompressWeights weights_of(KernelIO& io) {
  return {io.in("w_kv").data<uint16_t>(), io.in("w_gate").data<uint16_t>(), io.in("ape").data<float>(),
          io.in("norm").data<uint16_t>()};
}
CompressOut out_of(KernelIO& io) {
  return {io.out("entries").data<uint16_t>(), io.out("normed").data<uint16_t>(), io.out("pooled").data<float>()};
}

using CompressFn = void (*)(const CompressParams&, const uint16_t*, const CompressWeights&, const CompressOut&);
using StepFn = int64_t (*)(const CompressParams&, const uint16_t*, const CompressWeights&, CompressState,
                           const CompressOut&);

// Prefill form, or (streaming = 1) the decode path: a fresh state, then every token one at a time.
PreparedRun prepare_compress(CompressFn prefill, StepFn step, const ParamMap& pm, KernelIO& io) {
  const CompressParams p = compress_params_from(pm);
  compress_check_io(p, io);
  PreparedRun r;
  const uint16_t* x = io.in("x").data<uint16_t>();
  const CompressWeights w = weights_of(io);
  const CompressOut o = out_of(io);
  if (!p.streaming) {
    r.launch = [=] { prefill(p, x, w, o); };
    return r;
  }
  const CompressState s{io.out("kv_state").data<float>(), io.out("score_state").data<float>()};
  r.launch = [=] {
    compress_state_init(p, s);
    CompressParams one = p;
    one.n_tokens = 1;
    int64_t emitted = 0;
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      one.pos0 = p.pos0 + t;
      const CompressOut ot{o.entries + emitted * p.d, o.normed + emitted * p.d, o.pooled + emitted * p.d};
      emitted += step(one, x + t * p.d_model, w, s, ot);
    }
  };
  return r;
}

// pooled: FP32 GEMMs (D terms) + FP32 softmax vs FP64: |Δ| ≤ 1e-5·(max|C| + |C|) — small elements are
// sums that cancel, so a tensor-scale floor. normed: BF16(C) can land on the neighbouring value and norm
// + RoPE round again: 2 BF16 ulps, with a 2^-7·max floor for RoPE's u·c − v·s cancellation. entries:
// the quant simulation of the backend's own normed, bit-exact (quantizers are exact, §6).
std::vector<CheckResult> verify_compress(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const CompressParams p = compress_params_from(pm);
  std::vector<CheckResult> out;
  out.push_back(check_close(test.out("pooled"), ref.out("pooled"),
                            {1e-5 * max_abs(ref.out("pooled")), 1e-5, -1,
                             "FP32 projections + pooling vs FP64: 1e-5 rel with a 1e-5·max|C| floor (cancellation)"}));
  out.push_back(check_close(test.out("normed"), ref.out("normed"),
                            {0x1p-7 * max_abs(ref.out("normed")), 0, 2,
                             "BF16 C, norm and RoPE each round once: 2 BF16 ulps (2^-7·max floor for RoPE)"}));
  const Tensor& normed = test.out("normed");
  Tensor want("entries", DType::BF16, normed.shape());
  compress_quant_sim(p, normed.data<uint16_t>(), normed.shape()[0], want.data<uint16_t>());
  out.push_back(check_close(test.out("entries"), want,
                            {0, 0, -1, "quant sim of the backend's own normed entries: bit-exact (§6)"}));
  if (p.streaming)
    for (const char* name : {"kv_state", "score_state"})
      out.push_back(check_close(test.out(name), ref.out(name),
                                {1e-5 * max_abs(ref.out(name)), 1e-5, -1,
                                 "FP32 projection rows vs FP64-rounded rows (same −inf rows)"}));
  return out;
}

// ---------------------------------------------------------------------------------------------
// attn_csa_indexer
// ---------------------------------------------------------------------------------------------
// q and keys: N(0,1) BF16 vectors through the indexer quant simulation (Hadamard + MXFP4), so the
// inputs are exactly what the real pipeline feeds; w ~ N(0,1)·idx_dim^−½·idx_heads^−½ (§4.2 scaling).
void fill_fp4_sim(Tensor& t, int64_t dim, Rng rng) {
  fill_bf16_normal(t, rng);
  uint16_t* d = t.data<uint16_t>();
  std::vector<float> work(static_cast<size_t>(dim));
  std::vector<uint16_t> row(static_cast<size_t>(dim));
  for (int64_t r = 0; r < t.numel() / dim; ++r) {
    std::copy(d + r * dim, d + (r + 1) * dim, row.begin());
    kv_quant_sim_indexer(row.data(), int(dim), work.data(), d + r * dim);
  }
}

KernelIO make_indexer_io(const ParamMap& pm, uint64_t seed) {
  const CsaIndexerParams p = csa_indexer_params_from(pm);
  p.validate();
  KernelIO io = alloc_io(csa_indexer_io_spec(p));
  fill_fp4_sim(io.in("q"), p.idx_dim, rng_for(seed, 0));
  fill_fp4_sim(io.in("keys"), p.idx_dim, rng_for(seed, 1));
  fill_normal(io.in("w"), rng_for(seed, 2), 1.0 / std::sqrt(double(p.idx_dim * p.idx_heads)));
  return io;
}

using IndexerFn = void (*)(const CsaIndexerParams&, const uint16_t*, const uint16_t*, const float*, float*, int32_t*);
PreparedRun prepare_indexer(IndexerFn fn, const ParamMap& pm, KernelIO& io) {
  const CsaIndexerParams p = csa_indexer_params_from(pm);
  csa_indexer_check_io(p, io);
  PreparedRun r;
  r.launch = [=, q = io.in("q").data<uint16_t>(), k = io.in("keys").data<uint16_t>(), w = io.in("w").data<float>(),
              s = io.out("scores").data<float>(), l = io.out("lengths").data<int32_t>()] { fn(p, q, k, w, s, l); };
  return r;
}

// Scores divided by Σ_h |w_h|·ReLU(q_h·k) (FP64, from the inputs) and compared with abs 1e-5: the FP32
// accumulation bound of §6 "indexer scores on fixed quantized inputs", robust where Σ_h cancels.
std::vector<CheckResult> verify_indexer_scores(const CsaIndexerParams& p, const KernelIO& test, const KernelIO& ref,
                                               double tol) {
  const int64_t T = p.n_tokens, H = p.idx_heads, K = p.idx_dim, N = p.n_entries();
  const uint16_t* q = ref.in("q").data<uint16_t>();
  const uint16_t* k = ref.in("keys").data<uint16_t>();
  const float* w = ref.in("w").data<float>();
  Tensor g("scores / Σ|terms|", DType::F64, {T, N}), wv("scores / Σ|terms|", DType::F64, {T, N});
  const float* gs = test.out("scores").data<float>();
  const float* ws = ref.out("scores").data<float>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t j = 0; j < N; ++j) {
      double bound = 0;
      if (j < p.length(t))
        for (int64_t h = 0; h < H; ++h) {
          double dot = 0;
          for (int64_t c = 0; c < K; ++c) dot += double(bf16_to_f32(q[(t * H + h) * K + c])) * bf16_to_f32(k[j * K + c]);
          bound += std::fabs(double(w[t * H + h]) * std::max(dot, 0.0));
        }
      if (!(bound > 0)) bound = 1;
      g.data<double>()[t * N + j] = gs[t * N + j] / bound;
      wv.data<double>()[t * N + j] = ws[t * N + j] / bound;
    }
  const Tolerance exact{0, 0, -1, "exact: ⌊(pos+1)/4⌋"};
  return {check_close(g, wv, {tol, 0, -1, "FP32 dots + head sum vs FP64: |Δ| ≤ tol·Σ_h|w_h·ReLU(q_h·k)|"}),
          check_close(test.out("lengths"), ref.out("lengths"), exact)};
}

// ---------------------------------------------------------------------------------------------
// kv_pack_v4: entries [n_tokens, d_head] BF16 → pages [⌈n/P⌉, page_bytes] U8 (584 B layout)
// ---------------------------------------------------------------------------------------------
V4KvLayout pack_layout(const ParamMap& pm) {
  V4KvLayout l;
  l.d_head = param_i(pm, "d_head");
  l.d_rope = param_i(pm, "d_rope");
  l.page_tokens = param_i(pm, "page_tokens");
  l.validate();
  return l;
}

KernelIO make_pack_io(const ParamMap& pm, uint64_t seed) {
  const V4KvLayout l = pack_layout(pm);
  const int64_t n = param_i(pm, "n_tokens"), pages = (n + l.page_tokens - 1) / l.page_tokens;
  KernelIO io;
  io.inputs.emplace_back("entries", DType::BF16, std::vector<int64_t>{n, l.d_head});
  io.outputs.emplace_back("pages", DType::U8, std::vector<int64_t>{pages, l.page_bytes()});
  fill_bf16_normal(io.in("entries"), rng_for(seed, 0));
  return io;
}

template <bool kParallel>
PreparedRun prepare_pack(const ParamMap& pm, KernelIO& io) {
  const V4KvLayout l = pack_layout(pm);
  const int64_t n = param_i(pm, "n_tokens"), pages = (n + l.page_tokens - 1) / l.page_tokens;
  if (io.in("entries").shape() != std::vector<int64_t>{n, l.d_head})
    throw config_error("kv_pack_v4: entries must be BF16 [n_tokens, d_head], got " + io.in("entries").shape_str());
  PreparedRun r;
  r.launch = [=, e = io.in("entries").data<uint16_t>(), pg = io.out("pages").data<uint8_t>()] {
#pragma omp parallel for schedule(static) if (kParallel)
    for (int64_t b = 0; b < pages; ++b)
      v4_kv_pack_page(l, e + b * l.page_tokens * l.d_head, std::min(l.page_tokens, n - b * l.page_tokens),
                      pg + b * l.page_bytes());
  };
  return r;
}

}  // namespace

void register_attention_v4_kernels() {
  OpKernels c;
  c.op = "attn_compress";
  c.make_io = make_compress_io;
  c.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) {
    return prepare_compress(compress_ref, compress_step_ref, pm, io);
  };
  c.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) {
    return prepare_compress(compress_cpu, compress_step_cpu, pm, io);
  };
  c.verify = verify_compress;

  OpKernels ix;
  ix.op = "attn_csa_indexer";
  ix.make_io = make_indexer_io;
  ix.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_indexer(csa_indexer_ref, pm, io); };
  ix.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_indexer(csa_indexer_cpu, pm, io); };
  ix.verify = [](const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
    return verify_indexer_scores(csa_indexer_params_from(pm), test, ref, 1e-5);
  };

#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  c.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const CompressParams p = compress_params_from(pm);
    compress_check_io(p, io);
    if (p.streaming) throw config_error("attn_compress: streaming = 1 has no CUDA backend (use ref or cpu)", "streaming");
    return compress_prepare_cuda(p, io);
  };
  ix.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const CsaIndexerParams p = csa_indexer_params_from(pm);
    csa_indexer_check_io(p, io);
    return csa_indexer_prepare_cuda(p, io);
  };
#endif

  OpKernels pk;
  pk.op = "kv_pack_v4";
  pk.make_io = make_pack_io;
  pk.prepare[Backend::Ref] = prepare_pack<false>;
  pk.prepare[Backend::Cpu] = prepare_pack<true>;
  pk.verify = [](const ParamMap&, const KernelIO& test, const KernelIO& ref) {
    return std::vector<CheckResult>{
        check_close(test.out("pages"), ref.out("pages"), {0, 0, -1, "byte layout: exact (§6)"})};
  };

  register_kernels(std::move(c));
  register_kernels(std::move(ix));
  register_kernels(std::move(pk));
}

}  // namespace v4lab::kernels
