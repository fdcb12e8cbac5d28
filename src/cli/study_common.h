// study_common.h — what the measured studies (topk, streams) share: an acceptance check as JSON, the
// failed count, the "checks: X of Y" lines and the study run written to the database.
#pragma once
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace v4lab::cli {

// One acceptance check. passed = nullopt: skipped (not applicable in this configuration). `arch`
// (e.g. "dsa" / "csa") is written only when non-empty.
nlohmann::json study_check(const std::string& name, std::optional<bool> passed, const std::string& detail,
                           const std::string& arch = "");
// Checks that ran and failed (skipped ones do not count).
int count_failed_checks(const nlohmann::json& checks);
// "checks: X of Y passed or skipped" and one "FAILED [arch] name" line per failure, newline-terminated.
void print_study_checks(std::ostream& out, const nlohmann::json& checks);

struct StudyRunInfo {
  std::string name;     // study name: run name and points' study
  std::string backend;  // kernel backend of the measured part
  uint64_t seed = 0;
  nlohmann::json config;
  std::string notes;  // how the measured part is reduced from production shapes
};
// Writes one run of kind "study" with its points in one transaction; returns the run id.
int64_t write_study_run(store::Store& db, const StudyRunInfo& info, const std::vector<store::StudyPoint>& points);

}  // namespace v4lab::cli
