// numerics.h — RMSNorm, RoPE (GPT-J / NeoX pairing, partial slice, YaRN, inverse) and SwiGLU kernels.
// Math: specs/attention.md §1.1 (RMSNorm), §1.2 (RoPE), §1.3 (YaRN); specs/moe.md "Experts" (SwiGLU
// with the V4 clamp). Backends share one signature per op: _ref (FP64 oracle, numerics_ref.cpp), _cpu
// (OpenMP + SIMD FP32, numerics_cpu.cpp); the CUDA launchers are in numerics_cuda.h. The per-element
// math (rms scale, pair rotation, YaRN frequencies, the cos/sin table entry) is written once here
// (V4LAB_HD) and used by every backend.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/numerics.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"

namespace v4lab::kernels {

enum class NumericsOp { RmsNorm, Rope, Swiglu };

struct RmsNormParams {
  int64_t n_tokens = 0;  // T: rows; x and y are [T, width] BF16
  int64_t width = 4096;  // values per row, >= 1
  bool weighted = true;  // weight [width] FP32 multiplies the normalized row; false: w = 1 (V4 q heads)
  double eps = 1e-6;     // rms_norm_eps, >= 0
  void validate() const;  // throws config_error naming the field, its value and the accepted range
};

struct RopeParams {
  int64_t n_tokens = 0;     // T: tokens; x is [T, n_heads, d_head] BF16, y is [T, n_heads, d_rope] BF16
  int64_t n_heads = 64;     // H: rotated vectors per token, >= 1
  int64_t d_head = 512;     // values per vector, >= d_rope
  int d_rope = 64;          // rotated values per vector: even, 2..d_head
  int64_t rope_offset = -1; // first rotated value: 0..d_head−d_rope; −1 = d_head − d_rope (the last slice)
  bool interleaved = true;  // GPT-J pairs (x[2i], x[2i+1]); false: NeoX pairs (x[i], x[i + d_rope/2])
  bool inverse = false;     // rotate by −angle
  double theta = 160000;    // base θ > 1
  double yarn_factor = 16;  // YaRN s >= 1; 1 = off
  double yarn_orig_len = 65536;  // YaRN L >= 1
  double beta_fast = 32;    // YaRN β_fast > β_slow > 0 (used when s > 1)
  double beta_slow = 1;
  int64_t pos0 = 0;         // token t sits at position pos0 + t, 0..2^24
  bool fp32_angles = false; // table built in FP32 end to end (the reference code's precision)

