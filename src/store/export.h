// export.h — whole-run views of the store: the measured-vs-predicted join shared by the CSV export and
// the report writers, the JSON export (run row + parsed config + all rows) and the CSV export.
#pragma once
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace v4lab::store {

// One line of the measured-vs-predicted table. A measurement matches a prediction when op and params
// are equal (params compared as canonical JSON: sorted keys, integral numbers as integers) and the
// prediction's backend is empty or equal to the measurement's backend. Predictions that match no
// measurement form predicted-only rows (measured = nullopt), grouped by (op, params, backend).
struct ComparisonRow {
  std::optional<Measurement> measured;
  std::string op;
  std::string backend;      // measurement's backend, or the prediction's ("" = any) for predicted-only rows
  std::string params_json;  // canonical
  std::vector<std::optional<Prediction>> predicted;  // aligned with Comparison::hardware
};

struct Comparison {
  std::vector<std::string> hardware;  // "local" first, then in order of first appearance
  std::vector<ComparisonRow> rows;    // measured rows in measurement order, then predicted-only rows
};

// When several predictions of one hardware match a row, the last written (highest id) wins.
Comparison compare_run(const std::vector<Measurement>& measurements, const std::vector<Prediction>& predictions);
Comparison compare_run(Store& store, int64_t run_id);

// True for predictions of this machine (hardware "local" or label "local"): the only ones a measured
// time is divided by; every other hardware is a cost-model prediction shown beside, never as measured.
bool is_local(const Prediction& p);

// Canonical form of a params JSON text: parsed, keys sorted, 4096.0 written as 4096. Invalid JSON is
// returned unchanged.
std::string canonical_params(const std::string& params_json);

// {"schema_version", "run": {...provenance}, "config": <parsed>, "measurements": [...],
//  "predictions": [...], "study_points": [...]}; unknown numbers are null, JSON columns are parsed.
nlohmann::json run_to_json(Store& store, int64_t run_id);

// RFC 4180 CSV, one table: one row per measurement (row_kind "measured") followed by one row per
// predicted-only group (row_kind "prediction", measured columns empty). Columns: run_id, row_kind, op,
// backend, params, median_s, p10_s, p90_s, min_s, reps, gflops_per_s, gbytes_per_s, verified
// (passed/failed/empty), then per hardware h: pred_<h>_total_s, pred_<h>_bound, and for local hardware
// also measured_over_pred_<h>. Numbers are the shortest text that reads back to the same double.
void export_run_csv(Store& store, int64_t run_id, std::ostream& os);

// RFC 4180 field quoting: quoted when it contains a comma, quote, CR or LF; quotes are doubled.
std::string csv_field(const std::string& s);

}  // namespace v4lab::store
