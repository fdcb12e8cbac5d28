// model_build.cpp — scaled presets and seeded weights for `v4lab exec` (see model_build.h).
// Weight distributions follow the kernels' own make_io (kernels/*/..._register.cpp) so activations
// stay O(1) layer after layer: projections N(0, 1/k), router N(0, 1/d), W1/W3 N(0, 4/d), W2 N(0, 1/f).
#include "profiler/model_build.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/numerics.h"
#include "core/rng.h"
#include "kernels/engram/primes.h"
#include "profiler/detail/exec_workspace.h"
#include "kernels/quant/quant.h"

namespace v4lab::profiler {

ExecScale named_scale(const std::string& name) {
  ExecScale s;
  s.name = name;
  if (name == "small") {  // the issue's target run: all layers, widths ~1/16 of V4-Flash
    s.d_model = 256, s.n_heads = 4, s.d_head = 128, s.q_rank = 128, s.o_rank = 128, s.o_groups = 2;
    s.n_experts = 16, s.d_expert = 128, s.vocab = 4096, s.idx_heads = 4, s.idx_dim = 64, s.index_topk = 128;
    s.kv_rank = 256, s.d_dense = 512, s.engram_rows = 16384, s.engram_head_dim = 64;
  } else if (name == "tiny") {  // unit tests: the same schedule, the smallest widths the kernels accept
    s.d_model = 128, s.n_heads = 2, s.d_head = 128, s.q_rank = 128, s.o_rank = 128, s.o_groups = 1;
    s.n_experts = 8, s.d_expert = 128, s.vocab = 512, s.idx_heads = 2, s.idx_dim = 64, s.index_topk = 16;
    s.window = 16;
    s.kv_rank = 128, s.d_dense = 256, s.engram_rows = 2048, s.engram_head_dim = 32;
  } else if (name != "preset") {
    throw usage_error("--scale '" + name + "': accepted: tiny, small, preset");
  }
  return s;
}

namespace {
// Scales only the fields the preset has (an MLA preset gets no V4 window / O groups, V3 no indexer).
void set_num(ModelPreset& m, const char* key, int64_t v) {
  if (v > 0 && m.has(key)) m.fields[key] = v;
}
int64_t num(const ModelPreset& m, const char* key) { return int64_t(m.number(key)); }
[[noreturn]] void bad(const ModelPreset& m, const std::string& field, int64_t v, const std::string& rule) {
  throw config_error("exec scale of '" + m.id + "': " + field + " = " + std::to_string(v) + " " + rule);
}
}  // namespace

ModelPreset scale_preset(const ModelPreset& src, const ExecScale& s) {
  ModelPreset m = src;
  set_num(m, "hidden_size", s.d_model);
  set_num(m, "num_attention_heads", s.n_heads);
  set_num(m, "head_dim", s.d_head);
  set_num(m, "q_lora_rank", s.q_rank);
  set_num(m, "o_lora_rank", s.o_rank);
  set_num(m, "o_groups", s.o_groups);
  set_num(m, "n_routed_experts", s.n_experts);
  set_num(m, "moe_intermediate_size", s.d_expert);
  set_num(m, "vocab_size", s.vocab);
  set_num(m, "index_n_heads", s.idx_heads);
  set_num(m, "index_head_dim", s.idx_dim);
  set_num(m, "index_topk", s.index_topk);
  set_num(m, "sliding_window", s.window);
  set_num(m, "kv_lora_rank", s.kv_rank);
  set_num(m, "intermediate_size", s.d_dense);
  if (m.has("engram_layer_ids")) {
    set_num(m, "engram_head_dim", s.engram_head_dim);
    if (s.engram_rows > 0 && m.has("engram_vocab_size_per_order"))
      for (auto& e : m.fields["engram_vocab_size_per_order"]) e = s.engram_rows;
  }
  if (s.moe_top_k > 0) m.fields["num_experts_per_tok"] = s.moe_top_k;
  if (m.has_number("num_experts_per_tok") && m.has_number("n_routed_experts") &&
      num(m, "num_experts_per_tok") > num(m, "n_routed_experts"))
    m.fields["num_experts_per_tok"] = num(m, "n_routed_experts");
  const int64_t L = num(m, "num_hidden_layers");
  if (s.layers == 0 || s.layers > L) bad(m, "layers", s.layers, "must be in 1.." + std::to_string(L));
  if (s.layers > 0 && s.layers < L) {  // keep the first `layers` entries and the MTP entries at the tail
    for (const char* key : {"compress_ratios", "attn_kind", "moe_kind"}) {
      if (!m.has(key)) continue;
      nlohmann::json a = m.fields[key], out = nlohmann::json::array();
      for (int64_t i = 0; i < int64_t(a.size()); ++i)
        if (i < s.layers || i >= L) out.push_back(a[size_t(i)]);
      m.fields[key] = out;
    }
    if (m.has("engram_layer_ids")) {
      nlohmann::json out = nlohmann::json::array();
      for (auto& e : m.fields["engram_layer_ids"])
        if (e.get<int64_t>() < s.layers) out.push_back(e);
      m.fields["engram_layer_ids"] = out;
    }
    m.fields["num_hidden_layers"] = s.layers;
  }
  if (s.name != "preset") m.id = src.id + "@" + s.name;
  // Kernel constraints, checked before anything is built.
  const sim::ModelDims d = sim::model_dims(m);
  auto mult128 = [&](const char* field, int64_t v) {
    if (v % 128 != 0 || v <= 0) bad(m, field, v, "must be a positive multiple of 128 (FP8 1x128 blocks)");
  };
  mult128("hidden_size", d.d_model);
  mult128("q_lora_rank", d.q_rank);
  mult128("moe_intermediate_size", d.d_expert);
  if (d.v4) {
    mult128("head_dim", d.d_head);
    mult128("o_lora_rank", d.o_rank);
    if (d.o_groups < 1 || d.n_heads % d.o_groups != 0)
      bad(m, "num_attention_heads", d.n_heads, "must be a multiple of o_groups = " + std::to_string(d.o_groups));
    if (d.d_rope > d.d_head) bad(m, "head_dim", d.d_head, "must be >= qk_rope_head_dim " + std::to_string(d.d_rope));
  } else {  // MLA: W_o reads H·d_v (FP8 1×128 blocks); the latent c_kv is BF16 (any width)
    if (d.kv_rank < 1) bad(m, "kv_lora_rank", d.kv_rank, "must be >= 1");
    if ((d.n_heads * d.v_head) % 128 != 0)
      bad(m, "num_attention_heads", d.n_heads, "x v_head_dim must be a multiple of 128 (FP8 1x128 blocks)");
    if (d.d_rope % 2 != 0 || d.d_rope < 2) bad(m, "qk_rope_head_dim", d.d_rope, "must be even and >= 2");
    if (d.idx_dim > 0 && d.idx_dim < 64) bad(m, "index_head_dim", d.idx_dim, "must be >= 64 (DSA RoPE on 64 dims)");
  }
  for (const sim::LayerSpec& l : sim::layer_schedule(m))
    if (l.moe_kind == "dense") {
      mult128("intermediate_size", d.d_dense);
      break;
    }
  if (!d.engram_layers.empty()) {
    const int64_t dmem = int64_t(d.engram_max_ngram - 1) * d.engram_heads * d.engram_head_dim;
    if (dmem % 128 != 0)
      bad(m, "engram_head_dim", d.engram_head_dim,
          "x (max_ngram - 1) x heads = d_mem " + std::to_string(dmem) + " must be a multiple of 128");
    if (d.engram_row_dtype != 1)
      bad(m, "engram_row_dtype", d.engram_row_dtype, "(code) is not executed: the executor's tables are BF16 rows");
  }
  if (d.idx_dim > 0 && ((d.idx_dim & (d.idx_dim - 1)) != 0 || d.idx_dim < d.d_rope || d.idx_dim % 32 != 0))
    bad(m, "index_head_dim", d.idx_dim, "must be a power of two, a multiple of 32 and >= qk_rope_head_dim");
  if (d.moe_top_k > d.n_experts) bad(m, "num_experts_per_tok", d.moe_top_k, "must be <= n_routed_experts");
  if (d.v4 && d.window < 1) bad(m, "sliding_window", d.window, "must be >= 1");
  return m;
}

std::string exec_unsupported_reason(const sim::ModelDims& d) {
  if (d.v4 && !d.mhc) return "V4 attention without mHC (hc_mult) is not executed yet";
  if (d.n_shared < 1) return "n_shared_experts < 1 is not executed yet";
  return {};
}

int64_t engram_rows_of(const ModelPreset& m) {
  if (!m.has("engram_vocab_size_per_order")) return 0;
  const auto& a = m.fields.at("engram_vocab_size_per_order");
  return a.is_array() && !a.empty() && a[0].is_number() ? a[0].get<int64_t>() : 0;
}

std::vector<EngramLayerTable> engram_tables(const sim::ModelDims& d, int64_t engram_rows) {
  std::vector<EngramLayerTable> out;
  if (d.engram_layers.empty()) return out;
  const uint64_t seed_rows = uint64_t(engram_rows > 0 ? engram_rows : kDefaultEngramRows);
  std::vector<int64_t> ids(d.engram_layers.begin(), d.engram_layers.end());
  const kernels::EngramLayout lay = kernels::engram_generated_layout(
      ids, std::vector<uint64_t>(size_t(d.engram_max_ngram - 1), seed_rows), d.engram_heads, uint64_t(d.vocab), 0);
  for (const kernels::EngramLayerLayout& l : lay.layers)
    out.push_back({l.multipliers, l.primes, int64_t(kernels::engram_table_rows(l.primes))});
  return out;
}

double available_ram_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string key;
    double kb = 0;
    if (s >> key >> kb && key == "MemAvailable:") return kb * 1024.0;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------
namespace {

// ≈ N(0, 1) from one draw (sum of four 16-bit uniforms, rescaled): weights only need a smooth,
// seeded distribution with realistic block amax values, and this is ~10x cheaper than Box-Muller.
inline float quick_normal(Rng& r) {
  const uint64_t u = r.next_u64();
  const float s = float(u & 0xffff) + float((u >> 16) & 0xffff) + float((u >> 32) & 0xffff) + float(u >> 48);
  return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
}

struct Seeder {
  uint64_t seed;
  int layer;
  uint64_t salt = 0;
  // One stream per (seed, layer, tensor, row): values do not depend on threads or on other tensors.
  Rng row(uint64_t tensor, int64_t r) const {
    return Rng(seed ^ (0x9e3779b97f4a7c15ull * (uint64_t(layer + 2) * 1000003ull + tensor)) ^
               (uint64_t(r) * 0xd1b54a32d192ed03ull));
  }
};

// Rows r0 .. r1 − 1 of a seeded N(0, sd²) tensor (every row has its own stream, so a tensor built in
// row blocks is bit-identical to one built whole).
void normal_rows(const Seeder& s, uint64_t tensor, int64_t r0, int64_t r1, int64_t cols, double sd, float* out) {
#pragma omp parallel for schedule(static)
  for (int64_t r = r0; r < r1; ++r) {
    Rng g = s.row(tensor, r);
    for (int64_t c = 0; c < cols; ++c) out[(r - r0) * cols + c] = float(sd) * quick_normal(g);
  }
}
std::vector<float> normal_f32(const Seeder& s, uint64_t tensor, int64_t rows, int64_t cols, double sd) {
  std::vector<float> v(size_t(rows * cols));
  normal_rows(s, tensor, 0, rows, cols, sd, v.data());
  return v;
}
// The FP32 staging of the large tensors (embedding, LM head, Engram tables) is bounded to ~4 MiB
// row blocks, so building the weights peaks at the weights plus a few MiB (memory accounting).
int64_t block_rows(int64_t cols, int64_t multiple) {
  const int64_t rows = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(1, cols));
  return std::max(multiple, rows / multiple * multiple);
}
std::vector<uint16_t> normal_bf16(const Seeder& s, uint64_t tensor, int64_t rows, int64_t cols, double sd) {
  std::vector<uint16_t> v(size_t(rows * cols));
  const int64_t br = block_rows(cols, 1);
  std::vector<float> f(size_t(std::min(rows, br) * cols));
  for (int64_t r0 = 0; r0 < rows; r0 += br) {
    const int64_t r1 = std::min(rows, r0 + br);
    normal_rows(s, tensor, r0, r1, cols, sd, f.data());
    for (int64_t i = 0; i < (r1 - r0) * cols; ++i) v[size_t(r0 * cols + i)] = bf16_from_f32(f[size_t(i)]);
  }
  return v;
}
std::vector<float> uniform_f32(const Seeder& s, uint64_t tensor, int64_t n, double lo, double hi) {
  Rng g = s.row(tensor, 0);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = float(g.uniform(lo, hi));
  return v;
}
std::vector<float> norm_weight(const Seeder& s, uint64_t tensor, int64_t n) {  // 1 + N(0, 0.1²)
  std::vector<float> v = normal_f32(s, tensor, 1, n, 0.1);
  for (auto& x : v) x += 1.0f;
  return v;
}

// FP8 128×128 weight through the project's quantizer (quant_fp8_cpu, block_rows = 128, UE8M0).
void quant_fp8_weight(const float* w, int64_t n, int64_t k, uint8_t* codes, uint8_t* scales) {
  kernels::QuantFp8Params q;
  q.rows = n, q.k = k, q.block = 128, q.block_rows = 128, q.in_bf16 = false;
  int64_t nonfinite = 0;
  kernels::quant_fp8_cpu(q, w, codes, scales, &nonfinite);
}

Fp8Weight fp8_weight(const Seeder& s, uint64_t tensor, int64_t n, int64_t k, double sd) {
  Fp8Weight w;
  w.n = n, w.k = k;
  w.codes.resize(size_t(n * k));
  w.scales.resize(size_t((n + 127) / 128 * (k / 128)));
  // In blocks of whole 128-row scale blocks: the same codes and scales as one call over all rows.
  const int64_t br = block_rows(k, 128);
  std::vector<float> f(size_t(std::min(n, br) * k));
  for (int64_t r0 = 0; r0 < n; r0 += br) {
    const int64_t r1 = std::min(n, r0 + br);
    normal_rows(s, tensor, r0, r1, k, sd, f.data());
    quant_fp8_weight(f.data(), r1 - r0, k, w.codes.data() + r0 * k, w.scales.data() + r0 / 128 * (k / 128));
  }
  return w;
}

// [E, out, in] expert stack in the moe kernels' layout: FP4 (1×32 UE8M0), FP8 (128×128) or BF16.
ExpertWeight expert_weight(const Seeder& s, uint64_t tensor, int dtype, int64_t E, int64_t out, int64_t in, double sd) {
  ExpertWeight w;
  // The whole stack reserved first: growing it expert by expert would copy it (a transient 2x peak).
  w.codes.reserve(size_t(dtype == 2 ? E * out * in / 2 : dtype == 1 ? E * out * in : E * out * in * 2));
  w.scales.reserve(size_t(dtype == 2 ? E * out * in / 32 : dtype == 1 ? E * ((out + 127) / 128) * ((in + 127) / 128) : 0));
  for (int64_t e = 0; e < E; ++e) {
    std::vector<float> f = normal_f32(s, tensor * 4096 + uint64_t(e), out, in, sd);
    if (dtype == 2) {
      const size_t c0 = w.codes.size(), s0 = w.scales.size();
      w.codes.resize(c0 + size_t(out * in / 2));
      w.scales.resize(s0 + size_t(out * in / 32));
      kernels::QuantFp4Params q;
      q.rows = out, q.k = in, q.in_bf16 = false;
      int64_t nonfinite = 0;
      kernels::quant_fp4_cpu(q, f.data(), w.codes.data() + c0, w.scales.data() + s0, &nonfinite);
    } else if (dtype == 1) {
      const size_t c0 = w.codes.size(), s0 = w.scales.size();
      w.codes.resize(c0 + size_t(out * in));
      w.scales.resize(s0 + size_t((out + 127) / 128 * ((in + 127) / 128)));
      quant_fp8_weight(f.data(), out, in, w.codes.data() + c0, w.scales.data() + s0);
    } else {
      const size_t c0 = w.codes.size();
      w.codes.resize(c0 + size_t(out * in) * 2);
      uint16_t* b = reinterpret_cast<uint16_t*>(w.codes.data() + c0);
      for (size_t i = 0; i < f.size(); ++i) b[i] = bf16_from_f32(f[i]);
    }
  }
  return w;
}

MhcWeights mhc_weights(const Seeder& s, uint64_t tensor, int hc, int64_t d, bool head) {
  MhcWeights w;
  const int64_t m = head ? hc : (2 + hc) * hc;
  w.fn = normal_f32(s, tensor, m, hc * d, 1.0 / std::sqrt(double(hc * d)));
  w.base = uniform_f32(s, tensor + 1, m, -1, 1);
  w.scale = uniform_f32(s, tensor + 2, head ? 1 : 3, 0.5, 2);
  return w;
}

CompressorWeights compressor_weights(const Seeder& s, uint64_t tensor, int64_t ratio, int64_t dm, int64_t d) {
  CompressorWeights w;
  const int64_t cd = (ratio == 4 ? 2 : 1) * d;
  w.w_kv = normal_bf16(s, tensor, cd, dm, 1.0 / std::sqrt(double(dm)));
  w.w_gate = normal_bf16(s, tensor + 1, cd, dm, 1.0 / std::sqrt(double(dm)));
  w.ape = uniform_f32(s, tensor + 2, ratio * cd, -1, 1);
  std::vector<float> nw = norm_weight(s, tensor + 3, d);
  w.norm.resize(nw.size());
  for (size_t i = 0; i < nw.size(); ++i) w.norm[i] = bf16_from_f32(nw[i]);
  return w;
}

// Engram conv taps (engram_conv_kernel; the preset's field is not in sim::ModelDims): 4 in both presets.
inline int64_t engram_taps(const sim::ModelDims&) { return detail::kEngramTaps; }

template <class T>
double vbytes(const std::vector<T>& v) {
  return double(v.size() * sizeof(T));
}
double mhc_bytes(const MhcWeights& w) { return vbytes(w.fn) + vbytes(w.base) + vbytes(w.scale); }
double cmp_bytes(const CompressorWeights& w) {
  return vbytes(w.w_kv) + vbytes(w.w_gate) + vbytes(w.ape) + vbytes(w.norm);
}

}  // namespace

