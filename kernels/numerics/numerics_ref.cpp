// numerics_ref.cpp — the numerics specification in code (_ref): scalar loops, FP64 arithmetic, no threads.
// specs/attention.md §1.1 RMSNorm, §1.2 RoPE (GPT-J / NeoX pairing, inverse), §1.3 YaRN; specs/moe.md
// "Experts" (SwiGLU with the V4 clamp). Every quantity is computed in double from the BF16/FP32 inputs
// and rounded once to the output dtype; the RoPE cos/sin table is FP64 angles stored as FP32 ([W]).
// Also: parameter validation, the host table builder and the tensor contract.
#include <cmath>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {
namespace {

std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

[[noreturn]] void bad(const std::string& op, const std::string& field, double value, const std::string& rule) {
  throw config_error(op + ": " + field + " = " + num(value) + " " + rule, field);
}

// FP64 -> BF16 rounded once (RNE). float(v) keeps 24 bits, so rounding it again to 8 bits is exact
// except when float(v) sits exactly halfway between two BF16 values and v itself does not: then the
// tie must go the way v lies, not to even.
uint16_t bf16_from_f64_once(double v) {
  const float f = static_cast<float>(v);
  const uint32_t u = f32_bits(f);
  if ((u & 0xffffu) != 0x8000u || !std::isfinite(v) || static_cast<double>(f) == v) return bf16_from_f32(f);
  const bool away = std::fabs(v) > std::fabs(static_cast<double>(f));
  return static_cast<uint16_t>((u >> 16) + (away ? 1u : 0u));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Validation (field, value and accepted range in every message)
// ---------------------------------------------------------------------------------------------
void RmsNormParams::validate() const {
  if (n_tokens < 0) bad("rmsnorm", "n_tokens", double(n_tokens), "must be >= 0");
  if (width < 1) bad("rmsnorm", "width", double(width), "must be >= 1 (accepted: 1..2^20)");
  if (!(eps >= 0)) bad("rmsnorm", "eps", eps, "must be >= 0");
}

void RopeParams::validate() const {
  if (n_tokens < 0) bad("rope", "n_tokens", double(n_tokens), "must be >= 0");
  if (n_heads < 1) bad("rope", "n_heads", double(n_heads), "must be >= 1");
  if (d_head < 2) bad("rope", "d_head", double(d_head), "must be >= 2");
  if (d_rope < 2 || d_rope % 2 != 0)
    bad("rope", "d_rope", d_rope, "must be even and >= 2 (accepted: 2, 4, ..., d_head = " + num(double(d_head)) + ")");
  if (d_rope > d_head)
    bad("rope", "d_rope", d_rope, "is larger than the vector (accepted: even, <= d_head = " + num(double(d_head)) + ")");
  if (rope_offset < -1 || rope_offset > d_head - d_rope)
    bad("rope", "rope_offset", double(rope_offset),
        "puts the rotated slice outside the vector: rope_offset + d_rope must be <= d_head (accepted: -1 = last, "
        "0.." + num(double(d_head - d_rope)) + ")");
  if (!(theta > 1)) bad("rope", "theta", theta, "must be > 1");
  if (!(yarn_factor >= 1)) bad("rope", "yarn_factor", yarn_factor, "must be >= 1 (1 = YaRN off)");
  if (yarn()) {
    if (!(yarn_orig_len >= 1)) bad("rope", "yarn_orig_len", yarn_orig_len, "must be >= 1");
    if (!(beta_slow > 0)) bad("rope", "beta_slow", beta_slow, "must be > 0");
    if (!(beta_fast > beta_slow))
      bad("rope", "beta_fast", beta_fast, "must be > beta_slow = " + num(beta_slow) + " (low < high)");
  }
  if (pos0 < 0 || pos0 > (int64_t(1) << 24)) bad("rope", "pos0", double(pos0), "is out of range [0, 2^24]");
}

void SwigluParams::validate() const {
  if (n_tokens < 0) bad("swiglu", "n_tokens", double(n_tokens), "must be >= 0");
  if (width < 1) bad("swiglu", "width", double(width), "must be >= 1 (accepted: 1..2^20)");
  if (std::isnan(limit)) bad("swiglu", "limit", limit, "must be a number (0 = no clamp)");
}

// ---------------------------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------------------------
RopeFreqs::RopeFreqs(const RopeParams& p) : f64(p.half()), f32(p.half()) {
  rope_freq_table<double>(p, f64.data());
  rope_freq_table<float>(p, f32.data());
}

void RopeFreqs::row(const RopeParams& p, int64_t t, float* cs) const {
  const int64_t pos = p.pos0 + t;
  if (p.fp32_angles) {
    for (int i = 0; i < p.half(); ++i) rope_cos_sin<float>(pos, f32[i], cs[2 * i], cs[2 * i + 1]);
  } else {
    for (int i = 0; i < p.half(); ++i) rope_cos_sin<double>(pos, f64[i], cs[2 * i], cs[2 * i + 1]);
  }
}

void rope_build_table(const RopeParams& p, float* cos_sin) {
  const RopeFreqs fr(p);
  for (int64_t t = 0; t < p.n_tokens; ++t) fr.row(p, t, cos_sin + t * 2 * p.half());
}

// ---------------------------------------------------------------------------------------------
// Reference kernels
// ---------------------------------------------------------------------------------------------
// §1.1: y_j = w_j·x_j / sqrt(Σ_k x_k²/width + eps), FP64 throughout (no overflow for any BF16 input).
void rmsnorm_ref(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y) {
  p.validate();
  const int64_t W = p.width;
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const uint16_t* xr = x + t * W;
    double ss = 0;
    for (int64_t j = 0; j < W; ++j) {
      const double v = bf16_to_f32(xr[j]);
      ss += v * v;
    }
    const double r = rms_scale<double>(ss, double(W), p.eps);
    for (int64_t j = 0; j < W; ++j) {
      double v = double(bf16_to_f32(xr[j])) * r;
      if (p.weighted) v *= double(weight[j]);
      y[t * W + j] = bf16_from_f64_once(v);
    }
  }
}

// §1.2: pair i of token t rotates by a = (pos0 + t)·f'_i (−a for the inverse); GPT-J pairs
// (2i, 2i+1), NeoX pairs (i, i + d_rope/2), inside the slice [offset, offset + d_rope).
void rope_ref(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y) {
  p.validate();
  if (p.n_tokens == 0) return;
  rope_build_table(p, cos_sin);
  const int h = p.half();
  const int64_t off = p.offset();
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const float* cs = cos_sin + t * 2 * h;
    for (int64_t hd = 0; hd < p.n_heads; ++hd) {
      const uint16_t* xv = x + (t * p.n_heads + hd) * p.d_head + off;
      uint16_t* yv = y + (t * p.n_heads + hd) * p.d_rope;
      for (int i = 0; i < h; ++i) {
        const int a = p.interleaved ? 2 * i : i, b = p.interleaved ? 2 * i + 1 : i + h;
        const double c = cs[2 * i], s = p.inverse ? -double(cs[2 * i + 1]) : double(cs[2 * i + 1]);
        double ya = 0, yb = 0;
        rope_rotate_pair<double>(bf16_to_f32(xv[a]), bf16_to_f32(xv[b]), c, s, ya, yb);
        yv[a] = bf16_from_f64_once(ya);
        yv[b] = bf16_from_f64_once(yb);
      }
    }
  }
}

