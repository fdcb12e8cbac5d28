// kernel_test_util.h — the cross-backend harness every kernel test uses (STYLE 17): resolve an op's
// params, run a backend and _ref on identical seeded inputs through the registry, and require every
// verify result to pass; plus the [cuda] skip rule (Catch2 v2 has no SKIP: WARN with the reason).
#pragma once
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/check.h"
#include "core/op_catalogue.h"
#include "kernels/registry.h"

namespace v4lab::test {

inline ParamMap params(const std::string& op, const ParamMap& overrides) {
  return resolve_params(get_op(op), overrides);
}

// Runs `op` on backend b and on _ref from identical seeded inputs; returns verify's results.
inline std::vector<CheckResult> compare(const std::string& op, kernels::Backend b, const ParamMap& pm, uint64_t seed) {
  using namespace v4lab::kernels;
  const OpKernels* k = find_kernels(op);
  REQUIRE(k != nullptr);
  KernelIO ref = k->make_io(pm, seed), test = k->make_io(pm, seed);
  PreparedRun rr = k->prepare.at(Backend::Ref)(pm, ref);
  rr.launch();
  PreparedRun rt = k->prepare.at(b)(pm, test);
  rt.launch();
  if (rt.sync_outputs) rt.sync_outputs();
  return k->verify(pm, test, ref);
}

inline void require_all_pass(const std::vector<CheckResult>& results) {
  for (const auto& r : results) {
    INFO(r.summary());
    CHECK(r.passed);
  }
}

// True when the CUDA backend can run here; otherwise WARNs "skipped: ..." (call and return).
inline bool cuda_or_skip() {
  std::string why;
  if (kernels::backend_available(kernels::Backend::Cuda, &why)) return true;
  WARN("skipped: CUDA backend unavailable (" << why << ")");
  return false;
}

}  // namespace v4lab::test
