// mhc_register.cpp — registry entries for mhc_pre, mhc_post, mhc_head and the unconstrained-HC
// baseline hc_pre (specs/mhc.md): seeded inputs at realistic scales, prepare per backend (ref, cpu,
// and cuda in CUDA builds), and verification with the spec's Precision tolerances
// (docs/kernels/mhc.md explains each one).
#include <algorithm>
#include <cmath>

#include "core/error.h"

#include "core/rng.h"
#include "kernels/detail/fill.h"
#include "kernels/mhc/hc.h"
#include "kernels/mhc/mhc.h"
#include "core/check.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/mhc/mhc_cuda.h"
#endif

namespace v4lab::kernels {

MhcParams mhc_params_from(const ParamMap& pm) {
  MhcParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  p.hc = static_cast<int>(param_i(pm, "hc"));
  p.d_model = param_i(pm, "d_model");
  if (pm.count("iters")) p.iters = static_cast<int>(param_i(pm, "iters"));
  if (pm.count("hc_eps")) p.hc_eps = pm.at("hc_eps");
  if (pm.count("norm_eps")) p.norm_eps = pm.at("norm_eps");
  if (pm.count("sinkhorn_variant")) p.sinkhorn = static_cast<SinkhornVariant>(param_i(pm, "sinkhorn_variant"));
  return p;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------
KernelIO alloc_io(MhcOp op, const MhcParams& p) {
  KernelIO io;
  for (auto& s : mhc_io_spec(op, p)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  return io;
}

// X ~ N(0,1) in BF16 (so r ≈ 1); fn ~ N(0, 1/(n·d)) so fn·v·r ~ N(0, 1) like a trained projection;
// base ~ U(−1, 1); scale ~ U(0.5, 2): logits of order 1–3 with the row-sum tail of T1.
KernelIO make_prenorm_io(MhcOp op, const ParamMap& pm, uint64_t seed) {
  const MhcParams p = mhc_params_from(pm);
  p.validate();
  KernelIO io = alloc_io(op, p);
  fill_bf16_normal(io.in("X"), rng_for(seed, 0));
  fill_normal(io.in("fn"), rng_for(seed, 1), 1.0 / std::sqrt(double(p.k())));
  fill_uniform(io.in("base"), rng_for(seed, 2), -1, 1);
  fill_uniform(io.in("scale"), rng_for(seed, 3), 0.5, 2);
  return io;
}

// F, X ~ N(0,1) BF16; post ~ U(0, 2) (the range of 2σ); comb = Sinkhorn of N(0,1) logits per token.
KernelIO make_post_io(const ParamMap& pm, uint64_t seed) {
  const MhcParams p = mhc_params_from(pm);
  p.validate();
  KernelIO io = alloc_io(MhcOp::Post, p);
  fill_bf16_normal(io.in("F"), rng_for(seed, 0));
  fill_bf16_normal(io.in("X"), rng_for(seed, 1));
  fill_uniform(io.in("post"), rng_for(seed, 2), 0, 2);
  Rng rng = rng_for(seed, 3);
  float* comb = io.in("comb").data<float>();
  const int nn = p.hc * p.hc;
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    float* c = comb + t * nn;
    for (int k = 0; k < nn; ++k) c[k] = float(rng.normal());
    mhc_sinkhorn<float>(c, p.hc, 20, 1e-6f, SinkhornVariant::V4);
  }
  return io;
}

// ---------------------------------------------------------------------------------------------
// Prepare (host backends)
// ---------------------------------------------------------------------------------------------
using PreFn = void (*)(const MhcParams&, const uint16_t*, const float*, const float*, const float*, uint16_t*, float*,
                       float*, float*, float*);
using PostFn = void (*)(const MhcParams&, const uint16_t*, const uint16_t*, const float*, const float*, uint16_t*);
using HeadFn = void (*)(const MhcParams&, const uint16_t*, const float*, const float*, const float*, uint16_t*, float*,
                        float*);

PreparedRun prepare_pre(PreFn fn, const ParamMap& pm, KernelIO& io) {
  const MhcParams p = mhc_params_from(pm);
  mhc_check_io(MhcOp::Pre, p, io);
  PreparedRun r;
  r.launch = [=, x = io.in("X").data<uint16_t>(), w = io.in("fn").data<float>(), b = io.in("base").data<float>(),
              s = io.in("scale").data<float>(), y = io.out("y").data<uint16_t>(), pre = io.out("pre").data<float>(),
              post = io.out("post").data<float>(), comb = io.out("comb").data<float>(),
              mixes = io.out("mixes").data<float>()] { fn(p, x, w, b, s, y, pre, post, comb, mixes); };
  return r;
}

PreparedRun prepare_post(PostFn fn, const ParamMap& pm, KernelIO& io) {
  const MhcParams p = mhc_params_from(pm);
  mhc_check_io(MhcOp::Post, p, io);
  PreparedRun r;
  r.launch = [=, f = io.in("F").data<uint16_t>(), x = io.in("X").data<uint16_t>(), post = io.in("post").data<float>(),
              comb = io.in("comb").data<float>(),
              out = io.out("X_out").data<uint16_t>()] { fn(p, f, x, post, comb, out); };
  return r;
}

PreparedRun prepare_head(HeadFn fn, const ParamMap& pm, KernelIO& io) {
  const MhcParams p = mhc_params_from(pm);
  mhc_check_io(MhcOp::Head, p, io);
  PreparedRun r;
  r.launch = [=, x = io.in("X").data<uint16_t>(), w = io.in("fn").data<float>(), b = io.in("base").data<float>(),
              s = io.in("scale").data<float>(), y = io.out("y").data<uint16_t>(), pre = io.out("pre").data<float>(),
              mixes = io.out("mixes").data<float>()] { fn(p, x, w, b, s, y, pre, mixes); };
  return r;
}

// ---------------------------------------------------------------------------------------------
// Verify
// ---------------------------------------------------------------------------------------------
constexpr double kBf16Rel = 1.0 / 128;   // 2^-7: on BF16-valued outputs, rel ≤ 2^-7 ⇔ within 1 BF16 ulp
constexpr double kU32 = 1.0 / 16777216;  // 2^-24, FP32 unit roundoff

// mixes: |Δmix| ≤ 1e-5·r·Σ_k |fn[m,k]·v_k| (no element-relative test: mixes can cancel to ≈ 0). The
// bound differs per element, so both sides are divided by r·Σ|fn·v| and compared with abs 1e-5.
CheckResult check_mixes(const MhcParams& p, int rows, const KernelIO& test, const KernelIO& ref) {
  const int64_t T = p.n_tokens, K = p.k();
  const uint16_t* x = ref.in("X").data<uint16_t>();
  const float* fn = ref.in("fn").data<float>();
  const Tensor& got = test.out("mixes");
  const Tensor& want = ref.out("mixes");
  Tensor g("mixes / (r·Σ|fn·v|)", DType::F64, want.shape()), w("mixes / (r·Σ|fn·v|)", DType::F64, want.shape());
  std::vector<double> v(K);
  for (int64_t t = 0; t < T; ++t) {
    double ss = 0;
    for (int64_t k = 0; k < K; ++k) {
      v[k] = bf16_to_f32(x[t * K + k]);
      ss += v[k] * v[k];
    }
    const double r = 1.0 / std::sqrt(ss / double(K) + p.norm_eps);
    for (int mm = 0; mm < rows; ++mm) {
      const float* row = fn + int64_t(mm) * K;
      double part[8] = {};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8)
        for (int l = 0; l < 8; ++l) part[l] += std::fabs(double(row[k + l]) * v[k + l]);
      double s = 0;
      for (; k < K; ++k) s += std::fabs(double(row[k]) * v[k]);
      for (double q : part) s += q;
      const double bound = r * s > 0 ? r * s : 1.0;  // all-zero token: both sides are exactly 0
      const int64_t i = t * rows + mm;
      g.data<double>()[i] = got.get(i) / bound;
      w.data<double>()[i] = want.get(i) / bound;
    }
  }
  return check_close(g, w, {1e-5, 0, -1, "FP32 GEMM: |Δmix| ≤ 1e-5·r·Σ|fn·v| (spec Precision), scaled to abs"});
}

// y: the backend's y against the FP64 apply of the backend's own pre (pre itself is checked against
// the reference at 2e-5). Within 1 BF16 ulp, or within the FP32 accumulation bound where Σ pre_i X_i
// cancels to near 0 and one ulp is smaller than FP32 rounding of the n products.
CheckResult check_y(const MhcParams& p, const KernelIO& test, const char* pre_name = "pre") {
  const Tensor& y = test.out("y");
  Tensor want("y", DType::BF16, y.shape());
  mhc_apply_ref(p, test.in("X").data<uint16_t>(), test.out(pre_name).data<float>(), want.data<uint16_t>());
  double pre_sum = 0;
  const Tensor& pre = test.out(pre_name);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    double s = 0;
    for (int i = 0; i < p.hc; ++i) s += std::fabs(pre.get(t * p.hc + i));
    if (std::isfinite(s)) pre_sum = std::max(pre_sum, s);
  }
  const double guard = 2.0 * (p.hc + 1) * kU32 * pre_sum * max_abs(test.in("X"));
  return check_close(
      y, want,
      {guard, kBf16Rel, -1, "1 BF16 ulp of FP64 Σ pre_i·X_i (own pre), or FP32 bound 2(n+1)u·Σ|pre_i X_i| near 0"});
}

