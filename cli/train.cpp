// minidl train for the MLP and CNN: the flags made into a run::Trainer (run/trainer.h: per epoch
// shuffle, per batch one nn::train_step, evaluate on the test set, checkpoint), with what the run
// reports attached as hooks: its lines and summary (run_log.cpp), the metrics CSV, telemetry and
// progress bar (run/).
//
// Under mpirun the same recipe is data-parallel (docs/distributed.md): each rank takes its share of
// every global batch (--batch-size stays the global batch), distributed::DataParallel averages the
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
#include "cli/flags.h"
#include "cli/model.h"
#include "cli/report.h"
#include "cli/run_log.h"
#include "cli/train_gpt.h"
#include "core/allocator.h"
#include "core/backend.h"
#include "data/atomic_file.h"
#include "data/augment.h"
#include "data/data_loader.h"
#include "data/shard.h"
#include "distributed/agreement.h"
#include "distributed/data_parallel.h"
#include "distributed/evaluate.h"
#include "distributed/world.h"
#include "nn/evaluate.h"
#include "nn/sequential.h"
#include "nn/train_step.h"
#include "optim/lr_scheduler.h"
#include "optim/registry.h"
#include "optim/schedule_registry.h"
#include "run/interrupt.h"
#include "run/metrics_log.h"
#include "run/progress.h"
#include "run/telemetry.h"
#include "run/trainer.h"

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

