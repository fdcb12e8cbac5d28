// test_npy_check.cpp — .npy round trips for every supported dtype, malformed files, check_close.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/check.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/numerics.h"
#include "core/rng.h"

using namespace v4lab;

static std::string tmp_path(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / "v4lab_tests";
  std::filesystem::create_directories(d);
  return (d / name).string();
}

TEST_CASE("npy round-trips every dtype and shape", "[core]") {
  for (DType dt : {DType::F32, DType::F64, DType::I32, DType::I64, DType::U8, DType::U16}) {
    for (std::vector<int64_t> shape : {std::vector<int64_t>{}, {5}, {3, 4}, {2, 0, 3}, {1, 13, 7}}) {
      Tensor t("x", dt, shape);
      auto* b = static_cast<unsigned char*>(t.raw());
      for (size_t i = 0; i < t.nbytes(); ++i) b[i] = static_cast<unsigned char>(i * 37 + 11);
      std::string p = tmp_path("rt.npy");
      write_npy(p, t);
      Tensor r = read_npy(p, "x");
      REQUIRE(r.dtype() == dt);
      REQUIRE(r.shape() == shape);
      REQUIRE(std::memcmp(r.raw(), t.raw(), t.nbytes()) == 0);
      // The header is padded so data starts on a 64-byte boundary (format requirement).
      std::ifstream f(p, std::ios::binary);
      f.seekg(8);
      unsigned char hl[2];
      f.read(reinterpret_cast<char*>(hl), 2);
      REQUIRE((10 + (hl[0] | (hl[1] << 8))) % 64 == 0);
    }
  }
}

TEST_CASE("npy reader rejects truncated and malformed files with config errors", "[core]") {
  Tensor t("x", DType::F32, {4, 4});
  std::string p = tmp_path("trunc.npy");
  write_npy(p, t);
  std::filesystem::resize_file(p, std::filesystem::file_size(p) - 4);
  try {
    read_npy(p);
    FAIL("truncated file accepted");
  } catch (const Error& e) {
    REQUIRE(e.kind() == ErrorKind::Config);
    REQUIRE(std::string(e.what()).find("truncated") != std::string::npos);
  }
  std::ofstream(tmp_path("garbage.npy")) << "hello world, not numpy";
  REQUIRE_THROWS_AS(read_npy(tmp_path("garbage.npy")), Error);
  REQUIRE_THROWS_AS(read_npy(tmp_path("does_not_exist.npy")), Error);
}

TEST_CASE("bf16 rounding is round-to-nearest-even and keeps NaN/inf", "[core]") {
  REQUIRE(bf16_round(1.0f) == 1.0f);
  // 1 + 2^-8 is exactly halfway between 1 and 1 + 2^-7: ties to even (1.0).
  REQUIRE(bf16_round(1.0f + 0x1.0p-8f) == 1.0f);
  // 1 + 3·2^-8 is halfway between 1+2^-7 and 1+2^-6: ties to even (1 + 2^-6).
  REQUIRE(bf16_round(1.0f + 3 * 0x1.0p-8f) == 1.0f + 0x1.0p-6f);
  REQUIRE(std::isnan(bf16_round(NAN)));
  REQUIRE(std::isinf(bf16_round(INFINITY)));
  REQUIRE(bf16_ulp(1.0) == 0x1.0p-7);
  REQUIRE(bf16_ulp(-3.0) == 0x1.0p-6);
}

TEST_CASE("check_close reports errors, NaN mismatches and passes equal tensors", "[core]") {
  Tensor a("y", DType::F32, {8}), b("y", DType::F32, {8});
  for (int i = 0; i < 8; ++i) a.data<float>()[i] = b.data<float>()[i] = float(i) - 3.5f;
  auto r = check_close(a, b, {1e-6, 0, -1, "exact"});
  REQUIRE(r.passed);
  REQUIRE(r.max_abs == 0);
  a.data<float>()[5] += 0.01f;
  r = check_close(a, b, {1e-3, 0, -1, ""});
  REQUIRE_FALSE(r.passed);
  REQUIRE(r.worst_index == 5);
  REQUIRE(r.violations == 1);
  a.data<float>()[5] = b.data<float>()[5];
  a.data<float>()[2] = NAN;
  r = check_close(a, b, {1, 1, -1, ""});
  REQUIRE_FALSE(r.passed);
  REQUIRE(r.nonfinite_mismatch == 1);
  b.data<float>()[2] = NAN;
  REQUIRE(check_close(a, b, {0, 0, -1, ""}).passed);  // NaN where NaN is expected
  Tensor c("y", DType::F32, {4, 2});
  REQUIRE_FALSE(check_close(c, b, {1, 1, -1, ""}).shape_ok);
}

TEST_CASE("rng is reproducible and roughly normal", "[core]") {
  Rng a(7), b(7), c(8);
  REQUIRE(a.next_u64() == b.next_u64());
  REQUIRE(a.next_u64() != c.next_u64());
  Rng r(1);
  double s = 0, s2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) { double x = r.normal(); s += x; s2 += x * x; }
  REQUIRE(std::fabs(s / n) < 0.05);
  REQUIRE(std::fabs(s2 / n - 1) < 0.05);
}