std::vector<CheckResult> verify_pre(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const MhcParams p = mhc_params_from(pm);
  std::vector<CheckResult> out;
  out.push_back(check_mixes(p, p.m(), test, ref));
  out.push_back(check_close(test.out("pre"), ref.out("pre"), {2e-5, 0, -1, "FP32 split vs FP64 (spec: abs 2e-5)"}));
  out.push_back(check_close(test.out("post"), ref.out("post"), {2e-5, 0, -1, "FP32 split vs FP64 (spec: abs 2e-5)"}));
  out.push_back(
      check_close(test.out("comb"), ref.out("comb"), {1e-5, 0, -1, "FP32 Sinkhorn vs FP64 (spec: abs 1e-5)"}));
  out.push_back(check_y(p, test));
  return out;
}

std::vector<CheckResult> verify_head(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const MhcParams p = mhc_params_from(pm);
  std::vector<CheckResult> out;
  out.push_back(check_mixes(p, p.hc, test, ref));
  out.push_back(check_close(test.out("pre"), ref.out("pre"), {2e-5, 0, -1, "FP32 split vs FP64 (spec: abs 2e-5)"}));
  out.push_back(check_y(p, test));
  return out;
}

// X': both sides see identical inputs, so the FP64 value is the reference's. Within 1 BF16 ulp, or
// within the FP32 accumulation bound 2(n+2)u·(|post|·|F| + Σ_i comb_ij·|X|) where the sum cancels.
std::vector<CheckResult> verify_post(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const MhcParams p = mhc_params_from(pm);
  const Tensor& comb = ref.in("comb");
  double col_sum = 0;
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int j = 0; j < p.hc; ++j) {
      double s = 0;
      for (int i = 0; i < p.hc; ++i) s += std::fabs(comb.get((t * p.hc + i) * p.hc + j));
      if (std::isfinite(s)) col_sum = std::max(col_sum, s);
    }
  const double terms = max_abs(ref.in("post")) * max_abs(ref.in("F")) + col_sum * max_abs(ref.in("X"));
  const double guard = 2.0 * (p.hc + 2) * kU32 * terms;
  return {check_close(test.out("X_out"), ref.out("X_out"),
                      {guard, kBf16Rel, -1, "1 BF16 ulp of the FP64 value, or FP32 bound 2(n+2)u·Σ|terms| near 0"})};
}


