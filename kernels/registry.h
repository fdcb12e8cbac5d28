// registry.h — kernels::run through a registry keyed by (op, backend) (ARCHITECTURE: key interfaces).
// Each op family registers one OpKernels: how to make seeded inputs, how to prepare a run on each
// backend it provides, and how to verify a backend's outputs against the `_ref` outputs.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"

namespace v4lab::kernels {

enum class Backend { Ref, Cpu, Cuda };
const char* backend_name(Backend b);
Backend parse_backend(const std::string& s);  // throws usage_error naming ref|cpu|cuda

// A run prepared on a backend: buffers placed where the backend needs them, ready to be timed.
struct PreparedRun {
  std::function<void()> launch;        // one complete execution; returns when the result is ready
  std::function<void()> sync_outputs;  // make io.outputs hold the result (device->host copy); may be empty
};

struct OpKernels {
  std::string op;  // must exist in the op catalogue
  // Seeded inputs at realistic scales and zeroed outputs for resolved params.
  std::function<KernelIO(const ParamMap&, uint64_t seed)> make_io;
  // Backends this op provides. The closure captures `io` by reference; io must outlive the run.
  std::map<Backend, std::function<PreparedRun(const ParamMap&, KernelIO&)>> prepare;
  // Compare `test` outputs against `ref` outputs (same params, same inputs).
  std::function<std::vector<CheckResult>(const ParamMap&, const KernelIO& test, const KernelIO& ref)> verify;
};

void register_kernels(OpKernels k);
const OpKernels* find_kernels(const std::string& op);
std::vector<std::string> kernel_ops();

// Backends compiled into this binary and usable now (Cuda only with a CUDA build and a device).
bool backend_available(Backend b, std::string* why_not = nullptr);

// Convenience: make_io + prepare + launch + sync for one backend.
KernelIO run_once(const std::string& op, Backend b, const ParamMap& params, uint64_t seed);

}  // namespace v4lab::kernels
