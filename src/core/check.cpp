// check.cpp — check_close implementation.
#include "core/check.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace v4lab {

double max_abs(const Tensor& t) {
  double m = 0;
  for (int64_t i = 0; i < t.numel(); ++i)
    if (std::isfinite(t.get(i))) m = std::max(m, std::fabs(t.get(i)));
  return m;
}

double bf16_ulp(double x) {
  double a = std::fabs(x);
  if (!(a > 0x1.0p-126)) return 0x1.0p-133;  // ulp of the smallest normal BF16
  int e;
  std::frexp(a, &e);          // a = m * 2^e, m in [0.5, 1)
  return std::ldexp(1.0, e - 8);  // 8 significant bits (7 stored + implicit)
}

CheckResult check_close(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  CheckResult r;
  r.name = want.name();
  std::ostringstream t;
  if (tol.ulp_bf16 >= 0) t << tol.ulp_bf16 << " bf16 ulp";
  else t << "abs " << tol.abs << " + rel " << tol.rel;
  if (!tol.reason.empty()) t << " (" << tol.reason << ")";
  r.tolerance = t.str();
  if (got.shape() != want.shape()) {
    r.shape_ok = false;
    r.passed = false;
    return r;
  }
  r.n = want.numel();
  double se = 0, sw = 0, worst_excess = -1;
  for (int64_t i = 0; i < r.n; ++i) {
    const double a = got.get(i), b = want.get(i);
    const bool fa = std::isfinite(a), fb = std::isfinite(b);
    if (!fa || !fb) {
      bool same = (std::isnan(a) && std::isnan(b)) || (a == b);
      if (!same) {
        ++r.nonfinite_mismatch;
        ++r.violations;
        if (r.worst_index < 0 || worst_excess < INFINITY) { r.worst_index = i; r.worst_got = a; r.worst_want = b; worst_excess = INFINITY; }
      }
      continue;
    }
    const double d = std::fabs(a - b);
    se += d * d;
    sw += b * b;
    if (d > r.max_abs) r.max_abs = d;
    if (b != 0 && d / std::fabs(b) > r.max_rel) r.max_rel = d / std::fabs(b);
    const double allowed = tol.ulp_bf16 >= 0 ? tol.ulp_bf16 * bf16_ulp(b) : tol.abs + tol.rel * std::fabs(b);
    const double excess = d - allowed;
    if (excess > 0) ++r.violations;
    if (excess > worst_excess) { worst_excess = excess; r.worst_index = i; r.worst_got = a; r.worst_want = b; }
  }
  r.nmse = sw > 0 ? se / sw : se;
  r.passed = r.violations == 0;
  return r;
}

std::string CheckResult::summary() const {
  std::ostringstream s;
  s << name << ": " << (passed ? "PASS" : "FAIL");
  if (!shape_ok) { s << " (shape mismatch)"; return s.str(); }
  s << " n=" << n << " max_abs=" << max_abs << " max_rel=" << max_rel << " nmse=" << nmse;
  if (violations) s << " violations=" << violations << " worst[" << worst_index << "] got " << worst_got << " want " << worst_want;
  if (nonfinite_mismatch) s << " nonfinite_mismatch=" << nonfinite_mismatch;
  s << " tol: " << tolerance;
  return s.str();
}

}  // namespace v4lab