// ---------------------------------------------------------------------------------------------
// Unconstrained HC: hc_pre (kernels/mhc/hc.h)
// ---------------------------------------------------------------------------------------------
std::vector<MhcTensorSpec> hc_io_spec(const MhcParams& p) {
  const int64_t T = p.n_tokens, n = p.hc, d = p.d_model;
  return {{"X", DType::BF16, {T, n, d}, true},   {"theta", DType::F32, {n + 2, d}, true},
          {"alpha", DType::F32, {3}, true},      {"bias", DType::F32, {2 * n + n * n}, true},
          {"y", DType::BF16, {T, d}, false},     {"h_pre", DType::F32, {T, n}, false},
          {"h_post", DType::F32, {T, n}, false}, {"comb", DType::F32, {T, n, n}, false},
          {"dots", DType::F32, {T, n, n + 2}, false}};
}

void hc_check_io(const MhcParams& p, const KernelIO& io) {
  p.validate();
  for (const auto& spec : hc_io_spec(p)) {
    const Tensor& t = spec.input ? io.in(spec.name) : io.out(spec.name);
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      throw config_error("hc_pre: tensor '" + spec.name + "' is " + dtype_name(t.dtype()) + " " + t.shape_str() +
                         ", expected " + dtype_name(spec.dtype) + " of " + std::to_string(spec.shape.size()) +
                         " dims for hc = " + std::to_string(p.hc) + ", d_model = " + std::to_string(p.d_model));
  }
}

