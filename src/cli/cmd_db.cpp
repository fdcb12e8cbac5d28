// cmd_db.cpp — `v4lab db list|show|export|schema|migrate|merge|check`: inspect the SQLite results store (--db).
// Reading commands open the database read-only and never create it; --json prints machine-readable
// output. Errors are thrown as v4lab::Error; run_cli maps them to exit codes.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>

#include "cli/cli.h"
#include "cli/common.h"
#include "core/error.h"
#include "report/report.h"
#include "store/check.h"
#include "store/export.h"
#include "store/merge.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

using nlohmann::json;

struct DbArgs {
  int limit = 20;
  std::string run;
  std::string format = "json";
  std::string output;
};

std::string dash_if_empty(const std::string& s) { return s.empty() ? "-" : s; }

std::string verified_text(const store::Measurement& m) {
  if (!m.verified) return m.backend == "ref" ? "reference" : "-";
  return *m.verified ? "pass" : "FAIL";
}

int db_list(Context& ctx, int limit) {
  store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
  const auto runs = db.list_runs(limit);
  std::ostream& o = *ctx.out;
  if (ctx.json) {
    json j = json::array();
    for (const auto& r : runs) {
      j.push_back({{"id", r.id},
                   {"kind", r.kind},
                   {"name", r.name},
                   {"status", r.status},
                   {"started_at", r.started_at},
                   {"host", r.host},
                   {"git_commit", r.git_commit},
                   {"measurements", r.n_measurements},
                   {"predictions", r.n_predictions},
                   {"study_points", r.n_study_points}});
    }
    o << j.dump(2) << "\n";
    return 0;
  }
  if (runs.empty()) {
    o << "no runs in " << ctx.db_path << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : runs) {
    rows.push_back({std::to_string(r.id), r.kind, dash_if_empty(r.name), r.status, r.started_at, r.host, r.git_commit,
                    std::to_string(r.n_measurements), std::to_string(r.n_predictions),
                    std::to_string(r.n_study_points)});
  }
  print_table(o, {"id", "kind", "name", "status", "started (UTC)", "host", "commit", "meas", "pred", "study"}, rows);
  return 0;
}

int db_show(Context& ctx, const std::string& ref) {
  store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
  const int64_t id = store::resolve_run_ref(db, ref);
  std::ostream& o = *ctx.out;
  if (ctx.json) {
    o << store::run_to_json(db, id).dump(2) << "\n";
    return 0;
  }
  const store::RunRow r = db.get_run(id);
  o << "run " << r.id << " (" << r.info.kind << ") " << dash_if_empty(r.info.name) << " — " << r.status << "\n";
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"scenario", dash_if_empty(r.info.scenario_path)},
      {"host", r.host},
      {"git commit", r.git_commit + (r.git_dirty ? " (dirty)" : "")},
      {"build", r.build_type + ", " + r.compiler + (r.cxx_flags.empty() ? "" : ", " + r.cxx_flags)},
      {"v4lab", r.v4lab_version},
      {"backends", dash_if_empty(r.info.backends)},
      {"seed", std::to_string(r.info.seed)},
      {"started", r.started_at},
      {"finished", dash_if_empty(r.finished_at)},
      {"notes", dash_if_empty(r.info.notes)},
      {"config", std::to_string(r.info.config_json.size()) + " bytes of JSON (v4lab db export " + std::to_string(id) +
                     " --format json)"},
  };
  for (const auto& [k, v] : fields) o << "  " << k << std::string(12 - k.size(), ' ') << v << "\n";

  const auto ms = db.measurements(id);
  o << "\nmeasurements (" << ms.size() << ")\n";
  if (!ms.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : ms) {
      rows.push_back({m.op, m.backend, store::canonical_params(m.params_json), report::format_seconds(m.median_s),
                      report::format_seconds(m.p10_s), report::format_seconds(m.p90_s),
                      report::format_rate(m.gflops_per_s), report::format_rate(m.gbytes_per_s), std::to_string(m.reps),
                      verified_text(m)});
    }
    print_table(o, {"op", "backend", "params", "median", "p10", "p90", "GFLOP/s", "GB/s", "reps", "verified"}, rows);
  }
  const auto ps = db.predictions(id);
  o << "\npredictions (" << ps.size() << ", cost model, not measured)\n";
  if (!ps.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : ps) {
      rows.push_back({p.op, dash_if_empty(p.backend), p.hardware, store::canonical_params(p.params_json),
                      report::format_seconds(p.total_s), dash_if_empty(p.bound), report::format_seconds(p.compute_s),
                      report::format_seconds(p.memory_s), dash_if_empty(p.model), p.label});
    }
    print_table(o, {"op", "backend", "hardware", "params", "total", "bound", "compute", "memory", "model", "label"},
                rows);
  }
  const auto sp = db.study_points(id);
  if (!sp.empty()) {
    o << "\nstudy points (" << sp.size() << ")\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : sp) rows.push_back({s.study, dash_if_empty(s.label), s.point_json, s.metrics_json});
    print_table(o, {"study", "label", "point", "metrics"}, rows);
  }
  return 0;
}

