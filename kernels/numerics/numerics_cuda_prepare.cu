// numerics_cuda_prepare.cu — registry glue of the numerics CUDA backend: the shared DeviceRun (device
// buffers, stream, upload, download) around the rmsnorm / rope / swiglu launchers.
#include "kernels/cuda/device_run.cuh"
#include "kernels/numerics/numerics_cuda.h"

namespace v4lab::kernels {

PreparedRun numerics_prepare_cuda(NumericsOp op, const ParamMap& pm, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  std::function<void()> body;
  switch (op) {
    case NumericsOp::RmsNorm:
      body = [p = rmsnorm_params_from(pm), st = R.stream, x = R.get<uint16_t>("x"), w = R.get<float>("weight"),
              y = R.get<uint16_t>("y")] { rmsnorm_cuda(p, x, w, y, st); };
      break;
    case NumericsOp::Rope:
      body = [p = rope_params_from(pm), st = R.stream, x = R.get<uint16_t>("x"), cs = R.get<float>("cos_sin"),
              y = R.get<uint16_t>("y")] { rope_cuda(p, x, cs, y, st); };
      break;
    case NumericsOp::Swiglu:
      body = [p = swiglu_params_from(pm), st = R.stream, g = R.get<float>("g"), u = R.get<float>("u"),
              h = R.get<float>("h")] { swiglu_cuda(p, g, u, h, st); };
      break;
  }
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
