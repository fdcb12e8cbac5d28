// pipeline.cpp — the §9 Engram prefetch pipeline on real kernels: engram_hash_cpu → engram_stage_rows_cpu
// (host gather into staging) → copy into the arena, on a copy thread that runs up to d steps ahead of
// the main thread's compute kernel (gemm_fp8_cpu repeated to a target duration). Serial mode does the
// same work on the main thread before each step's compute. Times are wall-clock per stage.
#include "kernels/engram/pipeline.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/device.h"
#include "kernels/engram/engram.h"
#include "kernels/engram/host_memory.h"
#include "kernels/engram/primes.h"
#include "kernels/quant/quant.h"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace v4lab::kernels {

#if defined(V4LAB_HAVE_CUDA)
// pipeline_cuda.cu (no CUDA types cross this boundary).
void* engram_pipeline_pinned_alloc(size_t bytes);
void engram_pipeline_pinned_free(void* p);
void* engram_pipeline_device_alloc(size_t bytes);
void engram_pipeline_device_free(void* p);
void* engram_pipeline_stream_create();
void engram_pipeline_stream_destroy(void* s);
void engram_pipeline_copy_h2d_sync(void* dst, const void* src, size_t bytes, void* stream);
void engram_pipeline_copy_d2h(void* dst, const void* src, size_t bytes);
#endif

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

