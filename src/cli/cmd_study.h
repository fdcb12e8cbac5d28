// cmd_study.h — the `v4lab study` group (specs/studies.md): one add_study_<name> per study, each in its
// own file, called by add_study_command (cmd_study.cpp).
#pragma once
#include "cli/cli.h"

namespace v4lab::cli {

// study_ucurve.cpp: `study ucurve` — Engram-vs-MoE allocation U-curve (studies.md (a)).
void add_study_ucurve(CLI::App& study, Context& ctx);
// study_topk.cpp: `study topk` — DSA / CSA top-k sweep (studies.md (b)).
void add_study_topk(CLI::App& study, Context& ctx);
// study_streams.cpp: `study streams` — mHC stream-count sweep (studies.md (c)).
void add_study_streams(CLI::App& study, Context& ctx);

}  // namespace v4lab::cli
