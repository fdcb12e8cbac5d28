// cmd_report.cpp — `v4lab report RUN [--format html|md|csv|json] [-o PATH]`: renders a stored run
// (default reports/<run-id>/report.<ext>), written atomically; prints the path written.
#include "cli/cmd_report.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <ostream>

#include "report/report.h"
#include "store/store.h"

namespace v4lab::cli {

namespace {

struct ReportArgs {
  std::string run;
  std::string format = "html";
  std::string output;
};

}  // namespace

void add_report_command(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("report", "Write the report of a stored run (HTML with charts, Markdown, CSV, JSON)");
  auto args = std::make_shared<ReportArgs>();  // outlives this function: CLI11 binds options by reference
  cmd->add_option("run", args->run, "Run id, or 'latest'")->required();
  cmd->add_option("-f,--format", args->format, "Report format: html, md, csv or json")
      ->check(CLI::IsMember({"html", "md", "csv", "json"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output file (default: reports/<run-id>/report.<ext>)")
      ->capture_default_str();
  cmd->callback([&ctx, args] {
    ctx.action = [&ctx, args]() -> int {
      store::Store db(ctx.db_path, store::OpenMode::ReadOnly);
      const int64_t run_id = store::resolve_run_ref(db, args->run);
      const std::string path = args->output.empty() ? "reports/" + std::to_string(run_id) + "/report." +
                                                          report::report_extension(args->format)
                                                    : args->output;
      report::write_run_report(db, run_id, args->format, path);
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
