// report.h — run reports read from the store: self-contained HTML (inline CSS + SVG, no network, no JS),
// Markdown (with the same inline SVG), CSV and JSON. Measured rows and cost-model predictions are
// always labelled as what they are; the resolved config travels with every report.
#pragma once
#include <cstdint>
#include <string>

#include "store/store.h"

namespace v4lab::report {

// Writes the report of one run to `path` in `format` (md, html, json, csv, trace = Chrome trace JSON). Parent folders are created;
// the file is written to a temporary sibling and renamed, so a reader never sees half a report.
// Throws config_error for an unknown format or run, runtime_error naming the path when it cannot write.
void write_run_report(store::Store& store, int64_t run_id, const std::string& format, const std::string& path);

// The same reports as text, for callers that print or embed them.
std::string render_run_report(store::Store& store, int64_t run_id, const std::string& format);
std::string render_report_md(store::Store& store, int64_t run_id);
std::string render_report_html(store::Store& store, int64_t run_id);
// JSON: store::run_to_json plus "run_metrics" and "trace_event_count"; CSV: the store's table plus one
// row_kind "metric" row per run metric (its value, unit, text and label as JSON in the params column).
std::string render_report_json(store::Store& store, int64_t run_id);
std::string render_report_csv(store::Store& store, int64_t run_id);

// Default file name of a format inside reports/<run-id>/: "report.<ext>", "trace.json" for trace.
std::string report_file_name(const std::string& format);

// File extension of a format ("md", "html", "json", "csv"; "json" for trace); throws config_error for an
// unknown one.
std::string report_extension(const std::string& format);

// Atomic file write: temp file in the same folder + rename; creates parent folders.
void write_file_atomic(const std::string& path, const std::string& content);

// Human time with 3 significant digits and SI prefixes: "812 ns", "4.56 µs", "12.3 ms", "1.50 s";
// "n/a" for NaN or negative.
std::string format_seconds(double s);

// A rate (GFLOP/s, GB/s, ...) with about 3 significant digits and no exponent above 1: "2000", "45.6",
// "1.23", "0.0123"; "n/a" for NaN.
std::string format_rate(double v);

}  // namespace v4lab::report
