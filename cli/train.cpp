// minidl train: make the run, then per epoch train (shuffle; per batch one nn::train_step: forward,
// cross-entropy, zero_grad, backward, step), evaluate on the test set, report, checkpoint. What the
// run reports lives in run_log.cpp, the signal handling in interrupt.cpp.
//
// Under mpirun the same recipe is data-parallel (docs/distributed.md): each rank takes its share of
// every global batch (--batch-size stays the global batch), dist::DataParallel averages the
// gradients during backward(), every rank takes the same step; rank 0 alone prints and writes files.
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <sstream>

#include "autograd/reduce.h"
#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/interrupt.h"
#include "cli/model.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/run_log.h"
#include "cli/telemetry.h"
#include "core/allocator.h"
#include "core/backend.h"
#include "data/atomic_file.h"
#include "data/augment.h"
#include "data/data_loader.h"
#include "data/shard.h"
#include "dist/agreement.h"
#include "dist/data_parallel.h"
#include "dist/evaluate.h"
#include "dist/world.h"
#include "nn/evaluate.h"
#include "nn/sequential.h"
#include "nn/train_step.h"
#include "optim/lr_scheduler.h"
#include "optim/registry.h"
#include "optim/schedule_registry.h"

namespace minidl::cli {

void validate(const TrainConfig& c) {
  const auto require = [](bool ok, auto&&... parts) {
    if (!ok) throw UsageError(str_cat(parts...));
  };
  require(c.dataset == "mnist" || c.dataset == "fashion-mnist", "unknown dataset '", c.dataset,
          "' (known: mnist, fashion-mnist)");
  require(c.epochs >= 1, "--epochs must be >= 1, got ", c.epochs);
  require(c.batch_size >= 1, "--batch-size must be >= 1, got ", c.batch_size);
  require(std::isfinite(c.lr) && c.lr > 0, "--lr must be > 0, got ", c.lr);
  require(!c.momentum || (*c.momentum >= 0 && *c.momentum < 1), "--momentum must be in [0, 1), got ",
          c.momentum.value_or(0));
  require(!c.dampening || (*c.dampening >= 0 && *c.dampening <= 1), "--dampening must be in [0, 1], got ",
          c.dampening.value_or(0));
  require(std::isfinite(c.weight_decay) && c.weight_decay >= 0, "--weight-decay must be >= 0, got ", c.weight_decay);
  require(c.schedule == "none" || c.schedule == "step" || c.schedule == "multistep" || c.schedule == "exponential" ||
              c.schedule == "cosine" || c.schedule == "onecycle" || c.schedule == "plateau",
          "--schedule must be none, step, multistep, exponential, cosine, onecycle or plateau, got '", c.schedule, "'");
  require(c.schedule != "multistep" || !c.milestones.empty(), "--schedule multistep needs --milestones, e.g. 2,4");
  for (size_t i = 0; i < c.milestones.size(); ++i)
    require(c.milestones[i] >= 1 && (i == 0 || c.milestones[i] > c.milestones[i - 1]),
            "--milestones must be increasing epochs >= 1, got ", c.milestones[i]);
  require(c.patience >= 0, "--patience must be >= 0, got ", c.patience);
  require(std::isfinite(c.pct_start) && c.pct_start > 0 && c.pct_start < 1, "--pct-start must be in (0, 1), got ",
          c.pct_start);
  require(c.step_size >= 0, "--step-size must be >= 0, got ", c.step_size);
  require(std::isfinite(c.gamma) && c.gamma > 0 && c.gamma <= 1 && (c.schedule != "plateau" || c.gamma < 1),
          "--gamma must be in (0, 1]", c.schedule == "plateau" ? " (plateau: (0, 1))" : "", ", got ", c.gamma);
  require(std::isfinite(c.warmup_epochs) && c.warmup_epochs >= 0, "--warmup-epochs must be >= 0, got ",
          c.warmup_epochs);
  require(!c.hidden.empty(), "--hidden needs at least one layer size");
  for (int64_t h : c.hidden)
    require(h >= 1 && h <= kMaxLayerWidth, "--hidden sizes must be between 1 and ", kMaxLayerWidth, ", got ", h);
  require(mlp_parameter_count(c.hidden) > 0, "--hidden: a model with these layers would have more than ",
          kMaxParameters, " parameters");
  require(c.augment_shift >= 0 && c.augment_shift < 28, "--augment-shift must be in [0, 28), got ", c.augment_shift);
  try {
    plan_run_model(c);
  } catch (const Error& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
  require(std::isfinite(c.clip_grad_norm) && c.clip_grad_norm >= 0, "--clip-grad-norm must be > 0 (or 0: off), got ",
          c.clip_grad_norm);
}

namespace {

// What a step found wrong, for the message that stops a diverging run.
std::string nonfinite_message(int64_t epoch, int64_t step, const std::string& what, double last_finite_loss,
                              const TrainConfig& c) {
  std::ostringstream os;
  os << "training diverged at epoch " << epoch + 1 << ", step " << step << ": " << what << " (last finite loss ";
  if (std::isfinite(last_finite_loss))
    os << last_finite_loss;
  else
    os << "none yet";
  os << "); try a smaller --lr (now " << optim::format_option(c.lr) << ")"
     << (c.clip_grad_norm > 0 ? "" : ", --clip-grad-norm") << " or --skip-nonfinite";
  return os.str();
}

// Every "{epoch}" in the path becomes the epoch's number.
std::string checkpoint_path(const std::string& pattern, int64_t epoch) {
  std::string path = pattern;
  const std::string number = std::to_string(epoch);
  for (size_t at = path.find("{epoch}"); at != std::string::npos; at = path.find("{epoch}", at + number.size()))
    path.replace(at, 7, number);
  return path;
}

// The checkpoints of epochs first … last: with "{epoch}" in the pattern each one has its own path
// (perhaps its own directory), and each is checked, as every output, by the one output policy
// (data/atomic_file.h) before any training time is spent.
std::vector<data::NamedFile> save_paths(const std::string& pattern, int64_t first, int64_t last) {
  const bool per_epoch = pattern.find("{epoch}") != std::string::npos;
  std::vector<data::NamedFile> paths;
  for (int64_t epoch = first; epoch <= (per_epoch ? last : first); ++epoch)
    paths.push_back({"--save", checkpoint_path(pattern, epoch)});
  return paths;
}

// Every output of the run: each an acceptable target, no two the same file, none the --resume input.
void check_outputs(const TrainArgs& args, int64_t first_epoch, int64_t last_epoch) {
  std::vector<data::NamedFile> outputs;
  if (args.save_given || !args.save.empty()) outputs = save_paths(args.save, first_epoch, last_epoch);
  for (const data::NamedFile& f : {data::NamedFile{"--report", args.report}, {"--summary", args.summary},
                                   {"--metrics", args.metrics}, {"--telemetry", args.telemetry}})
    if (!f.path.empty()) outputs.push_back(f);
  for (const data::NamedFile& f : outputs) data::check_output_target(f.path, f.flag.c_str());
  data::check_distinct_outputs(outputs);
  // The checkpoint may be saved back over the one resumed (read whole at start: the usual way to
  // continue a run); no other output may replace it.
  std::vector<data::NamedFile> reports;
  for (const data::NamedFile& f : outputs)
    if (f.flag != "--save") reports.push_back(f);
  data::check_distinct_outputs(reports, {{"--resume", args.resume}});
}

std::string describe(const TrainConfig& c, int64_t params) {
  std::ostringstream os;
  os << c.dataset << ", model " << model_name(c) << " (" << params << " parameters), " << c.optimizer << " lr "
     << optim::format_option(c.lr);
  // Only the options this optimizer uses, as it resolved them (defaults included, "off" ones left out).
  for (const auto& [key, value] : optim::optimizer_options_in_use(c.optimizer, optimizer_config(c))) {
    os << ' ' << key << ' ' << value;
    if (key == "weight_decay" && c.no_decay_bias) os << " (not on biases)";
  }
  if (c.schedule != "none") os << ", " << c.schedule << " schedule";
  if (c.warmup_epochs > 0) os << " with " << c.warmup_epochs << " warm-up epochs";
  if (c.augment_shift > 0)
    os << ", shifts of up to " << c.augment_shift << (c.augment_shift == 1 ? " pixel" : " pixels");
  os << ", batch " << c.batch_size;
  if (dist::world_size() > 1)  // the global batch, and the largest share of it (the remainder rule)
    os << " over " << dist::world_size() << " ranks ("
       << data::shard_range(c.batch_size, {0, dist::world_size()}).second << " per rank)";
  os << ", " << c.epochs << (c.epochs == 1 ? " epoch" : " epochs") << ", seed " << c.seed << ", " << num_threads()
     << (num_threads() == 1 ? " thread" : " threads");
  if (dist::world_size() > 1) os << " per rank";
  return os.str();
}

}  // namespace

std::unique_ptr<optim::LRSchedule> make_schedule(const TrainConfig& c, int64_t steps_per_epoch) {
  return optim::make_schedule(c.schedule, {.lr = c.lr,
                                           .epochs = c.epochs,
                                           .steps_per_epoch = steps_per_epoch,
                                           .gamma = c.gamma,
                                           .step_size = c.step_size,
                                           .milestones = c.milestones,
                                           .patience = c.patience,
                                           .pct_start = c.pct_start,
                                           .warmup_epochs = c.warmup_epochs});
}

optim::OptimizerConfig optimizer_config(const TrainConfig& c) {
  return {.lr = c.lr,
          .momentum = c.momentum,
          .dampening = c.dampening,
          .weight_decay = c.weight_decay,
          .form = c.nesterov_form,
          .options = c.optimizer_options};
}

std::unique_ptr<optim::Optimizer> make_trainer_optimizer(const TrainConfig& config, const nn::Module& model) {
  // With --no-decay-bias the biases (1-D parameters) form a second group without weight decay.
  std::vector<Tensor> decayed, biases;
  for (const Tensor& p : model.parameters()) (config.no_decay_bias && p.dim() == 1 ? biases : decayed).push_back(p);
  std::unique_ptr<optim::Optimizer> optimizer;
  try {
    optimizer = optim::make_optimizer(config.optimizer, decayed, optimizer_config(config));
  } catch (const Error& e) {
    throw UsageError(e.what());  // an option the optimizer rejects is a usage error too
  }
  if (!biases.empty()) optimizer->add_param_group({std::move(biases), config.lr, 0.f});
  return optimizer;
}

namespace {

// Everything a run needs, made and checked before its first step: the settings (from the flags, or
// from the checkpoint when resuming), the model, the optimizer, the data and where the run stands.
// Each source of randomness has its own generator, all saved in checkpoints: initialization (seed),
// data order (seed + 1), dropout's masks (seed + 2) and the augmentation's shifts (seed + 3).
struct Run {
  explicit Run(const TrainArgs& args);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  /// Where the run stands, for a checkpoint: `epoch` epochs completed, plus `batch` batches of the
  /// next (0: at an epoch's end; else rng is the loader's state before that epoch's shuffle).
  TrainingState state(int64_t epoch, int64_t batch = 0, double loss_sum = 0, int64_t seen = 0,
                      std::array<uint64_t, 4> rng = {});

  Checkpoint resumed;  // empty unless --resume (declared first: run_settings fills it for `config`)
  TrainConfig config;
  Device device;
  Generator init, noise, augment;
  std::shared_ptr<nn::Sequential> model;
  Shape example_shape;  // one example as the model takes it
  bool has_dropout;
  std::unique_ptr<optim::Optimizer> optimizer;
  data::ImageDataset train, test;
  data::DataLoader loader, test_loader;
  std::unique_ptr<optim::LRSchedule> schedule;
  float background;  // a 0 pixel, normalized: what shifted images uncover
  int64_t start_epoch;
  std::unique_ptr<Telemetry> telemetry;  // --telemetry
  nn::StepOptions step_options;          // gradient clipping, the telemetry's hook
  bool auto_threads;                     // --threads 0: follow the CPUs free at each epoch
  int64_t skipped_total = 0;             // non-finite steps skipped (--skip-nonfinite)
  double last_finite_loss = NAN;
  /// Under mpirun: the gradients' exchange (step_options.sync), made last, once the weights are
  /// final (it broadcasts rank 0's); null in a run of one process.
  std::unique_ptr<dist::DataParallel> parallel;
};

// A setting's value as a person wrote it: a float setting (lr) as its shortest float text, "0.1"
// rather than the double "0.10000000149011612".
std::string shortest(const nlohmann::json& value) {
  if (!value.is_number_float() || static_cast<double>(value.get<float>()) != value.get<double>()) return value.dump();
  char text[32];
  const auto [end, ec] = std::to_chars(text, text + sizeof text, value.get<float>());
  return ec == std::errc() ? std::string(text, end) : value.dump();
}

constexpr double kMaxBucketMiB = 65536;  // far past any model's gradients: a bucket of all of them

// What every rank of a data-parallel run must have alike (dist/agreement.h): every setting of the
// run, the parameters' shapes, where a resumed run continues, the exchange's flags, the data.
dist::Fingerprint fingerprint(const Run& run, const TrainArgs& args) {
  dist::Fingerprint f;
  const nlohmann::json settings = nlohmann::json::parse(to_json(run.config));
  for (const auto& [key, value] : settings.items())
    f.emplace_back(key, value.is_string() ? value.get<std::string>() : shortest(value));
  std::string shapes;
  for (const auto& [name, p] : run.model->named_parameters()) shapes += str_cat(name, ' ', p.shape(), ' ');
  f.emplace_back("the model's parameters", shapes);
  f.emplace_back("the resumed position", str_cat("epoch ", run.resumed.state.epoch, " batch ", run.resumed.state.batch,
                                                 " step ", run.resumed.state.optimizer_steps));
  f.emplace_back("--bucket-mb", str_cat(args.bucket_mb));
  f.emplace_back("--no-overlap", str_cat(args.no_overlap));
  f.emplace_back("the training examples", str_cat(run.train.size()));
  f.emplace_back("the test examples", str_cat(run.test.size()));
  f.emplace_back("the training data's hash", str_cat(run.train.content_hash()));
  f.emplace_back("the test data's hash", str_cat(run.test.content_hash()));
  return f;
}

TrainConfig run_settings(const TrainArgs& args, Checkpoint& resumed) {
  if (args.resume.empty()) return args.config;
  if (!args.run_flags_given.empty())
    throw UsageError("--" + args.run_flags_given.front() +
                     " cannot be combined with --resume: a resumed run keeps its checkpoint's settings");
  resumed = load_checkpoint(args.resume);
  TrainConfig config = resumed.config;
  if (args.epochs_given) config.epochs = args.config.epochs;
  if (resumed.state.epoch >= config.epochs)
    throw UsageError(str_cat(args.resume, " has completed ", resumed.state.epoch, " of ", config.epochs,
                             " epochs; pass --epochs N with N > ", resumed.state.epoch, " to train further"));
  return config;
}

// Every setting and flag checked before any work (model, data): the device the run uses.
Device checked_device(const TrainArgs& args, const TrainConfig& config, const Checkpoint& resumed) {
  validate(config);
  if (args.log_every < 0) throw UsageError(str_cat("--log-every must be >= 0, got ", args.log_every));
  // Checked here, in a process of one too: 1e30 MiB once became a negative byte count.
  if (!(std::isfinite(args.bucket_mb) && args.bucket_mb > 0 && args.bucket_mb <= kMaxBucketMiB))
    throw UsageError(str_cat("--bucket-mb must be in (0, ", kMaxBucketMiB, "] MiB, got ", args.bucket_mb));
  apply_threads_flag(args.threads);
  // One GPU per rank: plain "cuda" is the rank's own among those of its machine.
  const Device device = parse_device(
      args.device == "cuda" && dist::world_size() > 1 ? str_cat("cuda:", dist::local_rank()) : args.device);
  check_outputs(args, resumed.state.epoch + 1, config.epochs);
  return device;
}

// Initialized on the host from the seed, then moved: the same weights on every device.
std::shared_ptr<nn::Sequential> on_device(std::shared_ptr<nn::Sequential> model, Device device) {
  model->to(device);
  return model;
}

data::ImageDataset load_split(const TrainArgs& args, const TrainConfig& config, data::Split split) {
  const std::string dir = args.data_dir.empty() ? default_data_dir(config.dataset) : args.data_dir;
  check_data_present(dir, config.dataset);
  return data::load_mnist_format(dir, split, dataset_info(config.dataset));
}

Run::Run(const TrainArgs& args)
    : resumed(),
      config(run_settings(args, resumed)),
      device(checked_device(args, config, resumed)),
      init(config.seed),
      noise(config.seed + 2),
      augment(config.seed + 3),
      model(on_device(make_model(config, init, &noise), device)),
      example_shape(model_input_shape(config)),
      has_dropout(plan_run_model(config).has_dropout),
      optimizer(make_trainer_optimizer(config, *model)),
      train(load_split(args, config, data::Split::train)),
      test(load_split(args, config, data::Split::test)),
      loader(train, {.batch_size = config.batch_size,
                     .shuffle = true,
                     .seed = config.seed + 1,
                     .device = device,
                     .shard = {dist::rank(), dist::world_size()}}),
      test_loader(test, {.batch_size = evaluation_batch(config),
                         .device = device,
                         .shard = {dist::rank(), dist::world_size()}}),
      schedule(make_schedule(config, loader.num_batches())),
      background(-dataset_info(config.dataset).mean / dataset_info(config.dataset).std),
      start_epoch(resumed.state.epoch),
      telemetry(args.telemetry.empty()
                    ? nullptr
                    : std::make_unique<Telemetry>(args.telemetry, *optimizer, model->named_parameters())),
      step_options(),
      auto_threads(args.threads == 0) {
  step_options.clip_grad_norm = config.clip_grad_norm;
  if (telemetry) step_options.after_backward = [t = telemetry.get()] { t->gradients_ready(); };
  if (!args.resume.empty()) {
    // A checkpoint describes the global run (global batch, the loader's and the shifts' generators),
    // so any number of ranks can continue it.
    check_resume_position(resumed.state, loader.num_batches(), config.batch_size, args.resume);
    load_parameters(*model, resumed.parameters, args.resume);
    optimizer->load_state(resumed.optimizer_state, resumed.state.optimizer_steps);
    schedule->load_state(resumed.state.schedule_state);
    loader.generator().set_state(resumed.state.loader_rng);
    if (resumed.state.noise_rng) noise.set_state(*resumed.state.noise_rng);
    if (resumed.state.augment_rng) augment.set_state(*resumed.state.augment_rng);
  }
  if (dist::world_size() > 1) {
    check(std::isfinite(args.bucket_mb) && args.bucket_mb > 0, "--bucket-mb must be > 0, got ", args.bucket_mb);
    dist::check_ranks_agree(fingerprint(*this, args));  // before any collective that assumes it
    // Dropout's masks: each rank draws its own share's, from a stream of its own (seed + 2, then
    // moved on by rank), so that the ranks' masks are not copies of one another. They are not the
    // single process's masks: a run with dropout is data-parallel in distribution, not in bits.
    for (int r = 0; r < dist::rank(); ++r) noise.set_state(Generator(noise.next_u64()).state());
    parallel = std::make_unique<dist::DataParallel>(
        *model, dist::DataParallelOptions{.bucket_bytes = static_cast<int64_t>(args.bucket_mb * (1 << 20)),
                                          .stop_flag = &stop_signal,
                                          .overlap = !args.no_overlap});
    step_options.sync = parallel.get();
  }
}

TrainingState Run::state(int64_t epoch, int64_t batch, double loss_sum, int64_t seen, std::array<uint64_t, 4> rng) {
  using RngState = std::optional<std::array<uint64_t, 4>>;
  return {.epoch = epoch,
          .optimizer_steps = optimizer->steps(),
          .loader_rng = batch > 0 ? rng : loader.generator().state(),
          .batch = batch,
          .epoch_loss_sum = loss_sum,
          .epoch_seen = seen,
          .schedule_state = schedule->state(),
          .noise_rng = has_dropout ? RngState(noise.state()) : std::nullopt,
          .augment_rng = config.augment_shift > 0 ? RngState(augment.state()) : std::nullopt};
}

// Whether the run was asked to stop, as every rank agrees: a signal reaches the ranks of mpirun at
// slightly different moments, so each step's exchange carries every rank's flag (agreed_stop), and
// the points outside steps (an epoch's end) ask the others once more — otherwise one rank would stop
// while another went on to the next collective, and both would wait for the watchdog.
int agreed_stop(const Run& run, bool between_steps) {
  if (!run.parallel) return stop_signal;
  if (between_steps) return run.parallel->agreed_stop();
  int32_t flag = stop_signal;
  dist::all_reduce(std::span<int32_t>(&flag, 1), dist::ReduceOp::max);
  return flag;
}

// An epoch in progress: how far it got, and its running training loss.
struct EpochProgress {
  int64_t batch = 0;              // batches done
  double loss_sum = 0;            // Σ loss · batch size over the steps taken
  int64_t seen = 0, skipped = 0;  // examples trained on; non-finite steps skipped
  std::array<uint64_t, 4> rng_before_shuffle{};
  double seconds = 0;
};

// One epoch: shuffle, then per batch the images as the model takes them (shifted when augmenting),
// the lr of the schedule, and one training step (nn::train_step: forward, cross-entropy, backward,
// the numerical guards, the update). Stops early, between steps, when a signal asks.
EpochProgress train_epoch(Run& run, RunLog& log, int64_t epoch, bool live_bar) {
  const TrainConfig& c = run.config;
  if (run.auto_threads) set_num_threads(recommended_threads());  // other programs may have come or gone
  run.model->train();
  EpochProgress p;
  p.rng_before_shuffle = run.loader.generator().state();
  run.loader.begin();                                           // draws this epoch's order
  if (epoch == run.start_epoch && run.resumed.state.batch > 0)  // resuming mid-epoch
    p = {run.resumed.state.batch, run.resumed.state.epoch_loss_sum, run.resumed.state.epoch_seen, 0,
         p.rng_before_shuffle};
  const int64_t batches = run.loader.num_batches();
  Progress progress(str_cat("epoch ", epoch + 1, "/", c.epochs), batches, live_bar);
  while (p.batch < batches && !agreed_stop(run, true)) {
    const data::Batch batch = run.loader.batch(p.batch);
    const int64_t examples = batch.targets.numel();  // this rank's share of the global batch
    Tensor inputs = examples > 0 ? model_input(batch.inputs, run.example_shape) : batch.inputs;
    if (c.augment_shift > 0) {
      // Each rank shifts its share with the draws the single process gives those images, skipping
      // the others' before and after: every rank's generator ends where the single process's does.
      const int64_t global = std::min(c.batch_size, run.train.size() - p.batch * c.batch_size);
      const auto [first, last] = data::shard_range(global, {dist::rank(), dist::world_size()});
      data::skip_random_shifts(run.augment, first, c.augment_shift);
      if (examples > 0)
        inputs = data::random_shift(inputs.view({-1, 28, 28}), c.augment_shift, run.background, run.augment)
                     .view(inputs.shape());
      data::skip_random_shifts(run.augment, global - last, c.augment_shift);
    }
    log.starting();
    run.schedule->apply(*run.optimizer, static_cast<double>(epoch) + static_cast<double>(p.batch) / batches);
    const int64_t step_number = run.optimizer->steps() + run.skipped_total + 1;
    ++p.batch;
    if (run.telemetry) run.telemetry->before_step();
    double loss = 0;
    try {
      loss = nn::train_step(*run.model, *run.optimizer, inputs, batch.targets, run.step_options);
    } catch (const nn::NonFiniteError& problem) {
      run.optimizer->zero_grad();
      if (!c.skip_nonfinite)
        throw Error(nonfinite_message(epoch, step_number, problem.what(), run.last_finite_loss, c));
      ++p.skipped, ++run.skipped_total;
      continue;
    }
    if (run.telemetry) run.telemetry->after_step(run.optimizer->steps());
    run.last_finite_loss = loss;
    // The loss is the global batch's on every rank (DataParallel::finish_step), and so are the counts.
    const int64_t global_examples = run.parallel ? run.parallel->global_examples() : examples;
    p.loss_sum += loss * static_cast<double>(global_examples);
    p.seen += global_examples;
    progress.update(p.batch, p.seen, p.seen ? p.loss_sum / p.seen : 0);
    log.step(epoch + 1, run.optimizer->steps(), run.optimizer->lr(), loss, progress.seconds());
  }
  progress.finish();
  p.seconds = progress.seconds();
  return p;
}

// The one report of a run stopped by a signal: mid-epoch (saving where the epoch stands, so that
// --resume continues it exactly), after an epoch (its checkpoint is saved already), or after the
// last epoch's training (the run is whole). Returns the exit code, 128 + the signal.
int interrupted(Run& run, const TrainArgs& args, int64_t epoch, const EpochProgress* mid_epoch, int signal) {
  const char* name = signal_name(signal);
  if (mid_epoch) {
    std::printf("interrupted (%s) during epoch %lld after %lld of %lld batches; ", name,
                static_cast<long long>(epoch + 1), static_cast<long long>(mid_epoch->batch),
                static_cast<long long>(run.loader.num_batches()));
    if (args.save.empty()) {
      std::printf("nothing saved (no --save)\n");
    } else {
      const std::string path = checkpoint_path(args.save, epoch + 1);
      if (dist::rank() == 0)  // every rank holds the same weights and state: one writes them
        save_checkpoint(
            path, run.config, *run.model, *run.optimizer,
            run.state(epoch, mid_epoch->batch, mid_epoch->loss_sum, mid_epoch->seen, mid_epoch->rng_before_shuffle));
      std::printf("checkpoint written to %s; continue with: minidl train --resume %s\n", path.c_str(), path.c_str());
    }
  } else if (epoch + 1 < run.config.epochs) {
    std::printf("interrupted (%s) after epoch %lld; %s\n", name, static_cast<long long>(epoch + 1),
                args.save.empty()
                    ? "nothing saved (no --save)"
                    : ("continue with: minidl train --resume " + checkpoint_path(args.save, epoch + 1)).c_str());
  } else {
    std::printf("interrupted (%s) after the last epoch's training; the run had completed all %lld epochs\n", name,
                static_cast<long long>(run.config.epochs));
  }
  std::fflush(stdout);
  if (run.parallel) dist::barrier();  // the checkpoint is complete before any rank's exit ends the job
  return 128 + signal;
}

}  // namespace

// What the gradients' exchange cost this run, per step (scripts/bench-dist reads this line): the
// time finish_step waited for all-reduces that backward() had not hidden, and the copies in and
// out of the buckets.
void report_exchange(const dist::DataParallel& parallel) {
  const dist::DataParallelStats& s = parallel.stats();
  if (s.steps == 0) return;
  std::printf(
      "gradient exchange: %d ranks, %lld bucket%s, %.3f MiB per step; waited %.3f ms per step for "
      "all-reduces, packed %.3f ms per step\n",
      dist::world_size(), static_cast<long long>(s.buckets), s.buckets == 1 ? "" : "s",
      static_cast<double>(s.gradient_bytes) / (1 << 20), 1e3 * s.wait_seconds / static_cast<double>(s.steps),
      1e3 * s.pack_seconds / static_cast<double>(s.steps));
}

// Under mpirun (the launcher's environment says so): joins the world for the run's lifetime, and
// leaves only the reporting to rank 0 — the other ranks' stdout is discarded and they write no
// files, while every rank's errors still reach stderr. A run that fails leaves without
// MPI_Finalize, which would wait for the other ranks: mpirun sees a rank exit early and ends the job.
struct JoinWorld {
  TrainArgs args;  // this rank's: without the reports when it is not rank 0
  explicit JoinWorld(const TrainArgs& given) : args(given) {
    const int launched = dist::launched_world_size();
    if (launched <= 1) return;
    if (!dist::is_built())
      throw UsageError(str_cat("started as one of ", launched,
                               " processes (mpirun), but data-parallel "
                               "training is unavailable: ",
                               dist::unavailable_reason()));
    dist::init();
    // mpirun answers SIGTERM and SIGINT by ending the job: it forwards the signal, then stops
    // reading the ranks' output. A rank reporting its interruption must not block on that output
    // (cli/interrupt.h), nor die of SIGPIPE, while the others wait for it in a collective.
    make_output_nonblocking_on_stop();
    std::signal(SIGPIPE, SIG_IGN);
    if (dist::rank() == 0) return;
    if (!std::freopen("/dev/null", "w", stdout)) throw Error("minidl train: cannot silence stdout on rank > 0");
    args.metrics.clear();
    args.summary.clear();
    args.telemetry.clear();
    args.quiet = true;
  }
  ~JoinWorld() {
    if (std::uncaught_exceptions() == 0) dist::finalize();
  }
  JoinWorld(const JoinWorld&) = delete;
  JoinWorld& operator=(const JoinWorld&) = delete;
};

// minidl train, the recipe: make the run, then per epoch train, evaluate, report and checkpoint.
int run_train(const TrainArgs& given) {
  const JoinWorld world(given);  // under mpirun: this rank, and what it reports
  const TrainArgs& args = world.args;
  Run run(args);  // settings, model, optimizer, data: everything checked before the first step
  RunLog log(args, run.config, run.device);
  int64_t params = 0;
  for (const Tensor& p : run.model->parameters()) params += p.numel();
  log.header(describe(run.config, params), run.start_epoch, run.resumed.state.batch);

  nn::Evaluation result;
  ModelViewCollector view;  // --report: the last evaluation's predictions
  const StopOnSignals signals;
  for (int64_t epoch = run.start_epoch; epoch < run.config.epochs; ++epoch) {
    // The bar only on a terminal, and only rank 0's under mpirun (the others' would interleave in it).
    const bool live_bar = stdout_is_terminal() && !args.quiet && !args.no_progress && dist::rank() == 0;
    const EpochProgress p = train_epoch(run, log, epoch, live_bar);
    // Ranks stopped mid-epoch all stopped after the same step; at the epoch's end they ask each other.
    const int stop = !run.parallel                        ? stop_signal
                     : p.batch < run.loader.num_batches() ? run.parallel->agreed_stop()
                                                          : agreed_stop(run, false);
    if (stop) return interrupted(run, args, epoch, &p, stop);
    // Replicas apply the same all-reduced updates, so they are equal bit for bit: a cheap hash per
    // epoch proves it, and stops a run whose ranks parted (dist/agreement.h).
    if (run.parallel)
      dist::check_replicas_agree(dist::parameters_hash(run.model->parameters()),
                                 str_cat("by step ", run.optimizer->steps(), " (checked after epoch ", epoch + 1, ")"));
    const auto eval_start = std::chrono::steady_clock::now();
    const bool report_it = !args.report.empty() && epoch + 1 == run.config.epochs;
    if (run.parallel) run.parallel->sync_buffers();  // rank 0's running statistics on every rank
    // Each rank evaluates its share; the report's observer (its mistakes and examples) sees rank 0's.
    result = dist::evaluate(*run.model, run.test_loader, run.example_shape, report_it ? view.observer() : nullptr);
    const double eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
    const double train_loss = p.seen ? p.loss_sum / static_cast<double>(p.seen) : NAN;
    // ReduceLROnPlateau watches the epoch's training loss: the run has no validation split, and the
    // test set must not steer training.
    run.schedule->observe(train_loss);
    log.epoch({.epoch = epoch + 1,
               .steps = run.optimizer->steps(),
               .skipped = p.skipped,
               .train_loss = train_loss,
               .test_loss = result.loss,
               .test_accuracy = result.accuracy,
               .train_seconds = p.seconds,
               .eval_seconds = eval_seconds,
               .lr = run.optimizer->lr()});
    if (!args.save.empty() && dist::rank() == 0)
      save_checkpoint(checkpoint_path(args.save, epoch + 1), run.config, *run.model, *run.optimizer,
                      run.state(epoch + 1));
    if (const int late = agreed_stop(run, false); late && epoch + 1 < run.config.epochs)
      return interrupted(run, args, epoch, nullptr, late);
  }
  if (run.parallel) report_exchange(*run.parallel);
  pause_for_tests("before-summary");
  log.finish(result.accuracy, args.save.empty() ? "" : checkpoint_path(args.save, run.config.epochs));
  if (!args.report.empty() && dist::rank() == 0) {
    if (run.telemetry) run.telemetry->flush();  // the report reads the file: its last lines must be there
    write_train_report(args.report, log.record(), view, result, *run.model, run.test, args.quiet);
  }
  if (const int late = agreed_stop(run, false))  // after the last step: the run is whole
    return interrupted(run, args, run.config.epochs - 1, nullptr, late);
  if (run.parallel) dist::barrier();  // rank 0's last checkpoint is written before the job ends
  return 0;
}

}  // namespace minidl::cli
