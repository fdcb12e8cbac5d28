// quant_register.cpp — params, tensor contract and registry entries of the quant family
// (specs/quant.md): quant_fp8, dequant_fp8, quant_fp4, dequant_fp4, hadamard, gemm_fp8, gemm_fp8_fp4.
// Seeded inputs (Gaussian with outlier channels; GEMM operands quantized by the _cpu quantizers),
// prepare per backend, and verification: codes, scales and counts exactly equal to _ref; Hadamard
// within the FP32 FWHT bound; GEMMs within |Δ| ≤ 1e-5·Σ|terms| of the FP64 value (spec Precision).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "kernels/detail/fill.h"
#include "kernels/quant/quant.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/quant/quant_cuda.h"
#endif

namespace v4lab::kernels {

namespace {
[[noreturn]] void bad(const std::string& field, double v, const std::string& accepted) {
  throw config_error(field + " = " + std::to_string(v) + " is invalid; accepted: " + accepted, "quant");
}
bool is_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }
constexpr int64_t kMaxDim = int64_t(1) << 31;
}  // namespace

void QuantFp8Params::validate() const {
  if (rows < 0 || rows > kMaxDim) bad("n_tokens (rows)", double(rows), "0..2^31");
  if (k < 0 || k > kMaxDim) bad("k", double(k), "0..2^31");
  if (block != 128 && block != 64) bad("block", block, "128 (1x128 activations, 128x128 weights) or 64 (KV tiles)");
  if (block_rows != 1 && block_rows != 128) bad("block_rows", block_rows, "1 (activation) or 128 (weight 128x128)");
  if (block_rows == 128 && block != 128) bad("block", block, "128 when block_rows = 128");
  if (!pad && k % block != 0) bad("k", double(k), "a multiple of block = " + std::to_string(block) + " (or pad = 1)");
  if (!(a_floor >= 448.0f * 0x1p-127f && a_floor <= 1e30f)) bad("a_floor", a_floor, "[448*2^-127, 1e30]");
}

void QuantFp4Params::validate() const {
  if (rows < 0 || rows > kMaxDim) bad("n_tokens (rows)", double(rows), "0..2^31");
  if (k < 0 || k > kMaxDim || k % 2 != 0) bad("k", double(k), "even, 0..2^31 (two e2m1 codes per byte)");
  if (!pad && k % kBlock != 0) bad("k", double(k), "a multiple of 32 (or pad = 1)");
  if (!(a_floor >= 6.0f * 0x1p-127f && a_floor <= 1e30f)) bad("a_floor", a_floor, "[6*2^-127, 1e30]");
}

void HadamardParams::validate() const {
  if (rows < 0 || rows > kMaxDim) bad("n_tokens (rows)", double(rows), "0..2^31");
  if (!is_pow2(n) || n > 65536) bad("n", double(n), "a power of two in 1..65536");
}

void GemmQParams::validate() const {
  if (m < 0 || m > kMaxDim) bad("n_tokens (m)", double(m), "0..2^31");
  if (n < 0 || n > kMaxDim) bad("n", double(n), "0..2^31");
  if (k < 0 || k > kMaxDim || k % 128 != 0) bad("k", double(k), "a multiple of 128 (activation 1x128 blocks)");
}

QuantOp quant_op_of(const std::string& op) {
  static const std::pair<const char*, QuantOp> names[] = {
      {"quant_fp8", QuantOp::QuantFp8}, {"dequant_fp8", QuantOp::DequantFp8}, {"quant_fp4", QuantOp::QuantFp4},
      {"dequant_fp4", QuantOp::DequantFp4}, {"hadamard", QuantOp::Hadamard}, {"gemm_fp8", QuantOp::GemmFp8},
      {"gemm_fp8_fp4", QuantOp::GemmFp8Fp4}};
  for (auto& [n, o] : names)
    if (op == n) return o;
  throw config_error("not a quant op: " + op);
}

