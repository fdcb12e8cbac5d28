// cupti_collector.cpp — CUPTI Activity API collector (cupti_collector.h). Buffers are handed to CUPTI
// on request and parsed when it completes them; records land in one mutex-guarded vector.
#include "profiler/cupti_collector.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>

#include "kernels/registry.h"

#if defined(V4LAB_HAVE_CUPTI)
#include <cupti.h>
#endif

namespace v4lab::profiler {

namespace {

std::mutex g_mu;
std::vector<GpuActivity> g_done;
uint64_t g_dropped = 0;
bool g_active = false;
int64_t g_offset_ns = 0;  // host steady ns - CUPTI ns at start

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

#if defined(V4LAB_HAVE_CUPTI)

namespace {

constexpr size_t kBufferBytes = 8u << 20;

std::string cupti_error(CUptiResult r) {
  const char* s = nullptr;
  cuptiGetResultString(r, &s);
  return s ? s : ("CUPTI error " + std::to_string(static_cast<int>(r)));
}

const char* copy_kind_name(uint8_t k) {
  switch (k) {
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOD:
      return "HtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOH:
      return "DtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOD:
      return "DtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOH:
      return "HtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_PTOP:
      return "PtoP";
    case CUPTI_ACTIVITY_MEMCPY_KIND_HTOA:
      return "HtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOH:
      return "AtoH";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOA:
      return "AtoA";
    case CUPTI_ACTIVITY_MEMCPY_KIND_ATOD:
      return "AtoD";
    case CUPTI_ACTIVITY_MEMCPY_KIND_DTOA:
      return "DtoA";
    default:
      return "unknown";
  }
}

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  // CUPTI wants 8-byte alignment; aligned_alloc needs a size that is a multiple of it.
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, kBufferBytes));
  *size = *buffer ? kBufferBytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream_id, uint8_t* buffer, size_t, size_t valid) {
  std::vector<GpuActivity> got;
  CUpti_Activity* rec = nullptr;
  while (cuptiActivityGetNextRecord(buffer, valid, &rec) == CUPTI_SUCCESS) {
    GpuActivity a;
    if (rec->kind == CUPTI_ACTIVITY_KIND_KERNEL || rec->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
      const auto* k = reinterpret_cast<const CUpti_ActivityKernel10*>(rec);
      a.kind = "kernel";
      a.name = k->name ? k->name : "?";
      a.device = k->deviceId;
      a.context = k->contextId;
      a.stream = k->streamId;
      a.correlation = k->correlationId;
      a.start_ns = static_cast<int64_t>(k->start);
      a.end_ns = static_cast<int64_t>(k->end);
      a.grid[0] = k->gridX, a.grid[1] = k->gridY, a.grid[2] = k->gridZ;
      a.block[0] = k->blockX, a.block[1] = k->blockY, a.block[2] = k->blockZ;
    } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemcpy6*>(rec);
      a.kind = "memcpy";
      a.copy_kind = copy_kind_name(m->copyKind);
      a.name = "memcpy " + a.copy_kind;
      a.device = m->deviceId;
      a.context = m->contextId;
      a.stream = m->streamId;
      a.correlation = m->correlationId;
      a.start_ns = static_cast<int64_t>(m->start);
      a.end_ns = static_cast<int64_t>(m->end);
      a.bytes = static_cast<int64_t>(m->bytes);
    } else if (rec->kind == CUPTI_ACTIVITY_KIND_MEMSET) {
      const auto* m = reinterpret_cast<const CUpti_ActivityMemset4*>(rec);
      a.kind = "memset";
      a.name = "memset";
      a.device = m->deviceId;
      a.context = m->contextId;
      a.stream = m->streamId;
      a.correlation = m->correlationId;
      a.start_ns = static_cast<int64_t>(m->start);
      a.end_ns = static_cast<int64_t>(m->end);
      a.bytes = static_cast<int64_t>(m->bytes);
    } else {
      continue;
    }
    got.push_back(std::move(a));
  }
  size_t dropped = 0;
  cuptiActivityGetNumDroppedRecords(ctx, stream_id, &dropped);
  std::free(buffer);
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& a : got) {
    a.start_ns += g_offset_ns;
    a.end_ns += g_offset_ns;
    g_done.push_back(std::move(a));
  }
  g_dropped += dropped;
}

}  // namespace

bool cupti_compiled() { return true; }
std::string cupti_status() { return "compiled (CUPTI API " + std::to_string(CUPTI_API_VERSION) + ")"; }

bool CuptiCollector::start(std::string* why) {
  auto fail = [&](std::string m) {
    if (why) *why = std::move(m);
    return false;
  };
  if (running_) return true;
  std::string reason;
  if (!kernels::backend_available(kernels::Backend::Cuda, &reason)) return fail("no CUDA device: " + reason);
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (g_active) return fail("another CUPTI collector is running in this process");
    g_active = true;
    g_done.clear();
    g_dropped = 0;
  }
  uint64_t t0 = 0;
  CUptiResult r = cuptiGetTimestamp(&t0);
  const int64_t host0 = steady_ns();
  if (r == CUPTI_SUCCESS) r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed);
  for (CUpti_ActivityKind k :
       {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET})
    if (r == CUPTI_SUCCESS) r = cuptiActivityEnable(k);
  if (r != CUPTI_SUCCESS) {
    std::lock_guard<std::mutex> lock(g_mu);
    g_active = false;
    return fail("CUPTI refused to start: " + cupti_error(r));
  }
  {
    std::lock_guard<std::mutex> lock(g_mu);
    g_offset_ns = host0 - static_cast<int64_t>(t0);
  }
  running_ = true;
  return true;
}

std::vector<GpuActivity> CuptiCollector::take() {
  if (!running_) return {};
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::vector<GpuActivity> out;
  {
    std::lock_guard<std::mutex> lock(g_mu);
    out.swap(g_done);
  }
  std::sort(out.begin(), out.end(), [](const GpuActivity& a, const GpuActivity& b) { return a.start_ns < b.start_ns; });
  return out;
}

void CuptiCollector::stop() {
  if (!running_) return;
  for (CUpti_ActivityKind k :
       {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, CUPTI_ACTIVITY_KIND_MEMCPY, CUPTI_ACTIVITY_KIND_MEMSET})
    cuptiActivityDisable(k);
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  std::lock_guard<std::mutex> lock(g_mu);
  g_active = false;
  g_done.clear();
  running_ = false;
}

#else  // CPU-only build: the same API, always absent.

bool cupti_compiled() { return false; }
std::string cupti_status() { return "absent: CPU-only build (V4LAB_CUDA=OFF)"; }

bool CuptiCollector::start(std::string* why) {
  if (why) *why = "CUPTI absent: CPU-only build (V4LAB_CUDA=OFF)";
  (void)g_active;
  (void)g_offset_ns;
  (void)steady_ns;
  return false;
}
std::vector<GpuActivity> CuptiCollector::take() { return {}; }
void CuptiCollector::stop() { running_ = false; }

#endif

uint64_t CuptiCollector::dropped() const {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_dropped;
}

CuptiCollector::~CuptiCollector() { stop(); }

}  // namespace v4lab::profiler
