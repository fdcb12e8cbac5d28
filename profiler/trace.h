// trace.h — collection of measured spans for Chrome/Perfetto traces (trace issue): a recorder with one
// steady-clock epoch per run, RAII scopes that also push an NVTX range (so Nsight Systems sees the
// same phases), and one track per thread. Times are integer nanoseconds from the epoch, so a child
// span recorded inside its parent stays inside it in the written trace. Formatting lives in
// src/report/trace.h; the store keeps the spans (store/trace_store.h).
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "profiler/nvtx.h"

namespace v4lab::profiler {

struct TraceSpan {
  std::string track;  // "thread main", "thread 2", "cuda stream 7"
  std::string name;
  std::string category;  // run, phase, case, warmup, timed, rep, cuda_kernel, cuda_memcpy, ...
  int64_t ts_ns = 0;     // from the recorder's epoch
  int64_t dur_ns = 0;
  nlohmann::json args = nlohmann::json::object();
};

// Thread-safe. The thread that constructs the recorder is "thread main"; others get "thread <n>" in
// order of first use.
class TraceRecorder {
 public:
  using Clock = std::chrono::steady_clock;
  TraceRecorder();
  int64_t now_ns() const { return to_ns(Clock::now()); }
  int64_t to_ns(Clock::time_point t) const;
  Clock::time_point epoch() const { return epoch_; }
  std::string current_track();
  void add(TraceSpan s);
  // At most `n` spans of category "rep" per timed loop are kept (the rest are counted in the loop's args).
  int max_reps_per_loop() const { return max_reps_; }
  void set_max_reps_per_loop(int n) { max_reps_ = n; }
  std::vector<TraceSpan> spans() const;                   // copy, in the order added
  std::vector<TraceSpan> spans_from(size_t first) const;  // spans added after the first `first`
  size_t size() const;

 private:
  Clock::time_point epoch_;
  std::thread::id main_;
  mutable std::mutex mu_;
  std::vector<TraceSpan> spans_;
  std::vector<std::thread::id> threads_;
  int max_reps_ = 200;
};

// A span from construction to destruction on the current thread's track, plus an NVTX range of the
// same name. A null recorder records nothing (the NVTX range still opens).
class TraceScope {
 public:
  TraceScope(TraceRecorder* rec, std::string name, std::string category,
             nlohmann::json args = nlohmann::json::object());
  ~TraceScope();
  TraceScope(const TraceScope&) = delete;
  TraceScope& operator=(const TraceScope&) = delete;
  nlohmann::json& args() { return args_; }  // add results before the scope closes

 private:
  TraceRecorder* rec_;
  std::string name_, category_;
  nlohmann::json args_;
  int64_t start_ns_ = 0;
  NvtxRange nvtx_;
};

}  // namespace v4lab::profiler