// The checkpoints of epochs first … last: with "{epoch}" in the pattern each one has its own path
// (perhaps its own directory), and each is checked, as every output, by the one output policy
// (data/atomic_file.h) before any training time is spent.
std::vector<data::NamedFile> save_paths(const std::string& pattern, int64_t first, int64_t last) {
  const bool per_epoch = pattern.find("{epoch}") != std::string::npos;
  std::vector<data::NamedFile> paths;
  for (int64_t epoch = first; epoch <= (per_epoch ? last : first); ++epoch)
    paths.push_back({"--save", run::checkpoint_path(pattern, epoch, 0)});
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
  if (distributed::world_size() > 1)  // the global batch, and the largest share of it (the remainder rule)
    os << " over " << distributed::world_size() << " ranks ("
       << data::shard_range(c.batch_size, {0, distributed::world_size()}).second << " per rank)";
  os << ", " << c.epochs << (c.epochs == 1 ? " epoch" : " epochs") << ", seed " << c.seed << ", " << num_threads()
     << (num_threads() == 1 ? " thread" : " threads");
  if (distributed::world_size() > 1) os << " per rank";
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

// The training images as the model takes them, batch by batch: [B, 784] rows viewed as the model's
// input, shifted when augmenting. Each rank shifts its share with the draws the single process
// gives those images, skipping the others' before and after: every rank's generator ends where
// the single process's does.
class ImageSource : public run::BatchSource {
 public:
  ImageSource(data::DataLoader& loader, const TrainConfig& config, int64_t examples, Shape example_shape,
              float background, Generator& augment)
      : loader_(loader), config_(config), examples_(examples), shape_(std::move(example_shape)),
        background_(background), augment_(augment) {}
  int64_t batches_per_epoch() const override { return loader_.num_batches(); }
  void begin_epoch() override { loader_.begin(); }
  Generator& generator() override { return loader_.generator(); }
  data::Batch batch(int64_t index) override {
    data::Batch batch = loader_.batch(index);
    const int64_t examples = batch.targets.numel();  // this rank's share of the global batch
    if (examples > 0) batch.inputs = model_input(batch.inputs, shape_);
    if (config_.augment_shift == 0) return batch;
    const int64_t global = std::min(config_.batch_size, examples_ - index * config_.batch_size);
    const auto [first, last] = data::shard_range(global, {distributed::rank(), distributed::world_size()});
    data::skip_random_shifts(augment_, first, config_.augment_shift);
    if (examples > 0)
      batch.inputs = data::random_shift(batch.inputs.view({-1, 28, 28}), config_.augment_shift, background_, augment_)
                         .view(batch.inputs.shape());
    data::skip_random_shifts(augment_, global - last, config_.augment_shift);
    return batch;
  }

 private:
  data::DataLoader& loader_;
  const TrainConfig& config_;
  int64_t examples_;
  Shape shape_;
  float background_;  // a 0 pixel, normalized: what shifted images uncover
  Generator& augment_;
};

// What the trainer needs from the flags: epochs, checkpoints, clipping, the settings it saves.
// The signal handlers are the command's own (run_train), held while the reports are written too.
run::TrainerOptions trainer_options(const TrainArgs& args, const TrainConfig& c) {
  return {.epochs = c.epochs,
          .save = args.save,
          .clip_grad_norm = c.clip_grad_norm,
          .skip_nonfinite = c.skip_nonfinite,
          .handle_signals = false,
          .divergence_advice = str_cat("; try a smaller --lr (now ", optim::format_option(c.lr), ")",
                                       c.clip_grad_norm > 0 ? "" : ", --clip-grad-norm", " or --skip-nonfinite"),
          .metadata = checkpoint_metadata(c)};
}

// Everything a run needs, made and checked before its first step: the settings (from the flags, or
// from the checkpoint when resuming), the model, the optimizer, the data, the trainer and where the
// run stands. Each source of randomness has its own generator, all saved in checkpoints:
// initialization (seed), data order (seed + 1), dropout's masks (seed + 2) and the augmentation's
// shifts (seed + 3).
struct Run {
  explicit Run(const TrainArgs& args);
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

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
  ImageSource source;
  run::Trainer trainer;
  std::unique_ptr<run::Telemetry> telemetry;  // --telemetry
  /// Under mpirun: the gradients' exchange, made last, once the weights are final (it broadcasts
  /// rank 0's); null in a run of one process.
  std::unique_ptr<distributed::DataParallel> parallel;
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

// What every rank of a data-parallel run must have alike (distributed/agreement.h): every setting of the
// run, the parameters' shapes, where a resumed run continues, the exchange's flags, the data.
distributed::Fingerprint fingerprint(const Run& run, const TrainArgs& args) {
  distributed::Fingerprint f;
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
      args.device == "cuda" && distributed::world_size() > 1 ? str_cat("cuda:", distributed::local_rank()) : args.device);
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


float background(const TrainConfig& config) {
  return -dataset_info(config.dataset).mean / dataset_info(config.dataset).std;
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
                     .shard = {distributed::rank(), distributed::world_size()}}),
      test_loader(test, {.batch_size = evaluation_batch(config),
                         .device = device,
                         .shard = {distributed::rank(), distributed::world_size()}}),
      schedule(make_schedule(config, loader.num_batches())),
      source(loader, config, train.size(), example_shape, background(config), augment),
      trainer(*model, *optimizer, source, trainer_options(args, config)),
      telemetry(args.telemetry.empty()
                    ? nullptr
                    : std::make_unique<run::Telemetry>(args.telemetry, *optimizer, model->named_parameters())) {
  trainer.set_schedule(*schedule);
  if (has_dropout) trainer.track_generator("noise_rng", noise);
  if (config.augment_shift > 0) trainer.track_generator("augment_rng", augment);
  if (!args.resume.empty()) {
    // A checkpoint describes the global run (global batch, the loader's and the shifts' generators),
    // so any number of ranks can continue it.
    check_resume_position(resumed.state, loader.num_batches(), config.batch_size, args.resume);
    trainer.resume({.state = resumed.state, .parameters = resumed.parameters,
                    .optimizer_state = resumed.optimizer_state, .optimizer = optimizer->name()},
                   args.resume);
  }
  if (distributed::world_size() > 1) {
    distributed::check_ranks_agree(fingerprint(*this, args));  // before any collective that assumes it
    // Dropout's masks: each rank draws its own share's, from a stream of its own (seed + 2, then
    // moved on by rank), so that the ranks' masks are not copies of one another. They are not the
    // single process's masks: a run with dropout is data-parallel in distribution, not in bits.
    for (int r = 0; r < distributed::rank(); ++r) noise.set_state(Generator(noise.next_u64()).state());
    parallel = std::make_unique<distributed::DataParallel>(
        *model, distributed::DataParallelOptions{.bucket_bytes = static_cast<int64_t>(args.bucket_mb * (1 << 20)),
                                          .stop_flag = &run::stop_signal,
                                          .overlap = !args.no_overlap});
    trainer.data_parallel(*parallel);
  }
}

// What `minidl train` does around the trainer's steps: the thread count followed at each epoch
// (--threads 0), and the one report of a run stopped by a signal: mid-epoch (saved where the epoch
// stands, so that --resume continues it exactly) or after an epoch (its checkpoint is saved already).
class TrainHook : public run::Hook {
 public:
  TrainHook(const TrainArgs& args, const TrainConfig& config) : args_(args), config_(config) {}
  void on_epoch_begin(const run::Trainer&, int64_t) override {
    if (args_.threads == 0) set_num_threads(recommended_threads());  // other programs may have come or gone
  }
  void on_stop(const run::Trainer& trainer, const run::Outcome& o) override {
    const char* name = run::signal_name(o.signal);
    const std::string resume = "continue with: minidl train --resume " + o.checkpoint;
    if (o.mid_epoch) {
      std::printf("interrupted (%s) during epoch %lld after %lld of %lld batches; %s\n", name,
                  static_cast<long long>(o.epoch + 1), static_cast<long long>(o.batch),
                  static_cast<long long>(trainer.source().batches_per_epoch()),
                  o.checkpoint.empty() ? "nothing saved (no --save)"
                                       : ("checkpoint written to " + o.checkpoint + "; " + resume).c_str());
    } else {
      std::printf("interrupted (%s) after epoch %lld; %s\n", name, static_cast<long long>(o.epoch),
                  o.checkpoint.empty() ? "nothing saved (no --save)" : resume.c_str());
    }
    std::fflush(stdout);
  }

 private:
  const TrainArgs& args_;
  const TrainConfig& config_;
};

}  // namespace

