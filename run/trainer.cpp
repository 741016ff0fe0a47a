#include "run/trainer.h"

#include <chrono>
#include <cmath>
#include <csignal>
#include <optional>
#include <span>

#include "core/error.h"
#include "distributed/agreement.h"
#include "distributed/collectives.h"
#include "distributed/data_parallel.h"
#include "distributed/world.h"
#include "run/interrupt.h"

namespace minidl::run {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }
}  // namespace

double EvalReport::metric(const std::string& name) const {
  for (const auto& [n, v] : metrics)
    if (n == name) return v;
  fail("run::EvalReport: no metric '", name, "' (the evaluation gave ", metrics.size(), ")");
}

std::string checkpoint_path(const std::string& pattern, int64_t epoch, int64_t step) {
  std::string path = pattern;
  for (const auto& [key, value] : {std::pair<std::string, int64_t>{"{epoch}", epoch}, {"{step}", step}}) {
    const std::string number = std::to_string(value);
    for (size_t at = path.find(key); at != std::string::npos; at = path.find(key, at + number.size()))
      path.replace(at, key.size(), number);
  }
  return path;
}

int agreed_stop(distributed::DataParallel* parallel) {
  if (!parallel) return stop_signal;
  int32_t flag = stop_signal;
  distributed::all_reduce(std::span<int32_t>(&flag, 1), distributed::ReduceOp::max);
  return flag;
}

Trainer::Trainer(nn::Module& model, optim::Optimizer& optimizer, BatchSource& source, TrainerOptions options)
    : model_(model), optimizer_(optimizer), source_(source), options_(std::move(options)), last_finite_loss_(NAN) {
  check((options_.epochs > 0) != (options_.steps > 0), "run::Trainer: give epochs or steps (one of them > 0), got "
        "epochs ", options_.epochs, " and steps ", options_.steps);
  check(options_.steps > 0 || has_epochs(), "run::Trainer: a source without epochs needs steps, not epochs");
  check(options_.eval_every >= 0 && options_.save_every >= 0, "run::Trainer: eval_every and save_every must be >= 0, "
        "got ", options_.eval_every, " and ", options_.save_every);
  check(std::isfinite(options_.clip_grad_norm) && options_.clip_grad_norm >= 0,
        "run::Trainer: clip_grad_norm must be >= 0 (0: off), got ", options_.clip_grad_norm);
  step_options_.loss = options_.loss;
  step_options_.clip_grad_norm = options_.clip_grad_norm;
  step_options_.after_backward = [this] {
    for (Hook* h : hooks_) h->on_backward(*this);
  };
}

Trainer::~Trainer() = default;

void Trainer::track_generator(std::string key, Generator& generator) {
  check(key.ends_with("_rng") && key != "loader_rng", "run::Trainer::track_generator: the key must end in '_rng' "
        "(and not be loader_rng), got '", key, "'");
  generators_.emplace_back(std::move(key), &generator);
}

void Trainer::data_parallel(distributed::DataParallel& parallel) {
  parallel_ = &parallel;
  step_options_.sync = &parallel;
}

int64_t Trainer::step() const { return optimizer_.steps(); }

Checkpoint Trainer::resume(const std::string& path) {
  Checkpoint ck = load_checkpoint(path);
  resume(ck, path);
  return ck;
}

void Trainer::resume(const Checkpoint& ck, const std::string& path) {
  const TrainingState& s = ck.state;
  check(ck.optimizer == optimizer_.name(), "checkpoint: ", path, ": optimizer '", ck.optimizer,
        "' does not match the run's ('", optimizer_.name(), "')");
  check(s.epoch >= 0 && (options_.epochs == 0 || s.epoch <= options_.epochs), "checkpoint: ", path, ": epoch ",
        s.epoch, " is not a position in a run of ", options_.epochs, " epochs");
  // batch == batches is a position: a signal during an epoch's last step stops the run right after it.
  check(!has_epochs() || s.batch <= source_.batches_per_epoch(), "checkpoint: ", path, ": stopped after batch ",
        s.batch, " of an epoch that has ", source_.batches_per_epoch(), " batches: not a position in this run");
  load_parameters(model_, ck.parameters, path);
  optimizer_.load_state(ck.optimizer_state, s.optimizer_steps);
  if (schedule_) schedule_->load_state(s.schedule_state);
  source_.generator().set_state(s.loader_rng);
  for (auto& [key, generator] : generators_)
    if (const GeneratorState* saved = s.generator(key)) generator->set_state(*saved);
  epoch_ = start_epoch_ = s.epoch;
  batch_ = start_batch_ = s.batch;
  loss_sum_ = s.epoch_loss_sum;
  seen_ = s.epoch_seen;
  attempted_ = s.optimizer_steps;
}

