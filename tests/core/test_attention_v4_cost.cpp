// test_attention_v4_cost.cpp — the V4 compressor / CSA indexer cost formulas (core/ops/attention_v4_cost.h)
// and their catalogue rows against specs/attention.md §4.5 (KV bytes per token: Flash 3514.25 B, Pro
// 5031.44 B, V3.2 48,068 B), §4.6 (compressor state 64/16/512 KiB; 11,920 / 18,272 KiB per sequence)
// and §4.7 (MFLOP per token: compressors 16.78 / 8.39 / 4.19 Flash, 29.36 / 14.68 / 7.34 Pro; indexer
// 16,512 per key), with the model-preset fields taken from data/models.
#include <catch2/catch.hpp>

#include <vector>

#include "core/op_catalogue.h"
#include "core/ops/attention_v4_cost.h"
#include "core/presets.h"

using namespace v4lab;

namespace {

OpWork work(const std::string& op, const ParamMap& over) {
  const OpDef& d = get_op(op);
  return d.work(resolve_params(d, over));
}

std::vector<double> ratios_of(const ModelPreset& m) {
  std::vector<double> r;
  for (int v : m.int_array("compress_ratios")) r.push_back(v);
  return r;
}

}  // namespace

TEST_CASE("v4 cost: compressor MFLOP per token (§4.7 table)", "[attention][sim][ref]") {
  auto mflop = [](double d_model, double ratio, double d) {
    return v4_compress_proj_flops_per_token(d_model, ratio, d) / 1e6;
  };
  CHECK(mflop(4096, 4, 512) == Approx(16.78).margin(0.005));
  CHECK(mflop(4096, 128, 512) == Approx(8.39).margin(0.005));
  CHECK(mflop(4096, 4, 128) == Approx(4.19).margin(0.005));
  CHECK(mflop(7168, 4, 512) == Approx(29.36).margin(0.005));
  CHECK(mflop(7168, 128, 512) == Approx(14.68).margin(0.005));
  CHECK(mflop(7168, 4, 128) == Approx(7.34).margin(0.005));
  CHECK(v4_compress_proj_flops_per_token(4096, 4, 512) == 4.0 * 4096 * 1024);  // exact: 4·d_model·c·d
  CHECK(v4_compress_exps_per_token(4, 512) == 1024);
  CHECK(v4_compress_entry_bytes(512, 64, false) == 584);
  CHECK(v4_compress_entry_bytes(128, 64, true) == 68);
}

TEST_CASE("v4 cost: indexer FLOPs per key and causal key counts", "[attention][sim][ref]") {
  CHECK(csa_indexer_flops_per_key(64, 128) == 16512);
  for (int64_t r : {1, 4, 128})
    for (int64_t n : {0, 1, 3, 4, 5, 127, 128, 129, 1000}) {
      double loop = 0;
      for (int64_t i = 1; i <= n; ++i) loop += double(i / r);
      CHECK(sum_floor_div(n, r) == loop);
    }
  CHECK(csa_indexer_flops(1, 65536, 64, 128) == 16512.0 * 16384);        // decode: ⌊n/4⌋ keys
  CHECK(csa_indexer_flops(1000, 1000, 64, 128) == 16512.0 * sum_floor_div(1000, 4));  // prefill: F(n, 4)
  CHECK(csa_indexer_visible_keys(2, 10, 4) == 2 + 2);                     // queries see 9 and 10 tokens
  const OpWork w = work("attn_csa_indexer", {{"n_tokens", 1}, {"n_ctx", 65536}});
  CHECK(w.flops == 16512.0 * 16384);
  CHECK(w.bytes_mem == 16384.0 * 68 + 64 * 68 + 4 * 64 + 4 * 16384 + 4);
}

TEST_CASE("v4 cost: compressor op rows", "[attention][sim][ref]") {
  const OpWork w = work("attn_compress", {{"n_tokens", 8}});  // CSA Flash defaults: 2 entries
  CHECK(w.flops == 8 * (4.0 * 4096 * 1024 + 3 * 1024) + 2 * 6 * 512);
  CHECK(w.transcendentals == 8 * 1024 + 2);
  CHECK(w.bytes_mem == 2.0 * 8 * 4096 + 4.0 * 1024 * 4096 + 4.0 * 4 * 1024 + 2 * 512 + 2 * 584);
  const OpWork s = work("attn_compress", {{"n_tokens", 8}, {"streaming", 1}});
  CHECK(s.bytes_mem - w.bytes_mem == 8.0 * 2 * 1024 * 4 + 2 * 65536);
  CHECK(work("attn_compress", {{"n_tokens", 3}}).flops == 0);  // prefill: no complete block, no projection
  CHECK(work("attn_compress", {{"n_tokens", 3}, {"streaming", 1}}).flops == 3 * (4.0 * 4096 * 1024 + 3 * 1024));
  const OpWork none = work("attn_compress", {{"n_tokens", 0}});
  CHECK(none.flops == 0);
  CHECK(none.bytes_mem == 0);
  const OpWork pk = work("kv_pack_v4", {{"n_tokens", 64}});
  CHECK(pk.bytes_mem == 2.0 * 64 * 512 + 37440);
}