// What the gradients' exchange cost this run, per step (scripts/bench-dist reads this line): the
// time finish_step waited for all-reduces that backward() had not hidden, and the copies in and
// out of the buckets.
void report_exchange(const distributed::DataParallel& parallel) {
  const distributed::DataParallelStats& s = parallel.stats();
  if (s.steps == 0) return;
  std::printf(
      "gradient exchange: %d ranks, %lld bucket%s, %.3f MiB per step; waited %.3f ms per step for "
      "all-reduces, packed %.3f ms per step\n",
      distributed::world_size(), static_cast<long long>(s.buckets), s.buckets == 1 ? "" : "s",
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
    const int launched = distributed::launched_world_size();
    if (launched <= 1) return;
    if (!distributed::is_built())
      throw UsageError(str_cat("started as one of ", launched,
                               " processes (mpirun), but data-parallel "
                               "training is unavailable: ",
                               distributed::unavailable_reason()));
    distributed::init();
    // mpirun answers SIGTERM and SIGINT by ending the job: it forwards the signal, then stops
    // reading the ranks' output. A rank reporting its interruption must not block on that output
    // (run/interrupt.h), nor die of SIGPIPE, while the others wait for it in a collective.
    run::make_output_nonblocking_on_stop();
    std::signal(SIGPIPE, SIG_IGN);
    if (distributed::rank() == 0) return;
    if (!std::freopen("/dev/null", "w", stdout)) throw Error("minidl train: cannot silence stdout on rank > 0");
    args.metrics.clear();
    args.summary.clear();
    args.telemetry.clear();
    args.quiet = true;
  }
  ~JoinWorld() {
    if (std::uncaught_exceptions() == 0) distributed::finalize();
  }
  JoinWorld(const JoinWorld&) = delete;
  JoinWorld& operator=(const JoinWorld&) = delete;
};


