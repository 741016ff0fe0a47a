// A run's summary as a Hook: every step's loss and lr, every evaluation (its metrics, the training
// loss and seconds since the one before), the start-up time and peak memory, written as one JSON
// object:
//
//   {"steps": 2000, "train_seconds": 98.1, "val_loss": 2.01,          ← the last evaluation's metrics
//    "evaluations": [{"step": 250, "epoch": 0, "lr": …, "train_loss": …, "val_loss": …,
//                     "train_seconds": …, "eval_seconds": …, "skipped_steps": 0, "peak_rss_mib": …}, …],
//    "first_step": 1, "step_loss": […], "step_lr": […], "startup_seconds": 0.05, "peak_rss_mib": 310,
//    …the caller's entries}
//
// `train_seconds` counts training steps only (not evaluations, checkpoints or start-up). minidl
// train's --summary for the MLP and CNN keeps its own long-standing layout (cli/run_log.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <minidl/run/hook.h>

namespace minidl::run {

class Summary : public Hook {
 public:
  void on_step_begin(const Trainer&) override;
  void on_step(const Trainer&, const StepReport& step) override;
  void on_evaluation(const Trainer&, const EvalReport& eval) override;

  /// The summary as JSON text; `extra` adds entries whose values are JSON texts (e.g. a model's
  /// configuration {"config": "{\"layers\":4}"}); an entry that is not valid JSON is an Error.
  std::string json(const std::map<std::string, std::string>& extra = {}) const;
  /// Writes json(extra) to `path` atomically (data/atomic_file.h); `flag` names it in errors.
  void write(const std::string& path, const std::map<std::string, std::string>& extra = {},
             const std::string& flag = "--summary") const;

  const std::vector<EvalReport>& evaluations() const { return evaluations_; }
  double train_seconds() const { return train_seconds_; }

 private:
  int64_t first_step_ = 0, steps_ = 0;
  std::vector<float> step_loss_, step_lr_;
  std::vector<EvalReport> evaluations_;
  std::vector<double> eval_rss_mib_;
  double train_seconds_ = 0, startup_seconds_ = -1;
};

/// Peak resident memory of this process so far (MiB).
double peak_rss_mib();
/// Seconds since this process was started (exec), shared libraries' loading included; -1 if unknown.
double seconds_since_process_start();

}  // namespace minidl::run
