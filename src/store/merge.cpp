// merge.cpp — merge one results database into another (see merge.h, docs/store.md "Sweeps and merging").
// The input is ATTACHed as `src` and copied with INSERT ... SELECT inside one transaction. Child tables
// are found from the schema (every table with a run_id column), so rows of tables added by later
// migrations are copied too. Identifiers come from sqlite_master and are quoted; values are bound.
#include "store/merge.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/build_info.h"
#include "core/error.h"
#include "store/detail/sqlite.h"

namespace v4lab::store {

using detail::exec;
using detail::Statement;

namespace {

// Tables merge handles itself; every other table with a run_id column is copied generically.
const std::set<std::string> kSpecial = {"runs", "sweeps", "sweep_points", "merge_sources", "schema_migrations",
                                        "hardware_probes"};

std::string q(const std::string& ident) {
  std::string s = "\"";
  for (char ch : ident) s += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return s + "\"";
}

std::vector<std::string> columns(Store& db, const std::string& schema, const std::string& table) {
  Statement st(db.handle(), "SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid", db.path());
  st.bind(1, table).bind(2, schema);
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.column_text(0));
  return out;
}

std::vector<std::string> tables(Store& db, const std::string& schema) {
  Statement st(db.handle(), "SELECT name FROM " + q(schema) + ".sqlite_master WHERE type = 'table' ORDER BY name",
               db.path());
  std::vector<std::string> out;
  while (st.step()) out.push_back(st.column_text(0));
  return out;
}

// Columns present in both main.<table> and src.<table>, minus `skip`.
std::vector<std::string> shared_columns(Store& db, const std::string& table, const std::set<std::string>& skip) {
  const auto a = columns(db, "main", table), b = columns(db, "src", table);
  std::vector<std::string> out;
  for (auto& c : a)
    if (!skip.count(c) && std::find(b.begin(), b.end(), c) != b.end()) out.push_back(c);
  return out;
}

std::string join_cols(const std::vector<std::string>& cols, const std::string& prefix = "") {
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i) s += (i ? ", " : "") + prefix + q(cols[i]);
  return s;
}

int64_t scalar(Store& db, const std::string& sql, int64_t a = 0, const std::string& t = {}) {
  Statement st(db.handle(), sql, db.path());
  if (sql.find("?1") != std::string::npos) st.bind(1, a);
  if (sql.find("?2") != std::string::npos) st.bind(2, t);
  return st.step() ? st.column_int(0) : 0;
}

struct SourceRun {
  int64_t id = 0;
  std::string uid;
  std::vector<std::string> origins;  // uid plus the origins recorded in src.merge_sources
  bool sweep = false;
  std::string hash;
  int shard_count = 1;
};

// Copies src.runs row `id` into main.runs; keep_uid false lets the trigger assign a fresh uid.
int64_t copy_run_row(Store& db, int64_t id, bool keep_uid) {
  std::set<std::string> skip = {"id"};
  if (!keep_uid) skip.insert("uid");
  const auto cols = shared_columns(db, "runs", skip);
  Statement st(db.handle(),
               "INSERT INTO main.runs (" + join_cols(cols) + ") SELECT " + join_cols(cols) + " FROM src.runs WHERE id = ?1",
               db.path());
  st.bind(1, id);
  st.run();
  return sqlite3_last_insert_rowid(db.handle());
}

// Copies every child row of src run `from` to main run `to`; returns the number of rows.
int64_t copy_children(Store& db, int64_t from, int64_t to) {
  int64_t n = 0;
  const auto main_tables = tables(db, "main");
  for (auto& t : tables(db, "src")) {
    if (kSpecial.count(t) || t.rfind("sqlite_", 0) == 0) continue;
    if (std::find(main_tables.begin(), main_tables.end(), t) == main_tables.end()) continue;
    const auto src_cols = columns(db, "src", t);
    if (std::find(src_cols.begin(), src_cols.end(), "run_id") == src_cols.end()) continue;
    const auto cols = shared_columns(db, t, {"id", "run_id"});
    Statement st(db.handle(),
                 "INSERT INTO main." + q(t) + " (run_id" + (cols.empty() ? "" : ", " + join_cols(cols)) + ") SELECT ?1" +
                     (cols.empty() ? "" : ", " + join_cols(cols)) + " FROM src." + q(t) + " WHERE run_id = ?2 ORDER BY rowid",
                 db.path());
    st.bind(1, to).bind(2, from);
    st.run();
    n += sqlite3_changes(db.handle());
  }
  return n;
}

