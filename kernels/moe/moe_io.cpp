// moe_io.cpp — the MoE family's contract (specs/moe.md "Shapes and presets", "Tests / Bad inputs"):
// parameter validation with field, value and accepted range in every message; the tensor list of
// each op (names, dtypes, shapes) and its check; host validation of index inputs (topk_idx, token ids,
// tid2eid); the weight-format shapes (quant.md "Shapes": FP8 scales [⌈out/128⌉, ⌈in/128⌉], FP4 [out,
// in/32]) and a per-element weight decoder for the reference and the tests.
#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "kernels/moe/moe.h"

namespace v4lab::kernels {

const char* moe_scoring_name(MoeScoring s) {
  switch (s) {
    case MoeScoring::Softmax:
      return "softmax";
    case MoeScoring::Sigmoid:
      return "sigmoid";
    case MoeScoring::SqrtSoftplus:
      return "sqrtsoftplus";
  }
  return "?";
}

const char* expert_dtype_name(ExpertDtype d) {
  switch (d) {
    case ExpertDtype::BF16:
      return "bf16";
    case ExpertDtype::FP8:
      return "fp8_e4m3_128x128_ue8m0";
    case ExpertDtype::FP4:
      return "mxfp4_e2m1_1x32_ue8m0";
  }
  return "?";
}

namespace {

[[noreturn]] void bad(const std::string& op, const std::string& field, const std::string& value,
                      const std::string& accepted) {
  throw config_error(op + ": " + field + " = " + value + " is invalid (accepted: " + accepted + ")", field);
}
std::string num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}
const char* op_name(MoeOp op) {
  switch (op) {
    case MoeOp::Gate:
      return "moe_gate";
    case MoeOp::Permute:
      return "moe_permute";
    case MoeOp::Experts:
      return "moe_experts";
    case MoeOp::Shared:
      return "moe_shared";
    case MoeOp::Combine:
      return "moe_combine";
  }
  return "moe";
}

}  // namespace

void MoeParams::validate(MoeOp op) const {
  const std::string o = op_name(op);
  if (n_tokens < 0) bad(o, "n_tokens", num(double(n_tokens)), ">= 0");
  if (d_model < 1) bad(o, "d_model", num(double(d_model)), ">= 1");
  if (op == MoeOp::Shared) {
    if (d_expert < 1) bad(o, "d_expert", num(double(d_expert)), ">= 1");
  } else {
    if (n_experts < 1 || n_experts > kMoeMaxExperts)
      bad(o, "n_experts", num(n_experts), "1.." + std::to_string(kMoeMaxExperts));
    if (top_k < 1 || top_k > std::min(n_experts, kMoeMaxTopK))
      bad(o, "top_k", num(top_k),
          "1..min(n_experts = " + std::to_string(n_experts) + ", " + std::to_string(kMoeMaxTopK) + ")");
  }
  if (op == MoeOp::Gate) {
    if (int(scoring) < 0 || int(scoring) > 2) bad(o, "scoring", num(int(scoring)), "0 softmax, 1 sigmoid, 2 sqrtsoftplus");
    if (n_group < 0 || n_group > kMoeMaxGroups) bad(o, "n_group", num(n_group), "0 (flat) or 1..64");
    if (n_group > 0) {
      if (n_experts % n_group != 0)
        bad(o, "n_group", num(n_group), "a divisor of n_experts = " + std::to_string(n_experts));
      if (topk_group < 1 || topk_group > n_group)
        bad(o, "topk_group", num(topk_group), "1..n_group = " + std::to_string(n_group));
      if (int64_t(topk_group) * (n_experts / n_group) < top_k)
        bad(o, "topk_group", num(topk_group),
            "topk_group·n_experts/n_group >= top_k = " + std::to_string(top_k) + " (groups of " +
                std::to_string(n_experts / n_group) + ")");
    }
    if (hash && vocab < 1) bad(o, "vocab", num(double(vocab)), ">= 1 in hash mode");
    if (!(route_scale >= 0) || !std::isfinite(route_scale)) bad(o, "route_scale", num(route_scale), "finite, >= 0");
  }
  if (op == MoeOp::Experts || op == MoeOp::Shared) {
    if (d_expert < 1) bad(o, "d_expert", num(double(d_expert)), ">= 1");
    if (int(expert_dtype) < 0 || int(expert_dtype) > 2)
      bad(o, "expert_dtype", num(int(expert_dtype)), "0 bf16, 1 fp8 128x128, 2 mxfp4 1x32");
    if (expert_dtype != ExpertDtype::BF16) {  // FP8 1×128 activation blocks (and 1×32 FP4 weight blocks)
      if (d_model % 128 != 0) bad(o, "d_model", num(double(d_model)), "a multiple of 128 with quantized experts");
      if (d_expert % 128 != 0) bad(o, "d_expert", num(double(d_expert)), "a multiple of 128 with quantized experts");
    }
    if (!(limit >= 0) || !std::isfinite(limit)) bad(o, "limit", num(limit), "finite, >= 0 (0 = no clamp)");
  }
}

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------
DType moe_weight_codes_dtype(ExpertDtype dt) { return dt == ExpertDtype::BF16 ? DType::BF16 : DType::U8; }

