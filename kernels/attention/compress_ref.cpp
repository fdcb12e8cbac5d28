// compress_ref.cpp — the V4 compressor specification in code (_ref; specs/attention.md §4.2, §4.6):
// projections as FP64 dot products rounded to FP32 (a, z are FP32 in the spec and in the state),
// pooling in FP64, then the numerics _ref kernels (RMSNorm, RoPE) and the shared quant simulation.
// Also: parameter validation, the tensor contract and the reference-layout state.
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "core/numerics.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/numerics/numerics.h"

namespace v4lab::kernels {
namespace {

[[noreturn]] void bad(const std::string& field, double value, const std::string& rule) {
  std::ostringstream o;
  o << "attn_compress: " << field << " = " << value << " " << rule;
  throw config_error(o.str(), field);
}

bool pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// a = fl32(W_kv·x), z = fl32(fl32(W_gate·x) + ape[pos mod r]) for one token (dots in FP64).
void project_token_ref(const CompressParams& p, const uint16_t* x, const CompressWeights& w, int64_t pos, float* a,
                       float* z) {
  const int64_t D = p.d_model, cd = p.cd();
  const float* ape = w.ape + (pos % p.ratio) * cd;
  for (int64_t r = 0; r < cd; ++r) {
    double sa = 0, sz = 0;
    for (int64_t k = 0; k < D; ++k) {
      const double xv = bf16_to_f32(x[k]);
      sa += double(bf16_to_f32(w.w_kv[r * D + k])) * xv;
      sz += double(bf16_to_f32(w.w_gate[r * D + k])) * xv;
    }
    a[r] = float(sa);
    z[r] = float(sz) + ape[r];
  }
}

// One entry (§4.2): per channel a softmax over the candidates of the current block (and, with overlap,
// the previous block's first-half channels). Rows are c·d apart. NaN in any candidate gives NaN.
void pool_ref(const CompressParams& p, const float* a_prev, const float* z_prev, const float* a_cur,
              const float* z_cur, double* out) {
  const int64_t d = p.d, cd = p.cd(), r = p.ratio;
  std::vector<double> za, aa;
  for (int64_t ch = 0; ch < d; ++ch) {
    za.clear(), aa.clear();
    if (p.overlap())
      for (int64_t i = 0; i < r; ++i) za.push_back(z_prev[i * cd + ch]), aa.push_back(a_prev[i * cd + ch]);
    const int64_t off = p.overlap() ? d : 0;  // with overlap the current block feeds the second half
    for (int64_t i = 0; i < r; ++i) za.push_back(z_cur[i * cd + off + ch]), aa.push_back(a_cur[i * cd + off + ch]);
    double m = -std::numeric_limits<double>::infinity();
    for (double v : za) m = v > m ? v : m;
    double num = 0, den = 0;
    for (size_t k = 0; k < za.size(); ++k) {
      const double e = std::exp(za[k] - m);  // −∞ candidates (absent block) give 0
      den += e;
      num += e * aa[k];
    }
    out[ch] = num / den;
  }
}

// Pooled C (FP64) of n entries, absolute indices j0.. → pooled, normed, entries (§4.2 epilogue).
void finish_ref(const CompressParams& p, const std::vector<double>& c, int64_t n, int64_t j0, const CompressWeights& w,
                const CompressOut& o, int64_t out_row) {
  if (n == 0) return;
  const int64_t d = p.d;
  std::vector<uint16_t> cb(static_cast<size_t>(n * d)), nb(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n * d; ++i) {
    if (o.pooled) o.pooled[out_row * d + i] = float(c[i]);
    cb[i] = bf16_from_f32(float(c[i]));  // C_j → BF16
  }
  RmsNormParams np;
  np.n_tokens = n, np.width = d, np.eps = p.eps;
  std::vector<float> nw(static_cast<size_t>(d));
  for (int64_t i = 0; i < d; ++i) nw[i] = bf16_to_f32(w.norm[i]);
  rmsnorm_ref(np, cb.data(), nw.data(), nb.data());
  RopeParams rp;
  rp.n_tokens = 1, rp.n_heads = 1, rp.d_head = d, rp.d_rope = int(p.d_rope), rp.interleaved = true;
  rp.theta = p.theta, rp.yarn_factor = p.yarn_factor, rp.yarn_orig_len = p.yarn_orig_len;
  rp.beta_fast = p.beta_fast, rp.beta_slow = p.beta_slow;
  std::vector<float> cs(static_cast<size_t>(p.d_rope));
  std::vector<uint16_t> rot(static_cast<size_t>(p.d_rope));
  uint16_t* normed = o.normed + out_row * d;
  for (int64_t j = 0; j < n; ++j) {
    rp.pos0 = (j0 + j) * p.ratio;  // entry j sits at position j·r, the start of its block
    uint16_t* row = nb.data() + j * d;
    if (p.d_rope > 0) {
      rope_ref(rp, row, cs.data(), rot.data());
      for (int64_t i = 0; i < p.d_rope; ++i) row[d - p.d_rope + i] = rot[i];
    }
    for (int64_t i = 0; i < d; ++i) normed[j * d + i] = row[i];
  }
  compress_quant_sim(p, normed, n, o.entries + out_row * d);
}

}  // namespace

void CompressParams::validate() const {
  if (n_tokens < 0) bad("n_tokens", double(n_tokens), "must be >= 0");
  if (d_model < 1) bad("d_model", double(d_model), "must be >= 1");
  if (ratio < 1)
    bad("ratio", double(ratio), "must be >= 1 (4 CSA with overlap, 128 HCA, 1 test; 0 = SWA-only, no compressor)");
  if (d_rope < 0 || d_rope % 2 != 0 || d_rope > d)
    bad("d_rope", double(d_rope), "must be even and in [0, d = " + std::to_string(d) + "]");
  if (indexer) {
    if (!pow2(d) || d % 32 != 0)
      bad("d", double(d), "(idx_dim) must be a power of two and a multiple of 32 (Hadamard + MXFP4; V4: 128)");
  } else if (quant && ((d - d_rope) % 64 != 0 || d - d_rope < 64)) {
    bad("d", double(d),
        "- d_rope must be a positive multiple of 64 for the 584 B layout (FP8 tiles of 64), got " +
            std::to_string(d - d_rope));
  }
  if (pos0 < 0 || pos0 + n_tokens > (int64_t(1) << 24))
    bad("pos0", double(pos0), "puts positions outside [0, 2^24]");
  if (!streaming && pos0 % ratio != 0)
    bad("pos0", double(pos0), "must be a multiple of ratio = " + std::to_string(ratio) + " for the prefill form");
}

CompressParams compress_params_from(const ParamMap& pm) {
  CompressParams p;
  auto geti = [&](const char* k, int64_t& v) {
    if (pm.count(k)) v = static_cast<int64_t>(pm.at(k));
  };
  auto getd = [&](const char* k, double& v) {
    if (pm.count(k)) v = pm.at(k);
  };
  geti("n_tokens", p.n_tokens);
  geti("d_model", p.d_model);
  geti("ratio", p.ratio);
  geti("d", p.d);
  geti("d_rope", p.d_rope);
  geti("pos0", p.pos0);
  if (pm.count("indexer")) p.indexer = pm.at("indexer") != 0;
  if (pm.count("quant")) p.quant = pm.at("quant") != 0;
  if (pm.count("streaming")) p.streaming = pm.at("streaming") != 0;
  getd("theta", p.theta);
  getd("yarn_factor", p.yarn_factor);
  getd("norm_eps", p.eps);
  return p;
}

std::vector<AttnTensorSpec> compress_io_spec(const CompressParams& p) {
  const int64_t T = p.n_tokens, D = p.d_model, cd = p.cd(), ne = p.n_entries();
  std::vector<AttnTensorSpec> s = {{"x", DType::BF16, {T, D}, true},
                                   {"w_kv", DType::BF16, {cd, D}, true},
                                   {"w_gate", DType::BF16, {cd, D}, true},
                                   {"ape", DType::F32, {p.ratio, cd}, true},
                                   {"norm", DType::BF16, {p.d}, true},
                                   {"entries", DType::BF16, {ne, p.d}, false},
                                   {"normed", DType::BF16, {ne, p.d}, false},
                                   {"pooled", DType::F32, {ne, p.d}, false}};
  if (p.streaming) {
    s.push_back({"kv_state", DType::F32, {p.state_rows(), cd}, false});
    s.push_back({"score_state", DType::F32, {p.state_rows(), cd}, false});
  }
  return s;
}

void compress_check_io(const CompressParams& p, const KernelIO& io) {
  p.validate();
  for (const auto& spec : compress_io_spec(p)) {
    const Tensor& t = spec.input ? io.in(spec.name) : io.out(spec.name);
    if (t.dtype() != spec.dtype || t.shape() != spec.shape)
      throw config_error("attn_compress: tensor '" + spec.name + "' is " + dtype_name(t.dtype()) + " " +
                         t.shape_str() + ", expected " + dtype_name(spec.dtype) + " for n_tokens = " +
                         std::to_string(p.n_tokens) + ", ratio = " + std::to_string(p.ratio) + ", d = " +
                         std::to_string(p.d));
  }
}

void compress_state_init(const CompressParams& p, CompressState s) {
  const int64_t n = p.state_rows() * p.cd();
  for (int64_t i = 0; i < n; ++i) s.kv[i] = 0.0f, s.score[i] = kNegInf;
}

void compress_quant_sim(const CompressParams& p, const uint16_t* normed, int64_t n, uint16_t* entries) {
  const int64_t d = p.d;
  std::vector<float> work(static_cast<size_t>(d));
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* in = normed + j * d;
    uint16_t* out = entries + j * d;
    if (!p.quant) {
      for (int64_t i = 0; i < d; ++i) out[i] = in[i];
    } else if (p.indexer) {
      kv_quant_sim_indexer(in, int(d), work.data(), out);
    } else {
      kv_quant_sim_main(in, int(d), int(p.d_rope), out);
    }
  }
}

