// test_compress.cpp — the V4 compressor (kernels/attention/compress.h; specs/attention.md §4.2, §4.6,
// §4.9): block dependence by perturbation (CSA [(j−1)r, (j+1)r), HCA [jr, (j+1)r)), CSA entry 0 as a
// 4-token pooling of the second-half channels, streaming ≡ prefill bit-exact (ref and cpu, any chunking),
// n_tokens edge cases incl. n_tokens < ratio, NaN confined to the entries containing the token, entries ≡
// decode(encode) of the 584 B layout, invalid configs, and _cpu / _cuda vs _ref through the registry.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "kernels/attention/compress.h"
#include "kernels/attention/kv_layout.h"
#include "kernels/registry.h"
#include "tests/kernels/kernel_test_util.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

ParamMap shape(double T, double D, double r, double d, double indexer = 0) {
  return v4lab::test::params("attn_compress", {{"n_tokens", T}, {"d_model", D}, {"ratio", r}, {"d", d},
                                               {"indexer", indexer}});
}

KernelIO run(Backend b, const ParamMap& pm, uint64_t seed, KernelIO* io_in = nullptr) {
  const OpKernels* k = find_kernels("attn_compress");
  REQUIRE(k != nullptr);
  KernelIO io = io_in ? *io_in : k->make_io(pm, seed);
  PreparedRun r = k->prepare.at(b)(pm, io);
  r.launch();
  if (r.sync_outputs) r.sync_outputs();
  return io;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Entry rows of `got` that differ (bitwise) from `base`.
std::vector<int64_t> changed_rows(const Tensor& got, const Tensor& base) {
  std::vector<int64_t> rows;
  const int64_t n = got.shape()[0];
  const size_t row = n > 0 ? got.nbytes() / size_t(n) : 0;
  const auto* g = static_cast<const uint8_t*>(got.raw());
  const auto* b = static_cast<const uint8_t*>(base.raw());
  for (int64_t j = 0; j < n; ++j)
    if (std::memcmp(g + size_t(j) * row, b + size_t(j) * row, row) != 0) rows.push_back(j);
  return rows;
}

// A deep copy of io (Tensor shares storage on copy).
KernelIO clone(const KernelIO& io) {
  KernelIO c;
  for (auto* pair : {&io.inputs, &io.outputs})
    for (const Tensor& t : *pair) {
      Tensor u(t.name(), t.dtype(), t.shape());
      if (t.nbytes()) std::memcpy(u.raw(), t.raw(), t.nbytes());
      (pair == &io.inputs ? c.inputs : c.outputs).push_back(u);
    }
  return c;
}

}  // namespace

TEST_CASE("compress: entry j depends only on its tokens (perturbation)", "[attention][ref]") {
  for (double r : {4.0, 16.0}) {  // CSA overlap; a no-overlap ratio (HCA rule) small enough for _ref
    const ParamMap pm = shape(8 * r, 48, r, 128);
    const KernelIO base_io = find_kernels("attn_compress")->make_io(pm, 3);
    KernelIO b0 = clone(base_io);
    const KernelIO base = run(Backend::Cpu, pm, 3, &b0);
    for (int64_t s : {int64_t(0), int64_t(r) - 1, int64_t(r), int64_t(3 * r + 1), int64_t(8 * r - 1)}) {
      KernelIO io = clone(base_io);
      io.in("x").data<uint16_t>()[s * 48 + 5] ^= 0x0100;  // flip a mantissa bit of token s
      const KernelIO out = run(Backend::Cpu, pm, 3, &io);
      std::vector<int64_t> want = {s / int64_t(r)};
      if (r == 4 && s / 4 + 1 < 8) want.push_back(s / 4 + 1);  // CSA: block j feeds entries j and j+1
      INFO("ratio " << r << ", token " << s);
      CHECK(changed_rows(out.out("pooled"), base.out("pooled")) == want);
    }
  }
}