int db_export(Context& ctx, const DbArgs& a) {
  store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
  const int64_t id = store::resolve_run_ref(db, a.run);
  if (!a.output.empty()) require_writable_output(a.output, "-o/--output");
  if (a.output.empty()) {
    if (a.format == "csv") {
      store::export_run_csv(db, id, *ctx.out);
    } else {
      *ctx.out << store::run_to_json(db, id).dump(2) << "\n";
    }
    return 0;
  }
  report::write_run_report(db, id, a.format, a.output);
  if (ctx.json) {
    *ctx.out << json{{"run_id", id}, {"format", a.format}, {"path", a.output}}.dump(2) << "\n";
  } else {
    *ctx.out << a.output << "\n";
  }
  return 0;
}

int db_schema(Context& ctx) {
  const int latest = store::Store::latest_schema_version();
  std::optional<int> found;
  std::vector<std::string> sql;
  if (std::filesystem::exists(ctx.db_path)) {
    store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
    found = db.schema_version();
    sql = db.schema_sql();
  } else {
    for (const auto& m : store::migrations()) sql.push_back(m.sql);
  }
  std::ostream& o = *ctx.out;
  if (ctx.json) {
    json mig = json::array();
    for (const auto& m : store::migrations()) mig.push_back({{"version", m.version}, {"description", m.description}});
    o << json{{"database", ctx.db_path},
              {"exists", found.has_value()},
              {"schema_version", found ? json(*found) : json(nullptr)},
              {"latest_schema_version", latest},
              {"migrations", mig},
              {"sql", sql}}
             .dump(2)
      << "\n";
    return 0;
  }
  if (found) {
    o << "-- " << ctx.db_path << ": schema version " << *found << " (this v4lab: " << latest << ")\n";
  } else {
    o << "-- " << ctx.db_path << " does not exist; schema of this v4lab (version " << latest << "):\n";
  }
  for (const auto& m : store::migrations()) o << "-- migration " << m.version << ": " << m.description << "\n";
  for (const auto& s : sql) {
    o << s;
    if (s.empty() || s.back() != '\n') o << ";\n";
  }
  return 0;
}

int db_migrate(Context& ctx) {
  const bool existed = std::filesystem::exists(ctx.db_path);
  store::Store db(ctx.db_path);  // opening read-write applies pending migrations
  const int v = db.schema_version();
  if (ctx.json) {
    *ctx.out << json{{"database", ctx.db_path}, {"created", !existed}, {"schema_version", v}}.dump(2) << "\n";
  } else {
    *ctx.out << ctx.db_path << ": schema version " << v << (existed ? "" : " (created)") << "\n";
  }
  return 0;
}

// `db merge OUT IN...`: each input in its own transaction; shard runs of one sweep become one logical sweep.
int db_merge(Context& ctx, const std::string& out_path, const std::vector<std::string>& inputs) {
  store::Store out(out_path);
  json j = json::array();
  for (const auto& in : inputs) {
    const store::MergeStats s = store::merge_database(out, in);
    j.push_back({{"source", s.source}, {"runs_copied", s.runs_copied}, {"runs_skipped", s.runs_skipped},
                 {"sweeps_created", s.sweeps_created}, {"sweep_runs_merged", s.sweep_runs_merged},
                 {"points_added", s.points_added}, {"points_skipped", s.points_skipped},
                 {"rows_copied", s.rows_copied}, {"probes_copied", s.probes_copied}});
    if (!ctx.json)
      *ctx.out << in << " -> " << out_path << ": " << s.runs_copied << " runs copied (" << s.rows_copied << " rows), "
               << s.runs_skipped << " already present; " << s.sweep_runs_merged << " sweep runs merged, "
               << s.points_added << " points added, " << s.points_skipped << " already present\n";
  }
  if (ctx.json) *ctx.out << json{{"output", out_path}, {"inputs", j}}.dump(2) << "\n";
  return 0;
}

