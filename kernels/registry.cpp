// registry.cpp — (op, backend) registry and backend availability.
#include "kernels/registry.h"

#include "core/error.h"
#include "kernels/device.h"

namespace v4lab::kernels {

void register_builtin_kernels();  // kernels/register.cpp

const char* backend_name(Backend b) {
  switch (b) {
    case Backend::Ref: return "ref";
    case Backend::Cpu: return "cpu";
    case Backend::Cuda: return "cuda";
  }
  return "?";
}

Backend parse_backend(const std::string& s) {
  if (s == "ref") return Backend::Ref;
  if (s == "cpu") return Backend::Cpu;
  if (s == "cuda") return Backend::Cuda;
  throw usage_error("unknown backend '" + s + "' (accepted: ref, cpu, cuda)");
}

static std::map<std::string, OpKernels>& table() {
  static std::map<std::string, OpKernels> t;
  return t;
}
static void ensure_registered() {
  static bool once = [] { register_builtin_kernels(); return true; }();
  (void)once;
}

void register_kernels(OpKernels k) {
  get_op(k.op);  // must be in the catalogue
  std::string name = k.op;
  if (!table().emplace(name, std::move(k)).second) throw runtime_error("kernels registered twice: " + name);
}

const OpKernels* find_kernels(const std::string& op) {
  ensure_registered();
  auto it = table().find(op);
  return it == table().end() ? nullptr : &it->second;
}

std::vector<std::string> kernel_ops() {
  ensure_registered();
  std::vector<std::string> v;
  for (auto& [k, _] : table()) v.push_back(k);
  return v;
}

bool backend_available(Backend b, std::string* why_not) {
  if (b != Backend::Cuda) return true;
  return cuda_device_available(why_not);
}

KernelIO run_once(const std::string& op, Backend b, const ParamMap& params, uint64_t seed) {
  const OpKernels* k = find_kernels(op);
  if (!k) throw usage_error("no kernels registered for op '" + op + "'");
  auto it = k->prepare.find(b);
  if (it == k->prepare.end())
    throw usage_error("op " + op + " has no " + backend_name(b) + " backend");
  std::string why;
  if (!backend_available(b, &why)) throw runtime_error(std::string("backend ") + backend_name(b) + " unavailable: " + why);
  KernelIO io = k->make_io(params, seed);
  PreparedRun run = it->second(params, io);
  run.launch();
  if (run.sync_outputs) run.sync_outputs();
  return io;
}

}  // namespace v4lab::kernels
