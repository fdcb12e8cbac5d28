// cmd_study.h — the `v4lab study` group (specs/studies.md): one add_study_<name> per study, each in its
// own file, called by add_study_command (cmd_study.cpp).
#pragma once
#include "cli/cli.h"

namespace v4lab::cli {

// study_ucurve.cpp: `study ucurve` — Engram-vs-MoE allocation U-curve (studies.md (a)).
void add_study_ucurve(CLI::App& study, Context& ctx);

// TODO(merge): `study topk` (studies.md (b)) and `study streams` (studies.md (c)) are defined in
// study_topk.cpp / study_streams.cpp by another engineer. Until they land, study_stubs.cpp holds weak
// placeholders that fail with "not built yet"; delete study_stubs.cpp at merge.
void add_study_topk(CLI::App& study, Context& ctx);
void add_study_streams(CLI::App& study, Context& ctx);

}  // namespace v4lab::cli