ModelWeights build_weights(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, uint64_t seed,
                           int64_t engram_rows) {
  ModelWeights mw;
  const int64_t D = d.d_model, H = d.n_heads, Dh = d.d_head, g = d.o_groups, E = d.n_experts, f = d.d_expert;
  const Seeder top{seed, -1};
  mw.embed = normal_bf16(top, 1, d.vocab, D, 1.0);
  if (d.mhc) mw.hc_head = mhc_weights(top, 2, d.hc, D, true);
  mw.final_norm = norm_weight(top, 5, D);
  mw.lm_head = fp8_weight(top, 6, d.vocab, D, 1.0 / std::sqrt(double(D)));
  mw.bytes = vbytes(mw.embed) + mhc_bytes(mw.hc_head) + vbytes(mw.final_norm) + mw.lm_head.bytes();
  const std::vector<EngramLayerTable> tables = engram_tables(d, engram_rows);
  if (!tables.empty()) {
    mw.eng_cmap.resize(size_t(d.vocab));
    for (int64_t t = 0; t < d.vocab; ++t) mw.eng_cmap[size_t(t)] = int32_t(t);
    mw.bytes += vbytes(mw.eng_cmap);
  }
  for (const sim::LayerSpec& s : layers) {
    const Seeder sd{seed, s.index};
    LayerWeights w;
    if (d.mhc) {
      w.hc_attn = mhc_weights(sd, 1, d.hc, D, false);
      w.hc_ffn = mhc_weights(sd, 4, d.hc, D, false);
    }
    w.attn_norm = norm_weight(sd, 7, D);
    w.ffn_norm = norm_weight(sd, 8, D);
    w.q_norm = norm_weight(sd, 9, d.q_rank);
    w.wq_a = fp8_weight(sd, 11, d.q_rank, D, 1.0 / std::sqrt(double(D)));
    w.wq_b = fp8_weight(sd, 12, H * Dh, d.q_rank, 1.0 / std::sqrt(double(d.q_rank)));
    if (d.v4) {
      w.kv_norm = norm_weight(sd, 10, Dh);
      w.wkv = fp8_weight(sd, 13, Dh, D, 1.0 / std::sqrt(double(D)));
      const int64_t per_group = H / g * Dh;
      for (int64_t j = 0; j < g; ++j)
        w.wo_a.push_back(
            fp8_weight(sd, 14 + uint64_t(j) * 7919, d.o_rank, per_group, 1.0 / std::sqrt(double(per_group))));
      w.wo_b = fp8_weight(sd, 15, D, g * d.o_rank, 1.0 / std::sqrt(double(g * d.o_rank)));
      w.sink = uniform_f32(sd, 16, H, -1, 1);
      if (s.compress_ratio > 0) w.cmp = compressor_weights(sd, 20, s.compress_ratio, D, Dh);
    } else {  // MLA: W_kva, the latent norm, W_kvb (BF16, the core's input), W_o
      w.kv_norm = norm_weight(sd, 10, d.kv_rank);
      w.wkv = fp8_weight(sd, 13, d.kv_rank + d.d_rope, D, 1.0 / std::sqrt(double(D)));
      w.w_kvb = normal_bf16(sd, 17, H * (d.qk_nope + d.v_head), d.kv_rank, 1.0 / std::sqrt(double(d.kv_rank)));
      w.wo_b = fp8_weight(sd, 15, D, H * d.v_head, 1.0 / std::sqrt(double(H * d.v_head)));
    }
    if (s.attn_kind == "csa") w.idx_cmp = compressor_weights(sd, 30, 4, D, d.idx_dim);
    if (s.attn_kind == "csa" || s.attn_kind == "dsa") {
      w.idx_wq_b = fp8_weight(sd, 34, d.idx_heads * d.idx_dim, d.q_rank, 1.0 / std::sqrt(double(d.q_rank)));
      w.idx_w = fp8_weight(sd, 35, d.idx_heads, D, 1.0 / std::sqrt(double(D)));
    }
    if (s.attn_kind == "dsa") w.idx_wk = fp8_weight(sd, 36, d.idx_dim, D, 1.0 / std::sqrt(double(D)));
    if (s.moe_kind == "dense") {  // one FP8 SwiGLU FFN of width intermediate_size
      const int64_t fd = d.d_dense;
      w.s1 = expert_weight(sd, 46, 1, 1, fd, D, 2.0 / std::sqrt(double(D)));
      w.s3 = expert_weight(sd, 47, 1, 1, fd, D, 2.0 / std::sqrt(double(D)));
      w.s2 = expert_weight(sd, 48, 1, 1, D, fd, 1.0 / std::sqrt(double(fd)));
    } else {
      w.w_gate = normal_bf16(sd, 40, E, D, 1.0 / std::sqrt(double(D)));
      w.gate_bias = uniform_f32(sd, 41, E, -0.25, 0.25);
      if (s.moe_kind == "hash") {  // tid2eid: k distinct experts per token id (partial Fisher–Yates)
        w.tid2eid.resize(size_t(d.vocab * d.moe_top_k));
        std::vector<int32_t> perm(static_cast<size_t>(E));
        Rng r = sd.row(42, 0);
        for (int64_t t = 0; t < d.vocab; ++t) {
          for (int64_t e = 0; e < E; ++e) perm[size_t(e)] = int32_t(e);
          for (int64_t j = 0; j < d.moe_top_k; ++j) {
            std::swap(perm[size_t(j)], perm[size_t(j + int64_t(r.below(uint64_t(E - j))))]);
            w.tid2eid[size_t(t * d.moe_top_k + j)] = perm[size_t(j)];
          }
        }
      }
      w.w1 = expert_weight(sd, 43, d.expert_dtype, E, f, D, 2.0 / std::sqrt(double(D)));
      w.w3 = expert_weight(sd, 44, d.expert_dtype, E, f, D, 2.0 / std::sqrt(double(D)));
      w.w2 = expert_weight(sd, 45, d.expert_dtype, E, D, f, 1.0 / std::sqrt(double(f)));
      const int64_t fs = f * d.n_shared;
      w.s1 = expert_weight(sd, 46, 1, 1, fs, D, 2.0 / std::sqrt(double(D)));
      w.s3 = expert_weight(sd, 47, 1, 1, fs, D, 2.0 / std::sqrt(double(D)));
      w.s2 = expert_weight(sd, 48, 1, 1, D, fs, 1.0 / std::sqrt(double(fs)));
    }
    if (s.mtp) {
      w.enorm = norm_weight(sd, 50, D);
      w.hnorm = norm_weight(sd, 51, D);
      w.eh_proj = fp8_weight(sd, 52, D, 2 * D, 1.0 / std::sqrt(double(2 * D)));
    }
    if (s.engram) {  // table rows N(0, 1) like embeddings; projections N(0, 1/d_mem)
      const size_t li = size_t(std::find(d.engram_layers.begin(), d.engram_layers.end(), s.index) -
                               d.engram_layers.begin());
      const EngramLayerTable& tb = tables[li];
      const int64_t M = d.hc, dmem = int64_t(d.engram_max_ngram - 1) * d.engram_heads * d.engram_head_dim;
      w.eng_table = normal_bf16(sd, 60, tb.rows, d.engram_head_dim, 1.0);
      w.eng_table_rows = tb.rows;
      w.eng_mult = tb.multipliers, w.eng_primes = tb.primes;
      w.eng_wk = fp8_weight(sd, 61, M * D, dmem, 1.0 / std::sqrt(double(dmem)));
      w.eng_wv = fp8_weight(sd, 62, D, dmem, 1.0 / std::sqrt(double(dmem)));
      w.eng_qnorm = norm_weight(sd, 63, M * D);
      w.eng_knorm = norm_weight(sd, 64, M * D);
      w.eng_cnorm = norm_weight(sd, 65, M * D);
      w.eng_conv = normal_f32(sd, 66, M * D, engram_taps(d), 0.5);
    }
    double b = mhc_bytes(w.hc_attn) + mhc_bytes(w.hc_ffn) + vbytes(w.attn_norm) + vbytes(w.ffn_norm) +
               vbytes(w.q_norm) + vbytes(w.kv_norm) + w.wq_a.bytes() + w.wq_b.bytes() + w.wkv.bytes() + w.wo_b.bytes() +
               vbytes(w.sink) + cmp_bytes(w.cmp) + cmp_bytes(w.idx_cmp) + w.idx_wq_b.bytes() + w.idx_w.bytes() +
               vbytes(w.w_gate) + vbytes(w.gate_bias) + vbytes(w.tid2eid) + w.w1.bytes() + w.w3.bytes() + w.w2.bytes() +
               w.s1.bytes() + w.s3.bytes() + w.s2.bytes() + vbytes(w.enorm) + vbytes(w.hnorm) + w.eh_proj.bytes() +
               vbytes(w.w_kvb) + w.idx_wk.bytes() + vbytes(w.eng_table) + vbytes(w.eng_mult) + vbytes(w.eng_primes) +
               w.eng_wk.bytes() + w.eng_wv.bytes() + vbytes(w.eng_qnorm) + vbytes(w.eng_knorm) + vbytes(w.eng_cnorm) +
               vbytes(w.eng_conv);
    for (auto& o : w.wo_a) b += o.bytes();
    mw.bytes += b;
    mw.layers.push_back(std::move(w));
  }
  return mw;
}

