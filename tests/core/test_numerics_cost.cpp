// test_numerics_cost.cpp — the numerics cost formulas (numerics_cost.h) and the op catalogue's OpWork
// against hand-computed numbers from specs/attention.md §1.6 (RMSNorm 4·width + 2 FLOPs, weightless
// 3·width + 2, 1 rsqrt; RoPE 3·d_rope per vector) and the exact SwiGLU count (6 clamped, 3 unclamped);
// an instrumented count of the shared pair rotation; the model-preset fields the params name.
#include <catch2/catch.hpp>

#include "core/op_catalogue.h"
#include "core/ops/numerics_cost.h"
#include "core/presets.h"
#include "kernels/numerics/numerics.h"

using namespace v4lab;

namespace numerics_count {

// A number that counts the arithmetic done on it (attention.md §0: add, subtract, multiply = 1).
inline long g_flops = 0;
struct Counted {
  double v = 0;
  Counted() = default;
  Counted(double x) : v(x) {}  // NOLINT: implicit, like a float
};
inline Counted operator+(Counted a, Counted b) { return ++g_flops, a.v + b.v; }
inline Counted operator-(Counted a, Counted b) { return ++g_flops, a.v - b.v; }
inline Counted operator*(Counted a, Counted b) { return ++g_flops, a.v * b.v; }

}  // namespace numerics_count

namespace {

OpWork work(const std::string& op, const ParamMap& overrides) {
  const OpDef& def = get_op(op);
  return def.work(resolve_params(def, overrides));
}

}  // namespace

TEST_CASE("numerics cost: RMSNorm rows match the spec table", "[numerics][sim][ref]") {
  CHECK(rmsnorm_flops_per_row({1, 7168, true}) == 28674.0);   // 4·7168 + 2
  CHECK(rmsnorm_flops_per_row({1, 512, false}) == 1538.0);    // weightless q head: 3·512 + 2
  CHECK(rmsnorm_flops_per_row({1, 1536, true}) == 6146.0);    // V3 q latent
  CHECK(rmsnorm_transcendentals_per_row({1, 4096, true}) == 1.0);
  CHECK(rmsnorm_bytes_per_row({1, 4096, true}) == 16384.0);   // 2·2·width
  CHECK(rmsnorm_weight_bytes({1, 4096, true}) == 16384.0);    // FP32 weight
  CHECK(rmsnorm_weight_bytes({1, 4096, false}) == 0.0);
  // Catalogue: 13 rows of d_model 7168: 13·28674 FLOPs, 13 rsqrt, 13·28672 + 28672 B.
  const OpWork w = work("rmsnorm", {{"n_tokens", 13}, {"width", 7168}});
  CHECK(w.flops == 372762.0);
  CHECK(w.transcendentals == 13.0);
  CHECK(w.bytes_mem == 401408.0);
  CHECK(w.precision == Precision::FP32);
  CHECK(w.bytes_variant == "unfused");
  const OpWork q = work("rmsnorm", {{"n_tokens", 64}, {"width", 512}, {"weighted", 0}});
  CHECK(q.flops == 64.0 * 1538);
  CHECK(q.bytes_mem == 64.0 * 2048);
  const OpWork z = work("rmsnorm", {{"n_tokens", 0}});
  CHECK(z.flops == 0);
  CHECK(z.bytes_mem == 0);  // no launch: not even the weight is read
}

TEST_CASE("numerics cost: RoPE 3·d_rope per vector plus the table", "[numerics][sim][ref]") {
  CHECK(rope_flops_per_vector({1, 1, 64}) == 192.0);
  CHECK(rope_bytes_per_vector({1, 1, 64}) == 256.0);   // 2·2·d_rope
  CHECK(rope_table_bytes({13, 64, 64}) == 3328.0);     // 13 tokens × 32 pairs × (cos, sin) × 4 B
  // 13 tokens × 64 heads: 159744 FLOPs; 13·64·256 + 2·3328 B; 13·64 cos/sin.
  const OpWork w = work("rope", {{"n_tokens", 13}, {"n_heads", 64}, {"d_rope", 64}});
  CHECK(w.flops == 159744.0);
  CHECK(w.bytes_mem == 219648.0);
  CHECK(w.transcendentals == 832.0);
  // Only the rotated slice counts: d_head, the pairing, inverse and YaRN do not change the work.
  const OpWork v = work("rope", {{"n_tokens", 13}, {"d_head", 192}, {"interleaved", 0}, {"inverse", 1}});
  CHECK(v.flops == w.flops);
  CHECK(v.bytes_mem == w.bytes_mem);
  CHECK(work("rope", {{"n_tokens", 0}}).bytes_mem == 0);
  // The shared rotation does exactly 3·d_rope FLOPs per vector.
  using numerics_count::Counted;
  numerics_count::g_flops = 0;
  Counted yu, yv;
  for (int i = 0; i < 32; ++i) v4lab::kernels::rope_rotate_pair<Counted>(1.0, 2.0, 0.5, 0.25, yu, yv);
  CHECK(numerics_count::g_flops == 192);
}

TEST_CASE("numerics cost: SwiGLU exact count", "[numerics][sim][ref]") {
  CHECK(swiglu_flops_per_element({1, 1, true}) == 6.0);   // 3 compares + add + divide + multiply
  CHECK(swiglu_flops_per_element({1, 1, false}) == 3.0);
  const OpWork w = work("swiglu", {{"n_tokens", 13}, {"width", 2048}, {"limit", 10}});
  CHECK(w.flops == 159744.0);            // 13·2048·6
  CHECK(w.transcendentals == 26624.0);   // one exp per element
  CHECK(w.bytes_mem == 319488.0);        // 12 B per element
  const OpWork u = work("swiglu", {{"n_tokens", 13}, {"width", 2048}, {"limit", 0}});
  CHECK(u.flops == 79872.0);
  CHECK(u.bytes_mem == w.bytes_mem);
  CHECK(work("swiglu", {{"n_tokens", 0}}).flops == 0);
}

TEST_CASE("numerics params: model fields exist in the V4 presets", "[numerics][sim][ref]") {
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", V4LAB_SOURCE_DIR "/data");
  for (const char* op : {"rmsnorm", "rope", "swiglu"})
    for (const ParamDef& d : get_op(op).params) {
      CHECK(!d.help.empty());
      if (d.model_field.empty()) continue;
      INFO(op << "." << d.key << " <- " << d.model_field);
      CHECK(flash.has_number(d.model_field));
    }
  CHECK(flash.number("rope_scaling.factor") == 16);
  CHECK(flash.number("compress_rope_theta") == 160000);
}
