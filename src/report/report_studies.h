// report_studies.h — dedicated report sections of comparison studies (specs/studies.md): tables and
// inline SVG charts built from a run's study_points rows, for the HTML and Markdown writers. Sections
// are looked up by study name, so every study (ucurve; topk and streams later) plugs in its own.
#pragma once
#include <string>
#include <vector>

#include "store/store.h"

namespace v4lab::report {

// Sections of every study in `points` that has a renderer (grouped by study name, in order of first
// appearance); "" when none has. The generic "Study points" table of the report still lists all rows.
std::string render_study_sections_html(const std::vector<store::StudyPoint>& points);
std::string render_study_sections_md(const std::vector<store::StudyPoint>& points);

// Study names that have a dedicated section (for tests and docs).
std::vector<std::string> studies_with_sections();

}  // namespace v4lab::report
