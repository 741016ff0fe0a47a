// A training run as a library: any model, loss, optimizer and lr schedule over a BatchSource, by
// epochs or by steps, with an evaluation every epoch (or every N steps), checkpoints that resume
// bitwise, and SIGINT/SIGTERM stopping the run between steps (saved where it stands). What a run
// reports (progress, telemetry, metrics, summaries) is attached as Hooks (run/hook.h).
//
//   run::LoaderSource source(loader);
//   run::Trainer trainer(model, optimizer, source, {.epochs = 3, .save = "mlp.safetensors"});
//   trainer.set_evaluation([&] { auto r = nn::evaluate(model, test_loader); return run::Metrics{{"test_accuracy", r.accuracy}}; });
//   if (resuming) trainer.resume("mlp.safetensors");
//   run::Outcome outcome = trainer.run();   // outcome.exit_code(): 0, or 130 after Ctrl-C (saved)
//
// One step is nn::train_step (zero_grad, forward, loss, backward, the finite checks, clipping, the
// update). The lr schedule is given the time of the step: in epochs mode the epoch as a fraction
// (epoch + batch / batches, as minidl train always did), in steps mode the number of steps taken.
// Under mpirun, data_parallel() makes the run data-parallel: every rank takes the same steps, the
// ranks agree on stopping, their weights are checked equal after each epoch, rank 0 alone saves.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <minidl/core/generator.h>
#include <minidl/nn/module.h>
#include <minidl/nn/train_step.h>
#include <minidl/optim/lr_scheduler.h>
#include <minidl/optim/optimizer.h>
#include <minidl/run/batch_source.h>
#include <minidl/run/checkpoint.h>
#include <minidl/run/hook.h>

namespace minidl::distributed {
class DataParallel;
}

namespace minidl::run {

struct TrainerOptions {
  int64_t epochs = 0;      // train this many epochs over the source, or
  int64_t steps = 0;       // this many steps (a source without epochs needs steps); exactly one is > 0
  int64_t eval_every = 0;  // steps mode: evaluate every N steps (and after the last); epochs mode: each epoch
  int64_t save_every = 0;  // steps mode: save every N steps (and after the last); epochs mode: each epoch
  /// The checkpoint's path; "{epoch}" becomes the completed epochs, "{step}" the steps taken, so
  /// each save may have its own file. Empty: no checkpoints (a stopped run then saves nothing).
  std::string save{};
  double clip_grad_norm = 0;    // > 0: clip the gradients' global norm to this
  bool skip_nonfinite = false;  // skip (and count) steps whose loss or gradients are not finite; else throw
  /// Install the SIGINT/SIGTERM handlers (run/interrupt.h) for run(). Off for a program that
  /// holds its own StopOnSignals (it may want them beyond run(): while writing its reports).
  bool handle_signals = true;
  /// The loss of the model's outputs against the batch's targets; empty: cross-entropy.
  std::function<Tensor(const Tensor& outputs, const Tensor& targets)> loss{};
  /// Appended to the message of a run whose loss or gradients stopped being finite ("; try …").
  std::string divergence_advice{};
  Metadata metadata{};  // the caller's entries in every checkpoint (a model's configuration, a vocabulary)
};

class Trainer {
 public:
  /// All must outlive the trainer. Options are checked here (Error naming the option).
  Trainer(nn::Module& model, optim::Optimizer& optimizer, BatchSource& source, TrainerOptions options);
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  /// The lr schedule, set before each step; its state is saved in checkpoints.
  void set_schedule(optim::LRSchedule& schedule) { schedule_ = &schedule; }
  /// What an evaluation measures (called with the model in eval mode; training resumes after).
  void set_evaluation(std::function<Metrics()> evaluate) { evaluate_ = std::move(evaluate); }
  void add_hook(Hook& hook) { hooks_.push_back(&hook); }
  /// Another generator the run draws from (dropout's masks, an augmentation), saved in checkpoints
  /// under `key` (ending in "_rng") and restored by resume().
  void track_generator(std::string key, Generator& generator);
  /// Under mpirun: the gradients' exchange, made once the weights are final (after resume()).
  void data_parallel(distributed::DataParallel& parallel);

  /// Continues the run saved in `path`: weights, optimizer state, schedule, generators, position.
  /// Returns the checkpoint, for the caller's own metadata.
  Checkpoint resume(const std::string& path);
  /// The same from a checkpoint already read (and checked by the caller); `path` names it in errors.
  void resume(const Checkpoint& checkpoint, const std::string& path);

  /// Trains until the epochs or steps are done, or a signal asks to stop.
  Outcome run();

  /// Where the run stands now, as a checkpoint records it.
  TrainingState state() const;
  /// Writes a checkpoint of the run as it stands (rank 0 only, under mpirun).
  void save(const std::string& path) const;
  /// The checkpoint path for the run as it stands ("{epoch}" and "{step}" replaced); "" without --save.
  std::string checkpoint_path() const;

  nn::Module& model() const { return model_; }
  optim::Optimizer& optimizer() const { return optimizer_; }
  BatchSource& source() const { return source_; }
  const TrainerOptions& options() const { return options_; }
  int64_t epoch() const { return epoch_; }  // completed epochs
  int64_t batch() const { return batch_; }  // batches done in the epoch in progress
  int64_t step() const;                     // optimizer steps taken
  int64_t start_epoch() const { return start_epoch_; }
  int64_t start_batch() const { return start_batch_; }
  int64_t skipped_steps() const { return skipped_total_; }  // non-finite steps skipped in this process
  distributed::DataParallel* parallel() const { return parallel_; }

 private:
  bool has_epochs() const { return source_.batches_per_epoch() > 0; }
  void begin_epoch();
  bool take_step();  // false: a non-finite step skipped
  bool train_epoch();
  void end_epoch();
  void evaluate();
  Outcome run_epochs();
  Outcome run_steps();
  Outcome stop(int signal, bool mid_epoch);
  int agreed_stop(bool between_steps) const;
  void save_here();

  nn::Module& model_;
  optim::Optimizer& optimizer_;
  BatchSource& source_;
  TrainerOptions options_;
  optim::LRSchedule* schedule_ = nullptr;
  std::function<Metrics()> evaluate_;
  std::vector<Hook*> hooks_;
  std::vector<std::pair<std::string, Generator*>> generators_;
  distributed::DataParallel* parallel_ = nullptr;
  nn::StepOptions step_options_;
  // Where the run stands.
  int64_t epoch_ = 0, batch_ = 0, start_epoch_ = 0, start_batch_ = 0;
  int64_t attempted_ = 0;  // steps taken or skipped: what steps mode counts
  bool epoch_begun_ = false;
  GeneratorState rng_before_epoch_{};
  double loss_sum_ = 0;  // Σ loss · examples since the epoch began (steps mode: the last evaluation)
  int64_t seen_ = 0, skipped_ = 0, skipped_total_ = 0;
  double train_seconds_ = 0, last_finite_loss_;
};

/// `pattern` with every "{epoch}" replaced by `epoch` and every "{step}" by `step`.
std::string checkpoint_path(const std::string& pattern, int64_t epoch, int64_t step);

/// Whether the run was asked to stop (run/interrupt.h's stop_signal), as every rank of a
/// data-parallel run agrees (an all-reduce of the flags; `parallel` may be null: this process's).
int agreed_stop(distributed::DataParallel* parallel);

}  // namespace minidl::run