double swiglu_f64(double g, double u, double limit) {
  if (limit > 0) {  // moe.md: u <- clamp(u, −L, L), g <- min(g, L); comparisons keep NaN
    u = u > limit ? limit : (u < -limit ? -limit : u);
    g = g > limit ? limit : g;
  }
  return g / (1.0 + std::exp(-g)) * u;
}

// moe.md "Experts": h = silu(g)·u after the clamp, in FP64, rounded once to FP32.
void swiglu_ref(const SwigluParams& p, const float* g, const float* u, float* h) {
  p.validate();
  const int64_t n = p.n_tokens * p.width;
  for (int64_t i = 0; i < n; ++i) h[i] = static_cast<float>(swiglu_f64(g[i], u[i], p.limit));
}

// ---------------------------------------------------------------------------------------------
// Tensor contract
// ---------------------------------------------------------------------------------------------
std::vector<NumericsTensorSpec> numerics_io_spec(NumericsOp op, const ParamMap& pm) {
  switch (op) {
    case NumericsOp::RmsNorm: {
      const RmsNormParams p = rmsnorm_params_from(pm);
      return {{"x", DType::BF16, {p.n_tokens, p.width}, true},
              {"weight", DType::F32, {p.weighted ? p.width : 0}, true},
              {"y", DType::BF16, {p.n_tokens, p.width}, false}};
    }
    case NumericsOp::Rope: {
      const RopeParams p = rope_params_from(pm);
      return {{"x", DType::BF16, {p.n_tokens, p.n_heads, p.d_head}, true},
              {"cos_sin", DType::F32, {p.n_tokens, p.half(), 2}, false},
              {"y", DType::BF16, {p.n_tokens, p.n_heads, p.d_rope}, false}};
    }
    case NumericsOp::Swiglu: {
      const SwigluParams p = swiglu_params_from(pm);
      return {{"g", DType::F32, {p.n_tokens, p.width}, true},
              {"u", DType::F32, {p.n_tokens, p.width}, true},
              {"h", DType::F32, {p.n_tokens, p.width}, false}};
    }
  }
  return {};
}

void numerics_check_io(NumericsOp op, const ParamMap& pm, const KernelIO& io) {
  switch (op) {  // validate first: the shapes below assume valid params
    case NumericsOp::RmsNorm:
      rmsnorm_params_from(pm).validate();
      break;
    case NumericsOp::Rope:
      rope_params_from(pm).validate();
      break;
    case NumericsOp::Swiglu:
      swiglu_params_from(pm).validate();
      break;
  }
  for (const auto& s : numerics_io_spec(op, pm)) {
    const Tensor& t = s.input ? io.in(s.name) : io.out(s.name);
    if (t.dtype() != s.dtype || t.shape() != s.shape) {
      std::ostringstream o;
      o << "tensor '" << s.name << "' is " << dtype_name(t.dtype()) << " " << t.shape_str() << ", expected "
        << dtype_name(s.dtype) << " [";
      for (size_t i = 0; i < s.shape.size(); ++i) o << (i ? ", " : "") << s.shape[i];
      o << "]";
      throw config_error(o.str(), s.name);
    }
  }
}

}  // namespace v4lab::kernels
