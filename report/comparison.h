// What a comparison and a sweep's report share (report/comparison_report.cpp): runs grouped by
// their settings, seeds apart, drawn as spreads; internal to the report module.
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "report/report.h"

namespace minidl::report {

/// Runs that differ only in their seed, named by the settings that differ between groups.
struct Group {
  std::string label{};
  std::vector<const RunSummary*> runs{};  // one per seed
  double mean_accuracy = NAN;
};

/// `runs` grouped (the groups point into `runs`).
std::vector<Group> group_runs(const std::vector<RunSummary>& runs, const Describer& describer);
/// Every run's optimizer settings, then what they share: a comparison's subtitle.
std::string settings_subtitle(const std::vector<const RunSummary*>& runs, const Describer& describer);
/// A table of the groups' final accuracy (mean ± sd over seeds), losses and time.
std::string runs_table(const std::vector<Group>& groups);
/// The curves of the groups (at most the 8 best) and their telemetry, as sections.
void add_comparison(Page& page, const std::vector<Group>& groups);
/// Writes the page to `path` (the output policy, data/atomic_file.h).
Written finish(Page& page, const std::string& path, std::chrono::steady_clock::time_point start);

}  // namespace minidl::report