  int half() const { return d_rope / 2; }  // pairs per vector
  int64_t offset() const { return rope_offset < 0 ? d_head - d_rope : rope_offset; }
  bool yarn() const { return yarn_factor > 1; }
  void validate() const;
};

struct SwigluParams {
  int64_t n_tokens = 0;  // T: rows; g, u and h are [T, width] FP32
  int64_t width = 2048;  // values per row (d_expert), >= 1
  float limit = 0;       // swiglu_limit L (V4: 10): u <- clamp(u, −L, L), g <- min(g, L); <= 0 = no clamp
  void validate() const;
};

// From resolved op-catalogue params (absent keys keep the defaults above).
RmsNormParams rmsnorm_params_from(const ParamMap& pm);
RopeParams rope_params_from(const ParamMap& pm);
SwigluParams swiglu_params_from(const ParamMap& pm);

// ---------------------------------------------------------------------------------------------
// Shared per-element math (host and device). T = double in _ref, float in _cpu and _cuda.
// ---------------------------------------------------------------------------------------------
V4LAB_HD double num_sqrt(double x) { return sqrt(x); }
V4LAB_HD float num_sqrt(float x) { return sqrtf(x); }
V4LAB_HD double num_pow(double a, double b) { return pow(a, b); }
V4LAB_HD float num_pow(float a, float b) { return powf(a, b); }
V4LAB_HD double num_log(double x) { return log(x); }
V4LAB_HD float num_log(float x) { return logf(x); }
V4LAB_HD double num_cos(double x) { return cos(x); }
V4LAB_HD float num_cos(float x) { return cosf(x); }
V4LAB_HD double num_sin(double x) { return sin(x); }
V4LAB_HD float num_sin(float x) { return sinf(x); }

// §1.1: r = 1/sqrt(Σx²/width + eps). Correctly rounded sqrt and division on host and device (not
// the approximate rsqrtf), so the FP32 backends agree bit for bit given the same sum of squares.
template <class T>
V4LAB_HD T rms_scale(T sum_sq, T width, T eps) {
  return T(1) / num_sqrt(sum_sq / width + eps);
}

// §1.2: (u, v) -> (u·c − v·s, u·s + v·c). The inverse passes −s. Both pairings call this one function,
// so NeoX(x) = Pᵀ·GPTJ(P·x) holds bit for bit.
template <class T>
V4LAB_HD void rope_rotate_pair(T u, T v, T c, T s, T& yu, T& yv) {
  yu = u * c - v * s;
  yv = u * s + v * c;
}

// §1.3: c(β) = d_rope·ln(L/(2πβ)) / (2·ln θ).
template <class T>
V4LAB_HD T yarn_correction_dim(T beta, int d_rope, T orig_len, T theta) {
  return T(d_rope) * num_log(orig_len / (T(2 * 3.14159265358979323846) * beta)) / (T(2) * num_log(theta));
}

// §1.3: low = max(⌊c(β_fast)⌋, 0), high = min(⌈c(β_slow)⌉, d_rope − 1); high += 0.001 if equal.
template <class T>
V4LAB_HD void yarn_low_high(T theta, int d_rope, T orig_len, T beta_fast, T beta_slow, T& low, T& high) {
  low = floor(yarn_correction_dim(beta_fast, d_rope, orig_len, theta));
  high = ceil(yarn_correction_dim(beta_slow, d_rope, orig_len, theta));
  if (low < T(0)) low = T(0);
  if (high > T(d_rope - 1)) high = T(d_rope - 1);
  if (low == high) high += T(0.001);
}

// §1.2–1.3: frequency of pair i. f_i = 1/θ^(2i/d_rope) (θ^(·) then its reciprocal, as the reference);
// with YaRN (s > 1): ramp_i = clamp((i − low)/(high − low), 0, 1) on the pair index (unhalved low/high,
// as the reference) and f'_i = f_i·(1 − ramp_i) + (f_i/s)·ramp_i. `low`/`high` come from yarn_low_high.
template <class T>
V4LAB_HD T rope_freq(int i, int d_rope, T theta, T factor, T low, T high) {
  const T f = T(1) / num_pow(theta, T(2 * i) / T(d_rope));
  if (!(factor > T(1))) return f;
  T ramp = (T(i) - low) / (high - low);
  ramp = ramp < T(0) ? T(0) : (ramp > T(1) ? T(1) : ramp);
  return f * (T(1) - ramp) + (f / factor) * ramp;
}

// Frequency table f'[d_rope/2] for p (host: _ref, _cpu, and the CUDA prepare's cross-check).
template <class T>
void rope_freq_table(const RopeParams& p, T* freq) {
  T low = 0, high = 1;
  if (p.yarn()) yarn_low_high(T(p.theta), p.d_rope, T(p.yarn_orig_len), T(p.beta_fast), T(p.beta_slow), low, high);
  for (int i = 0; i < p.half(); ++i) freq[i] = rope_freq(i, p.d_rope, T(p.theta), T(p.yarn_factor), low, high);
}

// One table entry: angle a = pos·f' in T (FP64 by default, FP32 under fp32_angles), cos/sin stored FP32.
template <class T>
V4LAB_HD void rope_cos_sin(int64_t pos, T freq, float& c, float& s) {
  const T a = T(pos) * freq;
  c = float(num_cos(a));
  s = float(num_sin(a));
}

// Host table builder: the frequencies once per launch (FP64 and FP32 variants), then one row of
// cos_sin [d_rope/2, 2] (cos, sin per pair) per token at position pos0 + t. _cpu builds each row
// inside its token loop, so the row is hot in L1 when that token's heads are rotated.
struct RopeFreqs {
  std::vector<double> f64;  // f'_i, FP64
  std::vector<float> f32;   // f'_i computed in FP32 (fp32_angles)
  explicit RopeFreqs(const RopeParams& p);
  void row(const RopeParams& p, int64_t t, float* cs_row) const;
};
// Fills cos_sin [n_tokens, d_rope/2, 2] for every token (_ref; tests).
void rope_build_table(const RopeParams& p, float* cos_sin);

// ---------------------------------------------------------------------------------------------
// Entry points. Dense row-major buffers; BF16 is raw uint16 bits. n_tokens = 0 does nothing.
// ---------------------------------------------------------------------------------------------
// RMSNorm. In: x [T, width] BF16; weight [width] FP32 (ignored, may be null, when !weighted).
// Out: y [T, width] BF16.
void rmsnorm_ref(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y);
void rmsnorm_cpu(const RmsNormParams& p, const uint16_t* x, const float* weight, uint16_t* y);

// RoPE. In: x [T, H, d_head] BF16. Out: cos_sin [T, d_rope/2, 2] FP32 (the table of this launch,
// built first) and y [T, H, d_rope] BF16 = the rotated slice x[:, :, offset : offset + d_rope]
// (the unrotated values are not copied: the cost row counts the slice only).
void rope_ref(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y);
void rope_cpu(const RopeParams& p, const uint16_t* x, float* cos_sin, uint16_t* y);

// SwiGLU. In: g, u [T, width] FP32. Out: h [T, width] FP32 = silu(min(g, L))·clamp(u, −L, L).
void swiglu_ref(const SwigluParams& p, const float* g, const float* u, float* h);
void swiglu_cpu(const SwigluParams& p, const float* g, const float* u, float* h);

// FP64 twin of swiglu_f32 (the _ref's element): the moe.md clamp, then silu in double.
double swiglu_f64(double g, double u, double limit);

// ---------------------------------------------------------------------------------------------
// Tensor-level contract (names, dtypes, shapes) shared by make_io, prepare and the tests.
// ---------------------------------------------------------------------------------------------
struct NumericsTensorSpec {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  bool input;
};
std::vector<NumericsTensorSpec> numerics_io_spec(NumericsOp op, const ParamMap& pm);  // inputs, then outputs
// Validates the params, then throws config_error naming the tensor for any shape/dtype mismatch.
void numerics_check_io(NumericsOp op, const ParamMap& pm, const KernelIO& io);

}  // namespace v4lab::kernels
