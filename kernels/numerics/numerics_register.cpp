// numerics_register.cpp — registry entries for rmsnorm, rope and swiglu (specs/attention.md §1.1–1.3,
// §1.7; specs/moe.md "Experts"): seeded inputs at realistic scales, prepare per backend (ref, cpu, and
// cuda in CUDA builds) and verification with per-dtype tolerances (docs/kernels/numerics.md).
#include <algorithm>
#include <cmath>

#include "kernels/detail/fill.h"
#include "kernels/numerics/numerics.h"
#include "core/check.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/numerics/numerics_cuda.h"
#endif

namespace v4lab::kernels {

RmsNormParams rmsnorm_params_from(const ParamMap& pm) {
  RmsNormParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.width = param_i(pm, "width");
  if (pm.count("weighted")) p.weighted = param_i(pm, "weighted") != 0;
  if (pm.count("eps")) p.eps = pm.at("eps");
  return p;
}

RopeParams rope_params_from(const ParamMap& pm) {
  RopeParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  if (pm.count("n_heads")) p.n_heads = param_i(pm, "n_heads");
  if (pm.count("d_head")) p.d_head = param_i(pm, "d_head");
  if (pm.count("d_rope")) p.d_rope = static_cast<int>(param_i(pm, "d_rope"));
  if (pm.count("rope_offset")) p.rope_offset = param_i(pm, "rope_offset");
  if (pm.count("interleaved")) p.interleaved = param_i(pm, "interleaved") != 0;
  if (pm.count("inverse")) p.inverse = param_i(pm, "inverse") != 0;
  if (pm.count("theta")) p.theta = pm.at("theta");
  if (pm.count("yarn_factor")) p.yarn_factor = pm.at("yarn_factor");
  if (pm.count("yarn_orig_len")) p.yarn_orig_len = pm.at("yarn_orig_len");
  if (pm.count("beta_fast")) p.beta_fast = pm.at("beta_fast");
  if (pm.count("beta_slow")) p.beta_slow = pm.at("beta_slow");
  if (pm.count("pos0")) p.pos0 = param_i(pm, "pos0");
  if (pm.count("fp32_angles")) p.fp32_angles = param_i(pm, "fp32_angles") != 0;
  return p;
}

SwigluParams swiglu_params_from(const ParamMap& pm) {
  SwigluParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.width = param_i(pm, "width");
  if (pm.count("limit")) p.limit = static_cast<float>(pm.at("limit"));
  return p;
}

namespace {

KernelIO alloc_io(NumericsOp op, const ParamMap& pm) {
  KernelIO io;
  for (auto& s : numerics_io_spec(op, pm)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

// x ~ N(0, 1) BF16 (activations after a projection); trained norm weights sit around 1: U(0.5, 1.5).
KernelIO make_rmsnorm_io(const ParamMap& pm, uint64_t seed) {
  rmsnorm_params_from(pm).validate();
  KernelIO io = alloc_io(NumericsOp::RmsNorm, pm);
  fill_bf16_normal(io.in("x"), rng_for(seed, 0));
  fill_uniform(io.in("weight"), rng_for(seed, 1), 0.5, 1.5);
  return io;
}

KernelIO make_rope_io(const ParamMap& pm, uint64_t seed) {
  rope_params_from(pm).validate();
  KernelIO io = alloc_io(NumericsOp::Rope, pm);
  fill_bf16_normal(io.in("x"), rng_for(seed, 0));
  return io;
}

// g, u ~ N(0, 4²): about 1.2% of the values lie beyond L = 10, so both clamps are exercised.
KernelIO make_swiglu_io(const ParamMap& pm, uint64_t seed) {
  swiglu_params_from(pm).validate();
  KernelIO io = alloc_io(NumericsOp::Swiglu, pm);
  fill_normal(io.in("g"), rng_for(seed, 0), 4.0);
  fill_normal(io.in("u"), rng_for(seed, 1), 4.0);
  return io;
}

using RmsFn = void (*)(const RmsNormParams&, const uint16_t*, const float*, uint16_t*);
using RopeFn = void (*)(const RopeParams&, const uint16_t*, float*, uint16_t*);
using SwigluFn = void (*)(const SwigluParams&, const float*, const float*, float*);

PreparedRun prepare_rmsnorm(RmsFn fn, const ParamMap& pm, KernelIO& io) {
  numerics_check_io(NumericsOp::RmsNorm, pm, io);
  const RmsNormParams p = rmsnorm_params_from(pm);
  PreparedRun r;
  r.launch = [=, x = io.in("x").data<uint16_t>(), w = io.in("weight").data<float>(),
              y = io.out("y").data<uint16_t>()] { fn(p, x, w, y); };
  return r;
}

PreparedRun prepare_rope(RopeFn fn, const ParamMap& pm, KernelIO& io) {
  numerics_check_io(NumericsOp::Rope, pm, io);
  const RopeParams p = rope_params_from(pm);
  PreparedRun r;
  r.launch = [=, x = io.in("x").data<uint16_t>(), cs = io.out("cos_sin").data<float>(),
              y = io.out("y").data<uint16_t>()] { fn(p, x, cs, y); };
  return r;
}

PreparedRun prepare_swiglu(SwigluFn fn, const ParamMap& pm, KernelIO& io) {
  numerics_check_io(NumericsOp::Swiglu, pm, io);
  const SwigluParams p = swiglu_params_from(pm);
  PreparedRun r;
  r.launch = [=, g = io.in("g").data<float>(), u = io.in("u").data<float>(), h = io.out("h").data<float>()] {
    fn(p, g, u, h);
  };
  return r;
}

// ---------------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------------
constexpr double kBf16Rel = 1.0 / 128;   // 2^-7: on BF16-valued outputs, rel ≤ 2^-7 ⇔ within 1 BF16 ulp
constexpr double kU32 = 1.0 / 16777216;  // 2^-24, FP32 unit roundoff
constexpr double kF32MinNormal = 0x1.0p-126;

// y = x·r·w is a product (no cancellation), so the FP32 result is within a few ulps of FP64 relative
// to |y| everywhere; 1 BF16 ulp of the FP64 value covers that plus the double rounding. The abs part
// only covers results in the FP32/BF16 subnormal range, where relative error is meaningless.
std::vector<CheckResult> verify_rmsnorm(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  return {check_close(test.out("y"), ref.out("y"),
                      {8 * kF32MinNormal, kBf16Rel, -1,
                       "BF16 out: 1 BF16 ulp of the FP64 value (FP32 sum of squares, then 2 products); abs: subnormals"})};
}

// cos_sin: FP64 angles rounded to FP32 give the same bits on every host backend; a device's FP64
// cos/sin may round the other way once: 1 FP32 ulp at 1 (2^-23). Under fp32_angles the device's
// powf/cosf/sinf differ from the host's: the spec's angle tolerance 4e-7·pos·f' (f' <= 1).
// y: 1 BF16 ulp of the FP64 rotation of the reference's table, or near 0 (u·c − v·s cancels) the FP32
// bound 4u·max|x|, plus max|x|·(table difference) when the backends' tables may differ.
std::vector<CheckResult> verify_rope(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const RopeParams p = rope_params_from(pm);
  const double pos_max = double(p.pos0 + std::max<int64_t>(p.n_tokens - 1, 0));
  const double table_tol = kU32 * 2 + (p.fp32_angles ? 4e-7 * pos_max + 4 * kU32 : 0.0);
  const double x_max = max_abs(ref.in("x"));
  std::vector<CheckResult> out;
  out.push_back(check_close(test.out("cos_sin"), ref.out("cos_sin"),
                            {table_tol, 0, -1,
                             p.fp32_angles ? "FP32 angles: 4e-7·pos rad (spec §1.2) + 2 FP32 ulps"
                                           : "FP64 angles stored FP32: 1 FP32 ulp at 1 (device cos/sin may round once "
                                             "the other way)"}));
  out.push_back(check_close(test.out("y"), ref.out("y"),
                            {4 * kU32 * x_max + 2 * x_max * table_tol, kBf16Rel, -1,
                             "BF16 out: 1 BF16 ulp of FP64 rotation, or FP32 bound 4u·max|x| (+ table tol) near 0"}));
  return out;
}

// h = silu(g)·u: FP32 exp (≤ 2 ulp on host and device) + 3 correctly rounded ops ≈ 4 ulp ≈ 2.4e-7
// relative; rel 1e-6 leaves margin. abs: silu(g) for g ≲ −87 is FP32-subnormal or flushes to −0.
std::vector<CheckResult> verify_swiglu(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  return {check_close(test.out("h"), ref.out("h"),
                      {2 * kF32MinNormal, 1e-6, -1, "FP32 out: expf + 3 ops ≈ 4 ulp vs FP64; abs: subnormal tail"})};
}

}  // namespace

void register_numerics_kernels() {
  OpKernels rms;
  rms.op = "rmsnorm";
  rms.make_io = make_rmsnorm_io;
  rms.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_rmsnorm(rmsnorm_ref, pm, io); };
  rms.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_rmsnorm(rmsnorm_cpu, pm, io); };
  rms.verify = verify_rmsnorm;

  OpKernels rope;
  rope.op = "rope";
  rope.make_io = make_rope_io;
  rope.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_rope(rope_ref, pm, io); };
  rope.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_rope(rope_cpu, pm, io); };
  rope.verify = verify_rope;

  OpKernels sw;
  sw.op = "swiglu";
  sw.make_io = make_swiglu_io;
  sw.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_swiglu(swiglu_ref, pm, io); };
  sw.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_swiglu(swiglu_cpu, pm, io); };
  sw.verify = verify_swiglu;

#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  rms.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    numerics_check_io(NumericsOp::RmsNorm, pm, io);
    return numerics_prepare_cuda(NumericsOp::RmsNorm, pm, io);
  };
  rope.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    numerics_check_io(NumericsOp::Rope, pm, io);
    return numerics_prepare_cuda(NumericsOp::Rope, pm, io);
  };
  sw.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    numerics_check_io(NumericsOp::Swiglu, pm, io);
    return numerics_prepare_cuda(NumericsOp::Swiglu, pm, io);
  };
#endif

  register_kernels(std::move(rms));
  register_kernels(std::move(rope));
  register_kernels(std::move(sw));
}

}  // namespace v4lab::kernels
