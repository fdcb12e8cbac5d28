// o_grouped_ref.cpp — FP64 oracle of the V4 grouped output projection (o_grouped.h; specs/attention.md
// §4.2 "Output", §4.4), the parameter checks, and the weight quantizer. Scalar loops, no threads:
// activations quantized per group row by quant_fp8_ref (the quant family's oracle), codes decoded with
// the libm decoders, products and sums in FP64, one rounding to BF16 at the end.
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "kernels/attention/o_grouped.h"
#include "kernels/quant/quant.h"

namespace v4lab::kernels {

void OGroupedParams::validate() const {
  auto bad = [](const std::string& f, int64_t v, const std::string& rule) {
    return config_error("attn_o_grouped: " + f + " = " + std::to_string(v) + " " + rule);
  };
  if (n_tokens < 0) throw bad("n_tokens", n_tokens, "must be >= 0");
  if (n_heads < 1) throw bad("n_heads", n_heads, "must be >= 1");
  if (d_head < 1) throw bad("d_head", d_head, "must be >= 1");
  if (o_rank < 1) throw bad("o_rank", o_rank, "must be >= 1");
  if (o_groups < 1 || n_heads % o_groups != 0)
    throw bad("o_groups", o_groups, "must be >= 1 and divide n_heads = " + std::to_string(n_heads));
}

OGroupedParams o_grouped_params_from(const ParamMap& pm) {
  OGroupedParams p;
  p.n_tokens = param_i(pm, "n_tokens");
  if (pm.count("n_heads")) p.n_heads = param_i(pm, "n_heads");
  if (pm.count("d_head")) p.d_head = param_i(pm, "d_head");
  if (pm.count("o_groups")) p.o_groups = param_i(pm, "o_groups");
  if (pm.count("o_rank")) p.o_rank = param_i(pm, "o_rank");
  if (pm.count("act_fp8")) p.act_fp8 = param_i(pm, "act_fp8") != 0;
  p.validate();
  return p;
}

void o_grouped_quantize_weights(const OGroupedParams& p, const float* w, uint8_t* w_codes, uint8_t* w_scale) {
  p.validate();
  const int64_t Din = p.d_in(), R = p.o_rank, KB = p.k_blocks(), RB = p.r_blocks();
  QuantFp8Params q;
  q.rows = R, q.k = Din, q.block = 128, q.block_rows = 128, q.scale_fmt = ScaleFmt::Ue8m0, q.in_bf16 = false;
  q.pad = Din % 128 != 0;
  int64_t bad = 0;
  for (int64_t g = 0; g < p.o_groups; ++g)
    quant_fp8_cpu(q, w + g * R * Din, w_codes + g * R * Din, w_scale + g * RB * KB, &bad);
}

void o_grouped_ref(const OGroupedParams& p, const uint16_t* o, const uint8_t* w_codes, const uint8_t* w_scale,
                   uint16_t* y) {
  p.validate();
  const int64_t T = p.n_tokens, HD = p.n_heads * p.d_head, Din = p.d_in(), R = p.o_rank, G = p.o_groups;
  const int64_t KB = p.k_blocks(), RB = p.r_blocks();
  if (T == 0) return;
  // Activations of group g: the BF16 values, or their 1×128 FP8 quantization (codes × scale, exact).
  std::vector<uint16_t> xg(static_cast<size_t>(T * Din));
  std::vector<uint8_t> codes(static_cast<size_t>(T * Din)), sc(static_cast<size_t>(T * KB));
  std::vector<double> a(static_cast<size_t>(T * Din));
  QuantFp8Params q;
  q.rows = T, q.k = Din, q.block = 128, q.block_rows = 1, q.scale_fmt = ScaleFmt::Ue8m0, q.in_bf16 = true;
  q.pad = Din % 128 != 0;
  for (int64_t g = 0; g < G; ++g) {
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < Din; ++c) xg[size_t(t * Din + c)] = o[t * HD + g * Din + c];
    if (p.act_fp8) {
      int64_t bad = 0;
      quant_fp8_ref(q, xg.data(), codes.data(), sc.data(), &bad);
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < Din; ++c)
          a[size_t(t * Din + c)] = double(fp8_e4m3_to_f32(codes[size_t(t * Din + c)])) *
                                   double(ue8m0_to_f32(sc[size_t(t * KB + c / 128)]));
    } else {
      for (size_t k = 0; k < a.size(); ++k) a[k] = double(bf16_to_f32(xg[k]));
    }
    // y[t, g·R + r] = Σ_c W_oa[g·R + r, c]·a[t, c]   (§4.2: y_g = W_oa,g·o_g)
    for (int64_t r = 0; r < R; ++r) {
      const uint8_t* wr = w_codes + (g * R + r) * Din;
      for (int64_t t = 0; t < T; ++t) {
        double acc = 0;
        for (int64_t c = 0; c < Din; ++c)
          acc += double(fp8_e4m3_to_f32(wr[c])) * double(ue8m0_to_f32(w_scale[o_grouped_scale_index(g, r, c, RB, KB)])) *
                 a[size_t(t * Din + c)];
        y[t * G * R + g * R + r] = bf16_from_f32(float(acc));
      }
    }
  }
}

}  // namespace v4lab::kernels