TrainingState Trainer::state() const {
  // A position inside an epoch, with its running loss; without epochs, the running loss since the
  // last evaluation (none right after one: the batch index means nothing to such a source).
  const bool position = batch_ > 0 && (has_epochs() || seen_ > 0);
  TrainingState s{.epoch = epoch_,
                  .optimizer_steps = optimizer_.steps(),
                  .loader_rng = epoch_begun_ ? rng_before_epoch_ : source_.generator().state(),
                  .batch = position ? batch_ : 0,
                  .epoch_loss_sum = position ? loss_sum_ : 0,
                  .epoch_seen = position ? seen_ : 0,
                  .schedule_state = schedule_ ? schedule_->state() : std::vector<double>{}};
  for (const auto& [key, generator] : generators_) s.generators.emplace_back(key, generator->state());
  return s;
}

std::string Trainer::checkpoint_path() const {
  return options_.save.empty() ? "" : run::checkpoint_path(options_.save, epoch_, attempted_);
}

void Trainer::save(const std::string& path) const {
  if (distributed::rank() == 0) save_checkpoint(path, model_, optimizer_, state(), options_.metadata);
}

void Trainer::save_here() {
  if (options_.save.empty()) return;
  const std::string path = checkpoint_path();
  save(path);
  for (Hook* h : hooks_) h->on_checkpoint(*this, path);
}

// Whether the run was asked to stop, as every rank agrees: a signal reaches the ranks of mpirun at
// slightly different moments, so each step's exchange carries every rank's flag, and the points
// outside steps (an epoch's end) ask the others once more — otherwise one rank would stop while
// another went on to the next collective, and both would wait for the watchdog.
int Trainer::agreed_stop(bool between_steps) const {
  if (!parallel_) return stop_signal;
  return between_steps ? parallel_->agreed_stop() : run::agreed_stop(parallel_);
}

void Trainer::begin_epoch() {
  rng_before_epoch_ = source_.generator().state();
  source_.begin_epoch();  // draws this epoch's order
  epoch_begun_ = true;
  model_.train();
  for (Hook* h : hooks_) h->on_epoch_begin(*this, epoch_);
}

void Trainer::end_epoch() {
  for (Hook* h : hooks_) h->on_epoch_end(*this, epoch_);
}

// One step: the batch, the schedule's lr, nn::train_step. A non-finite loss or gradient stops the
// run with an Error, or (skip_nonfinite) is counted and skipped, the weights as before.
bool Trainer::take_step() {
  const auto start = Clock::now();
  const data::Batch batch = source_.batch(batch_);
  const int64_t batches = source_.batches_per_epoch();
  if (schedule_)
    schedule_->apply(optimizer_, options_.steps > 0 ? static_cast<double>(attempted_)
                                                    : static_cast<double>(epoch_) + static_cast<double>(batch_) / batches);
  for (Hook* h : hooks_) h->on_step_begin(*this);
  ++batch_, ++attempted_;
  double loss = 0;
  try {
    loss = nn::train_step(model_, optimizer_, batch.inputs, batch.targets, step_options_);
  } catch (const nn::NonFiniteError& problem) {
    optimizer_.zero_grad();
    if (!options_.skip_nonfinite) {
      const std::string last = std::isfinite(last_finite_loss_) ? str_cat(last_finite_loss_) : "none yet";
      fail("training diverged at ", has_epochs() ? str_cat("epoch ", epoch_ + 1, ", ") : "", "step ",
           optimizer_.steps() + skipped_total_ + 1, ": ", problem.what(), " (last finite loss ", last, ")",
           options_.divergence_advice);
    }
    ++skipped_, ++skipped_total_;
    train_seconds_ += seconds_since(start);
    return false;
  }
  last_finite_loss_ = loss;
  // The loss is the global batch's on every rank (DataParallel::finish_step), and so are the counts.
  const int64_t examples = parallel_ ? parallel_->global_examples() : batch.targets.dim() > 0 ? batch.targets.size(0) : 0;
  loss_sum_ += loss * static_cast<double>(examples);
  seen_ += examples;
  train_seconds_ += seconds_since(start);
  const StepReport report{.epoch = epoch_, .batch = batch_, .step = optimizer_.steps(), .loss = loss,
                          .lr = optimizer_.lr(), .examples = examples,
                          .mean_loss = seen_ ? loss_sum_ / static_cast<double>(seen_) : 0, .seen = seen_,
                          .seconds = train_seconds_};
  for (Hook* h : hooks_) h->on_step(*this, report);
  return true;
}

// The epoch's remaining steps; false when a signal stopped it between two of them.
bool Trainer::train_epoch() {
  if (batch_ == 0) loss_sum_ = 0, seen_ = 0;  // a resumed epoch keeps its running sums
  skipped_ = 0, train_seconds_ = 0;
  begin_epoch();
  while (batch_ < source_.batches_per_epoch()) {
    if (agreed_stop(true)) return false;
    take_step();
  }
  end_epoch();
  return true;
}

