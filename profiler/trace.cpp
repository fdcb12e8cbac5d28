// trace.cpp — the span recorder (trace.h).
#include "profiler/trace.h"

#include <algorithm>
#include <thread>

namespace v4lab::profiler {

TraceRecorder::TraceRecorder() : epoch_(Clock::now()), main_(std::this_thread::get_id()) {}

int64_t TraceRecorder::to_ns(Clock::time_point t) const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - epoch_).count();
}

std::string TraceRecorder::current_track() {
  const auto id = std::this_thread::get_id();
  if (id == main_) return "thread main";
  std::lock_guard<std::mutex> lock(mu_);
  auto it = std::find(threads_.begin(), threads_.end(), id);
  if (it == threads_.end()) it = threads_.insert(threads_.end(), id);
  return "thread " + std::to_string(2 + (it - threads_.begin()));
}

void TraceRecorder::add(TraceSpan s) {
  if (s.dur_ns < 0) s.dur_ns = 0;
  std::lock_guard<std::mutex> lock(mu_);
  spans_.push_back(std::move(s));
}

std::vector<TraceSpan> TraceRecorder::spans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

std::vector<TraceSpan> TraceRecorder::spans_from(size_t first) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (first >= spans_.size()) return {};
  return std::vector<TraceSpan>(spans_.begin() + static_cast<std::ptrdiff_t>(first), spans_.end());
}

size_t TraceRecorder::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_.size();
}

TraceScope::TraceScope(TraceRecorder* rec, std::string name, std::string category, nlohmann::json args)
    : rec_(rec), name_(std::move(name)), category_(std::move(category)), args_(std::move(args)), nvtx_(name_.c_str()) {
  if (rec_) start_ns_ = rec_->now_ns();
}

TraceScope::~TraceScope() {
  if (!rec_) return;
  const int64_t end = rec_->now_ns();
  rec_->add({rec_->current_track(), name_, category_, start_ns_, end - start_ns_, std::move(args_)});
}

}  // namespace v4lab::profiler
