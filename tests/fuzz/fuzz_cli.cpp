// fuzz_cli.cpp — fuzz target: the CLI argument parser and the cheap subcommands, through the real
// v4lab::cli::run_cli code path. Input: argv, one argument per line ('\n'; at most 32 arguments of at most
// 256 bytes). Every exit code is a fine outcome (run_cli maps errors itself); an escaping exception, an
// abort or a sanitizer report is a finding. Bounded by construction (docs/fuzzing.md, "CLI target"):
//   - the process works in a private temporary directory (chdir once) that is emptied after every input,
//     and --db is always that directory's fuzz.db: `--db X` / `--db=X` in the input are dropped;
//   - an argument starting with '/' or containing ".." becomes "fuzz_path" (nothing outside the directory);
//   - long jobs only parse: when any argument names a subcommand that measures or sweeps (run, kernel,
//     bench, calibrate, engram, study, sweep, exec, plan, validate) "--help" is appended, so CLI11 parses
//     and validates every option but no action runs; `--repeat` (predict) and `--probe` (info) are dropped.
//   What runs for real: info, predict, db, report, compare and every parse/usage error path.
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "fuzz_targets.h"

namespace v4lab::fuzz {
namespace fs = std::filesystem;

static const fs::path& work_dir() {
  static const fs::path dir = [] {
    auto d = fs::temp_directory_path() / ("v4lab_fuzz_cli." + std::to_string(::getpid()));
    fs::create_directories(d);
    fs::current_path(d);
    return d;
  }();
  return dir;
}

// The argument vector the target runs for `data`.
static std::vector<std::string> fuzz_cli_args(const uint8_t* data, size_t size, const std::string& db) {
  static const std::set<std::string> kParseOnly = {"run",   "kernel", "bench", "calibrate", "engram",
                                                   "study", "sweep",  "exec",  "plan",      "validate"};
  std::vector<std::string> raw;
  std::string cur;
  for (size_t i = 0; i < size && raw.size() < 32; ++i) {
    if (data[i] == '\n') {
      raw.push_back(cur);
      cur.clear();
    } else if (cur.size() < 256) {
      cur.push_back(char(data[i]));
    }
  }
  if (!cur.empty() && raw.size() < 32) raw.push_back(cur);
  std::vector<std::string> args{"--db", db};
  bool parse_only = false;
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string a = raw[i];
    if (a == "--db" || a == "--repeat") {
      ++i;  // drop the option and its value
      continue;
    }
    if (a.rfind("--db=", 0) == 0 || a.rfind("--repeat=", 0) == 0 || a == "--probe") continue;
    if ((!a.empty() && a[0] == '/') || a.find("..") != std::string::npos) a = "fuzz_path";
    if (kParseOnly.count(a)) parse_only = true;
    args.push_back(a);
  }
  if (parse_only) args.push_back("--help");
  return args;
}

int fuzz_cli(const uint8_t* data, size_t size) {
  const fs::path& dir = work_dir();
  const std::vector<std::string> args = fuzz_cli_args(data, size, (dir / "fuzz.db").string());
  std::ostringstream out, err;
  try {
    (void)v4lab::cli::run_cli(args, out, err);
  } catch (const std::exception& e) {
    fuzz_fail("cli", std::string("exception escaped run_cli: ") + e.what());
  } catch (...) {
    fuzz_fail("cli", "non-std exception escaped run_cli");
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
  return 0;
}

}  // namespace v4lab::fuzz

V4LAB_FUZZ_ENTRY(fuzz_cli)