namespace {
double get_or(const ParamMap& pm, const char* key, double def) {
  auto it = pm.find(key);
  return it == pm.end() ? def : it->second;
}
ScaleFmt scale_fmt_of(const ParamMap& pm) {
  const double v = get_or(pm, "scale_fmt", 0);
  if (v != 0 && v != 1) bad("scale_fmt", v, "0 (UE8M0) or 1 (FP32)");
  return v == 0 ? ScaleFmt::Ue8m0 : ScaleFmt::F32;
}
bool flag_of(const ParamMap& pm, const char* key, const char* accepted) {
  const double v = get_or(pm, key, 0);
  if (v != 0 && v != 1) bad(key, v, accepted);
  return v == 1;
}
}  // namespace

QuantFp8Params quant_fp8_params_from(const ParamMap& pm) {
  QuantFp8Params p;
  p.rows = int64_t(get_or(pm, "n_tokens", 0));
  p.k = int64_t(get_or(pm, "k", 4096));
  p.block = int(get_or(pm, "block", 128));
  p.block_rows = int(get_or(pm, "block_rows", 1));
  p.scale_fmt = scale_fmt_of(pm);
  p.a_floor = float(get_or(pm, "a_floor", kFp8AmaxFloor));
  p.in_bf16 = !flag_of(pm, "in_dtype", "0 (BF16) or 1 (FP32)");
  p.pad = flag_of(pm, "pad", "0 or 1");
  return p;
}
QuantFp4Params quant_fp4_params_from(const ParamMap& pm) {
  QuantFp4Params p;
  p.rows = int64_t(get_or(pm, "n_tokens", 0));
  p.k = int64_t(get_or(pm, "k", 4096));
  p.a_floor = float(get_or(pm, "a_floor", kFp4AmaxFloor));
  p.in_bf16 = !flag_of(pm, "in_dtype", "0 (BF16) or 1 (FP32)");
  p.pad = flag_of(pm, "pad", "0 or 1");
  return p;
}
HadamardParams hadamard_params_from(const ParamMap& pm) {
  HadamardParams p;
  p.rows = int64_t(get_or(pm, "n_tokens", 0));
  p.n = int64_t(get_or(pm, "n", 128));
  return p;
}
GemmQParams gemm_q_params_from(const ParamMap& pm) {
  GemmQParams p;
  p.m = int64_t(get_or(pm, "n_tokens", 0));
  p.k = int64_t(get_or(pm, "k", 4096));
  p.n = int64_t(get_or(pm, "n", 2048));
  p.scale_fmt = scale_fmt_of(pm);
  p.out_bf16 = !flag_of(pm, "out_dtype", "0 (BF16) or 1 (FP32)");
  return p;
}

std::vector<QuantTensorSpec> quant_io_spec(QuantOp op, const ParamMap& pm) {
  const DType I64 = DType::I64, U8 = DType::U8;
  switch (op) {
    case QuantOp::QuantFp8:
    case QuantOp::DequantFp8: {
      const QuantFp8Params p = quant_fp8_params_from(pm);
      p.validate();
      const DType sd = p.scale_fmt == ScaleFmt::Ue8m0 ? U8 : DType::F32;
      const std::vector<int64_t> xs{p.rows, p.k}, ss{p.row_blocks(), p.k_blocks()};
      if (op == QuantOp::QuantFp8)
        return {{"x", p.in_bf16 ? DType::BF16 : DType::F32, xs, true},
                {"codes", U8, xs, false},
                {"scales", sd, ss, false},
                {"nonfinite_count", I64, {1}, false}};
      return {{"codes", U8, xs, true}, {"scales", sd, ss, true}, {"y", DType::F32, xs, false},
              {"nonfinite_count", I64, {1}, false}};
    }
    case QuantOp::QuantFp4:
    case QuantOp::DequantFp4: {
      const QuantFp4Params p = quant_fp4_params_from(pm);
      p.validate();
      const std::vector<int64_t> xs{p.rows, p.k}, cs{p.rows, p.k / 2}, ss{p.rows, p.k_blocks()};
      if (op == QuantOp::QuantFp4)
        return {{"x", p.in_bf16 ? DType::BF16 : DType::F32, xs, true},
                {"codes", U8, cs, false},
                {"scales", U8, ss, false},
                {"nonfinite_count", I64, {1}, false}};
      return {{"codes", U8, cs, true}, {"scales", U8, ss, true}, {"y", DType::F32, xs, false},
              {"nonfinite_count", I64, {1}, false}};
    }
    case QuantOp::Hadamard: {
      const HadamardParams p = hadamard_params_from(pm);
      p.validate();
      return {{"x", DType::F32, {p.rows, p.n}, true}, {"y", DType::F32, {p.rows, p.n}, false}};
    }
    case QuantOp::GemmFp8:
    case QuantOp::GemmFp8Fp4: {
      const GemmQParams p = gemm_q_params_from(pm);
      p.validate();
      const DType sd = p.scale_fmt == ScaleFmt::Ue8m0 ? U8 : DType::F32;
      std::vector<QuantTensorSpec> v{{"a_codes", U8, {p.m, p.k}, true}, {"a_scales", sd, {p.m, p.k / 128}, true}};
      if (op == QuantOp::GemmFp8) {
        v.push_back({"b_codes", U8, {p.n, p.k}, true});
        v.push_back({"b_scales", sd, {p.n_blocks(), p.k / 128}, true});
      } else {
        v.push_back({"b_codes", U8, {p.n, p.k / 2}, true});
        v.push_back({"b_scales", U8, {p.n, p.k / 32}, true});
      }
      v.push_back({"c", p.out_bf16 ? DType::BF16 : DType::F32, {p.m, p.n}, false});
      return v;
    }
  }
  return {};
}

