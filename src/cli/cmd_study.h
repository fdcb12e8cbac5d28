// temporary: replaced at merge — the `study` group's header (owned by another engineer); this copy
// only declares what the top-k / streams studies need so the branch builds and tests on its own.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace v4lab::cli {

void add_study_command(CLI::App& app, Context& ctx);   // the `study` group (cmd_study.cpp)
void add_study_topk(CLI::App& study, Context& ctx);     // `study topk` (study_topk.cpp)
void add_study_streams(CLI::App& study, Context& ctx);  // `study streams` (study_streams.cpp)

}  // namespace v4lab::cli