double weight_bytes(const sim::ModelDims& d, const std::vector<sim::LayerSpec>& layers, int64_t engram_rows) {
  auto fp8 = [](double n, double k) { return n * k + std::ceil(n / 128) * (k / 128); };
  auto expert = [](int dt, double E, double out, double in) {
    if (dt == 2) return E * (out * in / 2 + out * in / 32);
    if (dt == 1) return E * (out * in + std::ceil(out / 128) * std::ceil(in / 128));
    return E * out * in * 2;
  };
  auto mhc = [&](double hc, double dm, bool head) {
    if (!d.mhc) return 0.0;
    const double m = head ? hc : (2 + hc) * hc;
    return 4 * (m * hc * dm + m + (head ? 1 : 3));
  };
  auto cmp = [](double ratio, double dm, double dd) {
    const double cd = (ratio == 4 ? 2 : 1) * dd;
    return 2 * cd * dm * 2 + ratio * cd * 4 + dd * 2;
  };
  const double D = double(d.d_model), H = double(d.n_heads), Dh = double(d.d_head), g = double(d.o_groups),
               E = double(d.n_experts), f = double(d.d_expert), V = double(d.vocab), qr = double(d.q_rank),
               orank = double(d.o_rank), k = double(d.moe_top_k), fs = f * double(d.n_shared);
  const double R = double(d.kv_rank), dr = double(d.d_rope), M = double(d.hc);
  const double dmem = double(d.engram_max_ngram - 1) * d.engram_heads * d.engram_head_dim;
  const std::vector<EngramLayerTable> tables = engram_tables(d, engram_rows);
  double b = V * D * 2 + mhc(d.hc, D, true) + 4 * D + fp8(V, D) + (tables.empty() ? 0.0 : 4 * V);
  for (const sim::LayerSpec& s : layers) {
    b += 2 * mhc(d.hc, D, false) + 4 * (2 * D + qr) + fp8(qr, D) + fp8(H * Dh, qr);
    if (d.v4) {
      b += 4 * Dh + fp8(Dh, D) + g * fp8(orank, H / g * Dh) + fp8(D, g * orank) + 4 * H;
      if (s.compress_ratio > 0) b += cmp(s.compress_ratio, D, Dh);
    } else {
      b += 4 * R + fp8(R + dr, D) + 2 * H * double(d.qk_nope + d.v_head) * R + fp8(D, H * double(d.v_head));
    }
    if (s.attn_kind == "csa") b += cmp(4, D, double(d.idx_dim));
    if (s.attn_kind == "csa" || s.attn_kind == "dsa")
      b += fp8(double(d.idx_heads * d.idx_dim), qr) + fp8(double(d.idx_heads), D);
    if (s.attn_kind == "dsa") b += fp8(double(d.idx_dim), D);
    if (s.moe_kind == "dense") {
      b += 2 * expert(1, 1, double(d.d_dense), D) + expert(1, 1, D, double(d.d_dense));
    } else {
      b += E * D * 2 + E * 4;
      if (s.moe_kind == "hash") b += V * k * 4;
      b += 2 * expert(d.expert_dtype, E, f, D) + expert(d.expert_dtype, E, D, f);
      b += 2 * expert(1, 1, fs, D) + expert(1, 1, D, fs);
    }
    if (s.mtp) b += 8 * D + fp8(D, 2 * D);
    if (s.engram) {
      const size_t li = size_t(std::find(d.engram_layers.begin(), d.engram_layers.end(), s.index) -
                               d.engram_layers.begin());
      const EngramLayerTable& tb = tables[li];
      b += double(tb.rows) * d.engram_head_dim * 2 + 8.0 * double(tb.multipliers.size() + tb.primes.size());
      b += fp8(M * D, dmem) + fp8(D, dmem) + 3 * 4 * M * D + 4 * M * D * engram_taps(d);
    }
  }
  return b;
}

}  // namespace v4lab::profiler
