// test_engram_cost.cpp — the Engram cost formulas (engram_cost.h) and the op catalogue's OpWork
// against hand-computed numbers from specs/engram.md §8: bytes per row by dtype, R = (N−1)·K, gather
// bytes (2,560 / 4,096 / 6,336 B), projection FLOPs (32.8 / 314.6 MFLOP), gate 10·M·d and conv
// (2w+10)·M·d FLOPs, the BF16 decode ring sizes, table footprints; preset fields the params name.
#include <catch2/catch.hpp>

#include "core/op_catalogue.h"
#include "core/ops/engram_cost.h"
#include "core/presets.h"

using namespace v4lab;

namespace {

OpWork work(const std::string& op, const ParamMap& overrides) {
  const OpDef& def = get_op(op);
  return def.work(resolve_params(def, overrides));
}

EngramShape paper27() {
  EngramShape s;
  s.n_tokens = 1, s.max_ngram = 3, s.heads = 8, s.head_dim = 80, s.row_dtype = EngramRowDtype::BF16;
  s.hc = 4, s.d_model = 2560, s.conv_kernel = 4, s.conv_dilation = 3;
  return s;
}
EngramShape v41() {
  EngramShape s;
  s.n_tokens = 1, s.max_ngram = 4, s.heads = 8, s.head_dim = 256, s.row_dtype = EngramRowDtype::FP8;
  s.hc = 4, s.d_model = 5120, s.conv_kernel = 4, s.conv_dilation = 4;
  return s;
}

}  // namespace

TEST_CASE("engram cost: rows, row bytes and gather bytes per token", "[engram][sim][ref]") {
  CHECK(engram_row_bytes(EngramRowDtype::FP8, 256) == 264);
  CHECK(engram_row_bytes(EngramRowDtype::BF16, 80) == 160);
  CHECK(engram_row_bytes(EngramRowDtype::F32, 64) == 256);
  CHECK(engram_rows_per_token(paper27()) == 16);
  CHECK(engram_rows_per_token(v41()) == 24);
  CHECK(engram_d_mem(paper27()) == 1280);
  CHECK(engram_d_mem(v41()) == 6144);
  CHECK(engram_gather_table_bytes_per_token(paper27()) == 2560);
  CHECK(engram_gather_table_bytes_per_token(v41()) == 6336);
  CHECK(2 * engram_gather_table_bytes_per_token(v41()) == 12672);  // two V4.1 layers
  EngramShape demo;
  CHECK(engram_gather_table_bytes_per_token(demo) == 4096);
  CHECK(engram_index_bytes_per_token(v41()) == 96);
  CHECK(engram_hash_int_ops_per_token(demo) == 3 + 2 + 32);  // N mul, N−1 xor, R mod, R add
  // Catalogue: 13 tokens demo FP32 → F32 out: 13·(4096 + 64 + 1024·4) B; no FLOPs (pure copy).
  const OpWork g = work("engram_gather", {{"n_tokens", 13}});
  CHECK(g.bytes_mem == 13.0 * (4096 + 64 + 4096));
  CHECK(g.flops == 0);
  const OpWork f = work("engram_gather", {{"n_tokens", 2}, {"max_ngram", 4}, {"head_dim", 256}, {"row_dtype", 2},
                                          {"out_dtype", 1}});
  CHECK(f.bytes_mem == 2.0 * (6336 + 96 + 6144 * 2));
  CHECK(f.flops == 2.0 * 6144);  // one dequant multiply per element
  CHECK(f.precision == Precision::FP8);
  const OpWork h = work("engram_hash", {{"n_tokens", 10}});
  CHECK(h.bytes_mem == 10.0 * (8 + 64));
  CHECK(h.flops == 10.0 * 37);
  CHECK(work("engram_gather", {{"n_tokens", 0}}).bytes_mem == 0);
}

TEST_CASE("engram cost: projection, gate, conv FLOPs and state bytes", "[engram][sim][ref]") {
  CHECK(engram_projection_flops_per_token(paper27()) == 32768000.0);   // 2·1280·5·2560
  CHECK(engram_projection_flops_per_token(v41()) == 314572800.0);      // 2·6144·5·5120
  CHECK(engram_projection_weight_bytes(v41(), 1.0) == 6144.0 * 5 * 5120);
  CHECK(engram_gate_flops_per_token(paper27()) == 102400.0);           // 10·4·2560
  CHECK(engram_conv_flops_per_token(paper27()) == 184320.0);           // (8 + 10)·4·2560
  CHECK(engram_conv_state_bytes_bf16(paper27()) == 184320.0);          // spec §5
  CHECK(engram_conv_state_bytes_bf16(v41()) == 491520.0);
  CHECK(engram_table_bytes(384006168.0, EngramRowDtype::FP8, 256) == 384006168.0 * 264);
  const OpWork g = work("engram_gate", {{"n_tokens", 3}, {"d_model", 2560}});
  CHECK(g.flops == 3 * 102400.0);
  CHECK(g.transcendentals == 3 * 16.0);
  CHECK(g.bytes_mem == 3 * (2.0 * 10240 + 4.0 * 10240 + 4.0 * 2560 + 4.0 * 10240 + 32) + 8.0 * 10240);
  const OpWork c = work("engram_conv", {{"n_tokens", 3}, {"d_model", 2560}});
  CHECK(c.flops == 3 * 184320.0);
  CHECK(c.transcendentals == 3 * (10240.0 + 4));
  CHECK(c.bytes_mem == 3 * 8.0 * 10240 + 4.0 * 10240 * 5 + 8.0 * 9 * 10240);
  // Monotone in tokens.
  CHECK(work("engram_conv", {{"n_tokens", 4}}).bytes_mem > work("engram_conv", {{"n_tokens", 3}}).bytes_mem);
}

TEST_CASE("engram params: help strings and model fields exist in the Engram presets", "[engram][sim][ref]") {
  for (const char* id : {"engram_27b", "engram_40b", "v41_flash_like"}) {
    const ModelPreset m = load_model_preset(id, V4LAB_SOURCE_DIR "/data");
    for (const char* op : {"engram_hash", "engram_gather", "engram_gate", "engram_conv"})
      for (const ParamDef& d : get_op(op).params) {
        CHECK(!d.help.empty());
        if (d.model_field.empty()) continue;
        INFO(id << ": " << op << "." << d.key << " <- " << d.model_field);
        CHECK(m.has_number(d.model_field));
      }
  }
  const ModelPreset v = load_model_preset("v41_flash_like", V4LAB_SOURCE_DIR "/data");
  CHECK(v.number("engram_conv_dilation") == 4);
  CHECK(v.number("engram_head_dim") == 256);
}
