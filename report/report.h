// Reports: one self-contained HTML file per run, comparison or sweep, from what runs leave on disk
// (their --summary JSON, report/run_summary.h). `minidl train --report`, `minidl report` and
// compare/sweep's --report call these; so can any C++ program:
//
//   const report::RunSummary run = report::read_summary("run.json");
//   report::write(run, "run.html");
//
// What each page shows: report/run_report.cpp (a run: its settings, curves, the model's view when
// given one, its optimizer telemetry), report/comparison_report.cpp (runs side by side, seeds as
// shaded spreads) and report/sweep_report.cpp (accuracy against the lr per optimizer); how a page
// is made, report/page.h; a language model's sections (its losses by step, samples and attention
// maps, from the fields its summary adds), report/language_model.cpp. Every file is written through the output policy (data/atomic_file.h): a
// target that is a device, FIFO, socket or directory is refused before any work with an Error naming
// it (data::RefusedOutput inside the library), and a write that fails leaves the previous file as it was.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <minidl/report/model_view.h>
#include <minidl/report/page.h>
#include <minidl/report/run_summary.h>

namespace minidl::report {

/// What a written report was: for the line a program prints, and for tests.
struct Written {
  std::string path;
  size_t bytes = 0;
  double seconds = 0;  // from the start of the report (and `seconds_before`) to the file written
};

/// Label/value rows of a page's facts; values are HTML (escape_html what comes from outside).
using Facts = std::vector<std::pair<std::string, std::string>>;

/// What only the program that ran a run can say about its settings (the summary's `config`, whose
/// fields depend on the kind of run), and the sections a kind of run adds. Any member left empty
/// falls back to what the settings say as written: the "model" and "optimizer" fields, the lr.
struct Describer {
  /// The model's short name for titles and labels ("784-256-10", "cnn").
  std::function<std::string(const RunSummary&)> model_name{};
  /// The rows of "The run" that describe the settings (HTML): the model, the optimizer, the lr…
  std::function<Facts(const RunSummary&)> settings{};
  /// The optimizer with the options it ran with, one line of text ("nesterov lr 0.01 momentum 0.9").
  std::function<std::string(const RunSummary&)> optimizer{};
  /// The page's heading and its "Result" row (HTML). Default: the last epoch's test accuracy.
  std::function<std::string(const RunSummary&)> headline{};
  std::function<std::string(const RunSummary&)> result{};
  /// Sections a kind of run adds to its page after the curves (a language model's samples at each
  /// evaluation, its attention maps), reading its own fields from RunSummary::json.
  std::function<void(const RunSummary&, Page&)> sections{};
  /// Whether the page has a classifier's sections: its test set through the model's eyes and what
  /// its first layer learned (from RunReportOptions::model, or a notice saying why they are missing).
  bool classifier = true;
};

struct RunReportOptions {
  /// What the trained model shows (confusion matrix, wrong digits, weights); null: those sections
  /// say why they are missing (e.g. a summary without its checkpoint).
  const ModelView* model = nullptr;
  Describer describer{};
  /// Time the caller already spent on the report (gathering the model's view), included in its time.
  double seconds_before = 0;
};

/// The report of one run, written to `path` (an .html file).
Written write(const RunSummary& summary, const std::string& path, const RunReportOptions& options = {});

/// Several runs side by side: runs that differ only in their seed form a group, drawn as the mean
/// over its seeds with the spread (min to max) shaded. `heading`: e.g. "minidl compare".
Written write_comparison(const std::vector<RunSummary>& runs, const std::string& path, const std::string& heading,
                         const Describer& describer = {});

/// A sweep's report from its --out directory (sweep.csv, sweep.md, runs/*.json): accuracy and loss
/// against the lr per optimizer, the table and basins, and the curves at each optimizer's best lr.
Written write_sweep(const std::string& sweep_dir, const std::string& path, const Describer& describer = {});

/// The name a sweep or comparison gives an optimizer's files: its label as given ("nesterov:form=
/// lookahead") with ':', '=', ',' and '/' made '-'. A sweep's run summaries are
/// runs/<stem>-lr<lr>-seed<seed>.json.
std::string file_stem(const std::string& label);

}  // namespace minidl::report
