// cli.cpp — the `v4lab` app: global options, subcommands, and the mapping of errors to exit codes
// (0 ok, 1 runtime failure, 2 usage/config error). Library code throws; only this file decides codes.
#include "cli/cli.h"

#include <cstdlib>
#include <iostream>

#include "cli/cmd_report.h"
#include "core/build_info.h"
#include "core/error.h"
#include "core/presets.h"

namespace v4lab::cli {

int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Context ctx;
  ctx.out = &out;
  ctx.err = &err;
  ctx.data_dir = default_data_dir();
  for (int i = 0; i < argc; ++i) ctx.command += (i ? " " : "") + std::string(argv[i]);
  CLI::App app{"v4lab — simulation and profiling workbench for DeepSeek-V4-class sparse LLMs.\n"
               "Runs real kernels, predicts their cost with an analytic model, stores both in SQLite.",
               "v4lab"};
  app.set_version_flag("--version", std::string("v4lab ") + build_info().version + " (" + build_info().git_commit.substr(0, 12) +
                                        (build_info().git_dirty ? "+dirty" : "") + ", " + build_info().build_type +
                                        ", CUDA " + (build_info().cuda ? "on" : "off") + ")");
  app.add_flag("--json", ctx.json, "Print machine-readable JSON on stdout instead of tables")->capture_default_str();
  app.add_flag("-q,--quiet", ctx.quiet, "No progress output on stderr")->capture_default_str();
  app.add_option("--db", ctx.db_path, "SQLite results database")->capture_default_str();
  app.add_option("--data-dir", ctx.data_dir, "Directory of hardware/ and models/ presets (env V4LAB_DATA_DIR)")
      ->capture_default_str();
  app.require_subcommand(1);
  app.fallthrough();
  add_info_command(app, ctx);
  add_kernel_command(app, ctx);
  add_run_command(app, ctx);
  add_bench_command(app, ctx);
  add_calibrate_command(app, ctx);
  add_predict_command(app, ctx);
  add_engram_command(app, ctx);
  add_validate_command(app, ctx);
  add_study_command(app, ctx);
  add_compare_command(app, ctx);
  add_sweep_command(app, ctx);
  add_plan_command(app, ctx);
  add_exec_command(app, ctx);
  add_db_command(app, ctx);
  add_report_command(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    err << "v4lab: error: ";  // the one error format (docs/errors.md); CLI11 adds the message and a --help hint
    app.exit(e, out, err);
    return 2;
  }
  try {
    return ctx.action ? ctx.action() : 0;
  } catch (const Error& e) {
    err << "v4lab: error: " << e.what() << "\n";
    return e.exit_code();
  } catch (const std::exception& e) {
    err << "v4lab: error: " << e.what() << "\n";
    return 1;
  }
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::vector<const char*> argv{"v4lab"};
  for (auto& a : args) argv.push_back(a.c_str());
  return run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
}

}  // namespace v4lab::cli