// X ~ N(0,1) BF16; θ ~ N(0, 1/d) so the normalized projections are ~N(0,1); α ~ U(0.5, 1.5) and
// b ~ U(−1, 1): tanh works across its whole range, not only near its linear part.
KernelIO make_hc_io(const ParamMap& pm, uint64_t seed) {
  const MhcParams p = mhc_params_from(pm);
  p.validate();
  KernelIO io;
  for (auto& s : hc_io_spec(p)) (s.input ? io.inputs : io.outputs).emplace_back(s.name, s.dtype, s.shape);
  fill_bf16_normal(io.in("X"), rng_for(seed, 0));
  fill_normal(io.in("theta"), rng_for(seed, 1), 1.0 / std::sqrt(double(p.d_model)));
  fill_uniform(io.in("alpha"), rng_for(seed, 2), 0.5, 1.5);
  fill_uniform(io.in("bias"), rng_for(seed, 3), -1, 1);
  return io;
}

using HcFn = void (*)(const MhcParams&, const uint16_t*, const float*, const float*, const float*, uint16_t*, float*,
                      float*, float*, float*);
PreparedRun prepare_hc(HcFn fn, const ParamMap& pm, KernelIO& io) {
  const MhcParams p = mhc_params_from(pm);
  hc_check_io(p, io);
  PreparedRun r;
  r.launch = [=, x = io.in("X").data<uint16_t>(), th = io.in("theta").data<float>(), a = io.in("alpha").data<float>(),
              b = io.in("bias").data<float>(), y = io.out("y").data<uint16_t>(), hp = io.out("h_pre").data<float>(),
              hq = io.out("h_post").data<float>(), cb = io.out("comb").data<float>(),
              dt = io.out("dots").data<float>()] { fn(p, x, th, a, b, y, hp, hq, cb, dt); };
  return r;
}

