// test_engram_pipeline.cpp — the §9 host-table prefetch pipeline: serial and prefetch (d = 0, 1, 3)
// deliver bit-identical arena contents equal to the table rows of in-bounds ids; a table that does not
// fit is refused with the amounts; the CUDA copy engine delivers the same bytes (skipped without a device).
#include <catch2/catch.hpp>

#include <string>

#include "core/error.h"
#include "kernels/engram/pipeline.h"

using namespace v4lab::kernels;

namespace {
EngramPipelineParams small_params() {
  EngramPipelineParams p;
  p.steps = 7, p.rows_per_step = 101, p.row_bytes = 40, p.table_rows = 6000, p.raw_vocab = 997;
  p.compute_ms = 0.2, p.heads = 4, p.max_ngram = 3, p.seed = 11;
  return p;
}
void check_rows(const EngramPipelineParams& p, const EngramPipelineResult& r) {
  REQUIRE(int64_t(r.delivered.size()) == p.steps);
  for (int64_t s = 0; s < p.steps; ++s) {
    REQUIRE(int64_t(r.ids[s].size()) == p.rows_per_step);
    REQUIRE(int64_t(r.delivered[s].size()) == p.rows_per_step * p.row_bytes);
    for (int64_t i = 0; i < p.rows_per_step; ++i) {
      REQUIRE(int64_t(r.ids[s][i]) < r.table_rows);
      for (int64_t b = 0; b < p.row_bytes; ++b)
        if (r.delivered[s][i * p.row_bytes + b] != engram_pipeline_table_byte(r.ids[s][i], b)) FAIL("step " << s << " row " << i);
    }
  }
}
}  // namespace

TEST_CASE("engram pipeline: prefetch delivers the serial path's rows bit for bit", "[engram][cpu]") {
  EngramPipelineParams p = small_params();
  EngramPipelineRun keep;
  keep.keep_rows = true;
  const EngramPipelineResult ser = engram_pipeline_run(p, EngramPipelineMode::Serial, keep);
  check_rows(p, ser);
  REQUIRE(ser.table_rows >= p.table_rows - 8);  // Σ of 8 primes just above table_rows / 8
  REQUIRE(ser.max_row_id < uint64_t(ser.table_rows));
  for (auto& st : ser.steps) {
    REQUIRE(st.rows == p.rows_per_step);
    REQUIRE(st.bytes == p.rows_per_step * p.row_bytes);
    REQUIRE(st.exposed_s == Approx(st.hash_s + st.gather_s + st.copy_s));
  }
  for (int d : {0, 1, 3}) {
    p.prefetch_distance = d;
    const EngramPipelineResult pre = engram_pipeline_run(p, EngramPipelineMode::Prefetch, keep);
    INFO("prefetch distance " << d);
    REQUIRE(pre.ids == ser.ids);
    REQUIRE(pre.delivered == ser.delivered);
    for (auto& st : pre.steps) REQUIRE((st.overlap >= 0 && st.overlap <= 1));
    REQUIRE(pre.compute_reps >= 1);
  }
}

TEST_CASE("engram pipeline: a table that does not fit is refused with needed and available bytes", "[engram]") {
  EngramPipelineParams p = small_params();
  p.available_bytes = 1000;
  try {
    engram_pipeline_run(p, EngramPipelineMode::Prefetch);
    FAIL("no error");
  } catch (const v4lab::Error& e) {
    const std::string m = e.what();
    REQUIRE(e.exit_code() == 2);
    REQUIRE(m.find("needs") != std::string::npos);
    REQUIRE(m.find("1000 bytes") != std::string::npos);
    REQUIRE(m.find("B/row") != std::string::npos);
  }
  p = small_params();
  p.rows_per_step = 0;
  REQUIRE_THROWS_WITH(engram_pipeline_run(p, EngramPipelineMode::Serial), Catch::Contains("rows_per_step"));
}

TEST_CASE("engram pipeline: CUDA copy engine delivers the same rows", "[engram][cuda]") {
  std::string why;
  if (!engram_pipeline_cuda_available(&why)) {
    WARN("skipped: " << why);
    return;
  }
  EngramPipelineParams p = small_params();
  EngramPipelineRun keep;
  keep.keep_rows = true;
  const EngramPipelineResult ser = engram_pipeline_run(p, EngramPipelineMode::Serial, keep);
  p.engine = EngramCopyEngine::Cuda;
  const EngramPipelineResult cu = engram_pipeline_run(p, EngramPipelineMode::Prefetch, keep);
  REQUIRE(cu.engine == "cuda");
  REQUIRE(cu.delivered == ser.delivered);
}
