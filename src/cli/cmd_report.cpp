// cmd_report.cpp — `v4lab report RUN [--format html|md|csv|json|trace] [-o PATH] [--with RUN]`: renders a
// stored run — a sweep or a plan run too, with its own sections (report/detail/report_kinds.h) — to
// reports/<run-id>/report.<ext> (trace.json for trace) by default, written atomically; prints
// the path. --with adds other runs' trace events to a trace (measured beside predicted).
#include "cli/cmd_report.h"

#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <memory>
#include <ostream>

#include "core/error.h"
#include "report/report.h"
#include "report/trace.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct ReportArgs {
  std::string run;
  std::string format = "html";
  std::string output;
  std::vector<std::string> with;
};

// `latest:KIND` (e.g. latest:sweep, latest:plan): the newest run of that kind; anything else as
// store::resolve_run_ref (an id or `latest`).
int64_t resolve_report_ref(store::Store& db, const std::string& ref) {
  if (ref.rfind("latest:", 0) != 0) return store::resolve_run_ref(db, ref);
  const std::string kind = ref.substr(7);
  sqlite3_stmt* st = nullptr;
  int64_t id = 0;
  if (sqlite3_prepare_v2(db.handle(), "SELECT id FROM runs WHERE kind = ?1 ORDER BY id DESC LIMIT 1", -1, &st,
                         nullptr) == SQLITE_OK) {
    sqlite3_bind_text(st, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  if (id == 0) throw config_error("'" + ref + "': no run of kind '" + kind + "' in " + db.path());
  return id;
}

}  // namespace

void add_report_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand(
      "report",
      "Write the report of a stored run, sweep or capacity plan (HTML with charts, Markdown, CSV, JSON, "
      "Chrome/Perfetto trace)");
  auto args = std::make_shared<ReportArgs>();  // outlives this function: CLI11 binds options by reference
  cmd->add_option("run", args->run,
                  "Run id, 'latest', or 'latest:KIND' (newest run of a kind, e.g. latest:sweep, latest:plan); a sweep "
                  "or a capacity plan gets its dedicated sections")
      ->required();
  cmd->add_option("-f,--format", args->format,
                  "Report format: html, md, csv, json, or trace (Chrome trace-event JSON for ui.perfetto.dev)")
      ->check(CLI::IsMember({"html", "md", "csv", "json", "trace"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output,
                  "Output file (default: reports/<run-id>/report.<ext>, reports/<run-id>/trace.json for trace)")
      ->capture_default_str();
  cmd->add_option("--with", args->with,
                  "trace only: add this run's trace events as further processes (repeatable), e.g. a `predict` "
                  "run beside a measured one");
  cmd->callback([&ctx, args] {
    ctx.action = [&ctx, args]() -> int {
      store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
      const int64_t run_id = resolve_report_ref(db, args->run);
      const std::string path = args->output.empty()
                                   ? "reports/" + std::to_string(run_id) + "/" + report::report_file_name(args->format)
                                   : args->output;
      if (!args->with.empty() && args->format != "trace")
        throw usage_error("--with combines traces: it needs --format trace (got --format " + args->format + ")");
      if (args->format == "trace") {
        std::vector<int64_t> ids = {run_id};
        for (const std::string& w : args->with) ids.push_back(resolve_report_ref(db, w));
        report::write_file_atomic(path, report::render_trace(db, ids));  // rendered first: errors write nothing
      } else {
        report::write_run_report(db, run_id, args->format, path);
      }
      if (ctx.json) {
        *ctx.out << nlohmann::json{{"run_id", run_id}, {"format", args->format}, {"path", path}}.dump(2) << "\n";
      } else {
        *ctx.out << path << "\n";
      }
      return 0;
    };
  });
}

}  // namespace v4lab::cli
