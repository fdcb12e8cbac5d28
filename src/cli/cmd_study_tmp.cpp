// temporary: replaced at merge — a minimal `study` group that only hosts `study topk` and
// `study streams`; the real cmd_study.cpp (another engineer) replaces this file.
#include "cli/cmd_study.h"

namespace v4lab::cli {

void add_study_command(CLI::App& app, Context& ctx) {
  auto* study = app.add_subcommand("study", "Comparison studies (top-k sweep, mHC stream count)");
  study->require_subcommand(1);
  add_study_topk(*study, ctx);
  add_study_streams(*study, ctx);
}

}  // namespace v4lab::cli