// dots: |Δ| ≤ 1e-5·r_i·Σ_c |θ[row,c]·X_i[c]| (FP32 dot products, as the mixes of hc_pre), compared
// after dividing both sides by that bound; the coefficients then move by at most α·Δdot.
std::vector<CheckResult> verify_hc(const ParamMap& pm, const KernelIO& test, const KernelIO& ref) {
  const MhcParams p = mhc_params_from(pm);
  const int n = p.hc, w = n + 2;
  const int64_t d = p.d_model;
  const uint16_t* x = ref.in("X").data<uint16_t>();
  const float* th = ref.in("theta").data<float>();
  const Tensor& got = test.out("dots");
  const Tensor& want = ref.out("dots");
  Tensor g("dots / (r·Σ|θ·x|)", DType::F64, want.shape()), wv("dots / (r·Σ|θ·x|)", DType::F64, want.shape());
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int i = 0; i < n; ++i) {
      const uint16_t* xi = x + (t * n + i) * d;
      double ss = 0;
      for (int64_t c = 0; c < d; ++c) ss += double(bf16_to_f32(xi[c])) * bf16_to_f32(xi[c]);
      const double r = 1.0 / std::sqrt(ss / double(d) + p.norm_eps);
      for (int row = 0; row < w; ++row) {
        double s = 0;
        for (int64_t c = 0; c < d; ++c) s += std::fabs(double(th[row * d + c]) * bf16_to_f32(xi[c]));
        const double bound = r * s > 0 ? r * s : 1.0;
        const int64_t k = (t * n + i) * w + row;
        g.data<double>()[k] = got.get(k) / bound;
        wv.data<double>()[k] = want.get(k) / bound;
      }
    }
  std::vector<CheckResult> out;
  out.push_back(check_close(g, wv, {1e-5, 0, -1, "FP32 dots: |Δ| ≤ 1e-5·r·Σ|θ·x| (as hc_pre mixes), scaled to abs"}));
  for (const char* name : {"h_pre", "h_post", "comb"})
    out.push_back(check_close(test.out(name), ref.out(name),
                              {2e-5, 0, -1, "α·tanh of FP32 dots vs FP64 (α ≤ 1.5, |Δdot| ≲ 1e-6)"}));
  out.push_back(check_y(p, test, "h_pre"));
  return out;
}

}  // namespace

void register_mhc_kernels() {
  OpKernels pre;
  pre.op = "mhc_pre";
  pre.make_io = [](const ParamMap& pm, uint64_t seed) { return make_prenorm_io(MhcOp::Pre, pm, seed); };
  pre.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_pre(mhc_pre_ref, pm, io); };
  pre.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_pre(mhc_pre_cpu, pm, io); };
  pre.verify = verify_pre;

  OpKernels post;
  post.op = "mhc_post";
  post.make_io = make_post_io;
  post.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_post(mhc_post_ref, pm, io); };
  post.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_post(mhc_post_cpu, pm, io); };
  post.verify = verify_post;

  OpKernels head;
  head.op = "mhc_head";
  head.make_io = [](const ParamMap& pm, uint64_t seed) { return make_prenorm_io(MhcOp::Head, pm, seed); };
  head.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_head(mhc_head_ref, pm, io); };
  head.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_head(mhc_head_cpu, pm, io); };
  head.verify = verify_head;

  OpKernels hc;
  hc.op = "hc_pre";
  hc.make_io = make_hc_io;
  hc.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_hc(hc_pre_ref, pm, io); };
  hc.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_hc(hc_pre_cpu, pm, io); };
  hc.verify = verify_hc;

#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  hc.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const MhcParams p = mhc_params_from(pm);
    hc_check_io(p, io);
    return hc_prepare_cuda(p, io);
  };
  pre.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const MhcParams p = mhc_params_from(pm);
    mhc_check_io(MhcOp::Pre, p, io);
    return mhc_prepare_cuda(MhcOp::Pre, p, io);
  };
  post.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const MhcParams p = mhc_params_from(pm);
    mhc_check_io(MhcOp::Post, p, io);
    return mhc_prepare_cuda(MhcOp::Post, p, io);
  };
  head.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const MhcParams p = mhc_params_from(pm);
    mhc_check_io(MhcOp::Head, p, io);
    return mhc_prepare_cuda(MhcOp::Head, p, io);
  };
#endif

  register_kernels(std::move(pre));
  register_kernels(std::move(post));
  register_kernels(std::move(head));
  register_kernels(std::move(hc));
}

}  // namespace v4lab::kernels