TEST_CASE("compress: CSA entry 0 is a 4-token pooling of the second-half channels", "[attention][ref]") {
  const ParamMap pm = shape(8, 32, 4, 128);
  const KernelIO io = run(Backend::Ref, pm, 21);
  const int64_t D = 32, d = 128, cd = 256;
  const uint16_t* x = io.in("x").data<uint16_t>();
  const uint16_t* wk = io.in("w_kv").data<uint16_t>();
  const uint16_t* wg = io.in("w_gate").data<uint16_t>();
  const float* ape = io.in("ape").data<float>();
  for (int64_t ch = 0; ch < d; ch += 7) {
    double a[4], z[4], m = -INFINITY;
    for (int i = 0; i < 4; ++i) {
      double sa = 0, sz = 0;
      for (int64_t k = 0; k < D; ++k) {
        sa += double(bf16_to_f32(wk[(d + ch) * D + k])) * bf16_to_f32(x[i * D + k]);
        sz += double(bf16_to_f32(wg[(d + ch) * D + k])) * bf16_to_f32(x[i * D + k]);
      }
      a[i] = float(sa), z[i] = double(float(sz) + ape[i * cd + d + ch]);
      m = std::max(m, z[i]);
    }
    double num = 0, den = 0;
    for (int i = 0; i < 4; ++i) num += std::exp(z[i] - m) * a[i], den += std::exp(z[i] - m);
    CHECK(io.out("pooled").data<float>()[ch] == Approx(num / den).epsilon(1e-6));
  }
}

TEST_CASE("compress: streaming ≡ prefill, bit for bit", "[attention][ref][cpu]") {
  struct Case {
    double T, r, d, indexer;
  };
  for (const Case c : {Case{37, 4, 128, 0}, Case{29, 4, 128, 1}, Case{70, 16, 128, 0}}) {
    for (Backend b : {Backend::Ref, Backend::Cpu}) {
      const ParamMap pm = shape(c.T, 40, c.r, c.d, c.indexer);
      const KernelIO pre = run(b, pm, 7);
      CompressParams p = compress_params_from(pm);
      p.streaming = true;
      std::vector<float> kv(static_cast<size_t>(p.state_rows() * p.cd())), sc(kv.size());
      compress_state_init(p, {kv.data(), sc.data()});
      const int64_t ne = p.n_entries(), d = p.d;
      std::vector<uint16_t> ent(static_cast<size_t>(ne * d)), nrm(static_cast<size_t>(ne * d));
      std::vector<float> pool(static_cast<size_t>(ne * d));
      const CompressWeights w{pre.in("w_kv").data<uint16_t>(), pre.in("w_gate").data<uint16_t>(),
                              pre.in("ape").data<float>(), pre.in("norm").data<uint16_t>()};
      int64_t pos = 0, emitted = 0, chunk = 1;
      while (pos < p.n_tokens) {  // chunks of 1, 2, 3, ... tokens (decode, MTP, chunked prefill)
        CompressParams q = p;
        q.pos0 = pos, q.n_tokens = std::min(chunk, p.n_tokens - pos);
        const CompressOut o{ent.data() + emitted * d, nrm.data() + emitted * d, pool.data() + emitted * d};
        emitted += (b == Backend::Ref ? compress_step_ref : compress_step_cpu)(q, pre.in("x").data<uint16_t>() + pos * 40,
                                                                             w, {kv.data(), sc.data()}, o);
        pos += q.n_tokens, ++chunk;
      }
      INFO("T " << c.T << " r " << c.r << " indexer " << c.indexer << " backend " << backend_name(b));
      REQUIRE(emitted == ne);
      CHECK(std::memcmp(ent.data(), pre.out("entries").raw(), ent.size() * 2) == 0);
      CHECK(std::memcmp(nrm.data(), pre.out("normed").raw(), nrm.size() * 2) == 0);
      CHECK(std::memcmp(pool.data(), pre.out("pooled").raw(), pool.size() * 4) == 0);
    }
  }
  // The op's streaming form equals its prefill form too.
  const KernelIO a = run(Backend::Cpu, shape(24, 40, 4, 128), 2);
  ParamMap s = shape(24, 40, 4, 128);
  s["streaming"] = 1;
  const KernelIO b = run(Backend::Cpu, s, 2);
  CHECK(same_bytes(a.out("entries"), b.out("entries")));
}

TEST_CASE("compress: n_tokens edge cases, n_tokens < ratio emits nothing", "[attention][ref][cpu]") {
  for (double T : {1.0, 3.0, 4.0, 5.0, 127.0, 128.0, 129.0}) {
    for (double r : {4.0, 128.0}) {
      const ParamMap pm = shape(T, 16, r, 128);
      CHECK(compress_params_from(pm).n_entries() == int64_t(T) / int64_t(r));
      INFO("n_tokens " << T << " ratio " << r);
      v4lab::test::require_all_pass(v4lab::test::compare("attn_compress", Backend::Cpu, pm, 5));
    }
  }
}