std::vector<int64_t> moe_weight_codes_shape(ExpertDtype dt, int64_t E, int64_t out, int64_t in) {
  return {E, out, dt == ExpertDtype::FP4 ? in / 2 : in};
}
std::vector<int64_t> moe_weight_scales_shape(ExpertDtype dt, int64_t E, int64_t out, int64_t in) {
  switch (dt) {
    case ExpertDtype::BF16:
      return {E, 0};
    case ExpertDtype::FP8:
      return {E, (out + 127) / 128, (in + 127) / 128};
    case ExpertDtype::FP4:
      return {E, out, in / 32};
  }
  return {};
}

float moe_weight_at(const MoeWeight& w, ExpertDtype dt, int64_t out, int64_t in, int e, int64_t n, int64_t k) {
  switch (dt) {
    case ExpertDtype::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(w.codes)[(int64_t(e) * out + n) * in + k]);
    case ExpertDtype::FP8: {
      const uint8_t c = static_cast<const uint8_t*>(w.codes)[(int64_t(e) * out + n) * in + k];
      const int64_t so = (out + 127) / 128, si = (in + 127) / 128;
      return fp8_e4m3_to_f32(c) * ue8m0_to_f32(w.scales[(int64_t(e) * so + n / 128) * si + k / 128]);
    }
    case ExpertDtype::FP4: {
      const uint8_t b = static_cast<const uint8_t*>(w.codes)[(int64_t(e) * out + n) * (in / 2) + k / 2];
      const uint8_t c = (k & 1) ? fp4_hi(b) : fp4_lo(b);
      return fp4_e2m1_to_f32(c) * ue8m0_to_f32(w.scales[(int64_t(e) * out + n) * (in / 32) + k / 32]);
    }
  }
  return 0.0f;
}

// ---------------------------------------------------------------------------------------------
// Index inputs
// ---------------------------------------------------------------------------------------------
void moe_check_topk_idx(const MoeParams& p, const int32_t* idx, int64_t n_rows, const char* what) {
  for (int64_t i = 0; i < n_rows * p.top_k; ++i)
    if (idx[i] < 0 || idx[i] >= p.n_experts)
      throw config_error(std::string(what) + "[" + std::to_string(i / p.top_k) + ", " + std::to_string(i % p.top_k) +
                             "] = " + std::to_string(idx[i]) + " is outside [0, n_experts = " +
                             std::to_string(p.n_experts) + ")",
                         what);
}

void moe_check_hash_inputs(const MoeParams& p, const int32_t* token_ids, const int32_t* tid2eid) {
  moe_check_topk_idx(p, tid2eid, p.vocab, "tid2eid");
  for (int64_t v = 0; v < p.vocab; ++v)  // v4lab rule: a row names k distinct experts
    for (int a = 0; a < p.top_k; ++a)
      for (int b = a + 1; b < p.top_k; ++b)
        if (tid2eid[v * p.top_k + a] == tid2eid[v * p.top_k + b])
          throw config_error("tid2eid row " + std::to_string(v) + " names expert " +
                                 std::to_string(tid2eid[v * p.top_k + a]) +
                                 " twice (accepted: k distinct experts per row)",
                             "tid2eid");
  for (int64_t t = 0; t < p.n_tokens; ++t)
    if (token_ids[t] < 0 || token_ids[t] >= p.vocab)
      throw config_error("token_ids[" + std::to_string(t) + "] = " + std::to_string(token_ids[t]) +
                             " is outside [0, vocab = " + std::to_string(p.vocab) + ")",
                         "token_ids");
}

// ---------------------------------------------------------------------------------------------
// Tensor contract
// ---------------------------------------------------------------------------------------------
namespace {

void add_weights(std::vector<MoeTensorSpec>& v, const MoeParams& p, int64_t E) {
  const ExpertDtype dt = p.expert_dtype;
  const int64_t d = p.d_model, f = p.d_expert;
  const DType cd = moe_weight_codes_dtype(dt);
  v.push_back({"w1", cd, moe_weight_codes_shape(dt, E, f, d), true});
  v.push_back({"w1_scale", DType::U8, moe_weight_scales_shape(dt, E, f, d), true});
  v.push_back({"w3", cd, moe_weight_codes_shape(dt, E, f, d), true});
  v.push_back({"w3_scale", DType::U8, moe_weight_scales_shape(dt, E, f, d), true});
  v.push_back({"w2", cd, moe_weight_codes_shape(dt, E, d, f), true});
  v.push_back({"w2_scale", DType::U8, moe_weight_scales_shape(dt, E, d, f), true});
}

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

}  // namespace

