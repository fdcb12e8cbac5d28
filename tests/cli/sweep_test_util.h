// sweep_test_util.h — helpers of the sweep tests: a per-process scratch folder (several worktrees run
// these tests at once), small sweep scenarios, and the stored point set read back from SQLite.
#pragma once
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "core/sweep.h"

inline std::string sweep_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("v4lab_sweep_tests_" + std::to_string(getpid())) / name;
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// n_batch x n_context x 2 TP points of a whole-model predict sweep (metrics "memory" is the cheap one).
inline std::string predict_sweep_toml(int n_batch, int n_context, const std::string& metrics = "memory") {
  return "[sweep]\nname = \"t\"\nkind = \"predict\"\nmetrics = \"" + metrics +
         "\"\n[sweep.base]\nmodel = \"deepseek_v4_flash\"\nhw = \"h800_sxm\"\ngpus = 8\n"
         "[[sweep.axis]]\nfield = \"batch\"\nrange = {start = 1, stop = " +
         std::to_string(n_batch) +
         "}\n"
         "[[sweep.axis]]\nfield = \"context\"\nrange = {start = 1024, stop = " +
         std::to_string(1024 * n_context) +
         ", step = 1024}\n"
         "[[sweep.axis]]\nfield = \"tp\"\nvalues = [1, 2]\n";
}

// coords_json -> metrics_json of every stored point of a run (or of all runs when run_id is 0).
inline std::map<std::string, std::string> stored_points(const std::string& db, long long run_id = 0) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  std::map<std::string, std::string> out;
  const char* sql = run_id ? "SELECT coords_json, metrics_json FROM sweep_points WHERE run_id = ?1"
                           : "SELECT coords_json, metrics_json FROM sweep_points";
  if (sqlite3_prepare_v2(h, sql, -1, &st, nullptr) == SQLITE_OK) {
    if (run_id) sqlite3_bind_int64(st, 1, run_id);
    while (sqlite3_step(st) == SQLITE_ROW)
      out[reinterpret_cast<const char*>(sqlite3_column_text(st, 0))] =
          reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// Every point's coordinates as the expansion defines them.
inline std::set<std::string> expected_coords(const v4lab::SweepSpec& s) {
  std::set<std::string> out;
  for (uint64_t i = 0; i < s.n_points; ++i) out.insert(s.coordinates(i).dump());
  return out;
}

template <class M>
std::set<std::string> keys_of(const M& m) {
  std::set<std::string> k;
  for (auto& [a, b] : m) k.insert(a);
  return k;
}