void record_origins(Store& db, int64_t target, const SourceRun& r, const std::string& source_db) {
  Statement st(db.handle(),
               "INSERT INTO main.merge_sources (run_id, origin_uid, source_db, source_run_id, merged_at) "
               "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (run_id, origin_uid) DO NOTHING",
               db.path());
  const std::string now = utc_timestamp_now();
  for (auto& o : r.origins) {
    st.bind(1, target).bind(2, o).bind(3, source_db).bind(4, r.id).bind(5, now);
    st.run();
  }
}

// The main run already holding one of these origins (as its own uid or a recorded source), or 0.
int64_t run_with_origin(Store& db, const std::vector<std::string>& origins, const std::string& hash) {
  for (auto& o : origins) {
    std::string sql = hash.empty()
                          ? "SELECT id FROM main.runs WHERE uid = ?2 UNION ALL "
                            "SELECT run_id FROM main.merge_sources WHERE origin_uid = ?2 LIMIT 1"
                          : "SELECT r.id FROM main.runs r JOIN main.sweeps s ON s.run_id = r.id WHERE r.uid = ?2 AND "
                            "s.sweep_hash = ?3 UNION ALL SELECT m.run_id FROM main.merge_sources m JOIN main.sweeps s ON "
                            "s.run_id = m.run_id WHERE m.origin_uid = ?2 AND s.sweep_hash = ?3 LIMIT 1";
    Statement st(db.handle(), sql, db.path());
    st.bind(2, o);
    if (!hash.empty()) st.bind(3, hash);
    if (st.step()) return st.column_int(0);
  }
  return 0;
}

}  // namespace

