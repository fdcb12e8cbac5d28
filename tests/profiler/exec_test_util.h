// exec_test_util.h — helpers shared by the executor tests (tests/profiler/test_model_exec*.cpp).
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/presets.h"
#include "profiler/model_build.h"

namespace v4lab::test {

// The `tiny` scale of preset `id`, with `layers` layers (-1: the preset's count).
inline ModelPreset tiny(const std::string& id, int64_t layers = -1) {
  profiler::ExecScale s = profiler::named_scale("tiny");
  s.layers = layers;
  return profiler::scale_preset(load_model_preset(id, default_data_dir()), s);
}

// Relative L2 error of a against b.
inline double rel_l2(const float* a, const float* b, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]), den += double(b[i]) * b[i];
  return std::sqrt(num / std::max(den, 1e-300));
}
inline double rel_l2(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  return rel_l2(a.data(), b.data(), a.size());
}

}  // namespace v4lab::test
