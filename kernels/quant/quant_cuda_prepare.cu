// quant_cuda_prepare.cu — registry glue of the quant CUDA backend: the shared DeviceRun (device
// buffers, stream, upload, download) around the launchers of quant_cuda.h.
#include "kernels/cuda/device_run.cuh"
#include "kernels/quant/quant_cuda.h"

namespace v4lab::kernels {

PreparedRun quant_prepare_cuda(QuantOp op, const ParamMap& pm, KernelIO& io) {
  auto run = device_run_upload(io);
  const DeviceRun& R = *run;
  std::function<void()> body;
  switch (op) {
    case QuantOp::QuantFp8:
      body = [p = quant_fp8_params_from(pm), st = R.stream, x = R.get<void>("x"), c = R.get<uint8_t>("codes"),
              s = R.get<void>("scales"), n = R.get<int64_t>("nonfinite_count")] { quant_fp8_cuda(p, x, c, s, n, st); };
      break;
    case QuantOp::DequantFp8:
      body = [p = quant_fp8_params_from(pm), st = R.stream, c = R.get<uint8_t>("codes"), s = R.get<void>("scales"),
              y = R.get<float>("y"), n = R.get<int64_t>("nonfinite_count")] { dequant_fp8_cuda(p, c, s, y, n, st); };
      break;
    case QuantOp::QuantFp4:
      body = [p = quant_fp4_params_from(pm), st = R.stream, x = R.get<void>("x"), c = R.get<uint8_t>("codes"),
              s = R.get<uint8_t>("scales"), n = R.get<int64_t>("nonfinite_count")] {
        quant_fp4_cuda(p, x, c, s, n, st);
      };
      break;
    case QuantOp::DequantFp4:
      body = [p = quant_fp4_params_from(pm), st = R.stream, c = R.get<uint8_t>("codes"), s = R.get<uint8_t>("scales"),
              y = R.get<float>("y"), n = R.get<int64_t>("nonfinite_count")] { dequant_fp4_cuda(p, c, s, y, n, st); };
      break;
    case QuantOp::Hadamard:
      body = [p = hadamard_params_from(pm), st = R.stream, x = R.get<float>("x"), y = R.get<float>("y")] {
        hadamard_cuda(p, x, y, st);
      };
      break;
    case QuantOp::GemmFp8:
      body = [p = gemm_q_params_from(pm), st = R.stream, a = R.get<uint8_t>("a_codes"), sa = R.get<void>("a_scales"),
              b = R.get<uint8_t>("b_codes"), sb = R.get<void>("b_scales"), c = R.get<void>("c")] {
        gemm_fp8_cuda(p, a, sa, b, sb, c, st);
      };
      break;
    case QuantOp::GemmFp8Fp4:
      body = [p = gemm_q_params_from(pm), st = R.stream, a = R.get<uint8_t>("a_codes"), sa = R.get<void>("a_scales"),
              b = R.get<uint8_t>("b_codes"), sb = R.get<uint8_t>("b_scales"), c = R.get<void>("c")] {
        gemm_fp8_fp4_cuda(p, a, sa, b, sb, c, st);
      };
      break;
  }
  return device_run_finish(run, io, std::move(body));
}

}  // namespace v4lab::kernels
