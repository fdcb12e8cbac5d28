// cpu_counters.cpp — perf_event_open counters, CPU clocks and peak RSS (cpu_counters.h).
#include "profiler/cpu_counters.h"

#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace v4lab::profiler {

namespace {

struct CounterDef {
  const char* name;
  uint32_t type;
  uint64_t config;
};

constexpr CounterDef kCounters[] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache_references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache_misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
};

std::string read_first_line(const char* path) {
  std::ifstream f(path);
  std::string s;
  std::getline(f, s);
  return s;
}

std::string open_error(int err) {
  std::string why = std::string("perf_event_open: ") + std::strerror(err);
  if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
    why += " (no hardware PMU exposed to this kernel; usual in VMs)";
  else if (err == EACCES || err == EPERM)
    why += " (kernel.perf_event_paranoid = " + read_first_line("/proc/sys/kernel/perf_event_paranoid") + ")";
  else if (err == ENOSYS)
    why += " (kernel built without perf events)";
  return "unavailable: " + why;
}

}  // namespace

PerfCounters::PerfCounters() {
  if (const char* e = std::getenv("V4LAB_PERF"); e && std::string(e) == "off") {
    status_ = "unavailable: disabled by V4LAB_PERF=off";
    return;
  }
  for (const CounterDef& c : kCounters) {
    perf_event_attr attr;
    std::memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = c.type;
    attr.config = c.config;
    attr.disabled = 1;
    attr.inherit = 1;         // threads the caller starts afterwards count too
    attr.exclude_kernel = 1;  // user space only: allowed at perf_event_paranoid <= 2
    attr.exclude_hv = 1;
    attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    const long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
    if (fd < 0) {
      const int err = errno;
      if (fds_.empty()) {  // the first counter decides; later ones are optional (fewer PMU slots)
        status_ = open_error(err);
        return;
      }
      continue;
    }
    fds_.push_back(static_cast<int>(fd));
    names_.push_back(c.name);
  }
  status_ = "available";
}

PerfCounters::~PerfCounters() {
  for (int fd : fds_) close(fd);
}

void PerfCounters::start() {
  for (int fd : fds_) {
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  }
}

CounterReading PerfCounters::stop() {
  CounterReading r;
  r.status = status_;
  r.available = available();
  for (int fd : fds_) ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  for (size_t i = 0; i < fds_.size(); ++i) {
    uint64_t v[3] = {0, 0, 0};  // value, time enabled, time running
    if (read(fds_[i], v, sizeof v) != static_cast<ssize_t>(sizeof v)) continue;
    // Multiplexed counters ran only part of the time: scale to the enabled time.
    const double scale = v[2] > 0 ? static_cast<double>(v[1]) / static_cast<double>(v[2]) : 0.0;
    r.values[names_[i]] = static_cast<double>(v[0]) * scale;
  }
  return r;
}

const std::string& perf_counters_status() {
  static const std::string s = PerfCounters().status();
  return s;
}

double thread_cpu_time_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double process_cpu_time_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

bool reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  if (!f) return false;
  f << "5";
  f.close();
  return static_cast<bool>(f);
}

PeakRss peak_rss(bool since_reset) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::istringstream is(line.substr(6));
    int64_t kib = 0;
    is >> kib;
    if (kib > 0)
      return {kib * 1024,
              since_reset ? "VmHWM since the run started (/proc/self/clear_refs reset)" : "VmHWM (process lifetime)"};
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<int64_t>(ru.ru_maxrss) * 1024, "ru_maxrss (process lifetime)"};
}

}  // namespace v4lab::profiler
