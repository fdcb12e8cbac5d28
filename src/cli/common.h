// common.h — helpers shared by subcommands: --set parsing, hardware resolution (probing `local`),
// progress on a TTY, and table printing.
#pragma once
#include <nlohmann/json.hpp>

#include <iosfwd>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "core/op_catalogue.h"
#include "core/presets.h"

namespace v4lab::store {
class Store;
}

namespace v4lab::cli {

// "key=value" pairs → ParamMap; bad syntax or non-numbers → usage_error naming the pair.
ParamMap parse_sets(const std::vector<std::string>& sets);

// Defaults for an op's params from a model preset (ParamDef.model_field), then overrides; validated.
ParamMap params_for(const OpDef& op, const ModelPreset* model, const ParamMap& overrides, const std::string& where);

// Loads a hardware preset; for `local`, fills it from the newest probe of this host in `db` (if any),
// else probes now (~2 s) and, when `db` is given, saves the probe there.
HardwarePreset resolve_hardware(const std::string& id, const Context& ctx, store::Store* db);

nlohmann::json params_json(const ParamMap& p);

// Before any work: config_error (exit 2) naming `flag`, the path and the reason when the output file
// `path` cannot be written (its nearest existing folder is not writable, or a path part is a file).
// Probes with a temporary file that it removes; creates no folder.
void require_writable_output(const std::string& path, const std::string& flag);

// True when progress lines should be shown (stderr is a TTY and not --quiet).
bool show_progress(const Context& ctx);

// Plain fixed-width table.
void print_table(std::ostream& o, const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

}  // namespace v4lab::cli
