// mhc_cuda_prepare.cu — registry glue of the mHC CUDA backend: the shared DeviceRun (device buffers,
// stream, upload, download) plus the split-K workspace of hc_pre / hc_head.
#include "kernels/cuda/device_run.cuh"
#include "kernels/mhc/mhc_cuda.h"

namespace v4lab::kernels {

PreparedRun mhc_prepare_cuda(MhcOp op, const MhcParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  std::function<void()> body;
  switch (op) {
    case MhcOp::Pre: {
      float* ws = static_cast<float*>(run->alloc(mhc_pre_cuda_workspace_bytes(p)));
      body = [p, ws, st = R.stream, x = R.get<uint16_t>("X"), fn = R.get<float>("fn"), b = R.get<float>("base"),
              s = R.get<float>("scale"), y = R.get<uint16_t>("y"), pre = R.get<float>("pre"),
              post = R.get<float>("post"), comb = R.get<float>("comb"), mixes = R.get<float>("mixes")] {
        mhc_pre_cuda(p, x, fn, b, s, y, pre, post, comb, mixes, ws, st);
      };
      break;
    }
    case MhcOp::Post:
      body = [p, st = R.stream, f = R.get<uint16_t>("F"), x = R.get<uint16_t>("X"), post = R.get<float>("post"),
              comb = R.get<float>("comb"), out = R.get<uint16_t>("X_out")] {
        mhc_post_cuda(p, f, x, post, comb, out, st);
      };
      break;
    case MhcOp::Head: {
      float* ws = static_cast<float*>(run->alloc(mhc_head_cuda_workspace_bytes(p)));
      body = [p, ws, st = R.stream, x = R.get<uint16_t>("X"), fn = R.get<float>("fn"), b = R.get<float>("base"),
              s = R.get<float>("scale"), y = R.get<uint16_t>("y"), pre = R.get<float>("pre"),
              mixes = R.get<float>("mixes")] { mhc_head_cuda(p, x, fn, b, s, y, pre, mixes, ws, st); };
      break;
    }
  }
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
