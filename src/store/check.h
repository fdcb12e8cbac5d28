// check.h — `v4lab db check`: verifies a results database without modifying it (docs/errors.md,
// docs/store.md): SQLite integrity_check and foreign_key_check, the schema version against this binary,
// the expected tables/columns/indexes of that version, orphan rows, unique and complete sweep points,
// and runs whose status and rows disagree.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace v4lab::store {

struct CheckItem {
  std::string name;                   // integrity, schema_version, tables, orphan_rows, sweep_points, runs
  std::string description;            // what was checked, one line
  std::vector<std::string> problems;  // empty: passed
  bool ok() const { return problems.empty(); }
};

struct CheckReport {
  std::string path;
  int schema_version = 0;  // PRAGMA user_version of the file (0: none)
  int latest_schema_version = 0;
  std::vector<CheckItem> checks;             // in the order they ran
  std::vector<std::string> warnings;         // not failures: e.g. runs still 'running'
  std::map<std::string, int64_t> row_counts;  // per v4lab table present in the file
  bool ok() const;
};

// Opens `path` read-only (never creates, migrates or writes it) and runs every check that applies.
// Throws config_error (exit code 2) when the file does not exist, is a directory, or has a schema newer
// than this binary (refused: it cannot know that schema). A file that is not SQLite, a damaged file, an
// older schema or a failed check is reported in the CheckReport (ok() false, exit code 1).
CheckReport check_database(const std::string& path);

nlohmann::json check_report_json(const CheckReport& r);

}  // namespace v4lab::store
