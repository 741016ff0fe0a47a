// A training run as `minidl train` keeps it while it runs, and writes into its --summary JSON:
// besides the settings, the per-epoch losses, accuracy and timings, what a report draws (the
// command line, when the run started, its header line, every step's training loss and lr, the
// telemetry file and last checkpoint it wrote). Reports read summaries back as
// report::RunSummary (report/run_summary.h).
#pragma once

#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/config.h"
#include "report/run_summary.h"

namespace minidl::cli {

/// One finished epoch, as reported.
using EpochRecord = report::EpochRecord;

struct RunRecord {
  std::string source{};       // the file it was read from; "" for the run in this process
  std::string command{};      // the command line that ran it
  std::string started{};      // local time, "2025-11-30 15:40:02 +0100"
  std::string description{};  // the run's header line: data, model, optimizer and options, schedule, batch…
  TrainConfig config{};
  std::string device = "cpu", blas_core{};
  int threads = 0;
  std::vector<EpochRecord> epochs{};
  int64_t first_step = 1;  // the number of step_loss[0]: a resumed run's steps continue its checkpoint's
  std::vector<float> step_loss{}, step_lr{};  // per optimizer step: the batch's loss (before the update), the lr
  double final_accuracy = NAN;
  std::string telemetry{}, checkpoint{};  // files the run wrote, "" for none
  int64_t resumed_after_epoch = 0;        // 0: a run from scratch

  /// The run's training seconds (all epochs).
  double train_seconds() const;
};

/// Adds the record's own fields to a --summary object: command, started, description,
/// first_step, steps {loss: [...], lr: [...]} (5 significant digits), telemetry, checkpoint,
/// resumed_after_epoch.
void add_to_summary(nlohmann::json& summary, const RunRecord& record);

/// The record as a report reads a summary (its settings as to_json writes them).
report::RunSummary to_summary(const RunRecord& record);

/// A summary for `minidl report` and compare: report::read_summary, with its settings checked as
/// `minidl train` reads them (Error naming the file when they are not a run's settings); a GPT
/// run's summary has its language model's fields checked instead (report/language_model.h).
report::RunSummary read_run_summary(const std::string& path);

/// Whether a summary is a GPT run's ("model": "gpt", written by train --model gpt): settings in the
/// GPT's own notation, described by gpt_describer (cli/report.h).
bool is_gpt_summary(const report::RunSummary& summary);

/// The summary's settings (checked by read_run_summary).
TrainConfig config_of(const report::RunSummary& summary);

/// The command line of this process, as remembered by main() (arguments with spaces or quotes
/// quoted for a POSIX shell).
void remember_command_line(int argc, char** argv);
const std::string& command_line();

/// The local time now, "2025-11-30 15:40:02 +0100".
std::string local_time_now();

}  // namespace minidl::cli
