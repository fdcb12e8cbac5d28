// study_common.cpp — see study_common.h.
#include "cli/study_common.h"

namespace v4lab::cli {

nlohmann::json study_check(const std::string& name, std::optional<bool> passed, const std::string& detail,
                           const std::string& arch) {
  nlohmann::json c = {{"name", name}};
  if (!arch.empty()) c["arch"] = arch;
  c["passed"] = passed ? nlohmann::json(*passed) : nlohmann::json(nullptr);
  c["detail"] = detail;
  return c;
}

int count_failed_checks(const nlohmann::json& checks) {
  int n = 0;
  for (const auto& c : checks) n += c["passed"].is_boolean() && !c["passed"].get<bool>();
  return n;
}

void print_study_checks(std::ostream& out, const nlohmann::json& checks) {
  out << "checks: " << checks.size() - size_t(count_failed_checks(checks)) << " of " << checks.size()
      << " passed or skipped";
  for (const auto& c : checks) {
    if (!c["passed"].is_boolean() || c["passed"].get<bool>()) continue;
    out << "\n  FAILED ";
    if (c.contains("arch")) out << "[" << c["arch"].get<std::string>() << "] ";
    out << c["name"].get<std::string>();
  }
  out << "\n";
}

int64_t write_study_run(store::Store& db, const StudyRunInfo& info, const std::vector<store::StudyPoint>& points) {
  store::RunRecord rec;
  rec.info.kind = "study";
  rec.info.name = info.name;
  rec.info.backends = info.backend;
  rec.info.seed = info.seed;
  rec.info.config_json = info.config.dump();
  rec.info.notes = info.notes;
  rec.study_points = points;
  return db.write_run(rec);
}

}  // namespace v4lab::cli
