// topk_register.cpp — registry entry for attn_topk (kernels/attention/topk.h): seeded index scores
// with deliberate ties, causal lengths, and exact verification (every backend implements the same
// total order, so indices and NaN counts must be equal, not merely equal as sets).
#include <cmath>

#include "core/error.h"
#include "kernels/attention/topk.h"
#include "kernels/detail/fill.h"
#include "kernels/registry.h"
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
#include "kernels/attention/topk_cuda.h"
#endif

namespace v4lab::kernels {
namespace {

// Scores ~ N(0, 1) rounded to multiples of 1/64, so equal scores (and the tie rule) occur often; the
// causal bound len_q = n_cand − (n_queries − 1 − q), clamped at 0: the last query sees every candidate.
KernelIO make_topk_io(const ParamMap& pm, uint64_t seed) {
  const TopkParams p = topk_params_from(pm);
  p.validate();
  KernelIO io;
  io.inputs.emplace_back("scores", DType::F32, std::vector<int64_t>{p.n_queries, p.n_cand});
  io.inputs.emplace_back("lengths", DType::I32, std::vector<int64_t>{p.n_queries});
  io.outputs.emplace_back("idx", DType::I32, std::vector<int64_t>{p.n_queries, p.top_k});
  io.outputs.emplace_back("nan_count", DType::I32, std::vector<int64_t>{p.n_queries});
  Tensor& s = io.in("scores");
  fill_normal(s, rng_for(seed, 0), 1.0);
  float* d = s.data<float>();
  for (int64_t i = 0; i < s.numel(); ++i) d[i] = std::round(d[i] * 64.0f) / 64.0f;
  int32_t* len = io.in("lengths").data<int32_t>();
  for (int64_t q = 0; q < p.n_queries; ++q) len[q] = int32_t(std::max<int64_t>(0, p.n_cand - (p.n_queries - 1 - q)));
  return io;
}

void check_topk_io(const TopkParams& p, const KernelIO& io) {
  p.validate();
  const Tensor& s = io.in("scores");
  if (s.dtype() != DType::F32 || s.shape() != std::vector<int64_t>{p.n_queries, p.n_cand})
    throw config_error("attn_topk: scores must be F32 [n_queries, n_cand], got " + s.shape_str());
  if (io.out("idx").shape() != std::vector<int64_t>{p.n_queries, p.top_k})
    throw config_error("attn_topk: idx must be I32 [n_queries, top_k], got " + io.out("idx").shape_str());
}

using TopkFn = void (*)(const TopkParams&, const float*, const int32_t*, int32_t*, int32_t*);
PreparedRun prepare_topk(TopkFn fn, const ParamMap& pm, KernelIO& io) {
  const TopkParams p = topk_params_from(pm);
  check_topk_io(p, io);
  PreparedRun r;
  r.launch = [=, s = io.in("scores").data<float>(), l = io.in("lengths").data<int32_t>(),
              ix = io.out("idx").data<int32_t>(), nc = io.out("nan_count").data<int32_t>()] { fn(p, s, l, ix, nc); };
  return r;
}

std::vector<CheckResult> verify_topk(const ParamMap&, const KernelIO& test, const KernelIO& ref) {
  const Tolerance exact{0, 0, -1, "exact: one total order (score desc, index asc, NaN lowest) on every backend"};
  return {check_close(test.out("idx"), ref.out("idx"), exact),
          check_close(test.out("nan_count"), ref.out("nan_count"), exact)};
}

}  // namespace

void register_topk_kernels() {
  OpKernels k;
  k.op = "attn_topk";
  k.make_io = make_topk_io;
  k.prepare[Backend::Ref] = [](const ParamMap& pm, KernelIO& io) { return prepare_topk(topk_ref, pm, io); };
  k.prepare[Backend::Cpu] = [](const ParamMap& pm, KernelIO& io) { return prepare_topk(topk_cpu, pm, io); };
#if defined(V4LAB_HAVE_CUDA) && V4LAB_HAVE_CUDA
  k.prepare[Backend::Cuda] = [](const ParamMap& pm, KernelIO& io) {
    const TopkParams p = topk_params_from(pm);
    check_topk_io(p, io);
    return topk_prepare_cuda(p, io);
  };
#endif
  k.verify = verify_topk;
  register_kernels(std::move(k));
}

}  // namespace v4lab::kernels