TEST_CASE("v4 cost: KV bytes per context token (§4.5) from the presets", "[attention][sim][ref]") {
  CHECK(kv_bytes_per_token_layer(4, 584, 68) == 163);
  CHECK(kv_bytes_per_token_layer(128, 584, 68) == 4.5625);
  CHECK(kv_bytes_per_token_layer(0, 584, 68) == 0);
  CHECK(kv_bytes_per_token_layer(4, 584, 132) == 179);  // FP8 indexer keys
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", V4LAB_SOURCE_DIR "/data");
  const ModelPreset pro = load_model_preset("deepseek_v4_pro", V4LAB_SOURCE_DIR "/data");
  const ModelPreset v32 = load_model_preset("deepseek_v32", V4LAB_SOURCE_DIR "/data");
  const std::vector<double> rf = ratios_of(flash), rp = ratios_of(pro);
  const int64_t lf = int64_t(flash.number("num_hidden_layers")), lp = int64_t(pro.number("num_hidden_layers"));
  CHECK(rf.size() == size_t(lf + 1));  // + MTP
  CHECK(kv_bytes_per_token(rf.data(), lf, flash.number("kv_entry_bytes"), flash.number("indexer_key_bytes")) ==
        3514.25);
  CHECK(kv_bytes_per_token(rp.data(), lp, pro.number("kv_entry_bytes"), pro.number("indexer_key_bytes")) ==
        5031.4375);
  CHECK(kv_bytes_per_token(nullptr, int64_t(v32.number("num_hidden_layers")), v32.number("kv_entry_bytes"),
                           v32.number("indexer_key_bytes")) == 48068);
  CHECK(v4_ring_bytes_per_sequence(lf, 128, 584) == 43.0 * 74752);
  CHECK(v4_ring_bytes_per_sequence(lp, 128, 584) == 61.0 * 74752);
}

TEST_CASE("v4 cost: compressor state (§4.6)", "[attention][sim][ref]") {
  CHECK(v4_compress_state_bytes(4, 512) == 65536);
  CHECK(v4_compress_state_bytes(4, 128) == 16384);
  CHECK(v4_compress_state_bytes(128, 512) == 524288);
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", V4LAB_SOURCE_DIR "/data");
  const ModelPreset pro = load_model_preset("deepseek_v4_pro", V4LAB_SOURCE_DIR "/data");
  const std::vector<double> rf = ratios_of(flash), rp = ratios_of(pro);
  CHECK(v4_compressor_state_bytes_per_sequence(rf.data(), 43, 512, 128) == 11920.0 * 1024);
  CHECK(v4_compressor_state_bytes_per_sequence(rp.data(), 61, 512, 128) == 18272.0 * 1024);
  CHECK(flash.number("compressor_state_bytes_csa") == v4_compress_state_bytes(4, 512));
  CHECK(flash.number("compressor_state_bytes_hca") == v4_compress_state_bytes(128, 512));
}

TEST_CASE("v4 cost: params have help and their model fields exist", "[attention][sim][ref]") {
  const ModelPreset flash = load_model_preset("deepseek_v4_flash", V4LAB_SOURCE_DIR "/data");
  for (const char* op : {"attn_compress", "attn_csa_indexer", "kv_pack_v4"})
    for (const ParamDef& d : get_op(op).params) {
      CHECK(!d.help.empty());
      if (d.model_field.empty()) continue;
      INFO(op << "." << d.key << " <- " << d.model_field);
      CHECK(flash.has_number(d.model_field));
    }
}

TEST_CASE("v4 cost: a prefill call with no completed block costs nothing (as the kernel does)", "[attention][sim]") {
  V4CompressShape s;
  s.n_tokens = 3;  // < ratio 4: no entry, nothing projected, no weight read
  CHECK(v4_compress_entries(s) == 0);
  CHECK(v4_compress_flops(s) == 0);
  CHECK(v4_compress_bytes(s) == 0);
  s.streaming = true;  // the decode form still projects every token into its running state
  CHECK(v4_compress_flops(s) > 0);
  CHECK(v4_compress_bytes(s) > 0);
}
