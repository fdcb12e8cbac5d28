// test_edge_inputs.cpp — every registered kernel op at the edges (issue 10; docs/cost-model.md
// §Numerical limits), iterating over the registry rather than a hand list:
//  - zero-size dimensions: a size parameter whose range admits 0 runs on _ref and cpu without a crash
//    and gives an empty (or verified) result, or is refused with a config error; one whose range
//    starts above 0 is refused by resolve_params naming the key (exit code 2);
//  - NaN / +Inf in an input: no crash or hang, and cpu marks exactly the output elements non-finite
//    that _ref does (the specs' "a NaN poisons only its row/token" rules hold for both or neither).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "core/op_catalogue.h"
#include "core/tensor.h"
#include "kernels/registry.h"

using namespace v4lab;
using namespace v4lab::kernels;

namespace {

// Size-like integer parameters (flags and enums have max ≤ a few; sizes name a count or a dimension).
bool size_param(const ParamDef& p) {
  if (!p.integer || p.max < 2) return false;
  const std::string& k = p.key;
  return k.rfind("n_", 0) == 0 || k.rfind("d_", 0) == 0 || k.find("rows") != std::string::npos ||
         k.find("dim") != std::string::npos || k.find("heads") != std::string::npos ||
         k.find("len") != std::string::npos || k.find("tokens") != std::string::npos;
}

// Small shapes: n_tokens at most 8 so that every op runs quickly on _ref.
ParamMap small(const OpDef& op) {
  ParamMap o;
  for (const ParamDef& p : op.params)
    if (p.key == "n_tokens") o[p.key] = std::min(p.def, 8.0) > p.min ? std::min(p.def, 8.0) : p.def;
  return o;
}

bool is_float(DType t) { return t == DType::F32 || t == DType::BF16 || t == DType::F64; }

double value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::F32: return t.data<float>()[i];
    case DType::F64: return t.data<double>()[i];
    case DType::BF16: {
      const uint32_t u = uint32_t(t.data<uint16_t>()[i]) << 16;
      float f;
      std::memcpy(&f, &u, 4);
      return f;
    }
    case DType::I32: return t.data<int32_t>()[i];
    case DType::I64: return double(t.data<int64_t>()[i]);
    case DType::U8: return t.data<uint8_t>()[i];
    case DType::U16: return t.data<uint16_t>()[i];
  }
  return 0;
}

void poison(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::F32: t.data<float>()[i] = float(v); break;
    case DType::F64: t.data<double>()[i] = v; break;
    case DType::BF16: {
      const float f = float(v);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      t.data<uint16_t>()[i] = uint16_t((u >> 16) | (std::isnan(f) ? 0x0040 : 0));
      break;
    }
    default: break;
  }
}

struct Outcome {
  bool refused = false;  // a v4lab::Error (config / usage): a clean refusal
  std::string why;
  KernelIO io;
};

// Runs op on backend b from seeded inputs, after `mutate` edits them; v4lab errors become refusals.
template <class F>
Outcome run(const OpKernels& k, Backend b, const ParamMap& pm, F&& mutate) {
  Outcome o;
  try {
    o.io = k.make_io(pm, 7);
    mutate(o.io);
    PreparedRun r = k.prepare.at(b)(pm, o.io);
    r.launch();
    if (r.sync_outputs) r.sync_outputs();
  } catch (const Error& e) {
    o.refused = true;
    o.why = e.what();
    REQUIRE(e.exit_code() == 2);  // refusals are config/usage errors, never runtime failures
  }
  return o;
}

}  // namespace