// `db check [FILE]`: exit 0 every check passed, 1 a problem was found (corrupt, not a v4lab database,
// older schema, orphans, duplicate or lost sweep points), 2 bad input (missing file, newer schema).
int db_check(Context& ctx, const std::string& file) {
  const std::string path = file.empty() ? ctx.db_path : file;
  const store::CheckReport r = store::check_database(path);
  std::ostream& o = *ctx.out;
  if (ctx.json) {
    o << store::check_report_json(r).dump(2) << "\n";
  } else {
    o << path << ": schema version " << r.schema_version << " (this v4lab: " << r.latest_schema_version << ")\n";
    for (const auto& c : r.checks) {
      o << "  " << (c.ok() ? "ok  " : "FAIL") << "  " << c.name << " — " << c.description << "\n";
      for (const auto& p : c.problems) o << "          " << p << "\n";
    }
    for (const auto& w : r.warnings) o << "  note  " << w << "\n";
    o << (r.ok() ? "database is consistent\n" : "database has problems (see FAIL lines)\n");
  }
  return r.ok() ? 0 : 1;
}

}  // namespace

void add_db_command(CLI::App& app, Context& ctx) {
  auto* db = app.add_subcommand("db", "Inspect the results database given by --db (list, show, export, schema, merge, migrate, check)");
  db->require_subcommand(1);
  auto a = std::make_shared<DbArgs>();  // outlives this function: CLI11 binds options by reference

  auto* list = db->add_subcommand("list", "List stored runs, newest first");
  list->add_option("-n,--limit", a->limit, "Maximum number of runs to list (0: all)")->capture_default_str();
  list->callback([&ctx, a] { ctx.action = [&ctx, a] { return db_list(ctx, a->limit); }; });

  auto* show = db->add_subcommand("show", "Show one run: provenance, measurements, predictions, study points");
  show->add_option("run", a->run, "Run id, or 'latest'")->required();
  show->callback([&ctx, a] { ctx.action = [&ctx, a] { return db_show(ctx, a->run); }; });

  auto* exp = db->add_subcommand("export", "Export one run as CSV (measured vs predicted) or JSON (everything)");
  exp->add_option("run", a->run, "Run id, or 'latest'")->required();
  exp->add_option("-f,--format", a->format, "Export format: csv or json")
      ->check(CLI::IsMember({"csv", "json"}))
      ->capture_default_str();
  exp->add_option("-o,--output", a->output, "Output file, written atomically (default: stdout)")->capture_default_str();
  exp->callback([&ctx, a] { ctx.action = [&ctx, a] { return db_export(ctx, *a); }; });

  auto* schema = db->add_subcommand("schema", "Print the schema version and SQL of --db (or of this v4lab)");
  schema->callback([&ctx] { ctx.action = [&ctx] { return db_schema(ctx); }; });

  auto merge_out = std::make_shared<std::string>();
  auto merge_in = std::make_shared<std::vector<std::string>>();
  auto* merge = db->add_subcommand("merge", "Copy every run of IN... into OUT (created if missing; new ids, provenance "
                                            "kept); shard runs of one sweep become one sweep; idempotent");
  merge->add_option("out", *merge_out, "Output database")->required();
  merge->add_option("inputs", *merge_in, "Input databases")->required();
  merge->callback([&ctx, merge_out, merge_in] {
    ctx.action = [&ctx, merge_out, merge_in] { return db_merge(ctx, *merge_out, *merge_in); };
  });

  auto check_file = std::make_shared<std::string>();
  auto* check = db->add_subcommand("check", "Verify --db (or FILE) without modifying it: SQLite integrity and foreign "
                                            "keys, schema version, tables and columns, orphan rows, unique and complete "
                                            "sweep points. Exit 0 ok, 1 problems found, 2 missing file or newer schema");
  check->add_option("file", *check_file, "Database to check (default: --db)");
  check->callback([&ctx, check_file] { ctx.action = [&ctx, check_file] { return db_check(ctx, *check_file); }; });

  auto* migrate = db->add_subcommand("migrate", "Create --db or upgrade it to this v4lab's schema version");
  migrate->callback([&ctx] { ctx.action = [&ctx] { return db_migrate(ctx); }; });
}

}  // namespace v4lab::cli
