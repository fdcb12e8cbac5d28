// mhc_cuda_prepare.cu — registry glue of the mHC CUDA backend (the only mHC code that allocates):
// device buffers for every input, output and the split-K workspace, one non-blocking stream, input
// upload. launch = kernels on that stream + sync; sync_outputs = download. Freed with the last copy.
#include <cuda_runtime.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cuda/check.cuh"
#include "kernels/mhc/mhc_cuda.h"

namespace v4lab::kernels {
namespace {

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
  void* alloc(size_t bytes) {
    if (bytes == 0) return nullptr;  // n_tokens = 0: nothing is launched, nothing is read
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

}  // namespace

PreparedRun mhc_prepare_cuda(MhcOp op, const MhcParams& p, KernelIO& io) {
  auto run = std::make_shared<DeviceRun>();
  V4LAB_CUDA_CHECK(cudaStreamCreateWithFlags(&run->stream, cudaStreamNonBlocking));
  for (auto& t : io.inputs) {
    void* d = run->alloc(t.nbytes());
    if (d) V4LAB_CUDA_CHECK(cudaMemcpy(d, t.raw(), t.nbytes(), cudaMemcpyHostToDevice));
    run->by_name[t.name()] = d;
  }
  for (auto& t : io.outputs) run->by_name[t.name()] = run->alloc(t.nbytes());

  PreparedRun r;
  const DeviceRun& R = *run;
  switch (op) {
    case MhcOp::Pre: {
      float* ws = static_cast<float*>(run->alloc(mhc_pre_cuda_workspace_bytes(p)));
      r.launch = [run, p, ws, x = R.get<uint16_t>("X"), fn = R.get<float>("fn"), b = R.get<float>("base"),
                  s = R.get<float>("scale"), y = R.get<uint16_t>("y"), pre = R.get<float>("pre"),
                  post = R.get<float>("post"), comb = R.get<float>("comb"), mixes = R.get<float>("mixes")] {
        mhc_pre_cuda(p, x, fn, b, s, y, pre, post, comb, mixes, ws, run->stream);
        V4LAB_CUDA_CHECK(cudaStreamSynchronize(run->stream));
      };
      break;
    }
    case MhcOp::Post:
      r.launch = [run, p, f = R.get<uint16_t>("F"), x = R.get<uint16_t>("X"), post = R.get<float>("post"),
                  comb = R.get<float>("comb"), out = R.get<uint16_t>("X_out")] {
        mhc_post_cuda(p, f, x, post, comb, out, run->stream);
        V4LAB_CUDA_CHECK(cudaStreamSynchronize(run->stream));
      };
      break;
    case MhcOp::Head: {
      float* ws = static_cast<float*>(run->alloc(mhc_head_cuda_workspace_bytes(p)));
      r.launch = [run, p, ws, x = R.get<uint16_t>("X"), fn = R.get<float>("fn"), b = R.get<float>("base"),
                  s = R.get<float>("scale"), y = R.get<uint16_t>("y"), pre = R.get<float>("pre"),
                  mixes = R.get<float>("mixes")] {
        mhc_head_cuda(p, x, fn, b, s, y, pre, mixes, ws, run->stream);
        V4LAB_CUDA_CHECK(cudaStreamSynchronize(run->stream));
      };
      break;
    }
  }
  r.sync_outputs = [run, &io] {
    for (auto& t : io.outputs)
      if (t.nbytes() > 0)
        V4LAB_CUDA_CHECK(cudaMemcpy(t.raw(), run->by_name.at(t.name()), t.nbytes(), cudaMemcpyDeviceToHost));
  };
  return r;
}

}  // namespace v4lab::kernels
