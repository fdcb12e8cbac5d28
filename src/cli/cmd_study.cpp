// cmd_study.cpp — `v4lab study`: a tiny dispatcher that creates the group and lets every study add its
// subcommand (cmd_study.h). Each study stores a run of kind "study" with one study_points row per point.
#include "cli/cmd_study.h"

namespace v4lab::cli {

void add_study_command(CLI::App& app, Context& ctx) {
  auto* study = app.add_subcommand("study",
                                   "Comparison studies: Engram/MoE U-curve, sparse-attention top-k, "
                                   "mHC stream count (specs/studies.md)");
  study->require_subcommand(1);
  add_study_ucurve(*study, ctx);
  add_study_topk(*study, ctx);
  add_study_streams(*study, ctx);
}

}  // namespace v4lab::cli
