// study_stubs.cpp — TEMPORARY weak placeholders for `study topk` and `study streams` so this branch
// links before study_topk.cpp / study_streams.cpp exist. The lead deletes this file at merge.
#include "cli/cmd_study.h"
#include "core/error.h"

namespace v4lab::cli {

namespace {
void placeholder(CLI::App& study, Context& ctx, const char* name, const char* what) {
  auto* s = study.add_subcommand(name, std::string(what) + " (not built yet)");
  const std::string n = name;
  s->callback([&ctx, n] { ctx.action = [n]() -> int { throw runtime_error("study " + n + ": not built yet"); }; });
}
}  // namespace

__attribute__((weak)) void add_study_topk(CLI::App& study, Context& ctx) {
  placeholder(study, ctx, "topk", "DSA/CSA top-k sweep (specs/studies.md (b))");
}

__attribute__((weak)) void add_study_streams(CLI::App& study, Context& ctx) {
  placeholder(study, ctx, "streams", "mHC stream-count sweep (specs/studies.md (c))");
}

}  // namespace v4lab::cli
