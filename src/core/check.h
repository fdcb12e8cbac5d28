// check.h — the one comparison helper (STYLE 18): max abs/rel error, NMSE, worst coordinate, and
// NaN/inf masks that must match. Used by the test suite and by `v4lab kernel --verify`.
#pragma once
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace v4lab {

struct Tolerance {
  double abs = 0;        // pass if |a-b| <= abs + rel*|b| for every element ...
  double rel = 0;
  double ulp_bf16 = -1;  // ... or, when >= 0, if a and b are within this many BF16 ulps of b
  std::string reason;    // one line: why this tolerance (dtype, accumulation order)
};

struct CheckResult {
  std::string name;
  int64_t n = 0;
  double max_abs = 0;
  double max_rel = 0;
  double nmse = 0;           // sum (a-b)^2 / sum b^2
  int64_t worst_index = -1;  // coordinate of the largest violation (or largest abs error)
  double worst_got = 0, worst_want = 0;
  int64_t nonfinite_mismatch = 0;  // elements where exactly one side is NaN/inf, or they differ in kind
  int64_t violations = 0;
  bool shape_ok = true;
  bool passed = false;
  std::string tolerance;  // human-readable tolerance applied
  std::string summary() const;
};

// Compare `got` against `want` element by element (both converted to double).
CheckResult check_close(const Tensor& got, const Tensor& want, const Tolerance& tol);

// Size of one BF16 ulp at |x| (for x = 0: the smallest normal BF16 ulp).
double bf16_ulp(double x);

// Largest |element| over the finite elements (0 for an empty or all-non-finite tensor): the scale
// verifiers use for absolute guards where sums cancel.
double max_abs(const Tensor& t);

}  // namespace v4lab