// A signal after the last epoch's training: the run is whole (its checkpoint and reports written).
int interrupted_after_training(const Run& run, int signal) {
  std::printf("interrupted (%s) after the last epoch's training; the run had completed all %lld epochs\n",
              run::signal_name(signal), static_cast<long long>(run.config.epochs));
  std::fflush(stdout);
  if (run.parallel) distributed::barrier();  // rank 0's files are complete before any rank's exit ends the job
  return 128 + signal;
}

// The reports after the last epoch: the exchange's cost, the summary, the HTML report.
void finish_run(Run& run, const TrainArgs& args, RunLog& log, const nn::Evaluation& result,
                ModelViewCollector& view) {
  if (run.parallel) report_exchange(*run.parallel);
  run::pause_for_tests("before-summary");
  log.finish(result.accuracy, args.save.empty() ? "" : run::checkpoint_path(args.save, run.config.epochs, 0));
  if (!args.report.empty() && distributed::rank() == 0) {
    if (run.telemetry) run.telemetry->flush();  // the report reads the file: its last lines must be there
    write_train_report(args.report, log.record(), view, result, *run.model, run.test, args.quiet);
  }
}

// minidl train, the recipe: make the run, attach what it reports, train (run::Trainer: per epoch
// train, evaluate, checkpoint), then the summary and report.
int run_train(const TrainArgs& given) {
  const JoinWorld world(given);  // under mpirun: this rank, and what it reports
  const TrainArgs& args = world.args;
  Run run(args);  // settings, model, optimizer, data: everything checked before the first step
  std::unique_ptr<run::MetricsLog> metrics;
  if (!args.metrics.empty())  // appended to when a resumed run finds it
    metrics = std::make_unique<run::MetricsLog>(
        args.metrics, std::vector<std::string>{"test_loss", "test_accuracy"},
        run::MetricsLog::Options{.log_every = args.log_every,
                                 .append = !args.resume.empty() && std::filesystem::exists(args.metrics)});
  RunLog log(args, run.config, run.device);
  int64_t params = 0;
  for (const Tensor& p : run.model->parameters()) params += p.numel();
  log.header(describe(run.config, params), run.trainer.start_epoch(), run.trainer.start_batch());
  // The bar only on a terminal, and only rank 0's under mpirun (the others' would interleave in it).
  run::ProgressBar bar(run::stdout_is_terminal() && !args.quiet && !args.no_progress && distributed::rank() == 0);
  TrainHook hook(args, run.config);
  for (run::Hook* h : std::initializer_list<run::Hook*>{&hook, &bar, metrics.get(), &log, run.telemetry.get()})
    if (h) run.trainer.add_hook(*h);
  nn::Evaluation result;
  ModelViewCollector view;  // --report: the last evaluation's predictions
  run.trainer.set_evaluation([&] {
    // Each rank evaluates its share; the report's observer (its mistakes and examples) sees rank 0's.
    const bool report_it = !args.report.empty() && run.trainer.epoch() == run.config.epochs;
    result = distributed::evaluate(*run.model, run.test_loader, run.example_shape, report_it ? view.observer() : nullptr);
    return run::Metrics{{"test_loss", result.loss}, {"test_accuracy", result.accuracy}};
  });
  const run::StopOnSignals signals;
  if (const run::Outcome outcome = run.trainer.run(); !outcome.completed()) return outcome.exit_code();
  finish_run(run, args, log, result, view);
  if (const int late = run::agreed_stop(run.parallel.get())) return interrupted_after_training(run, late);
  if (run.parallel) distributed::barrier();  // rank 0's last checkpoint is written before the job ends
  return 0;
}


// A language model (--model gpt…, --data text:…, or resuming one) or an image classifier.
template <class Flags>
int train_either(Flags& f, TrainArgs& t) {
  GptFlags& g = f.gpt;
  g.steps_given = f.steps->count() > 0, g.eval_every_given = f.eval_every->count() > 0;
  g.eval_batches_given = f.eval_batches->count() > 0;
  if (wants_gpt(t) || resumes_gpt(t.resume)) return run_train_gpt(t, g);
  for (CLI::Option* o : {f.steps, f.eval_every, f.eval_batches})
    if (o->count() > 0)
      throw UsageError(o->get_name() + " is for --model gpt; the image classifiers train by --epochs");
  return run_train(t);
}

