// report_exec.h — the report section of an `exec` run (issue 11; docs/exec.md): measured vs predicted
// per layer type and per op family for each phase with the error, a bar chart per phase (measured vs
// prediction per layer type), the timeline of both (phase spans, measured vs the per-op predictions on
// one stream), the full-scale GPU projections (predictions), and the memory accounting beside the
// measured RSS. Rendered from the run's study point (study = "exec"), whose numbers are the sums of
// the run's measurement and prediction rows and the ns integers of its trace events.
#pragma once
#include <vector>

#include "report/report_study_sections.h"
#include "store/store.h"

namespace v4lab::report {

StudySection render_exec_section(const std::vector<store::StudyPoint>& points);

}  // namespace v4lab::report