void quant_check_io(QuantOp op, const ParamMap& pm, const KernelIO& io) {
  for (const auto& s : quant_io_spec(op, pm)) {
    const Tensor& t = s.input ? io.in(s.name) : io.out(s.name);
    if (t.dtype() != s.dtype || t.shape() != s.shape) {
      throw config_error("tensor " + s.name + ": expected " + dtype_name(s.dtype) + " of the op's shape, got " +
                             dtype_name(t.dtype()) + " " + t.shape_str(),
                         "quant");
    }
  }
}

namespace {

KernelIO alloc_io(QuantOp op, const ParamMap& pm) {
  KernelIO io;
  for (auto& s : quant_io_spec(op, pm)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

// N(0, sd²) with every 37th channel ×20 (the outlier channels of real activations), BF16 or F32.
void fill_activation(Tensor& t, Rng rng, double sd) {
  const int64_t cols = t.shape().size() == 2 ? t.shape()[1] : 1;
  const bool bf = t.dtype() == DType::BF16;
  fill_normal_pairs(t.numel(), rng, [&](int64_t i, double v) {
    const float f = float(sd * v * ((i % cols) % 37 == 5 ? 20.0 : 1.0));
    if (bf) {
      t.data<uint16_t>()[i] = bf16_from_f32(f);
    } else {
      t.data<float>()[i] = f;
    }
  });
}

// FP8 codes + scales of a seeded BF16 matrix [rows, k] (activation 1×128 or weight 128×128).
void make_fp8_operand(int64_t rows, int64_t k, int block_rows, ScaleFmt fmt, double sd, Rng rng, Tensor& codes,
                      Tensor& scales) {
  Tensor x("x", DType::BF16, {rows, k});
  fill_activation(x, rng, sd);
  QuantFp8Params q;
  q.rows = rows, q.k = k, q.block_rows = block_rows, q.scale_fmt = fmt;
  int64_t cnt = 0;
  quant_fp8_cpu(q, x.raw(), codes.data<uint8_t>(), scales.raw(), &cnt);
}

void make_fp4_operand(int64_t rows, int64_t k, double sd, Rng rng, Tensor& codes, Tensor& scales) {
  Tensor x("x", DType::BF16, {rows, k});
  fill_activation(x, rng, sd);
  QuantFp4Params q;
  q.rows = rows, q.k = k, q.pad = k % 32 != 0;
  int64_t cnt = 0;
  quant_fp4_cpu(q, x.raw(), codes.data<uint8_t>(), scales.data<uint8_t>(), &cnt);
}

KernelIO make_io(QuantOp op, const ParamMap& pm, uint64_t seed) {
  KernelIO io = alloc_io(op, pm);
  switch (op) {
    case QuantOp::QuantFp8:
    case QuantOp::QuantFp4:
      fill_activation(io.in("x"), rng_for(seed, 0), 1.0);
      break;
    case QuantOp::Hadamard:
      fill_activation(io.in("x"), rng_for(seed, 0), 1.0);
      break;
    case QuantOp::DequantFp8: {
      const QuantFp8Params p = quant_fp8_params_from(pm);
      Tensor x("x", DType::BF16, {p.rows, p.k});
      fill_activation(x, rng_for(seed, 0), 1.0);
      QuantFp8Params q = p;
      q.in_bf16 = true;
      int64_t cnt = 0;
      quant_fp8_cpu(q, x.raw(), io.in("codes").data<uint8_t>(), io.in("scales").raw(), &cnt);
      break;
    }
    case QuantOp::DequantFp4: {
      const QuantFp4Params p = quant_fp4_params_from(pm);
      make_fp4_operand(p.rows, p.k, 1.0, rng_for(seed, 0), io.in("codes"), io.in("scales"));
      break;
    }
    case QuantOp::GemmFp8:
    case QuantOp::GemmFp8Fp4: {
      const GemmQParams p = gemm_q_params_from(pm);
      make_fp8_operand(p.m, p.k, 1, p.scale_fmt, 1.0, rng_for(seed, 0), io.in("a_codes"), io.in("a_scales"));
      if (op == QuantOp::GemmFp8) {
        make_fp8_operand(p.n, p.k, 128, p.scale_fmt, 0.02, rng_for(seed, 1), io.in("b_codes"), io.in("b_scales"));
      } else {
        make_fp4_operand(p.n, p.k, 0.02, rng_for(seed, 1), io.in("b_codes"), io.in("b_scales"));
      }
      break;
    }
  }
  return io;
}

// ---- host prepare: one closure per op over the io's buffers ----
struct HostFns {
  decltype(&quant_fp8_ref) quant_fp8;
  decltype(&dequant_fp8_ref) dequant_fp8;
  decltype(&quant_fp4_ref) quant_fp4;
  decltype(&dequant_fp4_ref) dequant_fp4;
  decltype(&hadamard_ref) hadamard;
  decltype(&gemm_fp8_ref) gemm_fp8;
  decltype(&gemm_fp8_fp4_ref) gemm_fp8_fp4;
};
const HostFns kRefFns{quant_fp8_ref,  dequant_fp8_ref, quant_fp4_ref,   dequant_fp4_ref,
                      hadamard_ref,   gemm_fp8_ref,    gemm_fp8_fp4_ref};
const HostFns kCpuFns{quant_fp8_cpu,  dequant_fp8_cpu, quant_fp4_cpu,   dequant_fp4_cpu,
                      hadamard_cpu,   gemm_fp8_cpu,    gemm_fp8_fp4_cpu};

PreparedRun prepare_host(const HostFns& f, QuantOp op, const ParamMap& pm, KernelIO& io) {
  quant_check_io(op, pm, io);
  PreparedRun r;
  switch (op) {
    case QuantOp::QuantFp8:
      r.launch = [fn = f.quant_fp8, p = quant_fp8_params_from(pm), x = io.in("x").raw(),
                  c = io.out("codes").data<uint8_t>(), s = io.out("scales").raw(),
                  n = io.out("nonfinite_count").data<int64_t>()] { fn(p, x, c, s, n); };
      break;
    case QuantOp::DequantFp8:
      r.launch = [fn = f.dequant_fp8, p = quant_fp8_params_from(pm), c = io.in("codes").data<uint8_t>(),
                  s = io.in("scales").raw(), y = io.out("y").data<float>(),
                  n = io.out("nonfinite_count").data<int64_t>()] { fn(p, c, s, y, n); };
      break;
    case QuantOp::QuantFp4:
      r.launch = [fn = f.quant_fp4, p = quant_fp4_params_from(pm), x = io.in("x").raw(),
                  c = io.out("codes").data<uint8_t>(), s = io.out("scales").data<uint8_t>(),
                  n = io.out("nonfinite_count").data<int64_t>()] { fn(p, x, c, s, n); };
      break;
    case QuantOp::DequantFp4:
      r.launch = [fn = f.dequant_fp4, p = quant_fp4_params_from(pm), c = io.in("codes").data<uint8_t>(),
                  s = io.in("scales").data<uint8_t>(), y = io.out("y").data<float>(),
                  n = io.out("nonfinite_count").data<int64_t>()] { fn(p, c, s, y, n); };
      break;
    case QuantOp::Hadamard:
      r.launch = [fn = f.hadamard, p = hadamard_params_from(pm), x = io.in("x").data<float>(),
                  y = io.out("y").data<float>()] { fn(p, x, y); };
      break;
    case QuantOp::GemmFp8:
      r.launch = [fn = f.gemm_fp8, p = gemm_q_params_from(pm), a = io.in("a_codes").data<uint8_t>(),
                  sa = io.in("a_scales").raw(), b = io.in("b_codes").data<uint8_t>(), sb = io.in("b_scales").raw(),
                  c = io.out("c").raw()] { fn(p, a, sa, b, sb, c); };
      break;
    case QuantOp::GemmFp8Fp4:
      r.launch = [fn = f.gemm_fp8_fp4, p = gemm_q_params_from(pm), a = io.in("a_codes").data<uint8_t>(),
                  sa = io.in("a_scales").raw(), b = io.in("b_codes").data<uint8_t>(),
                  sb = io.in("b_scales").data<uint8_t>(), c = io.out("c").raw()] { fn(p, a, sa, b, sb, c); };
      break;
  }
  return r;
}

// ---- verify ----
const Tolerance kExact{0, 0, -1, "bit-exact: every backend encodes through quant_math.h (spec: codes and scales "
                                 "agree bit for bit)"};

std::vector<CheckResult> verify_exact(const KernelIO& test, const KernelIO& ref) {
  std::vector<CheckResult> out;
  for (const auto& t : ref.outputs) out.push_back(check_close(test.out(t.name()), t, kExact));
  return out;
}

// FWHT in FP32: the error of stage j is ≤ u·‖stage j‖ and the stages are √2-scaled orthogonal, so
// ‖ŷ − y‖₂ ≤ (log2 n + 1)·u·‖x‖₂ (+ the final rounding): abs (log2 n + 2)·2^-24·max_row ‖x‖₂.
std::vector<CheckResult> verify_hadamard(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const HadamardParams p = hadamard_params_from(pm);
  const float* x = ref.in("x").data<float>();
  double norm = 0;
  for (int64_t r = 0; r < p.rows; ++r) {
    double s = 0;
    for (int64_t i = 0; i < p.n; ++i) s += double(x[r * p.n + i]) * x[r * p.n + i];
    if (std::isfinite(s)) norm = std::max(norm, std::sqrt(s));
  }
  const double stages = std::log2(double(p.n));
  return {check_close(test.out("y"), ref.out("y"),
                      {(stages + 2) * 0x1p-24 * norm, 0, -1, "FP32 FWHT bound (log2 n + 2)·u·‖x‖₂ vs FP64"})};
}

}  // namespace

// The FP64 value of C and Σ|terms| (terms s_a·s_b·a_k·b_k), from the decoded codes; see quant.h.
void gemm_q_exact(QuantOp op, const GemmQParams& p, const KernelIO& io, std::vector<double>& value,
                  std::vector<double>& abs_terms) {
  const int64_t K = p.k, g = op == QuantOp::GemmFp8 ? 128 : 32, kg = K / g, kbn = K / 128;
  const uint8_t* a = io.in("a_codes").data<uint8_t>();
  const uint8_t* b = io.in("b_codes").data<uint8_t>();
  const void* sa = io.in("a_scales").raw();
  const void* sb = io.in("b_scales").raw();
  std::vector<float> af(size_t(p.m * K)), bf(size_t(p.n * K));
  for (int64_t i = 0; i < p.m * K; ++i) af[i] = fp8_e4m3_to_f32(a[i]);
  for (int64_t i = 0; i < p.n * K; ++i)
    bf[i] = op == QuantOp::GemmFp8 ? fp8_e4m3_to_f32(b[i])
                                   : fp4_e2m1_to_f32(i % 2 == 0 ? fp4_lo(b[i / 2]) : fp4_hi(b[i / 2]));
  value.assign(size_t(p.m * p.n), 0.0);
  abs_terms.assign(size_t(p.m * p.n), 0.0);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t m = 0; m < p.m; ++m)
    for (int64_t n = 0; n < p.n; ++n) {
      double v = 0, t = 0;
      for (int64_t j = 0; j < kg; ++j) {
        double P = 0, Q = 0;
        const float* ar = af.data() + m * K + j * g;
        const float* br = bf.data() + n * K + j * g;
#pragma omp simd reduction(+ : P, Q)
        for (int64_t i = 0; i < g; ++i) {
          const double q = double(ar[i]) * double(br[i]);
          P += q;
          Q += std::fabs(q);
        }
        const double s = double(scale_at(sa, p.scale_fmt, m * kbn + j * g / 128)) *
                         (op == QuantOp::GemmFp8 ? double(scale_at(sb, p.scale_fmt, (n / 128) * kbn + j))
                                                 : double(ue8m0_to_f32(static_cast<const uint8_t*>(sb)[n * kg + j])));
        v += s * P;
        t += std::fabs(s) * Q;
      }
      value[m * p.n + n] = v;
      abs_terms[m * p.n + n] = t;
    }
}

namespace {

// Per element: |c − C64| ≤ 1e-5·Σ|terms| (FP32 out), or ≤ max(1 BF16 ulp of C64, 1e-5·Σ|terms|) (BF16
// out). Reported as the ratio |Δ|/allowed, which must be ≤ 1; non-finite values must match in kind.
std::vector<CheckResult> verify_gemm(QuantOp op, const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const GemmQParams p = gemm_q_params_from(pm);
  std::vector<double> value, terms;
  gemm_q_exact(op, p, ref, value, terms);
  const Tensor& c = test.out("c");
  Tensor ratio("c: |c - C_fp64| / allowed", DType::F64, c.shape()), zero("c (|c - C_fp64| / allowed)", DType::F64, c.shape());
  double* r = ratio.data<double>();
  for (int64_t i = 0; i < c.numel(); ++i) {
    const double got = c.get(i), want = value[i];
    if (!std::isfinite(want) || !std::isfinite(got)) {
      const bool same = (std::isnan(want) && std::isnan(got)) || got == want;
      r[i] = same ? 0.0 : std::nan("");
      continue;
    }
    double allowed = 1e-5 * terms[i];
    if (p.out_bf16) allowed = std::max(allowed, bf16_ulp(want));
    const double d = std::fabs(got - want);
    r[i] = d == 0 ? 0.0 : d / allowed;
  }
  return {check_close(ratio, zero,
                      {1.0, 0, -1,
                       p.out_bf16 ? "BF16 C: within 1 BF16 ulp of the FP64 value or 1e-5·Σ|terms| (spec Precision)"
                                  : "FP32 C: |Δ| ≤ 1e-5·Σ|terms| of the FP64 value (spec Precision)"})};
}

void add(QuantOp op, const char* name) {
  OpKernels k;
  k.op = name;
  k.make_io = [op](const ParamMap& pm, uint64_t seed) { return make_io(op, pm, seed); };
  k.prepare[Backend::Ref] = [op](const ParamMap& pm, KernelIO& io) { return prepare_host(kRefFns, op, pm, io); };
  k.prepare[Backend::Cpu] = [op](const ParamMap& pm, KernelIO& io) { return prepare_host(kCpuFns, op, pm, io); };
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  k.prepare[Backend::Cuda] = [op](const ParamMap& pm, KernelIO& io) {
    quant_check_io(op, pm, io);
    return quant_prepare_cuda(op, pm, io);
  };
#endif
  if (op == QuantOp::Hadamard) {
    k.verify = verify_hadamard;
  } else if (op == QuantOp::GemmFp8 || op == QuantOp::GemmFp8Fp4) {
    k.verify = [op](const ParamMap& pm, const KernelIO& t, const KernelIO& r) { return verify_gemm(op, pm, t, r); };
  } else {
    k.verify = [](const ParamMap&, const KernelIO& t, const KernelIO& r) { return verify_exact(t, r); };
  }
  register_kernels(std::move(k));
}

}  // namespace

void register_quant_kernels() {
  add(QuantOp::QuantFp8, "quant_fp8");
  add(QuantOp::DequantFp8, "dequant_fp8");
  add(QuantOp::QuantFp4, "quant_fp4");
  add(QuantOp::DequantFp4, "dequant_fp4");
  add(QuantOp::Hadamard, "hadamard");
  add(QuantOp::GemmFp8, "gemm_fp8");
  add(QuantOp::GemmFp8Fp4, "gemm_fp8_fp4");
}

}  // namespace v4lab::kernels
