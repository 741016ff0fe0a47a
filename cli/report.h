// Reports: one self-contained HTML file per run, comparison or sweep (`--report FILE.html` on train,
// compare and sweep; `minidl report RUN…` afterwards). What each shows is decided in
// report_run.cpp (a run: its settings, curves, confusion matrix, worst mistakes, what its first
// layer learned, its optimizer telemetry) and report_compare.cpp (runs side by side, seeds as
// shaded spreads; a sweep's accuracy against the lr); how a page is made, in report_page.h.
#pragma once

#include <string>
#include <vector>

#include "cli/model_view.h"
#include "cli/run_record.h"

namespace minidl::cli {

/// What a written report was: for the line the command prints, and for tests.
struct ReportWritten {
  std::string path;
  size_t bytes = 0;
  double seconds = 0;  // from `started` (the caller's clock) to the file written
};

/// The report of one run. `model`: what the trained model shows (null: those sections say why they
/// are missing, e.g. a summary without its checkpoint). `seconds_before`: time already spent on the
/// report by the caller (gathering the model's view), included in the reported time.
ReportWritten write_run_report(const std::string& path, const RunRecord& run, const ModelView* model,
                               double seconds_before = 0);

/// `minidl train --report`: the run's record, and the model's view from the last evaluation (which
/// `view` observed); prints where it went unless `quiet`.
ReportWritten write_train_report(const std::string& path, const RunRecord& run, ModelViewCollector& view,
                                 const nn::Evaluation& last_evaluation, nn::Sequential& model,
                                 const data::ImageDataset& test, bool quiet);

/// Several runs side by side: runs that differ only in their seed form a group, drawn as the mean
/// over its seeds with the spread (min to max) shaded. `heading`: e.g. "minidl compare".
ReportWritten write_comparison_report(const std::string& path, const std::vector<RunRecord>& runs,
                                      const std::string& heading);

/// A sweep's report from its --out directory (sweep.csv, sweep.md, runs/*.json): accuracy and loss
/// against the lr per optimizer, the table and basins, and the curves at each optimizer's best lr.
ReportWritten write_sweep_report(const std::string& path, const std::string& sweep_dir);

/// Refuses (UsageError) a report path whose directory cannot be written, before any work.
void check_report_path(const std::string& path, const char* flag = "--report");

/// "report: FILE (1.2 MB) written in 0.14 s" on stdout.
void print_written(const ReportWritten& written);

}  // namespace minidl::cli
