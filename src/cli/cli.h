// cli.h — the v4lab command line: one file per subcommand (cmd_<name>.cpp), each adding itself to the
// CLI11 app. run_cli() is the whole program minus main(), so tests drive the real code path.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace v4lab::cli {

struct Context {
  bool json = false;             // --json: machine-readable output on stdout
  bool quiet = false;            // --quiet: no progress
  std::string db_path = "v4lab.db";
  std::string data_dir;          // presets; default: $V4LAB_DATA_DIR or <source>/data
  std::ostream* out = nullptr;   // stdout (results)
  std::ostream* err = nullptr;   // stderr (progress, errors)
  std::string command;           // the command line as typed (stored as run provenance)
  // Deferred action of the chosen subcommand; returns the exit code.
  std::function<int()> action;
};

// Parses argv, runs the chosen subcommand, maps v4lab::Error to exit codes (0 ok, 1 runtime, 2 usage/config).
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err);
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);  // args exclude argv[0]

// Subcommands (cmd_<name>.cpp). Each sets ctx.action in its callback.
void add_info_command(CLI::App& app, Context& ctx);
void add_kernel_command(CLI::App& app, Context& ctx);
void add_run_command(CLI::App& app, Context& ctx);
void add_db_command(CLI::App& app, Context& ctx);
void add_bench_command(CLI::App& app, Context& ctx);
void add_calibrate_command(CLI::App& app, Context& ctx);
void add_predict_command(CLI::App& app, Context& ctx);
void add_engram_command(CLI::App& app, Context& ctx);
void add_validate_command(CLI::App& app, Context& ctx);
void add_study_command(CLI::App& app, Context& ctx);    // cmd_study.cpp
void add_compare_command(CLI::App& app, Context& ctx);  // cmd_compare.cpp
void add_sweep_command(CLI::App& app, Context& ctx);
void add_plan_command(CLI::App& app, Context& ctx);
void add_exec_command(CLI::App& app, Context& ctx);     // cmd_exec.cpp

}  // namespace v4lab::cli
