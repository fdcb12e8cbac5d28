// report.cpp — format dispatch, atomic file writing and the shared time formatter (report.h).
#include "report/report.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "report/detail/report_kinds.h"
#include "report/trace.h"
#include "store/export.h"
#include "store/trace_store.h"

namespace v4lab::report {

namespace fs = std::filesystem;

std::string format_seconds(double s) {
  if (!std::isfinite(s) || s < 0) return "n/a";
  if (s == 0) return "0 s";
  static constexpr struct {
    double scale;
    const char* unit;
  } kUnits[] = {{1e9, "ns"}, {1e6, "\xC2\xB5s"}, {1e3, "ms"}, {1.0, "s"}};  // µ = U+00B5
  size_t u = s < 1e-6 ? 0 : s < 1e-3 ? 1 : s < 1 ? 2 : 3;
  double v = s * kUnits[u].scale;
  // 999.7 ns rounds to "1000 ns" at 3 digits: show it as 1.00 µs instead.
  if (v >= 999.5 && u < 3) v = s * kUnits[++u].scale;
  const char* unit = kUnits[u].unit;
  if (v >= 100) return fmt::format("{:.0f} {}", v, unit);
  if (v >= 10) return fmt::format("{:.1f} {}", v, unit);
  return fmt::format("{:.2f} {}", v, unit);
}

std::string format_rate(double v) {
  if (!std::isfinite(v)) return "n/a";
  if (std::fabs(v) >= 100) return fmt::format("{:.0f}", v);
  if (std::fabs(v) >= 10) return fmt::format("{:.1f}", v);
  if (std::fabs(v) >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string report_extension(const std::string& format) {
  if (format == "md" || format == "html" || format == "json" || format == "csv") return format;
  if (format == "markdown") return "md";
  if (format == "trace") return "json";
  throw config_error("unknown report format '" + format + "' (expected html, md, csv, json or trace)");
}

std::string report_file_name(const std::string& format) {
  const std::string ext = report_extension(format);
  return format == "trace" ? "trace.json" : "report." + ext;
}

namespace {

nlohmann::json metric_json(const store::RunMetric& m) {
  nlohmann::json j = {{"name", m.name}, {"label", m.label}};
  j["value"] = std::isfinite(m.value) ? nlohmann::json(m.value) : nlohmann::json(nullptr);
  j["text"] = m.text.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.text);
  j["unit"] = m.unit.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.unit);
  return j;
}

}  // namespace

std::string render_report_json(store::Store& store, int64_t run_id) {
  nlohmann::json j = store::run_to_json(store, run_id);
  j["run_metrics"] = nlohmann::json::array();
  for (const store::RunMetric& m : store::run_metrics(store, run_id)) j["run_metrics"].push_back(metric_json(m));
  j["trace_event_count"] = store::count_trace_events(store, run_id);
  if (const detail::KindReport kr = detail::kind_report(store, detail::load_report_data(store, run_id)); !kr.empty())
    j[kr.kind] = kr.json;  // "sweep": {...}, "plan": {...}
  return j.dump(2) + "\n";
}

std::string render_report_csv(store::Store& store, int64_t run_id) {
  // Sweep and plan runs: their own table (one row per point / candidate, every number).
  if (const detail::KindReport kr = detail::kind_report(store, detail::load_report_data(store, run_id)); !kr.csv.empty())
    return kr.csv;
  std::ostringstream os;
  store::export_run_csv(store, run_id, os);
  std::string s = os.str();
  const std::vector<store::RunMetric> metrics = store::run_metrics(store, run_id);
  if (metrics.empty()) return s;
  // Pad metric rows to the header's field count (no header field contains a comma: see export.h).
  const std::string header = s.substr(0, s.find("\r\n"));
  const size_t n_fields = static_cast<size_t>(std::count(header.begin(), header.end(), ',')) + 1;
  for (const store::RunMetric& m : metrics) {
    std::vector<std::string> f = {std::to_string(run_id), "metric", m.name, "", metric_json(m).dump()};
    f.resize(std::max(n_fields, f.size()));
    for (size_t i = 0; i < f.size(); ++i) {
      if (i) s += ',';
      s += store::csv_field(f[i]);
    }
    s += "\r\n";
  }
  return s;
}

std::string render_run_report(store::Store& store, int64_t run_id, const std::string& format) {
  const std::string ext = report_extension(format);
  if (format == "trace") return render_trace(store, {run_id});
  if (ext == "md") return render_report_md(store, run_id);
  if (ext == "html") return render_report_html(store, run_id);
  if (ext == "json") return render_report_json(store, run_id);
  return render_report_csv(store, run_id);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const fs::path p(path);
  if (path.empty() || p.filename().empty()) throw config_error("output path '" + path + "' does not name a file");
  std::error_code ec;
  if (p.has_parent_path() && !fs::is_directory(p.parent_path(), ec)) {
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      throw runtime_error("cannot create folder '" + p.parent_path().string() + "' for '" + path +
                          "': " + ec.message());
  }
  // Temp file beside the target so rename() stays within one file system (atomic replace).
  fs::path tmp = p;
  tmp += ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw runtime_error("cannot write '" + path + "': " + std::strerror(errno));
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.close();
    if (!f) {
      fs::remove(tmp, ec);
      throw runtime_error("cannot write '" + path + "': write failed (disk full?)");
    }
  }
  fs::rename(tmp, p, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw runtime_error("cannot write '" + path + "': " + ec.message());
  }
}

void write_run_report(store::Store& store, int64_t run_id, const std::string& format, const std::string& path) {
  // Render first: a bad run id or format fails before anything touches the file system.
  write_file_atomic(path, render_run_report(store, run_id, format));
}

}  // namespace v4lab::report
