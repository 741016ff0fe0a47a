// What `minidl train` reports, as a hook on its run::Trainer: the header and per-epoch lines on
// stdout, the --summary JSON (per-epoch losses,
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
#include "run/hook.h"

namespace minidl::cli {

class RunLog : public run::Hook {
 public:
  RunLog(const TrainArgs& args, const TrainConfig& config, Device device);

  /// "minidl train: <description>", and where a resumed run continues.
  void header(const std::string& description, int64_t start_epoch, int64_t resume_batch);
  /// The first step is about to run: the process's start-up time ends here.
  void on_step_begin(const run::Trainer&) override;
  /// After a step: its loss and lr into the record.
  void on_step(const run::Trainer&, const run::StepReport& step) override;
  /// After an epoch's evaluation: its line and summary entry.
  void on_evaluation(const run::Trainer&, const run::EvalReport& eval) override;
  /// The --summary file and the final lines.
  void finish(double final_accuracy, const std::string& last_checkpoint);
  /// The run so far, as a report draws it (cli/run_record.h).
  const RunRecord& record() const { return record_; }

 private:
  const TrainArgs& args_;
  const TrainConfig& config_;
  Device device_;
  double startup_seconds_ = -1, total_seconds_ = 0;
  nlohmann::json epochs_ = nlohmann::json::array();
  RunRecord record_;
};

/// Peak resident memory of this process so far (MiB).
double peak_rss_mib();

}  // namespace minidl::cli
