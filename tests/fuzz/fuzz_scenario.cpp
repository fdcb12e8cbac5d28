// fuzz_scenario.cpp — fuzz target: the scenario loader (src/core/scenario.h) on arbitrary TOML text.
// Accepts a parsed scenario or a v4lab::Error (config_error naming file:line, key and value); any other
// exception (a toml++ or std:: error leaking through) is a finding, as are sanitizer reports.
#include <string>

#include "core/error.h"
#include "core/presets.h"
#include "core/scenario.h"
#include "fuzz_targets.h"

namespace v4lab::fuzz {

int fuzz_scenario(const uint8_t* data, size_t size) {
  static const std::string data_dir = default_data_dir();
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const Scenario s = parse_scenario(text, "fuzz.toml", data_dir);
    (void)s.to_json().dump();  // the resolved config is stored next to every result: must serialize
  } catch (const Error&) {
  } catch (const std::exception& e) {
    fuzz_fail("scenario", std::string("non-v4lab exception: ") + e.what());
  }
  return 0;
}

}  // namespace v4lab::fuzz

V4LAB_FUZZ_ENTRY(fuzz_scenario)