TEST_CASE("compress: NaN is confined to the entries containing the token", "[attention][cpu]") {
  for (double r : {4.0, 128.0}) {
    const int64_t s = r == 4 ? 9 : 130, n_e = 3;
    const ParamMap pm = shape(double(n_e) * r, 16, r, 128);
    KernelIO io = find_kernels("attn_compress")->make_io(pm, 8);
    io.in("x").data<uint16_t>()[s * 16 + 3] = 0x7FC0;  // NaN
    const KernelIO out = run(Backend::Cpu, pm, 8, &io);
    for (int64_t j = 0; j < n_e; ++j) {
      const bool contains = r == 4 ? (j == s / 4 || j == s / 4 + 1) : j == s / 128;
      bool any_nan = false;
      for (int64_t i = 0; i < 128; ++i) any_nan |= std::isnan(bf16_to_f32(out.out("entries").data<uint16_t>()[j * 128 + i]));
      INFO("ratio " << r << " entry " << j);
      CHECK(any_nan == contains);
    }
  }
}

TEST_CASE("compress: main entries ≡ decode(encode) of the 584 B layout", "[attention][cpu]") {
  const ParamMap pm = shape(64, 32, 4, 512);
  const KernelIO out = run(Backend::Cpu, pm, 4);
  const V4KvLayout l;
  std::vector<uint8_t> page(static_cast<size_t>(l.page_bytes()));
  v4_kv_pack_page(l, out.out("normed").data<uint16_t>(), 16, page.data());
  std::vector<uint16_t> back(512);
  for (int64_t j = 0; j < 16; ++j) {
    v4_kv_decode(l, page.data(), j, back.data());
    CHECK(std::memcmp(back.data(), out.out("entries").data<uint16_t>() + j * 512, 1024) == 0);
  }
}

TEST_CASE("compress: invalid configs name field, value and range", "[attention][ref]") {
  auto msg = [](const ParamMap& over) {
    CompressParams p = compress_params_from(over);
    try {
      p.validate();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(msg({{"ratio", -1}}).find("ratio = -1") != std::string::npos);
  CHECK(msg({{"ratio", 0}}).find("ratio") != std::string::npos);
  CHECK(msg({{"d", 500}}).find("d = 500") != std::string::npos);          // (d − d_rope) % 64 ≠ 0
  CHECK(msg({{"d", 96}, {"indexer", 1}}).find("power of two") != std::string::npos);
  CHECK(msg({{"d", 16}, {"d_rope", 16}, {"indexer", 1}}).find("d = 16") != std::string::npos);
  CHECK(msg({{"pos0", 2}}).find("pos0") != std::string::npos);
  CHECK(msg({{"d_rope", 63}}).find("d_rope") != std::string::npos);
  CHECK(msg({}).empty());
}

TEST_CASE("compress: cpu vs ref on random, odd and V4 shapes", "[attention][cpu]") {
  struct Case {
    double T, D, r, d, indexer;
  };
  for (const Case c : {Case{64, 256, 4, 512, 0}, Case{64, 256, 4, 128, 1}, Case{256, 64, 128, 512, 0},
                       Case{13, 1, 4, 128, 0}, Case{31, 13, 4, 128, 1}, Case{13, 31, 1, 128, 0},
                       Case{257, 257, 128, 128, 0}, Case{8, 4096, 4, 512, 0}, Case{8, 4096, 4, 128, 1}}) {
    INFO("T " << c.T << " D " << c.D << " r " << c.r << " d " << c.d << " indexer " << c.indexer);
    v4lab::test::require_all_pass(
        v4lab::test::compare("attn_compress", Backend::Cpu, shape(c.T, c.D, c.r, c.d, c.indexer), 17));
  }
  ParamMap s = shape(20, 40, 4, 128);
  s["streaming"] = 1;
  v4lab::test::require_all_pass(v4lab::test::compare("attn_compress", Backend::Cpu, s, 6));
}

TEST_CASE("compress: cuda vs ref", "[attention][cuda]") {
  if (!v4lab::test::cuda_or_skip()) return;
  for (const ParamMap& pm : {shape(64, 256, 4, 512), shape(64, 256, 4, 128, 1), shape(256, 64, 128, 512),
                             shape(13, 31, 4, 128), shape(8, 4096, 4, 512)})
    v4lab::test::require_all_pass(v4lab::test::compare("attn_compress", Backend::Cuda, pm, 17));
}
