// toml_util.h — private helpers shared by the preset and scenario loaders (presets.cpp, scenario.cpp).
// Keeps toml++ out of every public header: parsing with file:line errors, type descriptions for
// "expected X, got Y" messages, TOML -> JSON conversion and "did you mean" suggestions.
#pragma once
#include <toml++/toml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace v4lab::detail {

// Parse TOML text; a syntax error becomes config_error("TOML syntax error: ...", "path:line:col").
toml::table parse_toml_text(const std::string& text, const std::string& display_path);
// Read and parse a file; a missing/unreadable file is a config_error naming the path.
toml::table parse_toml_file(const std::string& path);

// "path:line" of a node (or of a key), for error locations.
std::string where_of(const std::string& path, const toml::source_region& src);
inline std::string where_of(const std::string& path, const toml::node& n) { return where_of(path, n.source()); }

// Short description of a value for messages: `string "abc"`, `integer 5`, `float 1.5`, `boolean true`,
// `array`, `table`.
std::string describe(const toml::node& n);
const char* type_name(const toml::node& n);  // "string", "integer", "float", "boolean", "array", "table", ...

// Numbers: integer or float nodes (booleans are not numbers). Returns false when n is not numeric.
bool as_number(const toml::node& n, double& out);

// TOML -> JSON (integers stay integers; dates/times are rejected with a config_error).
nlohmann::json to_json(const toml::node& n, const std::string& path);

// Formatting helpers.
std::string fmt_num(double v);  // shortest round-trip-ish form: 989, 0.2, 1e-06
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
// Closest candidate by edit distance (empty when nothing is close), for "did you mean 'x'?".
std::string closest(const std::string& key, const std::vector<std::string>& candidates);
// " (did you mean 'x'?)" or "".
std::string did_you_mean(const std::string& key, const std::vector<std::string>& candidates);

}  // namespace v4lab::detail
