// check.cpp — `v4lab db check` (see check.h). The expected schema of a file's version is rebuilt in an
// in-memory database from the migrations 1..version, so the table/column check is exact for old files too.
#include "store/check.h"

#include <sqlite3.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "store/detail/sqlite.h"
#include "store/store.h"

namespace v4lab::store {

namespace {

using detail::Statement;

constexpr size_t kMaxListed = 20;  // problems listed per check; the rest are counted

struct Column {
  std::string type;
  bool notnull = false;
  int pk = 0;
};

std::map<std::string, Column> table_columns(sqlite3* db, const std::string& table, const std::string& where) {
  std::map<std::string, Column> out;
  Statement st(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)", where);
  st.bind(1, table);
  while (st.step()) out[st.column_text(0)] = {st.column_text(1), st.column_int(2) != 0, static_cast<int>(st.column_int(3))};
  return out;
}

int64_t unique_index_count(sqlite3* db, const std::string& table, const std::string& where) {
  Statement st(db, "SELECT count(*) FROM pragma_index_list(?1) WHERE \"unique\" = 1", where);
  st.bind(1, table);
  st.step();
  return st.column_int(0);
}

// name -> type ('table', 'index', 'trigger') of the schema objects, without SQLite's internal ones.
std::map<std::string, std::string> schema_objects(sqlite3* db, const std::string& where) {
  std::map<std::string, std::string> out;
  Statement st(db, "SELECT name, type FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'", where);
  while (st.step()) out[st.column_text(0)] = st.column_text(1);
  return out;
}

void add_problem(CheckItem& c, const std::string& p) {
  if (c.problems.size() < kMaxListed) {
    c.problems.push_back(p);
  } else if (c.problems.size() == kMaxListed) {
    c.problems.push_back("... more problems not listed");
  }
}

// Runs `body`; a SQLite error while checking (a damaged page, say) becomes a problem of that check.
template <class F>
void guarded(CheckItem& c, F&& body) {
  try {
    body();
  } catch (const Error& e) {
    add_problem(c, std::string("could not complete the check: ") + e.what());
  }
}

struct Raw {
  sqlite3* db = nullptr;
  ~Raw() { sqlite3_close_v2(db); }
};

void check_integrity(sqlite3* db, const std::string& path, CheckReport& r) {
  CheckItem c{"integrity", "SQLite PRAGMA integrity_check (every page, index and constraint)", {}};
  guarded(c, [&] {
    Statement st(db, "PRAGMA integrity_check(100)", path);
    while (st.step()) {
      const std::string line = st.column_text(0);
      if (line != "ok") add_problem(c, line);
    }
  });
  r.checks.push_back(std::move(c));
}

void check_schema(sqlite3* db, const std::string& path, CheckReport& r) {
  CheckItem v{"schema_version", "PRAGMA user_version against this v4lab's schema version", {}};
  const auto objects = schema_objects(db, path);
  if (r.schema_version == 0) {
    add_problem(v, objects.empty() ? "the file is an empty SQLite database without the v4lab schema (create it with "
                                     "`v4lab db migrate --db " + path + "`)"
                                   : "the file is a SQLite database but not a v4lab results database (user_version 0, " +
                                         std::to_string(objects.size()) + " foreign schema objects)");
    r.checks.push_back(std::move(v));
    return;
  }
  if (r.schema_version < r.latest_schema_version)
    add_problem(v, "schema version " + std::to_string(r.schema_version) + " is older than this v4lab's " +
                       std::to_string(r.latest_schema_version) + ": migrate with `v4lab db migrate --db " + path + "`");
  r.checks.push_back(std::move(v));

  // The schema this version must have: migrations 1..version applied to an empty in-memory database.
  CheckItem t{"tables", "tables, columns, indexes and triggers of schema version " + std::to_string(r.schema_version), {}};
  guarded(t, [&] {
    Raw mem;
    if (sqlite3_open_v2(":memory:", &mem.db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
      throw runtime_error("cannot open an in-memory database");
    for (const Migration& m : migrations())
      if (m.version <= r.schema_version) detail::exec(mem.db, m.sql, ":memory:");
    const auto want = schema_objects(mem.db, ":memory:");
    for (const auto& [name, type] : want) {
      auto it = objects.find(name);
      if (it == objects.end() || it->second != type) {
        add_problem(t, type + " '" + name + "' is missing");
        continue;
      }
      if (type != "table") continue;
      // UNIQUE constraints and indexes (sweep points, run uids): the guarantees behind "never stored twice".
      const int64_t want_unique = unique_index_count(mem.db, name, ":memory:"), have_unique = unique_index_count(db, name, path);
      if (have_unique < want_unique)
        add_problem(t, "table '" + name + "' has " + std::to_string(have_unique) + " UNIQUE constraints/indexes, expected " +
                           std::to_string(want_unique));
      const auto want_cols = table_columns(mem.db, name, ":memory:");
      const auto have_cols = table_columns(db, name, path);
      for (const auto& [col, def] : want_cols) {
        auto c = have_cols.find(col);
        if (c == have_cols.end()) {
          add_problem(t, "table '" + name + "' has no column '" + col + "'");
        } else if (c->second.type != def.type || c->second.notnull != def.notnull || c->second.pk != def.pk) {
          add_problem(t, "column '" + name + "." + col + "' is " + c->second.type + (c->second.notnull ? " NOT NULL" : "") +
                             ", expected " + def.type + (def.notnull ? " NOT NULL" : ""));
        }
      }
    }
    for (const auto& [name, type] : objects)
      if (!want.count(name)) r.warnings.push_back("extra " + type + " '" + name + "' (not part of the v4lab schema)");
    // Every migration up to the version must be recorded once.
    if (objects.count("schema_migrations")) {
      Statement st(db, "SELECT count(DISTINCT version), coalesce(max(version), 0) FROM schema_migrations", path);
      st.step();
      if (st.column_int(0) != r.schema_version || st.column_int(1) != r.schema_version)
        add_problem(t, "schema_migrations records " + std::to_string(st.column_int(0)) + " migrations up to " +
                           std::to_string(st.column_int(1)) + ", expected 1.." + std::to_string(r.schema_version));
    }
  });
  r.checks.push_back(std::move(t));
}

void check_orphans(sqlite3* db, const std::string& path, CheckReport& r) {
  CheckItem c{"orphan_rows", "PRAGMA foreign_key_check: rows whose run (or sweep) no longer exists", {}};
  guarded(c, [&] {
    std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> by;  // (table, parent) -> (n, first rowid)
    Statement st(db, "PRAGMA foreign_key_check", path);
    while (st.step()) {
      auto& e = by[{st.column_text(0), st.column_text(2)}];
      if (e.first++ == 0) e.second = st.column_int(1);
    }
    for (const auto& [k, v] : by)
      add_problem(c, std::to_string(v.first) + " rows of '" + k.first + "' point to a missing '" + k.second +
                         "' row (first: rowid " + std::to_string(v.second) + ")");
  });
  r.checks.push_back(std::move(c));
}

void check_sweeps(sqlite3* db, const std::string& path, CheckReport& r) {
  CheckItem c{"sweep_points", "sweep points unique per run, inside their sweep and shard, hash of their sweep", {}};
  guarded(c, [&] {
    {
      Statement st(db, "SELECT run_id, point_index, count(*) FROM sweep_points GROUP BY run_id, point_index "
                       "HAVING count(*) > 1 LIMIT 50", path);
      while (st.step())
        add_problem(c, "run " + std::to_string(st.column_int(0)) + ": point " + std::to_string(st.column_int(1)) +
                           " is stored " + std::to_string(st.column_int(2)) + " times");
    }
    {
      Statement st(db, "SELECT p.run_id, count(*), min(p.point_index) FROM sweep_points p JOIN sweeps s ON s.run_id = p.run_id "
                       "WHERE p.point_index >= s.n_points OR p.point_index % s.shard_count != s.shard_index "
                       "GROUP BY p.run_id", path);
      while (st.step())
        add_problem(c, "run " + std::to_string(st.column_int(0)) + ": " + std::to_string(st.column_int(1)) +
                           " points outside the sweep or its shard (first index " + std::to_string(st.column_int(2)) + ")");
    }
    {
      Statement st(db, "SELECT p.run_id, count(*) FROM sweep_points p JOIN sweeps s ON s.run_id = p.run_id "
                       "WHERE p.sweep_hash != s.sweep_hash GROUP BY p.run_id", path);
      while (st.step())
        add_problem(c, "run " + std::to_string(st.column_int(0)) + ": " + std::to_string(st.column_int(1)) +
                           " points carry another sweep's hash");
    }
  });
  r.checks.push_back(std::move(c));
}

void check_runs(sqlite3* db, const std::string& path, CheckReport& r, bool have_sweeps) {
  CheckItem c{"runs", "run status agrees with its rows: finished runs have finished_at, 'ok' sweeps have every point", {}};
  guarded(c, [&] {
    {
      Statement st(db, "SELECT id, status FROM runs WHERE status != 'running' AND finished_at IS NULL", path);
      while (st.step())
        add_problem(c, "run " + std::to_string(st.column_int(0)) + " is '" + st.column_text(1) + "' but has no finished_at");
    }
    if (have_sweeps) {
      // Points of a shard: indices i < n_points with i % shard_count == shard_index.
      Statement st(db, "SELECT s.run_id, (s.n_points - s.shard_index + s.shard_count - 1) / s.shard_count AS want, "
                       "(SELECT count(*) FROM sweep_points p WHERE p.run_id = s.run_id AND p.point_index < s.n_points "
                       "AND p.point_index % s.shard_count = s.shard_index) AS have "
                       "FROM sweeps s JOIN runs r ON r.id = s.run_id WHERE r.status = 'ok' AND have < want", path);
      while (st.step())
        add_problem(c, "sweep run " + std::to_string(st.column_int(0)) + " is 'ok' but stores " +
                           std::to_string(st.column_int(2)) + " of its " + std::to_string(st.column_int(1)) + " points");
    }
    Statement st(db, "SELECT count(*), group_concat(id) FROM (SELECT id FROM runs WHERE status = 'running' ORDER BY id LIMIT 20)",
                 path);
    st.step();
    if (st.column_int(0) > 0)
      r.warnings.push_back("runs still 'running' (in progress, or their writer was killed; a sweep continues with "
                           "`v4lab sweep SCENARIO --resume`): " + st.column_text(1));
  });
  r.checks.push_back(std::move(c));
}

}  // namespace

bool CheckReport::ok() const {
  for (const auto& c : checks)
    if (!c.ok()) return false;
  return !checks.empty();
}

CheckReport check_database(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (path.empty()) throw config_error("empty database path");
  if (!fs::exists(path, ec)) throw config_error("database '" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw config_error("database '" + path + "' is a directory, not a file");
  CheckReport r;
  r.path = path;
  r.latest_schema_version = Store::latest_schema_version();

  Raw h;
  int rc = sqlite3_open_v2(path.c_str(), &h.db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK)
    throw config_error("cannot open database '" + path + "' (" + std::string(h.db ? sqlite3_errmsg(h.db) : sqlite3_errstr(rc)) +
                       "); check that it is readable");
  sqlite3_busy_timeout(h.db, 30000);

  // The header: a file that is not SQLite (or whose first page is damaged) fails on the first read.
  CheckItem header{"sqlite_file", "the file is a readable SQLite database", {}};
  {
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(h.db, "SELECT count(*) FROM sqlite_master", -1, &st, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    const std::string msg = sqlite3_errmsg(h.db);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) add_problem(header, "not a SQLite database or damaged (" + msg + ", SQLite code " + std::to_string(rc) + ")");
  }
  r.checks.push_back(header);
  if (!header.ok()) return r;

  {
    Statement st(h.db, "PRAGMA user_version", path);
    st.step();
    r.schema_version = static_cast<int>(st.column_int(0));
  }
  if (r.schema_version > r.latest_schema_version)
    throw config_error("database '" + path + "' has schema version " + std::to_string(r.schema_version) +
                       ", newer than this v4lab binary supports (" + std::to_string(r.latest_schema_version) +
                       "); use a newer v4lab build to check it");

  check_integrity(h.db, path, r);
  check_schema(h.db, path, r);
  if (r.schema_version == 0) return r;

  const auto objects = schema_objects(h.db, path);
  for (const auto& [name, type] : objects) {
    if (type != "table") continue;
    try {
      // Table names come from sqlite_master of a file that passed the schema check; quote them anyway.
      std::string quoted = "\"";
      for (char ch : name) quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      Statement st(h.db, "SELECT count(*) FROM " + quoted + "\"", path);
      st.step();
      r.row_counts[name] = st.column_int(0);
    } catch (const Error&) {
      r.row_counts[name] = -1;  // unreadable: the integrity check says why
    }
  }
  check_orphans(h.db, path, r);
  const bool have_sweeps = objects.count("sweeps") && objects.count("sweep_points");
  if (have_sweeps) check_sweeps(h.db, path, r);
  if (objects.count("runs")) check_runs(h.db, path, r, have_sweeps);
  return r;
}

nlohmann::json check_report_json(const CheckReport& r) {
  nlohmann::json checks = nlohmann::json::array();
  for (const auto& c : r.checks)
    checks.push_back({{"name", c.name}, {"description", c.description}, {"ok", c.ok()}, {"problems", c.problems}});
  return {{"database", r.path},
          {"ok", r.ok()},
          {"schema_version", r.schema_version},
          {"latest_schema_version", r.latest_schema_version},
          {"checks", checks},
          {"warnings", r.warnings},
          {"row_counts", r.row_counts}};
}

}  // namespace v4lab::store
