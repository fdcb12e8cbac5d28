// device_run.cuh — registry glue shared by every family's CUDA backend (the only kernel code that
// allocates): device buffers for every input and output of a KernelIO, one non-blocking stream, the
// input upload, and a PreparedRun whose launch runs the family's launchers on that stream and syncs,
// and whose sync_outputs downloads the outputs. Everything is freed with the last copy of the run.
#pragma once
#include <cuda_runtime.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "kernels/cuda/check.cuh"
#include "kernels/registry.h"

namespace v4lab::kernels {

struct DeviceRun {
  cudaStream_t stream = nullptr;
  std::vector<void*> buffers;
  std::map<std::string, void*> by_name;

  DeviceRun() = default;
  DeviceRun(const DeviceRun&) = delete;
  DeviceRun& operator=(const DeviceRun&) = delete;
  ~DeviceRun() {  // destructors must not throw: errors here are ignored (and cleared)
    for (void* b : buffers) cudaFree(b);
    if (stream) cudaStreamDestroy(stream);
    cudaGetLastError();
  }
  // Device buffer of `bytes` (nullptr for 0 bytes: empty tensors are never read or written).
  void* alloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    void* p = nullptr;
    V4LAB_CUDA_CHECK(cudaMalloc(&p, bytes));
    buffers.push_back(p);
    return p;
  }
  template <class T>
  T* get(const std::string& name) const {
    return static_cast<T*>(by_name.at(name));
  }
};

// Stream + one device buffer per tensor of io (named as the tensor); inputs uploaded.
inline std::shared_ptr<DeviceRun> device_run_upload(KernelIO& io) {
  auto run = std::make_shared<DeviceRun>();
  V4LAB_CUDA_CHECK(cudaStreamCreateWithFlags(&run->stream, cudaStreamNonBlocking));
  for (auto& t : io.inputs) {
    void* d = run->alloc(t.nbytes());
    if (d) V4LAB_CUDA_CHECK(cudaMemcpy(d, t.raw(), t.nbytes(), cudaMemcpyHostToDevice));
    run->by_name[t.name()] = d;
  }
  for (auto& t : io.outputs) run->by_name[t.name()] = run->alloc(t.nbytes());
  return run;
}

// launch = body() (which launches on run->stream) + stream sync; sync_outputs = download io.outputs.
// io must outlive the returned run (the registry contract).
inline PreparedRun device_run_finish(std::shared_ptr<DeviceRun> run, KernelIO& io, std::function<void()> body) {
  PreparedRun r;
  r.launch = [run, body = std::move(body)] {
    body();
    V4LAB_CUDA_CHECK(cudaStreamSynchronize(run->stream));
  };
  r.sync_outputs = [run, &io] {
    for (auto& t : io.outputs)
      if (t.nbytes() > 0)
        V4LAB_CUDA_CHECK(cudaMemcpy(t.raw(), run->by_name.at(t.name()), t.nbytes(), cudaMemcpyDeviceToHost));
  };
  return r;
}

}  // namespace v4lab::kernels