void compress_ref(const CompressParams& p, const uint16_t* x, const CompressWeights& w, const CompressOut& o) {
  p.validate();
  const int64_t cd = p.cd(), r = p.ratio, ne = p.n_entries();
  if (ne == 0) return;  // n_tokens < ratio: no complete block, nothing emitted
  const int64_t T = ne * r;  // tokens of an incomplete last block emit nothing
  std::vector<float> a(static_cast<size_t>(T * cd)), z(static_cast<size_t>(T * cd));
  for (int64_t t = 0; t < T; ++t)
    project_token_ref(p, x + t * p.d_model, w, p.pos0 + t, a.data() + t * cd, z.data() + t * cd);
  const std::vector<float> empty_a(static_cast<size_t>(r * cd), 0.0f), empty_z(static_cast<size_t>(r * cd), kNegInf);  // block −1
  std::vector<double> c(static_cast<size_t>(ne * p.d));
  for (int64_t j = 0; j < ne; ++j) {
    const float* ap = j == 0 ? empty_a.data() : a.data() + (j - 1) * r * cd;
    const float* zp = j == 0 ? empty_z.data() : z.data() + (j - 1) * r * cd;
    pool_ref(p, ap, zp, a.data() + j * r * cd, z.data() + j * r * cd, c.data() + j * p.d);
  }
  finish_ref(p, c, ne, p.first_entry(), w, o, 0);
}

int64_t compress_step_ref(const CompressParams& p, const uint16_t* x, const CompressWeights& w, CompressState s,
                          const CompressOut& o) {
  p.validate();
  const int64_t cd = p.cd(), r = p.ratio;
  const int64_t cur0 = p.overlap() ? r : 0;  // first row of the current block in the state
  int64_t emitted = 0;
  std::vector<double> c(static_cast<size_t>(p.d));
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const int64_t pos = p.pos0 + t, slot = cur0 + pos % r;
    project_token_ref(p, x + t * p.d_model, w, pos, s.kv + slot * cd, s.score + slot * cd);
    if ((pos + 1) % r != 0) continue;
    pool_ref(p, s.kv, s.score, s.kv + cur0 * cd, s.score + cur0 * cd, c.data());
    finish_ref(p, c, 1, (pos + 1) / r - 1, w, o, emitted);
    ++emitted;
    if (p.overlap())  // the current block becomes the previous one
      for (int64_t i = 0; i < r * cd; ++i) s.kv[i] = s.kv[cur0 * cd + i], s.score[i] = s.score[cur0 * cd + i];
  }
  return emitted;
}

}  // namespace v4lab::kernels
