// executor.h — runs real kernels for (op, backend, params): makes seeded inputs, verifies the backend
// against `_ref` first (STYLE 22: a failed check marks the row invalid), then times it with the
// harness. Reference outputs are cached per (op, params, seed) so a run verifies each case once.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/op_catalogue.h"
#include "kernels/registry.h"
#include "profiler/timing.h"

namespace v4lab::profiler {

struct ExecResult {
  std::string op;
  std::string backend;
  ParamMap params;
  OpWork work;
  bool ran = false;
  std::string skipped_reason;          // why it did not run (backend unavailable, not provided)
  Measurement m;
  std::optional<bool> verified;        // empty: not checked (ref itself, or verify off)
  std::vector<CheckResult> checks;
};

class Executor {
 public:
  Executor(uint64_t seed, MeasureOptions opt) : seed_(seed), opt_(opt) {}
  ExecResult execute(const std::string& op, kernels::Backend b, const ParamMap& params, bool verify, bool time = true);
  // The reference outputs for these params (computed once, cached).
  const KernelIO& reference(const std::string& op, const ParamMap& params);

 private:
  uint64_t seed_;
  MeasureOptions opt_;
  std::map<std::string, KernelIO> ref_cache_;
};

int backend_threads(kernels::Backend b);  // threads a backend uses on this machine

}  // namespace v4lab::profiler