std::vector<MoeTensorSpec> moe_io_spec(MoeOp op, const MoeParams& p) {
  const int64_t T = p.n_tokens, d = p.d_model, E = p.n_experts, k = p.top_k, R = p.rows();
  std::vector<MoeTensorSpec> v;
  switch (op) {
    case MoeOp::Gate:
      v = {{"x", DType::BF16, {T, d}, true},          {"w_g", DType::BF16, {E, d}, true},
           {"bias", DType::F32, {E}, true},           {"token_ids", DType::I32, {T}, true},
           {"tid2eid", DType::I32, {p.vocab, k}, true}, {"topk_idx", DType::I32, {T, k}, false},
           {"topk_w", DType::F32, {T, k}, false},     {"scores", DType::F32, {T, E}, false},
           {"flags", DType::I32, {T}, false}};
      break;
    case MoeOp::Permute:
      v = {{"topk_idx", DType::I32, {T, k}, true},
           {"x", DType::BF16, {T, d}, true},
           {"offsets", DType::I32, {E + 1}, false},
           {"row_map", DType::I32, {R}, false},
           {"x_perm", DType::BF16, {R, d}, false}};
      break;
    case MoeOp::Experts:
      v = {{"offsets", DType::I32, {E + 1}, true},
           {"x_perm", DType::BF16, {R, d}, true},
           {"w_perm", DType::F32, {R}, true}};
      add_weights(v, p, E);
      v.push_back({"y_e", DType::F32, {R, d}, false});
      break;
    case MoeOp::Shared:
      v = {{"x", DType::BF16, {T, d}, true}};
      add_weights(v, p, 1);
      v.push_back({"y_s", DType::F32, {T, d}, false});
      break;
    case MoeOp::Combine:
      v = {{"y_e", DType::F32, {R, d}, true},
           {"row_map", DType::I32, {R}, true},
           {"topk_idx", DType::I32, {T, k}, true},
           {"y_s", DType::F32, {T, d}, true},
           {"y", DType::BF16, {T, d}, false}};
      break;
  }
  return v;
}

void moe_check_io(MoeOp op, const MoeParams& p, const KernelIO& io) {
  p.validate(op);
  const std::string o = op_name(op);
  for (const auto& spec : moe_io_spec(op, p)) {
    const auto& list = spec.input ? io.inputs : io.outputs;
    const Tensor* t = nullptr;
    for (const auto& c : list)
      if (c.name() == spec.name) t = &c;
    const std::string what = std::string(spec.input ? "input" : "output") + " '" + spec.name + "'";
    if (!t) throw config_error(o + ": missing " + what, spec.name);
    if (t->dtype() != spec.dtype)
      throw config_error(o + ": " + what + " has dtype " + dtype_name(t->dtype()) + ", expected " +
                             dtype_name(spec.dtype),
                         spec.name);
    if (t->shape() != spec.shape)
      throw config_error(o + ": " + what + " has shape " + t->shape_str() + ", expected " + shape_str(spec.shape) +
                             " (n_tokens = " + std::to_string(p.n_tokens) + ", d_model = " +
                             std::to_string(p.d_model) + ", n_experts = " + std::to_string(p.n_experts) +
                             ", top_k = " + std::to_string(p.top_k) + ")",
                         spec.name);
  }
  // Index contents: checked on the host for every backend (kernels assume valid indices).
  if (op == MoeOp::Gate && p.hash)
    moe_check_hash_inputs(p, io.in("token_ids").data<int32_t>(), io.in("tid2eid").data<int32_t>());
  if (op == MoeOp::Permute || op == MoeOp::Combine)
    moe_check_topk_idx(p, io.in("topk_idx").data<int32_t>(), p.n_tokens, "topk_idx");
  if (op == MoeOp::Experts) {
    const int32_t* off = io.in("offsets").data<int32_t>();
    if (off[0] != 0 || off[p.n_experts] != p.rows())
      throw config_error(o + ": offsets must start at 0 and end at rows = n_tokens·top_k = " +
                             std::to_string(p.rows()) + " (got " + std::to_string(off[0]) + ".." +
                             std::to_string(off[p.n_experts]) + ")",
                         "offsets");
    for (int e = 0; e < p.n_experts; ++e)
      if (off[e + 1] < off[e])
        throw config_error(o + ": offsets must be non-decreasing (offsets[" + std::to_string(e + 1) + "] = " +
                               std::to_string(off[e + 1]) + " < offsets[" + std::to_string(e) +
                               "] = " + std::to_string(off[e]) + ")",
                           "offsets");
  }
  if (op == MoeOp::Combine) {
    const int32_t* rm = io.in("row_map").data<int32_t>();
    std::vector<char> seen(size_t(p.rows()), 0);
    for (int64_t r = 0; r < p.rows(); ++r) {
      if (rm[r] < 0 || rm[r] >= p.rows() || seen[size_t(rm[r])])
        throw config_error(o + ": row_map must be a permutation of [0, n_tokens·top_k) (row_map[" +
                               std::to_string(r) + "] = " + std::to_string(rm[r]) + ")",
                           "row_map");
      seen[size_t(rm[r])] = 1;
    }
  }
}

}  // namespace v4lab::kernels
