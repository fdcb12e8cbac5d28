// moe_cuda_prepare.cu — registry glue of the MoE CUDA backend: the shared DeviceRun (device buffers,
// stream, upload, download) plus each op's workspace.
#include "kernels/cuda/device_run.cuh"
#include "kernels/moe/moe_cuda.h"

namespace v4lab::kernels {

PreparedRun moe_prepare_cuda(MoeOp op, const MoeParams& p, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  std::function<void()> body;
  switch (op) {
    case MoeOp::Gate: {
      void* ws = run->alloc(moe_gate_cuda_workspace_bytes(p));
      body = [p, ws, st = R.stream, x = R.get<uint16_t>("x"), wg = R.get<uint16_t>("w_g"), b = R.get<float>("bias"),
              ids = R.get<int32_t>("token_ids"), tab = R.get<int32_t>("tid2eid"), idx = R.get<int32_t>("topk_idx"),
              w = R.get<float>("topk_w"), s = R.get<float>("scores"), fl = R.get<int32_t>("flags")] {
        moe_gate_cuda(p, x, wg, b, ids, tab, idx, w, s, fl, ws, st);
      };
      break;
    }
    case MoeOp::Permute:
      body = [p, st = R.stream, idx = R.get<int32_t>("topk_idx"), x = R.get<uint16_t>("x"),
              off = R.get<int32_t>("offsets"), rm = R.get<int32_t>("row_map"), xp = R.get<uint16_t>("x_perm")] {
        moe_permute_cuda(p, idx, x, off, rm, xp, st);
      };
      break;
    case MoeOp::Experts:
    case MoeOp::Shared: {
      const bool sh = op == MoeOp::Shared;
      void* ws = run->alloc(moe_experts_cuda_workspace_bytes(p, p.rows()));
      const MoeWeight w1{R.get<void>("w1"), R.get<uint8_t>("w1_scale")};
      const MoeWeight w3{R.get<void>("w3"), R.get<uint8_t>("w3_scale")};
      const MoeWeight w2{R.get<void>("w2"), R.get<uint8_t>("w2_scale")};
      body = [p, ws, w1, w3, w2, st = R.stream, off = sh ? nullptr : R.get<int32_t>("offsets"),
              x = R.get<uint16_t>(sh ? "x" : "x_perm"), wp = sh ? nullptr : R.get<float>("w_perm"),
              y = R.get<float>(sh ? "y_s" : "y_e")] { moe_experts_cuda(p, p.rows(), off, x, wp, w1, w3, w2, y, ws, st); };
      break;
    }
    case MoeOp::Combine: {
      void* ws = run->alloc(moe_combine_cuda_workspace_bytes(p));
      body = [p, ws, st = R.stream, ye = R.get<float>("y_e"), rm = R.get<int32_t>("row_map"),
              idx = R.get<int32_t>("topk_idx"), ys = R.get<float>("y_s"), y = R.get<uint16_t>("y")] {
        moe_combine_cuda(p, ye, rm, idx, ys, y, ws, st);
      };
      break;
    }
  }
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