TEST_CASE("edge inputs: every registered op at a zero-size dimension runs empty or refuses cleanly", "[cpu][ref]") {
  int runs = 0, refusals = 0;
  for (const std::string& name : kernel_ops()) {
    const OpDef& op = get_op(name);
    const OpKernels* k = find_kernels(name);
    REQUIRE(k);
    for (const ParamDef& p : op.params) {
      if (!size_param(p)) continue;
      ParamMap o = small(op);
      o[p.key] = 0;
      INFO(name << " " << p.key << " = 0 (range " << p.min << ".." << p.max << ")");
      if (p.min > 0) {
        try {
          resolve_params(op, o, name);
          FAIL("resolve_params accepted 0 below the minimum");
        } catch (const Error& e) {
          CHECK(e.exit_code() == 2);
          CHECK(std::string(e.what()).find(p.key) != std::string::npos);
        }
        continue;
      }
      ParamMap pm;
      try {
        pm = resolve_params(op, o, name);
      } catch (const Error& e) {  // cross-field checks may still refuse (e.g. a product of dims)
        CHECK(e.exit_code() == 2);
        ++refusals;
        continue;
      }
      for (Backend b : {Backend::Ref, Backend::Cpu}) {
        if (!k->prepare.count(b)) continue;
        Outcome r = run(*k, b, pm, [](KernelIO&) {});
        if (r.refused) {
          ++refusals;
          CHECK(!r.why.empty());
          continue;
        }
        ++runs;
        for (const Tensor& t : r.io.outputs)
          for (int64_t i = 0; i < t.numel(); ++i)
            if (is_float(t.dtype())) CHECK_FALSE(std::isnan(value_at(t, i)));
      }
      // Both backends ran: the results agree (verify on the possibly empty outputs).
      if (k->prepare.count(Backend::Cpu)) {
        Outcome ref = run(*k, Backend::Ref, pm, [](KernelIO&) {});
        Outcome cpu = run(*k, Backend::Cpu, pm, [](KernelIO&) {});
        if (!ref.refused && !cpu.refused)
          for (const CheckResult& c : k->verify(pm, cpu.io, ref.io)) {
            INFO(c.summary());
            CHECK(c.passed);
          }
        CHECK(ref.refused == cpu.refused);  // the backends refuse the same inputs
      }
    }
  }
  REQUIRE(runs > 0);
  WARN("zero-size cases: " << runs << " ran, " << refusals << " refused");
}

namespace {
// Every op with a cpu kernel, its first floating-point input's element 0 set to `bad`: cpu and _ref
// refuse alike or mark exactly the same output elements non-finite.
void check_nonfinite_inputs(const double bad) {
  {
    for (const std::string& name : kernel_ops()) {
      const OpDef& op = get_op(name);
      const OpKernels* k = find_kernels(name);
      REQUIRE(k);
      if (!k->prepare.count(Backend::Cpu)) continue;
      const ParamMap pm = resolve_params(op, small(op), name);
      // The first floating-point input (activations come first in every family's make_io).
      const KernelIO probe = k->make_io(pm, 7);
      int which = -1;
      for (size_t i = 0; i < probe.inputs.size() && which < 0; ++i)
        if (is_float(probe.inputs[i].dtype()) && probe.inputs[i].numel() > 0) which = int(i);
      if (which < 0) continue;
      auto mutate = [&](KernelIO& io) { poison(io.inputs[size_t(which)], 0, bad); };
      INFO(name << ": input '" << probe.inputs[size_t(which)].name() << "'[0] = " << bad);
      Outcome ref = run(*k, Backend::Ref, pm, mutate);
      Outcome cpu = run(*k, Backend::Cpu, pm, mutate);
      CHECK(ref.refused == cpu.refused);
      if (ref.refused || cpu.refused) continue;
      REQUIRE(ref.io.outputs.size() == cpu.io.outputs.size());
      for (size_t o = 0; o < ref.io.outputs.size(); ++o) {
        const Tensor &a = ref.io.outputs[o], &b = cpu.io.outputs[o];
        REQUIRE(a.numel() == b.numel());
        int64_t nonfinite_ref = 0, mismatched = 0, first = -1;
        for (int64_t i = 0; i < a.numel(); ++i) {
          const double x = value_at(a, i), y = value_at(b, i);
          const bool bad_mismatch = is_float(a.dtype()) ? (std::isfinite(x) != std::isfinite(y)) : false;
          nonfinite_ref += is_float(a.dtype()) && !std::isfinite(x);
          if (bad_mismatch) {
            ++mismatched;
            if (first < 0) first = i;
          }
        }
        INFO("output '" << a.name() << "': " << nonfinite_ref << " non-finite on _ref, " << mismatched
                        << " elements finite on one backend only (first at " << first << ")");
        CHECK(mismatched == 0);
      }
    }
  }
}
}  // namespace

TEST_CASE("edge inputs: NaN inputs give the same non-finite outputs on cpu as on _ref", "[cpu][ref]") {
  check_nonfinite_inputs(std::numeric_limits<double>::quiet_NaN());
}

TEST_CASE("edge inputs: +Inf inputs give the same non-finite outputs on cpu as on _ref", "[cpu][ref]") {
  check_nonfinite_inputs(std::numeric_limits<double>::infinity());
}