// The evaluation (the replicas' buffers made rank 0's first), reported with the training since the
// last one; the schedule observes the training loss (ReduceLROnPlateau: the test set must not steer).
void Trainer::evaluate() {
  const auto start = Clock::now();
  EvalReport r{.epoch = epoch_, .step = optimizer_.steps(), .skipped = skipped_,
               .train_loss = seen_ ? loss_sum_ / static_cast<double>(seen_) : NAN, .metrics = {},
               .train_seconds = train_seconds_, .eval_seconds = 0, .lr = optimizer_.lr()};
  if (evaluate_) {
    if (parallel_) parallel_->sync_buffers();  // rank 0's running statistics on every rank
    model_.eval();
    r.metrics = evaluate_();
    model_.train();
  }
  r.eval_seconds = seconds_since(start);
  if (schedule_) schedule_->observe(r.train_loss);
  for (Hook* h : hooks_) h->on_evaluation(*this, r);
}

// The run stops between steps (mid_epoch: saving where it stands, so that resume() continues it
// exactly) or after an epoch (whose checkpoint is saved already). In epochs mode a mid-epoch
// checkpoint's "{epoch}" is the number of the epoch in progress, as its epoch-end one would be.
Outcome Trainer::stop(int signal, bool mid_epoch) {
  Outcome o{.signal = signal, .mid_epoch = mid_epoch, .epoch = epoch_, .batch = batch_, .step = optimizer_.steps()};
  if (!options_.save.empty()) {
    const bool in_progress = mid_epoch && options_.epochs > 0;
    o.checkpoint = run::checkpoint_path(options_.save, epoch_ + (in_progress ? 1 : 0), attempted_);
    if (mid_epoch) save(o.checkpoint);
  }
  for (Hook* h : hooks_) h->on_stop(*this, o);
  if (parallel_) distributed::barrier();  // the checkpoint is complete before any rank's exit ends the job
  return o;
}

Outcome Trainer::run_epochs() {
  while (epoch_ < options_.epochs) {
    if (!train_epoch())  // the ranks stopped mid-epoch all stopped after the same step
      return stop(parallel_ ? parallel_->agreed_stop() : static_cast<int>(stop_signal), true);
    // At the epoch's end the ranks ask each other (the last step's exchange may predate the signal).
    if (const int signal = agreed_stop(false)) return stop(signal, true);
    // Replicas apply the same all-reduced updates, so they are equal bit for bit: a cheap hash per
    // epoch proves it, and stops a run whose ranks parted (distributed/agreement.h).
    if (parallel_)
      distributed::check_replicas_agree(distributed::parameters_hash(model_.parameters()),
                                 str_cat("by step ", optimizer_.steps(), " (checked after epoch ", epoch_ + 1, ")"));
    ++epoch_, batch_ = 0, epoch_begun_ = false;
    evaluate();
    save_here();
    if (const int late = agreed_stop(false); late && epoch_ < options_.epochs) return stop(late, false);
  }
  for (Hook* h : hooks_) h->on_end(*this);
  return {.epoch = epoch_, .step = optimizer_.steps(), .checkpoint = checkpoint_path()};
}

// Steps mode: the source's epochs (if any) roll over as they end; an evaluation every eval_every
// steps and a checkpoint every save_every, both after the last step too. The training loss an
// evaluation reports is the mean since the previous one.
Outcome Trainer::run_steps() {
  const int64_t batches = source_.batches_per_epoch();
  skipped_ = 0, train_seconds_ = 0;
  model_.train();
  const auto every = [this](int64_t n) { return n > 0 && attempted_ % n == 0; };
  while (attempted_ < options_.steps) {
    if (const int signal = agreed_stop(true)) return stop(signal, true);
    if (batches > 0 && !epoch_begun_) begin_epoch();
    take_step();
    if (batches > 0 && batch_ == batches) {
      end_epoch();
      ++epoch_, batch_ = 0, epoch_begun_ = false;
    }
    const bool last = attempted_ == options_.steps;
    if (last || every(options_.eval_every)) {
      evaluate();
      loss_sum_ = 0, seen_ = 0, skipped_ = 0, train_seconds_ = 0;
    }
    if (last || every(options_.save_every)) save_here();
  }
  for (Hook* h : hooks_) h->on_end(*this);
  return {.epoch = epoch_, .batch = batch_, .step = optimizer_.steps(), .checkpoint = checkpoint_path()};
}

Outcome Trainer::run() {
  std::optional<StopOnSignals> signals;
  if (options_.handle_signals) signals.emplace();
  for (Hook* h : hooks_) h->on_start(*this);
  return options_.steps > 0 ? run_steps() : run_epochs();
}

}  // namespace minidl::run
