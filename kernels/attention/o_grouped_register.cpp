// o_grouped_register.cpp — registry entry of attn_o_grouped (o_grouped.h; specs/attention.md §4.2
// "Output", §4.4, §6): seeded inputs at V4 scales (o ~ N(0, 1) BF16, W_oa ~ N(0, 1/D_in) quantized
// 128×128), prepare per backend, and verification against the FP64 reference.
#include <cmath>
#include <vector>

#include "core/check.h"
#include "kernels/attention/o_grouped.h"
#include "kernels/detail/fill.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/attention/o_grouped_cuda.h"
#endif

namespace v4lab::kernels {
namespace {

KernelIO make_o_grouped_io(const ParamMap& pm, uint64_t seed) {
  const OGroupedParams p = o_grouped_params_from(pm);
  const int64_t G = p.o_groups, R = p.o_rank, Din = p.d_in();
  KernelIO io;
  io.inputs.emplace_back("o", DType::BF16, std::vector<int64_t>{p.n_tokens, p.n_heads, p.d_head});
  io.inputs.emplace_back("w_codes", DType::U8, std::vector<int64_t>{G * R, Din});
  io.inputs.emplace_back("w_scale", DType::U8, std::vector<int64_t>{G * p.r_blocks(), p.k_blocks()});
  io.outputs.emplace_back("y", DType::BF16, std::vector<int64_t>{p.n_tokens, G * R});
  fill_bf16_normal(io.in("o"), rng_for(seed, 0));
  // W_oa ~ N(0, 1/D_in) so y ~ N(0, 1); quantized as stored (FP8 128×128 UE8M0).
  Tensor wf("w_f32", DType::F32, {G * R, Din});
  fill_normal(wf, rng_for(seed, 1), 1.0 / std::sqrt(double(Din)));
  o_grouped_quantize_weights(p, wf.data<float>(), io.in("w_codes").data<uint8_t>(), io.in("w_scale").data<uint8_t>());
  return io;
}

PreparedRun prepare_o_grouped(OGroupedFn fn, const ParamMap& pm, KernelIO& io) {
  const OGroupedParams p = o_grouped_params_from(pm);
  PreparedRun r;
  r.launch = [=, o = io.in("o").data<uint16_t>(), wc = io.in("w_codes").data<uint8_t>(),
              ws = io.in("w_scale").data<uint8_t>(), y = io.out("y").data<uint16_t>()] { fn(p, o, wc, ws, y); };
  return r;
}

std::vector<CheckResult> verify_o_grouped(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  // Both round a sum of identical exact products to BF16 once: FP32 vs FP64 accumulation differs by
  // far less than a BF16 ulp, so at most one BF16 ulp (a rounding-boundary flip); the abs guard covers
  // outputs that cancel to near zero (FP32 sum error ~1e-6 of Σ|terms|).
  const double ymax = max_abs(ref.out("y"));
  return {check_close(test.out("y"), ref.out("y"),
                      {1e-5 * ymax, 1.0 / 128, -1, "1 BF16 ulp (2^-7 rel) of one FP32-vs-FP64 rounding flip + 1e-5·max|y| for cancellation"})};
}

}  // namespace

void register_attention_o_kernels() {
  OpKernels k;
  k.op = "attn_o_grouped";
  k.make_io = make_o_grouped_io;
  k.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_o_grouped(o_grouped_ref, pm, io); };
  k.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_o_grouped(o_grouped_cpu, pm, io); };
  k.verify = verify_o_grouped;
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  k.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    return o_grouped_prepare_cuda(o_grouped_params_from(pm), io);
  };
#endif
  register_kernels(std::move(k));
}

}  // namespace v4lab::kernels
