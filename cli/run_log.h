// What a training run reports, kept out of the loop: the header and per-epoch lines on stdout, the
// --metrics CSV (a row per epoch and per --log-every steps), the --summary JSON (per-epoch losses,
// accuracy, train and eval seconds, memory, and the run's record: every step's loss and lr, for
// reports), the start-up time and the peak resident memory.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/run_record.h"
#include "core/device.h"
#include "data/atomic_file.h"

namespace minidl::cli {

class RunLog {
 public:
  /// Opens --metrics (appending to it when a resumed run finds it); a file that cannot be written
  /// is a UsageError.
  RunLog(const TrainArgs& args, const TrainConfig& config, Device device);

  /// "minidl train: <description>", and where a resumed run continues.
  void header(const std::string& description, int64_t start_epoch, int64_t resume_batch);
  /// The first step is about to run: the process's start-up time ends here.
  void starting();
  /// After a step: its loss into the --log-every window (a CSV row when it fills: the mean since the
  /// last row or the epoch's start, whichever is later).
  void step(int64_t epoch, int64_t steps, double lr, double loss, double seconds);
  /// After an epoch's evaluation: its line, CSV row and summary entry.
  void epoch(const EpochRecord& record);
  /// The --summary file and the final lines.
  void finish(double final_accuracy, const std::string& last_checkpoint);
  /// The run so far, as a report draws it (cli/run_record.h).
  const RunRecord& record() const { return record_; }

 private:
  const TrainArgs& args_;
  const TrainConfig& config_;
  Device device_;
  std::unique_ptr<data::OutputFile> metrics_;  // --metrics
  double window_loss_ = 0;
  int64_t window_ = 0;
  double startup_seconds_ = -1, total_seconds_ = 0;
  nlohmann::json epochs_ = nlohmann::json::array();
  RunRecord record_;
};

/// Peak resident memory of this process so far (MiB).
double peak_rss_mib();

}  // namespace minidl::cli
