// cmd_report.h — `v4lab report RUN|SWEEP|PLAN`: writes a run's report (html, md, csv, json, trace) from the store.
#pragma once
#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace v4lab::cli {

void add_report_command(CLI::App& app, Context& ctx);

}  // namespace v4lab::cli