// minidl train's flags: the run's settings (RunFlags), its outputs and the data-parallel knobs.
Command add_train(CLI::App& app) {
  struct Flags {
    TrainArgs args;
    RunFlags run;
    std::string config_json;  // a sweep's runs: the whole TrainConfig at once (not for people)
    CLI::Option *epochs = nullptr, *save = nullptr, *steps = nullptr, *eval_every = nullptr, *eval_batches = nullptr;
    GptFlags gpt;
  };
  auto f = std::make_shared<Flags>();
  TrainArgs& t = f->args;
  CLI::App* train = app.add_subcommand("train", "train a classifier (an MLP, LeNet-5, a CNN or layers you describe), "
                                                "evaluating on the test set after every epoch");
  f->run.add_to(train, /*with_optimizer_and_lr=*/true);
  train->footer(optimizers_footer());
  f->epochs = train->add_option("--epochs", f->run.config.epochs, "epochs to train (in all, when resuming)")
                  ->capture_default_str();
  add_runtime_flags(train, t, kData | kThreads | kDevice);
  // --model gpt (cli/train_gpt.cpp): counted in steps, evaluated on random windows.
  f->steps = train->add_option("--steps", f->gpt.steps, "--model gpt: optimizer steps (default 2000)");
  f->eval_every = train->add_option("--eval-every", f->gpt.eval_every, "--model gpt: steps between evaluations (250)");
  f->eval_batches = train->add_option("--eval-batches", f->gpt.eval_batches,
                                      "--model gpt: random batches of each split per evaluation (20)");
  train->add_option("--metrics", t.metrics, "write a CSV row per epoch and per --log-every steps");
  train->add_option("--log-every", t.log_every, "steps between CSV rows of the training loss (0: per epoch only)")
      ->capture_default_str();
  train->add_option(
      "--summary", t.summary,
      "write a JSON summary: per-epoch loss, accuracy, train and eval seconds, start-up time, peak memory");
  train->add_option("--telemetry", t.telemetry,
                    "write per-step optimizer statistics as JSON lines: ‖g‖, ‖buffer‖, cos(g, buffer), ‖Δθ‖/‖θ‖, "
                    "each state slot's norm, lr");
  train->add_option("--report", t.report,
                    "write a self-contained HTML report: settings, curves, confusion matrix, worst mistakes, what the "
                    "first layer learned, telemetry (docs/training.md)");
  f->save =
      train->add_option("--save", t.save, "checkpoint after every epoch (\"{epoch}\" in the path becomes its number)");
  train->add_option("--resume", t.resume, "continue the run saved in this checkpoint");
  train
      ->add_option("--bucket-mb", t.bucket_mb,
                   "under mpirun: MiB of gradients per all-reduce, started during backward (docs/distributed.md)")
      ->capture_default_str();
  train->add_flag("--no-overlap", t.no_overlap)->group("");  // scripts/bench-dist's baseline, not for people
  train->add_option("--config-json", f->config_json)->group("");
  train->add_flag("--quiet", t.quiet, "no header and per-epoch lines (errors still)");
  train->add_flag("--no-progress", t.no_progress,
                  "no live progress bar (it is drawn only when stdout is a terminal, and only by rank 0)");
  return {train, [f] {
            TrainArgs& t = f->args;
            t.epochs_given = f->epochs->count() > 0;
            t.save_given = f->save->count() > 0;
            t.config = f->run.finish(&t.run_flags_given,
                                     t.epochs_given ? std::vector<std::string>{"epochs"} : std::vector<std::string>{});
            if (!f->config_json.empty()) t.config = train_config_from_json(f->config_json, "--config-json");
            return train_either(*f, t);
          }};
}

}  // namespace minidl::cli
