// engram_register.cpp — registry entries for engram_hash, engram_gather, engram_gate and engram_conv
// (specs/engram.md §3–§5): tensor contracts, seeded inputs at the configured geometry (synthetic
// canonical map, the global prime rule, SplitMix64 multipliers marked non-official), prepare per
// backend (ref, cpu, and cuda in CUDA builds), and verification (exact for hash and gather; FP32
// bounds with a one-line reason for the gate and conv — docs/kernels/engram.md).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/detail/fill.h"
#include "kernels/engram/canonical_map.h"
#include "kernels/engram/engram.h"
#include "kernels/engram/host_memory.h"
#include "kernels/engram/primes.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/engram/engram_cuda.h"
#endif

namespace v4lab::kernels {
namespace {

double get_or(const ParamMap& pm, const char* k, double def) { return pm.count(k) ? pm.at(k) : def; }

}  // namespace

EngramHashParams engram_hash_params_from(const ParamMap& pm) {
  EngramHashParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.max_ngram = int(get_or(pm, "max_ngram", p.max_ngram));
  p.heads = int(get_or(pm, "heads", p.heads));
  p.raw_vocab = int64_t(get_or(pm, "raw_vocab", double(p.raw_vocab)));
  p.pad_id = int64_t(get_or(pm, "pad_id", double(p.pad_id)));
  return p;
}

EngramGatherParams engram_gather_params_from(const ParamMap& pm) {
  EngramGatherParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.rows_per_token = int((get_or(pm, "max_ngram", 3) - 1) * get_or(pm, "heads", 8));
  p.head_dim = int64_t(get_or(pm, "head_dim", double(p.head_dim)));
  p.table_rows = int64_t(get_or(pm, "table_rows", double(p.table_rows)));
  p.row_format = EngramRowFormat(int(get_or(pm, "row_dtype", 0)));
  p.out_format = EngramOutFormat(int(get_or(pm, "out_dtype", 0)));
  return p;
}

EngramGateParams engram_gate_params_from(const ParamMap& pm) {
  EngramGateParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.hc = int(get_or(pm, "hc", p.hc));
  p.d_model = int64_t(get_or(pm, "d_model", double(p.d_model)));
  p.gate_norm_eps = get_or(pm, "gate_norm_eps", p.gate_norm_eps);
  p.sign_zero = GateSignZero(int(get_or(pm, "sign_zero", 0)));
  return p;
}

EngramConvParams engram_conv_params_from(const ParamMap& pm) {
  EngramConvParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.hc = int(get_or(pm, "hc", p.hc));
  p.d_model = int64_t(get_or(pm, "d_model", double(p.d_model)));
  p.conv_kernel = int(get_or(pm, "conv_kernel", p.conv_kernel));
  p.conv_dilation = int(get_or(pm, "conv_dilation", p.conv_dilation));
  p.conv_norm_eps = get_or(pm, "conv_norm_eps", p.conv_norm_eps);
  p.add_residual = get_or(pm, "add_residual", 1) != 0;
  return p;
}

std::vector<EngramTensorSpec> engram_io_spec(EngramOp op, const ParamMap& pm) {
  switch (op) {
    case EngramOp::Hash: {
      const EngramHashParams p = engram_hash_params_from(pm);
      p.validate();
      const int64_t T = p.n_tokens, N = p.max_ngram, R = p.rows_per_token();
      return {{"token_ids", DType::I32, {T}, true},       {"context", DType::I32, {N - 1}, true},
              {"canonical_map", DType::I32, {p.raw_vocab}, true}, {"multipliers", DType::I64, {N}, true},
              {"primes", DType::I64, {R}, true},          {"row_ids", DType::I32, {T, R}, false},
              {"offsets", DType::I64, {R}, false},        {"mixes", DType::I64, {T, N - 1}, false}};
    }
    case EngramOp::Gather: {
      const EngramGatherParams p = engram_gather_params_from(pm);
      p.validate();
      const int64_t T = p.n_tokens, R = p.rows_per_token, D = p.head_dim;
      const DType tdt = p.row_format == EngramRowFormat::F32    ? DType::F32
                        : p.row_format == EngramRowFormat::BF16 ? DType::BF16
                                                                : DType::U8;
      const int64_t width = p.row_format == EngramRowFormat::FP8 ? p.row_bytes() : D;
      return {{"table", tdt, {p.table_rows, width}, true},
              {"row_ids", DType::I32, {T, R}, true},
              {"out", p.out_format == EngramOutFormat::F32 ? DType::F32 : DType::BF16, {T, R * D}, false}};
    }
    case EngramOp::Gate: {
      const EngramGateParams p = engram_gate_params_from(pm);
      p.validate();
      const int64_t T = p.n_tokens, M = p.hc, d = p.d_model;
      return {{"h", DType::BF16, {T, M, d}, true},         {"key", DType::F32, {T, M, d}, true},
              {"value", DType::F32, {T, d}, true},         {"q_norm_w", DType::F32, {M, d}, true},
              {"k_norm_w", DType::F32, {M, d}, true},      {"score", DType::F32, {T, M}, false},
              {"alpha", DType::F32, {T, M}, false},        {"v_gated", DType::F32, {T, M, d}, false}};
    }
    case EngramOp::Conv: {
      const EngramConvParams p = engram_conv_params_from(pm);
      p.validate();
      const int64_t T = p.n_tokens, M = p.hc, d = p.d_model, C = p.channels(), L = p.history();
      return {{"v_gated", DType::F32, {T, M, d}, true},   {"norm_w", DType::F32, {M, d}, true},
              {"conv_w", DType::F32, {C, p.conv_kernel}, true}, {"state", DType::F32, {L, C}, true},
              {"y", DType::F32, {T, M, d}, false},        {"state_out", DType::F32, {L, C}, false}};
    }
  }
  return {};
}

void engram_check_io(EngramOp op, const ParamMap& pm, const KernelIO& io) {
  for (const auto& s : engram_io_spec(op, pm)) {
    const Tensor& t = s.input ? io.in(s.name) : io.out(s.name);
    if (t.dtype() != s.dtype || t.shape() != s.shape) {
      std::string shape = "[";
      for (size_t i = 0; i < s.shape.size(); ++i) shape += (i ? ", " : "") + std::to_string(s.shape[i]);
      throw config_error("engram: tensor '" + s.name + "' is " + dtype_name(t.dtype()) + " " + t.shape_str() +
                         ", expected " + dtype_name(s.dtype) + " " + shape + "]");
    }
  }
}

namespace {

KernelIO alloc_io(EngramOp op, const ParamMap& pm) {
  KernelIO io;
  for (auto& s : engram_io_spec(op, pm)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

// ---- make_io ---------------------------------------------------------------------------------
// Synthetic canonical map (seeded by the hash seed, so it is a property of the "model"), the global
// prime rule up to this layer, non-official SplitMix64 multipliers; raw ids uniform in [0, V) with
// ~2% masked (−1); context all pad (prefill).
KernelIO make_hash_io(const ParamMap& pm, uint64_t seed) {
  const EngramHashParams p = engram_hash_params_from(pm);
  p.validate();
  KernelIO io = alloc_io(EngramOp::Hash, pm);
  const uint64_t hseed = uint64_t(get_or(pm, "seed", 0));
  const CanonicalMap cm = generate_canonical_map(uint64_t(p.raw_vocab), get_or(pm, "reduction", 0.2343), hseed, p.pad_id);
  std::memcpy(io.in("canonical_map").raw(), cm.ids.data(), cm.ids.size() * 4);
  const int li = int(get_or(pm, "layer_index", 0));
  const std::vector<uint64_t> sizes(size_t(p.max_ngram - 1), uint64_t(get_or(pm, "vocab_size_per_order", 646400)));
  const auto primes = engram_select_primes(li + 1, sizes, p.heads)[size_t(li)];
  std::memcpy(io.in("primes").raw(), primes.data(), primes.size() * 8);
  const auto mult = engram_multipliers_splitmix(int64_t(get_or(pm, "layer_id", 1)), cm.compressed_vocab, p.max_ngram,
                                                hseed);
  std::memcpy(io.in("multipliers").raw(), mult.data(), mult.size() * 8);
  Rng rng = rng_for(seed, 0);
  int32_t* tok = io.in("token_ids").data<int32_t>();
  for (int64_t t = 0; t < p.n_tokens; ++t)
    tok[t] = rng.uniform() < 0.02 ? -1 : int32_t(rng.below(uint64_t(p.raw_vocab)));
  int32_t* ctx = io.in("context").data<int32_t>();
  for (int i = 0; i < p.max_ngram - 1; ++i) ctx[i] = -1;
  return io;
}

// Table: FP32/BF16 values U(−1, 1); FP8 rows of random finite codes with UE8M0 scales 2^-8..2^0.
// Ids uniform over the table (hash ids are). The table's size is checked against MemAvailable first.
KernelIO make_gather_io(const ParamMap& pm, uint64_t seed) {
  const EngramGatherParams p = engram_gather_params_from(pm);
  p.validate();
  const double table_bytes = double(p.table_rows) * double(p.row_bytes());
  const double out_bytes = double(p.n_tokens) * double(p.d_mem()) * (p.out_format == EngramOutFormat::F32 ? 4 : 2);
  require_host_memory(table_bytes + out_bytes, "engram_gather table",
                      std::to_string(p.table_rows) + " rows x " + std::to_string(p.row_bytes()) + " B/row (" +
                          engram_row_format_name(p.row_format) + ") + output");
  KernelIO io = alloc_io(EngramOp::Gather, pm);
  Tensor& tab = io.in("table");
  Rng rng = rng_for(seed, 0);
  const int64_t D = p.head_dim, rb = p.row_bytes();
  if (p.row_format == EngramRowFormat::F32) {
    float* t = tab.data<float>();
    for (int64_t i = 0; i < tab.numel(); ++i) t[i] = float(rng.uniform(-1, 1));
  } else if (p.row_format == EngramRowFormat::BF16) {
    uint16_t* t = tab.data<uint16_t>();
    for (int64_t i = 0; i < tab.numel(); ++i) t[i] = bf16_from_f32(float(rng.uniform(-1, 1)));
  } else {
    uint8_t* t = tab.data<uint8_t>();
    for (int64_t r = 0; r < p.table_rows; ++r) {
      uint8_t* row = t + r * rb;
      for (int64_t i = 0; i < D; i += 8) {
        uint64_t bits = rng.next_u64();
        for (int b = 0; b < 8; ++b, bits >>= 8) {
          const uint8_t c = uint8_t(bits);
          row[i + b] = (c & 0x7F) == 0x7F ? uint8_t(c ^ 0x01) : c;  // never NaN
        }
      }
      for (int64_t b = 0; b < D / 32; ++b) row[D + b] = uint8_t(0x77 + rng.below(9));
    }
  }
  uint32_t* ids = io.in("row_ids").data<uint32_t>();
  for (int64_t i = 0; i < io.in("row_ids").numel(); ++i) ids[i] = uint32_t(rng.below(uint64_t(p.table_rows)));
  return io;
}

// h, key, value ~ N(0, 1) (h in BF16); norm weights ~ U(0.5, 1.5) around their init of 1.
KernelIO make_gate_io(const ParamMap& pm, uint64_t seed) {
  KernelIO io = alloc_io(EngramOp::Gate, pm);
  fill_bf16_normal(io.in("h"), rng_for(seed, 0));
  fill_normal(io.in("key"), rng_for(seed, 1), 1.0);
  fill_normal(io.in("value"), rng_for(seed, 2), 1.0);
  fill_uniform(io.in("q_norm_w"), rng_for(seed, 3), 0.5, 1.5);
  fill_uniform(io.in("k_norm_w"), rng_for(seed, 4), 0.5, 1.5);
  return io;
}

// Ṽ ~ N(0, 0.5²) (α·v with α around 0.5); norm weights ~ U(0.5, 1.5); small random conv taps
// N(0, 0.3²) so the conv path is exercised (the paper's zero init would make y = Ṽ); state zero.
KernelIO make_conv_io(const ParamMap& pm, uint64_t seed) {
  KernelIO io = alloc_io(EngramOp::Conv, pm);
  fill_normal(io.in("v_gated"), rng_for(seed, 0), 0.5);
  fill_uniform(io.in("norm_w"), rng_for(seed, 1), 0.5, 1.5);
  fill_normal(io.in("conv_w"), rng_for(seed, 2), 0.3);
  return io;
}

// ---- prepare (host backends) ---------------------------------------------------------------------
using HashFn = void (*)(const EngramHashParams&, const int32_t*, const int32_t*, const int32_t*, const uint64_t*,
                        const uint64_t*, uint32_t*, uint64_t*, uint64_t*);
using GatherFn = void (*)(const EngramGatherParams&, const void*, const uint32_t*, void*);
using GateFn = void (*)(const EngramGateParams&, const uint16_t*, const float*, const float*, const float*,
                        const float*, float*, float*, float*);
using ConvFn = void (*)(const EngramConvParams&, const float*, const float*, const float*, const float*, float*,
                        float*);

PreparedRun prepare_hash(HashFn fn, const ParamMap& pm, KernelIO& io) {
  engram_check_io(EngramOp::Hash, pm, io);
  const EngramHashParams p = engram_hash_params_from(pm);
  PreparedRun r;
  r.launch = [=, tok = io.in("token_ids").data<int32_t>(), ctx = io.in("context").data<int32_t>(),
              cm = io.in("canonical_map").data<int32_t>(), mu = io.in("multipliers").data<uint64_t>(),
              pr = io.in("primes").data<uint64_t>(), rows = io.out("row_ids").data<uint32_t>(),
              off = io.out("offsets").data<uint64_t>(),
              mix = io.out("mixes").data<uint64_t>()] { fn(p, tok, ctx, cm, mu, pr, rows, off, mix); };
  return r;
}

PreparedRun prepare_gather(GatherFn fn, const ParamMap& pm, KernelIO& io) {
  engram_check_io(EngramOp::Gather, pm, io);
  const EngramGatherParams p = engram_gather_params_from(pm);
  PreparedRun r;
  r.launch = [=, tab = io.in("table").raw(), ids = io.in("row_ids").data<uint32_t>(), out = io.out("out").raw()] {
    fn(p, tab, ids, out);
  };
  return r;
}

PreparedRun prepare_gate(GateFn fn, const ParamMap& pm, KernelIO& io) {
  engram_check_io(EngramOp::Gate, pm, io);
  const EngramGateParams p = engram_gate_params_from(pm);
  PreparedRun r;
  r.launch = [=, h = io.in("h").data<uint16_t>(), k = io.in("key").data<float>(), v = io.in("value").data<float>(),
              wq = io.in("q_norm_w").data<float>(), wk = io.in("k_norm_w").data<float>(),
              s = io.out("score").data<float>(), a = io.out("alpha").data<float>(),
              vg = io.out("v_gated").data<float>()] { fn(p, h, k, v, wq, wk, s, a, vg); };
  return r;
}

PreparedRun prepare_conv(ConvFn fn, const ParamMap& pm, KernelIO& io) {
  engram_check_io(EngramOp::Conv, pm, io);
  const EngramConvParams p = engram_conv_params_from(pm);
  PreparedRun r;
  r.launch = [=, x = io.in("v_gated").data<float>(), nw = io.in("norm_w").data<float>(),
              cw = io.in("conv_w").data<float>(), st = io.in("state").data<float>(), y = io.out("y").data<float>(),
              so = io.out("state_out").data<float>()] { fn(p, x, nw, cw, st, y, so); };
  return r;
}

// ---- verify --------------------------------------------------------------------------------------
// Bit-exact comparison of two same-typed tensors (integers and gathered rows; check_close would go
// through double and hide differences in the low bits of 64-bit mixes).
CheckResult check_exact(const Tensor& got, const Tensor& want, const std::string& reason) {
  CheckResult c;
  c.name = want.name();
  c.n = want.numel();
  c.tolerance = "exact (" + reason + ")";
  c.shape_ok = got.shape() == want.shape() && got.dtype() == want.dtype();
  if (!c.shape_ok) return c;
  const size_t es = dtype_size(want.dtype());
  const uint8_t* g = static_cast<const uint8_t*>(got.raw());
  const uint8_t* w = static_cast<const uint8_t*>(want.raw());
  for (int64_t i = 0; i < c.n; ++i)
    if (std::memcmp(g + i * es, w + i * es, es) != 0) {
      if (c.violations++ == 0) c.worst_index = i, c.worst_got = got.get(i), c.worst_want = want.get(i);
    }
  c.passed = c.violations == 0;
  return c;
}

std::vector<CheckResult> verify_hash(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  return {check_exact(test.out("row_ids"), ref.out("row_ids"), "integer hash"),
          check_exact(test.out("offsets"), ref.out("offsets"), "prefix sums"),
          check_exact(test.out("mixes"), ref.out("mixes"), "u64 mixes")};
}

std::vector<CheckResult> verify_gather(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  return {check_exact(test.out("out"), ref.out("out"), "copy / exact power-of-two dequant, one RNE to BF16")};
}

// score: |Δs| ≤ 1e-5·r_q·r_k·Σ|q_i w_q,i k_i w_k,i|/√d (FP32 dot vs FP64), checked after dividing both
// sides by that bound. alpha: against FP64 σ(s′) of the backend's own score (the signed sqrt has an
// unbounded slope at 0, so α is compared through its own s). v_gated: against the backend's α·v.
std::vector<CheckResult> verify_gate(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const EngramGateParams p = engram_gate_params_from(pm);
  const int64_t T = p.n_tokens, M = p.hc, d = p.d_model;
  const uint16_t* h = ref.in("h").data<uint16_t>();
  const float* k = ref.in("key").data<float>();
  const float* wq = ref.in("q_norm_w").data<float>();
  const float* wk = ref.in("k_norm_w").data<float>();
  Tensor gs("score / bound", DType::F64, {T, M}), ws("score / bound", DType::F64, {T, M});
  Tensor wa("alpha (own score)", DType::F64, {T, M});
  for (int64_t tm = 0; tm < T * M; ++tm) {
    const int64_t m = tm % M;
    double sq = 0, sk = 0, sa = 0;
    for (int64_t i = 0; i < d; ++i) {
      const double q = bf16_to_f32(h[tm * d + i]), kk = k[tm * d + i];
      sq += q * q, sk += kk * kk, sa += std::fabs(q * wq[m * d + i] * kk * wk[m * d + i]);
    }
    const double bound = sa / std::sqrt((sq / d + p.gate_norm_eps) * (sk / d + p.gate_norm_eps) * d);
    const double b = bound > 0 ? bound : 1.0;
    gs.data<double>()[tm] = test.out("score").get(tm) / b;
    ws.data<double>()[tm] = ref.out("score").get(tm) / b;
    wa.data<double>()[tm] =
        engram_alpha_store(engram_sigmoid(engram_signed_sqrt(double(test.out("score").data<float>()[tm]), p.sign_zero)));
  }
  Tensor wv("v_gated (own alpha)", DType::F64, {T, M, d});
  const float* v = ref.in("value").data<float>();
  const float* a = test.out("alpha").data<float>();
  for (int64_t tm = 0; tm < T * M; ++tm)
    for (int64_t i = 0; i < d; ++i) wv.data<double>()[tm * d + i] = double(a[tm]) * v[(tm / M) * d + i];
  return {check_close(gs, ws, {1e-5, 0, -1, "FP32 dot vs FP64: |Δs| ≤ 1e-5·Σ|q̂·k̂|/√d, scaled to abs"}),
          check_close(test.out("alpha"), wa, {1e-6, 0, -1, "FP32 sigmoid(signed sqrt) of own score vs FP64"}),
          check_close(test.out("v_gated"), wv, {0, 1.2e-7, -1, "one FP32 rounding of α·v (2^-24, with margin)"})};
}

// y: FP32 norm (rel ~3e-7), 4–16 FP32 taps and an FP32 SiLU (own exp, rel 2e-7). The taps sum can
// cancel, so its rounding error scales with S = Σ_j |w_j·x̂_j| (the sum's condition), not with |y|:
// both sides are divided by max(1, S), computed here in FP64 from the inputs, and then checked at
// abs 2e-6 + rel 1e-5 — i.e. |Δy| ≤ 2e-6·max(1, S) + 1e-5·|y|. How the compiler contracts the taps
// into FMAs (-O1 vs -O3 builds) moves single elements by a few 1e-6 where S is large.
std::vector<CheckResult> verify_conv(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const EngramConvParams p = engram_conv_params_from(pm);
  const int64_t T = p.n_tokens, d = p.d_model, C = p.channels(), L = p.history();
  const int w = p.conv_kernel, dl = p.conv_dilation;
  const float *vg = ref.in("v_gated").data<float>(), *nw = ref.in("norm_w").data<float>(),
              *cw = ref.in("conv_w").data<float>(), *st = ref.in("state").data<float>();
  std::vector<double> xa(size_t((T + L) * C));  // |x̂| at positions −L..T−1
  for (int64_t i = 0; i < L * C; ++i) xa[size_t(i)] = std::fabs(st[i]);
  for (int64_t t = 0; t < T; ++t)
    for (int m = 0; m < p.hc; ++m) {
      const float* x = vg + t * C + m * d;
      double ss = 0;
      for (int64_t i = 0; i < d; ++i) ss += double(x[i]) * x[i];
      const double r = 1.0 / std::sqrt(ss / double(d) + p.conv_norm_eps);
      for (int64_t i = 0; i < d; ++i) xa[size_t((L + t) * C + m * d + i)] = std::fabs(x[i] * r * nw[m * d + i]);
    }
  Tensor gs("y / max(1, S)", DType::F64, {T, C}), ws("y_ref / max(1, S)", DType::F64, {T, C});
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double S = 0;
      for (int j = 0; j < w; ++j)
        if (t - int64_t(j) * dl >= -L) S += std::fabs(double(cw[c * w + (w - 1 - j)])) * xa[size_t((L + t - j * dl) * C + c)];
      const double k = std::max(1.0, S);
      gs.data<double>()[t * C + c] = double(test.out("y").data<float>()[t * C + c]) / k;
      ws.data<double>()[t * C + c] = double(ref.out("y").data<float>()[t * C + c]) / k;
    }
  return {check_close(gs, ws, {2e-6, 1e-5, -1, "FP32 RMSNorm + taps + SiLU vs FP64, scaled by the taps' condition S"}),
          check_close(test.out("state_out"), ref.out("state_out"), {1e-6, 2e-6, -1, "FP32 RMSNorm vs FP64"})};
}

}  // namespace

void register_engram_kernels() {
  OpKernels hash, gather, gate, conv;
  hash.op = "engram_hash";
  hash.make_io = make_hash_io;
  hash.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_hash(engram_hash_ref, pm, io); };
  hash.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_hash(engram_hash_cpu, pm, io); };
  hash.verify = verify_hash;

