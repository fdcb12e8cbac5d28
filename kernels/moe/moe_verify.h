// moe_verify.h — verification rules of the MoE family (specs/moe.md "Precision", "Tests"): top-k as
// sets with ties, routing weights against FP64, expert outputs by per-row relative norm.
// Used by the registry's verify (moe_register.cpp) and by the tests.
#pragma once
#include <string>
#include <vector>

#include "core/check.h"
#include "kernels/moe/moe.h"

namespace v4lab::kernels {

// moe_gate: scores (rel 4e-6), idx as sets (hash: the row, in order), w vs FP64 from the backend's
// own scores and idx (rel 1e-6), flags exact.
std::vector<CheckResult> moe_verify_gate(const MoeParams& p, const KernelIO& test, const KernelIO& ref);

// Top-k sets of `test` against `ref` given ref's scores and bias: a test expert missing from ref's
// set passes only if its u ties ref's k-th value (within tie_ulps FP32 ulps; 0 = exactly equal).
CheckResult moe_check_topk_sets(const MoeParams& p, const Tensor& test_idx, const Tensor& ref_idx,
                                const Tensor& ref_scores, const float* bias, int tie_ulps);

// Per row of `cols` values: ||got − want|| / ||want|| <= rel (rows with ||want|| = 0: ||got|| <= rel);
// NaN/Inf positions must match.
CheckResult moe_check_rows_rel(const Tensor& got, const Tensor& want, int64_t cols, double rel,
                               const std::string& reason);

// Seeded inputs of an op (what the registry's make_io returns), for tests that edit inputs.
KernelIO moe_make_io(MoeOp op, const ParamMap& pm, uint64_t seed);

}  // namespace v4lab::kernels