MergeStats merge_database(Store& out, const std::string& in_path) {
  namespace fs = std::filesystem;
  MergeStats stats;
  stats.source = in_path;
  std::error_code ec;
  if (!fs::exists(in_path, ec)) throw config_error("database '" + in_path + "' does not exist (db merge input)");
  if (fs::equivalent(in_path, out.path(), ec))
    throw config_error("db merge: input '" + in_path + "' is the output database itself");
  if (out.read_only()) throw runtime_error("cannot merge: output database opened read-only", out.path());
  { Store check(in_path, OpenMode::ReadOnly); }  // not SQLite / not ours / other schema: a clear error here

  {
    Statement at(out.handle(), "ATTACH DATABASE ?1 AS src", out.path());
    at.bind(1, in_path);
    at.run();
  }
  struct Detach {
    Store& db;
    ~Detach() {
      try {
        exec(db.handle(), "DETACH DATABASE src", db.path());
      } catch (...) {
      }
    }
  } detach{out};

  Transaction tx(out);
  std::vector<SourceRun> runs;
  {
    Statement st(out.handle(),
                 "SELECT r.id, r.uid, s.sweep_hash, s.shard_count FROM src.runs r LEFT JOIN src.sweeps s ON "
                 "s.run_id = r.id ORDER BY r.id",
                 out.path());
    while (st.step()) {
      SourceRun r;
      r.id = st.column_int(0);
      r.uid = st.column_text(1);
      r.sweep = !st.is_null(2);
      r.hash = st.column_text(2);
      r.shard_count = static_cast<int>(st.column_int(3));
      runs.push_back(r);
    }
    Statement o(out.handle(), "SELECT origin_uid FROM src.merge_sources WHERE run_id = ?1 ORDER BY id", out.path());
    for (auto& r : runs) {
      r.origins = {r.uid};
      o.bind(1, r.id);
      while (o.step())
        if (std::find(r.origins.begin(), r.origins.end(), o.column_text(0)) == r.origins.end())
          r.origins.push_back(o.column_text(0));
      o.reset();
    }
  }

  for (const SourceRun& r : runs) {
    if (!r.sweep) {
      if (run_with_origin(out, r.origins, "")) {
        ++stats.runs_skipped;
        continue;
      }
      const int64_t id = copy_run_row(out, r.id, /*keep_uid=*/true);
      record_origins(out, id, r, in_path);
      stats.rows_copied += copy_children(out, r.id, id);
      ++stats.runs_copied;
      continue;
    }
    // A sweep run: fold it into the logical sweep of its hash.
    ++stats.sweep_runs_merged;
    int64_t target = run_with_origin(out, r.origins, r.hash);
    const bool seen_before = target != 0;
    if (!target)
      target = scalar(out, "SELECT run_id FROM main.sweeps WHERE sweep_hash = ?2 AND shard_count = 1 ORDER BY run_id DESC "
                           "LIMIT 1", 0, r.hash);
    if (!target) {
      const bool full = r.shard_count == 1;
      target = copy_run_row(out, r.id, /*keep_uid=*/full);
      Statement sw(out.handle(),
                   "INSERT INTO main.sweeps (run_id, sweep_hash, sweep_name, sweep_kind, n_points, shard_index, "
                   "shard_count) SELECT ?1, sweep_hash, sweep_name, sweep_kind, n_points, 0, 1 FROM src.sweeps WHERE "
                   "run_id = ?2",
                   out.path());
      sw.bind(1, target).bind(2, r.id);
      sw.run();
      if (!full) {
        Statement up(out.handle(),
                     "UPDATE main.runs SET config_json = json_set(config_json, '$.shard', json('{\"index\":0,\"count\":1}')), "
                     "name = (SELECT sweep_name FROM main.sweeps WHERE run_id = ?1), "
                     "notes = 'logical sweep merged from shard runs (db merge)' WHERE id = ?1",
                     out.path());
        up.bind(1, target);
        up.run();
      }
      ++stats.sweeps_created;
    }
    if (!seen_before) stats.rows_copied += copy_children(out, r.id, target);
    record_origins(out, target, r, in_path);
    Statement pts(out.handle(),
                  "INSERT INTO main.sweep_points (run_id, sweep_hash, point_index, coords_json, metrics_json, status, "
                  "label) SELECT ?1, sweep_hash, point_index, coords_json, metrics_json, status, label FROM "
                  "src.sweep_points WHERE run_id = ?2 ORDER BY point_index "
                  "ON CONFLICT (run_id, point_index) DO NOTHING",
                  out.path());
    pts.bind(1, target).bind(2, r.id);
    pts.run();
    const int64_t added = sqlite3_changes(out.handle());
    const int64_t in_src = scalar(out, "SELECT count(*) FROM src.sweep_points WHERE run_id = ?1", r.id);
    stats.points_added += added;
    stats.points_skipped += in_src - added;
    // Complete when the union holds every point of the sweep; otherwise it can be resumed.
    Statement fin(out.handle(),
                  "UPDATE main.runs SET status = CASE WHEN (SELECT count(*) FROM main.sweep_points WHERE run_id = ?1) "
                  ">= (SELECT n_points FROM main.sweeps WHERE run_id = ?1) THEN 'ok' ELSE 'interrupted' END, "
                  "finished_at = ?2 WHERE id = ?1",
                  out.path());
    fin.bind(1, target).bind(2, utc_timestamp_now());
    fin.run();
  }

  // Hardware probes: keyed by (host, measured_at, method, json).
  {
    Statement st(out.handle(),
                 "INSERT INTO main.hardware_probes (host, measured_at, method, json) SELECT s.host, s.measured_at, "
                 "s.method, s.json FROM src.hardware_probes s WHERE NOT EXISTS (SELECT 1 FROM main.hardware_probes m "
                 "WHERE m.host = s.host AND m.measured_at = s.measured_at AND m.method = s.method AND m.json = s.json) "
                 "ORDER BY s.id",
                 out.path());
    st.run();
    stats.probes_copied = sqlite3_changes(out.handle());
  }
  tx.commit();
  return stats;
}

}  // namespace v4lab::store