  gather.op = "engram_gather";
  gather.make_io = make_gather_io;
  gather.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) {
    return prepare_gather(engram_gather_ref, pm, io);
  };
  gather.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) {
    return prepare_gather(engram_gather_cpu, pm, io);
  };
  gather.verify = verify_gather;

  gate.op = "engram_gate";
  gate.make_io = make_gate_io;
  gate.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_gate(engram_gate_ref, pm, io); };
  gate.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_gate(engram_gate_cpu, pm, io); };
  gate.verify = verify_gate;

  conv.op = "engram_conv";
  conv.make_io = make_conv_io;
  conv.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_conv(engram_conv_ref, pm, io); };
  conv.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_conv(engram_conv_cpu, pm, io); };
  conv.verify = verify_conv;

#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  hash.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    engram_check_io(EngramOp::Hash, pm, io);
    return engram_prepare_cuda(EngramOp::Hash, pm, io);
  };
  gather.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    engram_check_io(EngramOp::Gather, pm, io);
    return engram_prepare_cuda(EngramOp::Gather, pm, io);
  };
  gate.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    engram_check_io(EngramOp::Gate, pm, io);
    return engram_prepare_cuda(EngramOp::Gate, pm, io);
  };
  conv.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    engram_check_io(EngramOp::Conv, pm, io);
    return engram_prepare_cuda(EngramOp::Conv, pm, io);
  };
#endif

  register_kernels(std::move(hash));
  register_kernels(std::move(gather));
  register_kernels(std::move(gate));
  register_kernels(std::move(conv));
}

}  // namespace v4lab::kernels