uint64_t row_mix(uint64_t r) {
  uint64_t z = r * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void set_threads(int n) {
#if defined(_OPENMP)
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}
int get_threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Host buffers: 2 MB-aligned with transparent huge pages requested (random row reads over a big table
// are TLB-bound, §9), or pinned through CUDA for the Cuda engine.
struct HostBuffer {
  uint8_t* ptr = nullptr;
  bool pinned = false;
  HostBuffer(size_t bytes, bool pin) : pinned(pin) {
#if defined(V4LAB_HAVE_CUDA)
    if (pin) {
      ptr = static_cast<uint8_t*>(engram_pipeline_pinned_alloc(bytes));
      return;
    }
#endif
    const size_t align = size_t(2) << 20, rounded = (std::max<size_t>(bytes, 1) + align - 1) / align * align;
    ptr = static_cast<uint8_t*>(std::aligned_alloc(align, rounded));
    if (!ptr) throw runtime_error("engram pipeline: cannot allocate " + std::to_string(bytes) + " B of host memory");
#if defined(MADV_HUGEPAGE)
    madvise(ptr, rounded, MADV_HUGEPAGE);
#endif
  }
  ~HostBuffer() {
#if defined(V4LAB_HAVE_CUDA)
    if (pinned) {
      engram_pipeline_pinned_free(ptr);
      return;
    }
#endif
    std::free(ptr);
  }
  HostBuffer(const HostBuffer&) = delete;
  HostBuffer& operator=(const HostBuffer&) = delete;
};

// The arena the Engram layer reads: a second host buffer (Thread) or device memory (Cuda).
struct Arena {
  EngramCopyEngine engine;
  size_t slot_bytes;
  std::unique_ptr<HostBuffer> host;
  void* device = nullptr;
  void* stream = nullptr;
  Arena(EngramCopyEngine e, size_t slot, int slots) : engine(e), slot_bytes(slot) {
#if defined(V4LAB_HAVE_CUDA)
    if (e == EngramCopyEngine::Cuda) {
      device = engram_pipeline_device_alloc(slot * slots);
      stream = engram_pipeline_stream_create();
      return;
    }
#endif
    host = std::make_unique<HostBuffer>(slot * slots, false);
  }
  ~Arena() {
#if defined(V4LAB_HAVE_CUDA)
    if (device) engram_pipeline_device_free(device);
    if (stream) engram_pipeline_stream_destroy(stream);
#endif
  }
  void copy_in(int slot, const uint8_t* src, size_t bytes) {
#if defined(V4LAB_HAVE_CUDA)
    if (engine == EngramCopyEngine::Cuda) {
      engram_pipeline_copy_h2d_sync(static_cast<uint8_t*>(device) + slot * slot_bytes, src, bytes, stream);
      return;
    }
#endif
    std::memcpy(host->ptr + slot * slot_bytes, src, bytes);
  }
  void read_back(int slot, uint8_t* dst, size_t bytes) {
#if defined(V4LAB_HAVE_CUDA)
    if (engine == EngramCopyEngine::Cuda) {
      engram_pipeline_copy_d2h(dst, static_cast<uint8_t*>(device) + slot * slot_bytes, bytes);
      return;
    }
#endif
    std::memcpy(dst, host->ptr + slot * slot_bytes, bytes);
  }
};

// gemm_fp8_cpu of a decode-like shape (small, ~0.1 ms, so the repeat count sets the duration finely),
// repeated `reps` times: the stand-in for the layers that run
// while the rows of a later step are fetched.
struct ComputeKernel {
  GemmQParams g;
  std::vector<uint8_t> a, sa, b, sb;
  std::vector<uint16_t> c;
  int64_t reps = 0;
  double unit_s = 0;
  explicit ComputeKernel(uint64_t seed) {
    g.m = 16, g.k = 512, g.n = 256, g.scale_fmt = ScaleFmt::Ue8m0, g.out_bf16 = true;
    Rng rng(seed ^ 0xc0ffee);
    a.resize(g.m * g.k), b.resize(g.n * g.k);
    for (auto& x : a) x = uint8_t(rng.below(0x7e));  // finite E4M3 codes (0x7f is NaN)
    for (auto& x : b) x = uint8_t(rng.below(0x7e) | (rng.below(2) << 7));
    sa.assign(g.m * (g.k / 128), 120), sb.assign(g.n_blocks() * (g.k / 128), 120);
    c.resize(g.m * g.n);
  }
  void once() { gemm_fp8_cpu(g, a.data(), sa.data(), b.data(), sb.data(), c.data()); }
  void calibrate(double target_s) {
    once();
    unit_s = 1e30;
    for (int i = 0; i < 3; ++i) {
      auto t0 = Clock::now();
      once();
      unit_s = std::min(unit_s, seconds_since(t0));
    }
    reps = target_s <= 0 ? 0 : std::max<int64_t>(1, int64_t(target_s / unit_s + 0.5));
  }
  void run() {
    for (int64_t i = 0; i < reps; ++i) once();
  }
};

// Hash inputs for one table: identity canonical map, §3 primes sized so Σp ≈ table_rows, SplitMix
// multipliers, and the seeded token ids of every step.
struct HashSetup {
  EngramHashParams hp;
  std::vector<int32_t> canon, tokens;
  std::vector<uint64_t> mult, primes;
  int64_t tokens_per_step = 0;
  int64_t table_rows = 0;
  HashSetup(const EngramPipelineParams& p) {
    const int R = (p.max_ngram - 1) * p.heads;
    tokens_per_step = (p.rows_per_step + R - 1) / R;
    hp.n_tokens = tokens_per_step, hp.max_ngram = p.max_ngram, hp.heads = p.heads, hp.raw_vocab = p.raw_vocab;
    hp.pad_id = 0;
    canon.resize(p.raw_vocab);
    for (int64_t i = 0; i < p.raw_vocab; ++i) canon[i] = int32_t(i);
    const uint64_t per_head = std::max<uint64_t>(2, uint64_t(p.table_rows / R));
    primes = engram_select_primes(1, std::vector<uint64_t>(p.max_ngram - 1, per_head), p.heads)[0];
    table_rows = int64_t(engram_table_rows(primes));
    mult = engram_multipliers_splitmix(0, uint64_t(p.raw_vocab), p.max_ngram, p.seed);
    Rng rng(p.seed);
    tokens.resize(p.steps * tokens_per_step);
    for (auto& t : tokens) t = int32_t(rng.below(uint64_t(p.raw_vocab)));
  }
  // Row ids of step s into ids [tokens_per_step · R] (context: the previous step's last N−1 tokens).
  void hash(int64_t s, uint32_t* ids, uint64_t* offsets, uint64_t* mixes) const {
    int32_t ctx[kEngramMaxNgram] = {};
    const int H = hp.max_ngram - 1;
    for (int i = 0; i < H; ++i) {
      const int64_t pos = s * tokens_per_step - H + i;
      ctx[i] = pos >= 0 ? tokens[pos] : -1;
    }
    engram_hash_cpu(hp, tokens.data() + s * tokens_per_step, ctx, canon.data(), mult.data(), primes.data(), ids,
                    offsets, mixes);
  }
};

}  // namespace

uint8_t engram_pipeline_table_byte(int64_t row, int64_t i) {
  return uint8_t(row_mix(uint64_t(row)) >> (8 * (i & 7))) ^ uint8_t(i >> 3);
}

const char* engram_pipeline_mode_name(EngramPipelineMode m) {
  return m == EngramPipelineMode::Serial ? "serial" : "prefetch";
}

bool engram_pipeline_cuda_available(std::string* why_not) {
#if defined(V4LAB_HAVE_CUDA)
  return cuda_device_available(why_not);
#else
  if (why_not) *why_not = "this binary was built without CUDA (V4LAB_CUDA=OFF)";
  return false;
#endif
}

void EngramPipelineParams::validate() const {
  auto num = [](double v) {
    return v == std::floor(v) && std::fabs(v) < 1e15 ? std::to_string(int64_t(v)) : std::to_string(v);
  };
  auto range = [&](const char* name, double v, double lo, double hi) {
    if (!(v >= lo && v <= hi))
      throw config_error(std::string(name) + " = " + num(v) + " is out of range [" + num(lo) + ", " + num(hi) + "]");
  };
  range("steps", double(steps), 1, 1e6);
  range("rows_per_step", double(rows_per_step), 1, 1e8);
  range("row_bytes", double(row_bytes), 1, 1 << 20);
  range("table_rows", double(table_rows), 16, 4e9);
  range("max_ngram", max_ngram, 2, kEngramMaxNgram);
  range("heads", heads, 1, 64);
  range("raw_vocab", double(raw_vocab), 4, 1 << 30);
  range("compute_ms", compute_ms, 0, 10000);
  range("compute_threads", compute_threads, 1, 1024);
  range("prefetch_distance", prefetch_distance, 0, 64);
}

EngramPipelineResult engram_pipeline_run(const EngramPipelineParams& p, EngramPipelineMode mode,
                                         const EngramPipelineRun& run) {
  p.validate();
  if (p.engine == EngramCopyEngine::Cuda) {
    std::string why;
    if (!engram_pipeline_cuda_available(&why)) throw config_error("copy engine cuda unavailable: " + why);
  }
  const int R = (p.max_ngram - 1) * p.heads;
  const int slots = mode == EngramPipelineMode::Serial ? 1 : p.prefetch_distance + 1;
  const int64_t step_bytes = p.rows_per_step * p.row_bytes;
  // The fit check comes before anything big is built (the hash setup only needs the prime sizes).
  const uint64_t per_head = std::max<uint64_t>(2, uint64_t(p.table_rows / R));
  const double est_rows = double(per_head) * R;
  const double needed = est_rows * double(p.row_bytes) + 2.0 * slots * double(step_bytes);
  require_host_memory(needed, "engram pipeline table",
                      std::to_string(int64_t(est_rows)) + " rows x " + std::to_string(p.row_bytes) +
                          " B/row + staging and arena " + std::to_string(2 * slots) + " x " +
                          std::to_string(step_bytes) + " B",
                      p.available_bytes);

  HashSetup hs(p);
  const bool pin = p.engine == EngramCopyEngine::Cuda;
  EngramPipelineResult res;
  res.mode = mode;
  res.engine = pin ? "cuda" : "thread";
  res.table_rows = hs.table_rows;
  res.table_bytes = hs.table_rows * p.row_bytes;
  HostBuffer table(size_t(res.table_bytes), pin);
  for (int64_t r = 0; r < hs.table_rows; ++r)
    for (int64_t i = 0; i < p.row_bytes; ++i) table.ptr[r * p.row_bytes + i] = engram_pipeline_table_byte(r, i);
  HostBuffer staging(size_t(step_bytes) * slots, pin);
  Arena arena(p.engine, size_t(step_bytes), slots);

  const int outer_threads = get_threads();
  set_threads(p.compute_threads);
  ComputeKernel ck(p.seed);
  ck.calibrate(p.compute_ms * 1e-3);
  res.compute_m = ck.g.m, res.compute_k = ck.g.k, res.compute_n = ck.g.n, res.compute_reps = ck.reps;
  res.compute_unit_s = ck.unit_s;

  const int64_t S = p.steps, T = hs.tokens_per_step;
  res.steps.assign(S, {});
  if (run.keep_rows) res.ids.assign(S, {}), res.delivered.assign(S, {});
  std::vector<std::vector<uint32_t>> ids(slots, std::vector<uint32_t>(T * R));
  std::vector<std::vector<uint64_t>> offsets(slots, std::vector<uint64_t>(R)), mixes(slots,
                                                                                   std::vector<uint64_t>(T * (p.max_ngram - 1)));
  uint64_t max_id = 0;

  // One step's Engram work into slot `k`: hash → gather into staging → copy into the arena.
  auto fetch = [&](int64_t s, int k) {
    EngramPipelineStep& st = res.steps[s];
    auto t0 = Clock::now();
    hs.hash(s, ids[k].data(), offsets[k].data(), mixes[k].data());
    st.hash_s = seconds_since(t0);
    for (int64_t i = 0; i < p.rows_per_step; ++i)
      if (ids[k][i] >= uint64_t(hs.table_rows))
        throw runtime_error("engram pipeline: row id " + std::to_string(ids[k][i]) + " >= table rows " +
                            std::to_string(hs.table_rows));
    t0 = Clock::now();
    uint8_t* stg = staging.ptr + size_t(k) * step_bytes;
    engram_stage_rows_cpu(table.ptr, p.row_bytes, ids[k].data(), p.rows_per_step, stg);
    st.gather_s = seconds_since(t0);
    t0 = Clock::now();
    arena.copy_in(k, stg, size_t(step_bytes));
    st.copy_s = seconds_since(t0);
    st.rows = p.rows_per_step, st.bytes = step_bytes;
  };
  auto deliver = [&](int64_t s, int k) {  // outside every timed region
    for (int64_t i = 0; i < p.rows_per_step; ++i) max_id = std::max<uint64_t>(max_id, ids[k][i]);
    if (!run.keep_rows) return;
    res.ids[s].assign(ids[k].begin(), ids[k].begin() + p.rows_per_step);
    res.delivered[s].resize(size_t(step_bytes));
    arena.read_back(k, res.delivered[s].data(), size_t(step_bytes));
  };

  const auto t_run = Clock::now();
  if (mode == EngramPipelineMode::Serial) {
    for (int64_t s = 0; s < S; ++s) {
      set_threads(1);  // the same single thread the copy thread gets in prefetch mode
      fetch(s, 0);
      set_threads(p.compute_threads);
      auto t0 = Clock::now();
      ck.run();
      res.steps[s].compute_s = seconds_since(t0);
      EngramPipelineStep& st = res.steps[s];
      st.exposed_s = st.hash_s + st.gather_s + st.copy_s;
      deliver(s, 0);
    }
  } else {
    std::mutex mu;
    std::condition_variable cv;
    int64_t started = 0, ready = 0, consumed = 0;  // steps begun by main, fetched, released
    bool abort = false;
    std::exception_ptr worker_error;
    const int64_t d = p.prefetch_distance;
    std::thread worker([&] {
      set_threads(1);
      try {
        for (int64_t j = 0; j < S; ++j) {
          {
            std::unique_lock<std::mutex> lk(mu);
            // Ids of step j are known once step j − d has begun; its slot is free once j − slots is consumed.
            cv.wait(lk, [&] { return abort || (j < started + d && j - consumed < slots); });
            if (abort) return;
          }
          fetch(j, int(j % slots));
          {
            std::lock_guard<std::mutex> lk(mu);
            ready = j + 1;
          }
          cv.notify_all();
        }
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        worker_error = std::current_exception();
        abort = true;
        cv.notify_all();
      }
    });
    try {
      for (int64_t s = 0; s < S; ++s) {
        {
          std::lock_guard<std::mutex> lk(mu);
          started = s + 1;
        }
        cv.notify_all();
        auto t0 = Clock::now();
        ck.run();
        res.steps[s].compute_s = seconds_since(t0);
        t0 = Clock::now();
        {
          std::unique_lock<std::mutex> lk(mu);
          cv.wait(lk, [&] { return abort || ready > s; });
          if (abort) break;
        }
        res.steps[s].exposed_s = seconds_since(t0);
        deliver(s, int(s % slots));
        {
          std::lock_guard<std::mutex> lk(mu);
          consumed = s + 1;
        }
        cv.notify_all();
      }
    } catch (...) {
      {
        std::lock_guard<std::mutex> lk(mu);
        abort = true;
      }
      cv.notify_all();
      worker.join();
      set_threads(outer_threads);
      throw;
    }
    worker.join();
    if (worker_error) {
      set_threads(outer_threads);
      std::rethrow_exception(worker_error);
    }
  }
  res.wall_s = seconds_since(t_run);
  set_threads(outer_threads);

  for (auto& st : res.steps) {
    const double e = st.hash_s + st.gather_s + st.copy_s;
    st.overlap = e > 0 ? std::clamp(1.0 - st.exposed_s / e, 0.0, 1.0) : 0.0;
    res.engram_s += e, res.exposed_s += st.exposed_s, res.compute_s += st.compute_s;
  }
  res.overlap = res.engram_s > 0 ? std::clamp(1.0 - res.exposed_s / res.engram_s, 0.0, 1.0) : 0.0;
  res.max_row_id = max_id;
  return res;
}

}  // namespace v4lab::kernels
