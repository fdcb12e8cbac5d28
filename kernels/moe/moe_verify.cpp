// moe_verify.cpp — verification rules of the MoE family (specs/moe.md "Precision" tolerances and
// "Tests / Top-k as sets"). Every CheckResult names its tolerance and the reason for it.
#include "kernels/moe/moe_verify.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace v4lab::kernels {

namespace {
double ulp_f32(float x) {
  const float a = std::fabs(x);
  if (!std::isfinite(a)) return 0;
  return double(std::nextafter(a, INFINITY)) - double(a);
}
}  // namespace

CheckResult moe_check_topk_sets(const MoeParams& p, const Tensor& test_idx, const Tensor& ref_idx,
                                const Tensor& ref_scores, const float* bias, int tie_ulps) {
  CheckResult r;
  r.name = "topk_idx";
  r.n = ref_idx.numel();
  std::ostringstream tol;
  tol << (p.hash ? "hash rows: exact, in order" : "sets; a swap only among u tied with the k-th value")
      << (tie_ulps > 0 ? " (within " + std::to_string(tie_ulps) + " FP32 ulp)" : " (exactly)");
  r.tolerance = tol.str();
  r.shape_ok = test_idx.shape() == ref_idx.shape();
  if (!r.shape_ok) return r;
  const int E = p.n_experts, k = p.top_k;
  const int32_t* ti = test_idx.data<int32_t>();
  const int32_t* ri = ref_idx.data<int32_t>();
  const float* rs = ref_scores.data<float>();
  const float* b = p.use_bias && !p.hash ? bias : nullptr;
  int64_t swaps = 0;
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const int32_t* a = ti + t * k;
    const int32_t* w = ri + t * k;
    bool ok = true;
    if (p.hash) {
      ok = std::equal(a, a + k, w);
    } else {
      const float* s = rs + t * E;
      const uint64_t kept = moe_kept_groups(s, b, E, p.n_group, p.topk_group);
      const MoeSelectValue u{s, b, kept, p.group_size()};
      const float boundary = u(w[k - 1]);  // ref's k-th pick (rank order)
      for (int j = 0; j < k && ok; ++j) {
        if (a[j] < 0 || a[j] >= E || std::count(a, a + k, a[j]) != 1) ok = false;
        else if (std::find(w, w + k, a[j]) == w + k) {
          const float v = u(a[j]);
          const bool tie = (std::isnan(v) && std::isnan(boundary)) || v == boundary ||
                           std::fabs(double(v) - double(boundary)) <= tie_ulps * ulp_f32(boundary);
          if (tie) ++swaps;
          else ok = false;
        }
      }
    }
    if (!ok) {
      if (r.violations == 0) r.worst_index = t * k, r.worst_got = a[0], r.worst_want = w[0];
      ++r.violations;
    }
  }
  r.max_abs = double(swaps);  // reported: tied swaps accepted
  r.passed = r.violations == 0;
  return r;
}

CheckResult moe_check_rows_rel(const Tensor& got, const Tensor& want, int64_t cols, double rel,
                               const std::string& reason) {
  CheckResult r;
  r.name = want.name();
  std::ostringstream t;
  t << "per-row ||Δ||/||y|| <= " << rel << " (" << reason << ")";
  r.tolerance = t.str();
  r.shape_ok = got.shape() == want.shape();
  if (!r.shape_ok) return r;
  r.n = want.numel();
  const int64_t rows = cols > 0 ? r.n / cols : 0;
  double se_all = 0, sw_all = 0;
  for (int64_t i = 0; i < rows; ++i) {
    double se = 0, sw = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double a = got.get(i * cols + c), b = want.get(i * cols + c);
      if (!std::isfinite(a) || !std::isfinite(b)) {
        if (!((std::isnan(a) && std::isnan(b)) || a == b)) ++r.nonfinite_mismatch, ++r.violations;
        continue;
      }
      se += (a - b) * (a - b), sw += b * b;
      r.max_abs = std::max(r.max_abs, std::fabs(a - b));
    }
    se_all += se, sw_all += sw;
    const double ratio = sw > 0 ? std::sqrt(se / sw) : std::sqrt(se);
    if (ratio > r.max_rel) r.max_rel = ratio, r.worst_index = i * cols;
    if (ratio > rel) ++r.violations;
  }
  if (r.worst_index >= 0) r.worst_got = got.get(r.worst_index), r.worst_want = want.get(r.worst_index);
  r.nmse = sw_all > 0 ? se_all / sw_all : se_all;
  r.passed = r.violations == 0;
  return r;
}

std::vector<CheckResult> moe_verify_gate(const MoeParams& p, const KernelIO& test, const KernelIO& ref) {
  std::vector<CheckResult> out;
  out.push_back(check_close(test.out("scores"), ref.out("scores"),
                            {0, 4e-6, -1, "FP32 φ of identical FP64-summed logits; device expf/log1pf within ~2 ulp"}));
  out.push_back(moe_check_topk_sets(p, test.out("topk_idx"), ref.out("topk_idx"), ref.out("scores"),
                                    ref.in("bias").data<float>(), 4));
  // w against FP64 from the backend's own scores and idx (spec: rel 1e-6 vs FP64).
  const int E = p.n_experts, k = p.top_k;
  const Tensor& tw = test.out("topk_w");
  Tensor want("topk_w (FP64 from own s, idx)", DType::F64, tw.shape());
  const float* s = test.out("scores").data<float>();
  const int32_t* idx = test.out("topk_idx").data<int32_t>();
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    double sum = 0;
    for (int j = 0; j < k; ++j) sum += s[t * E + idx[t * k + j]];
    for (int j = 0; j < k; ++j) {
      const double sj = s[t * E + idx[t * k + j]];
      want.data<double>()[t * k + j] = p.scoring == MoeScoring::Softmax
                                           ? sj * p.route_scale
                                           : sj / (sum + double(kMoeDenEps)) * p.route_scale;
    }
  }
  out.push_back(check_close(tw, want, {1e-30, 1e-6, -1, "spec Precision: w rel 1e-6 vs FP64"}));
  out.push_back(check_close(test.out("flags"), ref.out("flags"), {0, 0, -1, "guard / non-finite flags: exact"}));
  return out;
}

}  // namespace v4lab::kernels
