// pipeline.h — host-resident Engram table with a real asynchronous prefetch pipeline (specs/engram.md
// §9): per step, row ids come from the hash kernel on the step's token ids, rows are gathered into a
// staging buffer and copied into a separate "device" arena by a dedicated copy thread while a real
// compute kernel (gemm_fp8_cpu) runs on the calling thread. Serial mode runs the same work without
// overlap, so the exposed Engram time of both modes is measured, not assumed. CUDA builds can use a
// pinned table/staging buffer and a cudaMemcpyAsync on its own stream (pipeline_cuda.cu).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace v4lab::kernels {

enum class EngramPipelineMode { Serial, Prefetch };
enum class EngramCopyEngine { Thread, Cuda };  // Thread: memcpy into a host arena; Cuda: pinned H2D on a copy stream

struct EngramPipelineParams {
  int64_t steps = 32;            // S: pipeline steps (one Engram layer each)
  int64_t rows_per_step = 6144;  // rows gathered per step (tokens · R, the last token truncated); V4.1-like 256·24
  int64_t row_bytes = 264;       // bytes of one stored row (FP8 D = 256: 264 B)
  int64_t table_rows = 1 << 22;  // requested table rows; the real table is Σ primes ≥ this (heads sized by §3)
  int max_ngram = 3;             // N of the hash (orders 2..N)
  int heads = 8;                 // K hash heads per order; R = (N−1)·K rows per token
  int64_t raw_vocab = 129280;    // token ids are drawn uniformly in [0, V) (worst case for locality)
  double compute_ms = 2.0;       // target duration of the concurrent compute kernel per step (0: none)
  int compute_threads = 1;       // OpenMP threads of the compute kernel (1 leaves a core to the copy thread)
  int prefetch_distance = 1;     // d: rows of step s are fetched once step s − d starts (0: during step s)
  EngramCopyEngine engine = EngramCopyEngine::Thread;
  uint64_t seed = 1;
  uint64_t available_bytes = UINT64_MAX;  // host memory limit for the fit check (UINT64_MAX: /proc/meminfo)
  void validate() const;                  // config_error naming the field, value and accepted range
};

struct EngramPipelineStep {
  int64_t rows = 0;
  int64_t bytes = 0;
  double hash_s = 0;      // index computation (engram_hash_cpu) for this step's tokens
  double gather_s = 0;    // engram_stage_rows_cpu into the staging buffer
  double copy_s = 0;      // staging → arena (thread memcpy, or H2D copy + stream sync)
  double compute_s = 0;   // the concurrent compute kernel on the main thread
  double exposed_s = 0;   // Engram time the main thread did not hide (serial: hash + gather + copy)
  double overlap = 0;     // 1 − exposed / (hash + gather + copy), in [0, 1]
};

struct EngramPipelineResult {
  EngramPipelineMode mode = EngramPipelineMode::Serial;
  std::string engine;              // "thread" or "cuda"
  int64_t table_rows = 0;          // Σ primes actually allocated
  int64_t table_bytes = 0;
  std::vector<EngramPipelineStep> steps;
  int64_t compute_m = 0, compute_k = 0, compute_n = 0, compute_reps = 0;  // gemm_fp8_cpu shape × repeats
  double compute_unit_s = 0;       // measured time of one compute repeat (calibration)
  double wall_s = 0;               // whole run
  double engram_s = 0;             // Σ hash + gather + copy
  double exposed_s = 0;            // Σ exposed
  double compute_s = 0;            // Σ compute
  double overlap = 0;              // 1 − exposed / engram
  uint64_t max_row_id = 0;         // every id < table_rows (checked)
  // Filled when EngramPipelineRun::keep_rows: the ids and the arena contents delivered per step.
  std::vector<std::vector<uint32_t>> ids;
  std::vector<std::vector<uint8_t>> delivered;
};

struct EngramPipelineRun {
  bool keep_rows = false;  // tests: copy each step's ids and delivered arena bytes into the result
};

// Builds the table (refusing, via require_host_memory, one that does not fit together with its
// staging and arena buffers), calibrates the compute kernel to compute_ms, and runs the steps.
EngramPipelineResult engram_pipeline_run(const EngramPipelineParams& p, EngramPipelineMode mode,
                                         const EngramPipelineRun& run = {});

// Deterministic content of table row r, byte i (tests recompute delivered rows independently).
uint8_t engram_pipeline_table_byte(int64_t row, int64_t i);
const char* engram_pipeline_mode_name(EngramPipelineMode m);
bool engram_pipeline_cuda_available(std::string* why_not);

}  // namespace v4lab::kernels
