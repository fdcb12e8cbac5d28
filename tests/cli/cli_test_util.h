// cli_test_util.h — drive the real CLI code path (run_cli) and read results back from SQLite/JSON.
#pragma once
#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/presets.h"
#include "sim/hardware_model.h"
#include "store/store.h"

struct CliResult {
  int code;
  std::string out, err;
};

inline CliResult cli(std::vector<std::string> args) {
  std::ostringstream o, e;
  int code = v4lab::cli::run_cli(args, o, e);
  return {code, o.str(), e.str()};
}

inline std::string fresh_dir(const std::string& name) {
  // Per checkout (keyed by its build's bin dir): several checkouts may run their suites at once.
  const std::string key = std::to_string(std::hash<std::string>{}(V4LAB_BIN_DIR) % 1000000007);
  auto d = std::filesystem::temp_directory_path() / ("v4lab_cli_tests." + key) / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string source_path(const std::string& rel) { return std::string(V4LAB_SOURCE_DIR) + "/" + rel; }

// One integer from a single-value SQL query.
inline long long sql_int(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  long long v = -1;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

// Every row of a query, columns as text (NULL as "").
inline std::vector<std::vector<std::string>> sql_rows(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::vector<std::vector<std::string>> out;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK)
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      out.push_back(std::move(row));
    }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

inline std::string sql_text(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::string v;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_text(st, 0))
    v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(h);
  return v;
}

// The `local` hardware model as the CLI resolves it from database `db` (its stored probe and fit).
inline v4lab::sim::HardwareModel local_model(const std::string& db) {
  v4lab::cli::Context ctx;
  std::ostringstream sink;
  ctx.err = &sink;
  ctx.quiet = true;
  ctx.db_path = db;
  ctx.data_dir = v4lab::default_data_dir();
  v4lab::store::Store st(db);
  return v4lab::sim::hardware_model(v4lab::cli::resolve_hardware("local", ctx, &st));
}
