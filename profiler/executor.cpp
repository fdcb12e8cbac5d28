// executor.cpp — verify-then-time execution of one kernel case.
#include "profiler/executor.h"

#include <algorithm>
#include <sstream>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/error.h"
#include "profiler/trace.h"

namespace v4lab::profiler {

int backend_threads(kernels::Backend b) {
  if (b != kernels::Backend::Cpu) return 1;
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

static std::string cache_key(const std::string& op, const ParamMap& p) {
  std::ostringstream s;
  s << op;
  for (auto& [k, v] : p) s << ';' << k << '=' << v;
  return s.str();
}

const KernelIO& Executor::reference(const std::string& op, const ParamMap& params) {
  std::string key = cache_key(op, params);
  auto it = ref_cache_.find(key);
  if (it == ref_cache_.end())
    it = ref_cache_.emplace(key, kernels::run_once(op, kernels::Backend::Ref, params, seed_)).first;
  return it->second;
}

ExecResult Executor::execute(const std::string& op, kernels::Backend b, const ParamMap& params, bool verify,
                             bool time) {
  ExecResult r;
  r.op = op;
  r.backend = kernels::backend_name(b);
  r.params = params;
  r.work = get_op(op).work(params);
  const kernels::OpKernels* k = kernels::find_kernels(op);
  if (!k) { r.skipped_reason = "no kernels registered for op " + op; return r; }
  auto prep = k->prepare.find(b);
  if (prep == k->prepare.end()) { r.skipped_reason = std::string("op ") + op + " has no " + r.backend + " backend yet"; return r; }
  std::string why;
  if (!kernels::backend_available(b, &why)) { r.skipped_reason = why; return r; }

  TraceScope whole(opt_.trace, op + "." + r.backend, "case", {{"op", op}, {"backend", r.backend}});
  KernelIO io = k->make_io(params, seed_);
  kernels::PreparedRun run = prep->second(params, io);
  if (verify && b != kernels::Backend::Ref) {
    TraceScope vs(opt_.trace, op + "." + r.backend + " verify", "verify");
    run.launch();
    if (run.sync_outputs) run.sync_outputs();
    r.checks = k->verify(params, io, reference(op, params));
    bool ok = true;
    for (auto& c : r.checks) ok = ok && c.passed;
    r.verified = ok;
    vs.args() = {{"passed", ok}};
  }
  if (time) {
    MeasureOptions o = opt_;
    if (b == kernels::Backend::Ref) {
      // The reference is the specification, not a tuned kernel, and often slow: one warm-up and
      // three timed reps (or the minimum time, whichever is more) are enough to place it.
      o.warmup = std::min(o.warmup, 1);
      o.min_reps = std::min(o.min_reps, 3);
    }
    r.m = measure(run.launch, r.work, o, op + "." + r.backend);
    r.m.threads = backend_threads(b);
    if (b == kernels::Backend::Ref) {  // its outputs are the reference for these params: keep them
      if (run.sync_outputs) run.sync_outputs();
      ref_cache_.emplace(cache_key(op, params), std::move(io));
    }
  }
  r.ran = true;
  return r;
}

}  // namespace v4lab::profiler
