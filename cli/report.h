// The program's side of reports (the pages themselves are the library's, report/report.h):
// `--report FILE.html` on train, compare and sweep, and `minidl report RUN…` afterwards
// (cli/report_command.cpp). What only the program knows about a run's settings (TrainConfig: the
// MLP's name from --hidden, the optimizer's options in use, the schedule) reaches the pages as a
// report::Describer.
#pragma once

#include <string>
#include <vector>

#include "cli/run_record.h"
#include "report/report.h"

namespace minidl::cli {

/// What train's last evaluation observed for its report (report/model_view.h).
using report::ModelViewCollector;

/// How a classifier run of `minidl train` is described in its report: the model (name, layers,
/// parameters), the optimizer with the options in use, the lr schedule.
report::Describer classifier_describer();

/// How a language model's run (`minidl train --model gpt`) is described in its report: the GPT's
/// config, AdamW over its groups, the schedule and data from the summary's own settings, the
/// validation loss as the result, and report/language_model.h's sections (losses by step, samples,
/// attention maps). No classifier sections.
report::Describer gpt_describer();
/// `minidl train --model gpt --report`: the page of the summary the run wrote (`summary_text`, the
/// same JSON as its --summary file `summary_path`, "" when none), so `minidl report` on that file
/// draws the same page; prints where it went unless `quiet`.
report::Written write_gpt_report(const std::string& summary_text, const std::string& summary_path,
                                 const std::string& path, bool quiet);

/// `minidl train --report`: the run's record, and the model's view from the last evaluation (which
/// `view` observed); prints where it went unless `quiet`.
report::Written write_train_report(const std::string& path, const RunRecord& run, report::ModelViewCollector& view,
                                   const nn::Evaluation& last_evaluation, nn::Sequential& model,
                                   const data::ImageDataset& test, bool quiet);

/// Refuses (data::RefusedOutput) a report path that the output policy refuses, before any work.
void check_report_path(const std::string& path, const char* flag = "--report");

/// "report: FILE (1.2 MB) written in 0.14 s" on stdout.
void print_written(const report::Written& written);

}  // namespace minidl::cli
