// What a run::Trainer tells the code attached to it: a Hook overrides the moments it cares about
// (all do nothing by default). Progress bars, telemetry, metrics files, summaries and minidl
// train's own lines are hooks; a run without any trains the same, silently.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace minidl::run {

class Trainer;

/// Named results of an evaluation, in the order the evaluation gives them: {"val_loss", 2.01}, …
using Metrics = std::vector<std::pair<std::string, double>>;

/// One training step, taken.
struct StepReport {
  int64_t epoch = 0;     // completed epochs before this step (0-based epoch of the step)
  int64_t batch = 0;     // batches done in the epoch, this one included (steps since the start without epochs)
  int64_t step = 0;      // optimizer steps taken, this one included
  double loss = 0;       // the batch's loss, before the update (the whole global batch's under MPI)
  double lr = 0;         // the lr the step used
  int64_t examples = 0;  // in the (global) batch
  double mean_loss = 0;  // the running mean since the epoch began (steps mode: since the last evaluation)
  int64_t seen = 0;      // examples behind mean_loss
  double seconds = 0;    // training seconds since then
};

/// An evaluation: after each epoch, or every `eval_every` steps and at the end.
struct EvalReport {
  int64_t epoch = 0;          // completed epochs (1-based number of the epoch just finished, in epochs mode)
  int64_t step = 0;           // optimizer steps taken
  int64_t skipped = 0;        // non-finite steps skipped since the last evaluation
  double train_loss = 0;      // mean training loss since the last evaluation (the epoch's), NaN if none
  Metrics metrics{};          // what the evaluation returned
  double train_seconds = 0;   // seconds of training steps since the last evaluation
  double eval_seconds = 0;    // seconds the evaluation took
  double lr = 0;              // the optimizer's lr now
  /// The metric called `name`; Error when the evaluation gave none.
  double metric(const std::string& name) const;
};

/// How run() ended: completed, or stopped by a signal (then where, and the checkpoint to resume).
struct Outcome {
  int signal = 0;          // SIGINT or SIGTERM that stopped the run; 0: it completed
  bool mid_epoch = false;  // stopped between steps (not at an epoch's end); always so without epochs
  int64_t epoch = 0;       // completed epochs when it stopped
  int64_t batch = 0;       // batches done in the epoch in progress
  int64_t step = 0;        // optimizer steps taken
  std::string checkpoint{};  // where the run can be resumed from; "" when nothing was saved
  bool completed() const { return signal == 0; }
  /// The exit status a program reports for it: 0, or 128 + the signal as a shell does.
  int exit_code() const { return signal == 0 ? 0 : 128 + signal; }
};

class Hook {
 public:
  virtual ~Hook() = default;
  virtual void on_start(const Trainer&) {}
  virtual void on_epoch_begin(const Trainer&, int64_t /*epoch, 0-based*/) {}
  /// Before a step's forward pass (after the schedule set its lr).
  virtual void on_step_begin(const Trainer&) {}
  /// After backward() and clipping, before the update: the gradients are the batch's.
  virtual void on_backward(const Trainer&) {}
  virtual void on_step(const Trainer&, const StepReport&) {}
  /// The epoch's last step was taken (before its evaluation).
  virtual void on_epoch_end(const Trainer&, int64_t /*epoch, 0-based*/) {}
  virtual void on_evaluation(const Trainer&, const EvalReport&) {}
  virtual void on_checkpoint(const Trainer&, const std::string& /*path*/) {}
  /// A signal stopped the run; the checkpoint (if any) is written.
  virtual void on_stop(const Trainer&, const Outcome&) {}
  /// The run completed its epochs or steps.
  virtual void on_end(const Trainer&) {}
};

}  // namespace minidl::run
