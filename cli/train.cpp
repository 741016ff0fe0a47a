// minidl train: the training loop, written out. Per epoch: shuffle, then for each batch forward,
// cross-entropy, zero_grad, backward, step; then evaluate on the test set, report, checkpoint.
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/reduce.h"
#include "cli/checkpoint.h"
#include "cli/commands.h"
#include "cli/evaluate.h"
#include "cli/model.h"
#include "cli/progress.h"
#include "cli/telemetry.h"
#include "core/allocator.h"
#include "core/backend.h"
#include "data/augment.h"
#include "data/data_loader.h"
#include "nn/clip_grad.h"
#include "nn/functional.h"
#include "nn/sequential.h"
#include "optim/lr_scheduler.h"
#include "optim/registry.h"

namespace minidl::cli {

void validate(const TrainConfig& c) {
  const auto require = [](bool ok, auto&&... parts) {
    if (!ok) throw UsageError(detail::concat(parts...));
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

// SIGINT and SIGTERM ask the loop to stop after the current step; a second one ends the process
// at once (the default action), for a run that does not respond.
volatile std::sig_atomic_t stop_signal = 0;

extern "C" void request_stop(int sig) {
  if (stop_signal != 0) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  stop_signal = sig;
}

struct StopOnSignals {
  StopOnSignals() {
    stop_signal = 0;
    previous_int = std::signal(SIGINT, request_stop);
    previous_term = std::signal(SIGTERM, request_stop);
  }
  ~StopOnSignals() {
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
  }
  void (*previous_int)(int);
  void (*previous_term)(int);
};

// Thrown by a step's closure when its loss or a gradient is not finite.
struct NonFinite {
  std::string what;
};

// What a step found wrong, for the message that stops a diverging run.
std::string nonfinite_message(int64_t epoch, int64_t step, const std::string& what, double last_finite_loss,
                              const TrainConfig& c) {
  std::ostringstream os;
  os << "training diverged at epoch " << epoch + 1 << ", step " << step << ": " << what << " (last finite loss ";
  if (std::isfinite(last_finite_loss))
    os << last_finite_loss;
  else
    os << "none yet";
  os << "); try a smaller --lr (now " << c.lr << ")"
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

// Refuses a --save path whose directory cannot be written, before any training time is spent.
void check_writable(const std::string& path, const char* flag) {
  const std::filesystem::path p(path);
  const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
  if (::access(dir.c_str(), W_OK) != 0)
    throw UsageError(detail::concat(flag, ": cannot write to directory '", dir, "' (", std::strerror(errno), ")"));
  if (std::filesystem::is_directory(p)) throw UsageError(detail::concat(flag, ": '", path, "' is a directory"));
}

// The checkpoints of epochs first … last: with "{epoch}" in the pattern each one has its own path
// (perhaps its own directory), and each is checked before any training time is spent.
void check_save_paths(const std::string& pattern, int64_t first, int64_t last) {
  const bool per_epoch = pattern.find("{epoch}") != std::string::npos;
  for (int64_t epoch = first; epoch <= (per_epoch ? last : first); ++epoch)
    check_writable(checkpoint_path(pattern, epoch), "--save");
}

std::string describe(const TrainConfig& c, int64_t params) {
  std::ostringstream os;
  os << c.dataset << ", model " << model_name(c) << " (" << params << " parameters), " << c.optimizer << " lr "
     << c.lr;
  // Only the options this optimizer uses, as it resolved them (defaults included, "off" ones left out).
  for (const auto& [key, value] : optim::optimizer_options_in_use(c.optimizer, optimizer_config(c))) {
    os << ' ' << key << ' ' << value;
    if (key == "weight_decay" && c.no_decay_bias) os << " (not on biases)";
  }
  if (c.schedule != "none") os << ", " << c.schedule << " schedule";
  if (c.warmup_epochs > 0) os << " with " << c.warmup_epochs << " warm-up epochs";
  if (c.augment_shift > 0) os << ", shifts of up to " << c.augment_shift << (c.augment_shift == 1 ? " pixel" : " pixels");
  os << ", batch " << c.batch_size << ", " << c.epochs << " epochs, seed " << c.seed << ", " << num_threads()
     << " threads";
  return os.str();
}

// Seconds since this process was started (exec), so start-up includes loading the shared libraries:
// the kernel's start time is in clock ticks since boot (10 ms resolution).
double seconds_since_process_start() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');  // the command name may hold spaces; fields follow it
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) {
      timespec now{};
      clock_gettime(CLOCK_BOOTTIME, &now);
      return static_cast<double>(now.tv_sec) + now.tv_nsec * 1e-9 - std::stod(field) / sysconf(_SC_CLK_TCK);
    }
  }
  return -1;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

}  // namespace

std::unique_ptr<optim::LRSchedule> make_schedule(const TrainConfig& c, int64_t steps_per_epoch) {
  std::unique_ptr<optim::LRSchedule> s;
  if (c.schedule == "step")
    s = std::make_unique<optim::StepLR>(c.lr, c.step_size > 0 ? c.step_size : (c.epochs + 2) / 3, c.gamma);
  else if (c.schedule == "multistep")
    s = std::make_unique<optim::MultiStepLR>(c.lr, c.milestones, c.gamma);
  else if (c.schedule == "exponential")
    s = std::make_unique<optim::ExponentialLR>(c.lr, c.gamma);
  else if (c.schedule == "cosine")
    s = std::make_unique<optim::CosineAnnealingLR>(c.lr, static_cast<double>(c.epochs));
  else if (c.schedule == "onecycle")
    s = std::make_unique<optim::OneCycleLR>(c.lr, c.epochs, steps_per_epoch,
                                            optim::OneCycleLR::Options{.pct_start = c.pct_start});
  else if (c.schedule == "plateau")
    s = std::make_unique<optim::ReduceLROnPlateau>(
        c.lr, optim::ReduceLROnPlateau::Options{.factor = c.gamma, .patience = c.patience});
  else
    s = std::make_unique<optim::ConstantLR>(c.lr);
  if (c.warmup_epochs > 0) s = std::make_unique<optim::LinearWarmup>(std::move(s), c.warmup_epochs);
  return s;
}

optim::OptimizerConfig optimizer_config(const TrainConfig& c) {
  return {.lr = c.lr, .momentum = c.momentum, .dampening = c.dampening, .weight_decay = c.weight_decay,
          .form = c.nesterov_form, .options = c.optimizer_options};
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

int run_train(const TrainArgs& args) {
  // ---- settings: from the flags, or from the checkpoint when resuming
  TrainConfig config = args.config;
  Checkpoint resumed;
  if (!args.resume.empty()) {
    if (!args.run_flags_given.empty())
      throw UsageError("--" + args.run_flags_given.front() +
                       " cannot be combined with --resume: a resumed run keeps its checkpoint's settings");
    resumed = load_checkpoint(args.resume);
    config = resumed.config;
    if (args.epochs_given) config.epochs = args.config.epochs;
    if (resumed.state.epoch >= config.epochs)
      throw UsageError(detail::concat(args.resume, " has completed ", resumed.state.epoch, " of ", config.epochs,
                                      " epochs; pass --epochs N with N > ", resumed.state.epoch, " to train further"));
  }
  validate(config);
  if (args.log_every < 0) throw UsageError(detail::concat("--log-every must be >= 0, got ", args.log_every));
  apply_threads_flag(args.threads);
  const Device device = parse_device(args.device);
  if (!args.save.empty()) check_save_paths(args.save, resumed.state.epoch + 1, config.epochs);
  if (!args.summary.empty()) check_writable(args.summary, "--summary");
  if (!args.telemetry.empty()) check_writable(args.telemetry, "--telemetry");

  // ---- model and optimizer (an option the optimizer rejects is a usage error too). Each source of
  // randomness has its own generator, all saved in checkpoints: initialization (seed), data order
  // (seed + 1), dropout's masks (seed + 2) and the augmentation's shifts (seed + 3).
  Generator init(config.seed), noise(config.seed + 2), augment(config.seed + 3);
  const auto model = make_model(config, init, &noise);
  const Shape example_shape = model_input_shape(config);
  const bool has_dropout = plan_run_model(config).has_dropout;
  model->to(device);  // initialized on the host from the seed: the same weights on every device
  const std::unique_ptr<optim::Optimizer> optimizer = make_trainer_optimizer(config, *model);

  std::ofstream metrics;
  if (!args.metrics.empty()) {
    const bool append = !args.resume.empty() && std::filesystem::exists(args.metrics);
    metrics.open(args.metrics, append ? std::ios::app : std::ios::trunc);
    if (!metrics) throw UsageError("--metrics: cannot write '" + args.metrics + "' (" + std::strerror(errno) + ")");
    if (!append) metrics << "kind,epoch,step,lr,train_loss,test_loss,test_accuracy,seconds\n";
  }

  // ---- data
  const data::ImageDatasetInfo& info = dataset_info(config.dataset);
  const std::string dir = args.data_dir.empty() ? default_data_dir(config.dataset) : args.data_dir;
  check_data_present(dir, config.dataset);
  const data::ImageDataset train = data::load_mnist_format(dir, data::Split::train, info);
  const data::ImageDataset test = data::load_mnist_format(dir, data::Split::test, info);
  data::DataLoader loader(train,
                          {.batch_size = config.batch_size, .shuffle = true, .seed = config.seed + 1, .device = device});
  const auto schedule = make_schedule(config, loader.num_batches());

  int64_t start_epoch = 0;
  if (!args.resume.empty()) {
    check_resume_position(resumed.state, loader.num_batches(), config.batch_size, args.resume);
    load_parameters(*model, resumed.parameters, args.resume);
    optimizer->load_state(resumed.optimizer_state, resumed.state.optimizer_steps);
    schedule->load_state(resumed.state.schedule_state);
    loader.generator().set_state(resumed.state.loader_rng);
    if (resumed.state.noise_rng) noise.set_state(*resumed.state.noise_rng);
    if (resumed.state.augment_rng) augment.set_state(*resumed.state.augment_rng);
    start_epoch = resumed.state.epoch;
  }

  int64_t params = 0;
  for (const Tensor& p : model->parameters()) params += p.numel();
  if (!args.quiet)
    std::printf("minidl train: %s%s\n", describe(config, params).c_str(),
                device.is_cpu() ? "" : detail::concat(", on ", device, " (", cuda::device_name(device.index), ")").c_str());
  if (!args.resume.empty() && !args.quiet)
    std::printf("resuming from %s after epoch %lld%s\n", args.resume.c_str(), static_cast<long long>(start_epoch),
                resumed.state.batch ? detail::concat(", batch ", resumed.state.batch).c_str() : "");
  std::fflush(stdout);

  // ---- the loop
  const bool live = stdout_is_terminal();
  const int64_t batches = loader.num_batches();
  double total_seconds = 0, startup_seconds = -1, last_finite_loss = NAN;
  int64_t skipped_total = 0;
  Evaluation result;
  nlohmann::json epochs_json = nlohmann::json::array();
  const std::vector<Tensor> parameters = model->parameters();
  const NamedTensors named = model->named_parameters();
  std::vector<double> squares;  // per-parameter ‖grad‖², reused every step
  const std::unique_ptr<Telemetry> telemetry =
      args.telemetry.empty() ? nullptr : std::make_unique<Telemetry>(args.telemetry, *optimizer);
  // One step's loss and gradients, with the numerical guards: what step(closure) calls (once for
  // every optimizer; Nesterov's look-ahead form calls it at θ + μv). Made once, outside the loop.
  data::Batch batch;
  Tensor inputs;  // the batch's images as the model takes them, shifted when augmenting
  const float background = -info.mean / info.std;  // a 0 pixel, normalized
  double step_loss = 0;
  int64_t step_number = 0;
  const optim::Optimizer::Closure forward_backward = [&]() -> Tensor {
    optimizer->zero_grad();
    Tensor loss = nn::functional::cross_entropy((*model)(inputs), batch.targets);
    step_loss = loss.item();
    if (!std::isfinite(step_loss))
      throw NonFinite{std::isnan(step_loss) ? "the loss is nan" : detail::concat("the loss is ", step_loss)};
    loss.backward();
    nn::grad_squared_norms(parameters, squares);
    double total = 0;
    for (double sq : squares) total += sq;
    if (!std::isfinite(total)) {
      size_t bad = 0;
      while (bad + 1 < squares.size() && std::isfinite(squares[bad])) ++bad;
      throw NonFinite{detail::concat("the gradient of '", named[bad].first, "' is not finite (the loss, ", step_loss,
                                     ", was)")};
    }
    if (config.clip_grad_norm > 0) nn::clip_grad_norm(parameters, config.clip_grad_norm, std::sqrt(total));
    if (telemetry) telemetry->gradients_ready();
    return loss;
  };
  // The dropout and augmentation generators' states, for checkpoints of runs that draw from them.
  using RngState = std::optional<std::array<uint64_t, 4>>;
  const auto noise_state = [&] { return has_dropout ? RngState(noise.state()) : std::nullopt; };
  const auto augment_state = [&] { return config.augment_shift > 0 ? RngState(augment.state()) : std::nullopt; };
  const StopOnSignals signals;
  for (int64_t epoch = start_epoch; epoch < config.epochs; ++epoch) {
    model->train();
    const auto rng_before_shuffle = loader.generator().state();
    loader.begin();  // draws this epoch's order
    const bool resuming_mid_epoch = epoch == start_epoch && resumed.state.batch > 0;
    const int64_t first = resuming_mid_epoch ? resumed.state.batch : 0;
    Progress progress(detail::concat("epoch ", epoch + 1, "/", config.epochs), batches, live && !args.quiet);
    double loss_sum = resuming_mid_epoch ? resumed.state.epoch_loss_sum : 0, window_loss = 0;
    int64_t seen = resuming_mid_epoch ? resumed.state.epoch_seen : 0, window = 0, skipped = 0, i = first;
    while (i < batches && !stop_signal) {
      batch = loader.batch(i);
      inputs = model_input(batch.inputs, example_shape);
      if (config.augment_shift > 0)
        inputs = data::random_shift(inputs.view({-1, 28, 28}), config.augment_shift, background, augment)
                     .view(inputs.shape());
      if (startup_seconds < 0) startup_seconds = seconds_since_process_start();
      schedule->apply(*optimizer, static_cast<double>(epoch) + static_cast<double>(i) / batches);
      step_number = optimizer->steps() + skipped_total + 1;
      ++i;
      if (telemetry) telemetry->before_step();
      try {
        optimizer->step(forward_backward);
      } catch (const NonFinite& problem) {
        optimizer->zero_grad();
        if (!config.skip_nonfinite)
          throw Error(nonfinite_message(epoch, step_number, problem.what, last_finite_loss, config));
        ++skipped, ++skipped_total;
        continue;
      }
      if (telemetry) telemetry->after_step(optimizer->steps());
      const double l = step_loss;
      last_finite_loss = l;

      const int64_t n = batch.targets.numel();
      loss_sum += l * n;
      seen += n;
      window_loss += l;
      ++window;
      progress.update(i, seen, seen ? loss_sum / seen : 0);
      if (metrics.is_open() && args.log_every > 0 && optimizer->steps() % args.log_every == 0) {
        metrics << "step," << epoch + 1 << ',' << optimizer->steps() << ',' << optimizer->lr() << ','
                << window_loss / window << ",,," << progress.seconds() << '\n';
        window_loss = 0, window = 0;
      }
    }
    progress.finish();
    if (stop_signal) {
      // Stopped mid-epoch: save where the epoch stands, so that --resume continues it exactly.
      const char* name = stop_signal == SIGINT ? "SIGINT" : "SIGTERM";
      std::printf("interrupted (%s) during epoch %lld after %lld of %lld batches; ", name,
                  static_cast<long long>(epoch + 1), static_cast<long long>(i), static_cast<long long>(batches));
      if (args.save.empty()) {
        std::printf("nothing saved (no --save)\n");
      } else {
        const std::string path = checkpoint_path(args.save, epoch + 1);
        save_checkpoint(path, config, *model, *optimizer,
                        {.epoch = epoch, .optimizer_steps = optimizer->steps(), .loader_rng = rng_before_shuffle,
                         .batch = i, .epoch_loss_sum = loss_sum, .epoch_seen = seen,
                         .schedule_state = schedule->state(), .noise_rng = noise_state(),
                         .augment_rng = augment_state()});
        std::printf("checkpoint written to %s; continue with: minidl train --resume %s\n", path.c_str(),
                    path.c_str());
      }
      std::fflush(stdout);
      return 128 + stop_signal;
    }
    const double seconds = progress.seconds();
    total_seconds += seconds;
    const auto eval_start = std::chrono::steady_clock::now();
    result = evaluate(*model, test, example_shape);
    const double eval_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - eval_start).count();
    const double train_loss = seen ? loss_sum / seen : NAN;
    // ReduceLROnPlateau watches the epoch's training loss: the run has no validation split, and the
    // test set must not steer training.
    schedule->observe(train_loss);
    epochs_json.push_back({{"epoch", epoch + 1}, {"train_loss", train_loss}, {"test_loss", result.loss},
                           {"test_accuracy", result.accuracy}, {"train_seconds", seconds},
                           {"eval_seconds", eval_seconds}, {"skipped_steps", skipped},
                           {"steps", optimizer->steps()},
                           {"peak_rss_mib", peak_rss_mib()}});
    if (device.is_cuda()) {  // a loop in steady state allocates no device memory after its first epoch
      epochs_json.back()["cuda_malloc_calls"] = cuda::malloc_calls();
      epochs_json.back()["cuda_peak_mib"] = static_cast<double>(memory_stats(device).peak_bytes_in_use) / (1 << 20);
    }
    if (!args.quiet) {
      std::printf("epoch %lld/%lld  train loss %.4f  test loss %.4f  test acc %.2f%%  %.2fs  (lr %.4g)",
                  static_cast<long long>(epoch + 1), static_cast<long long>(config.epochs), train_loss, result.loss,
                  100 * result.accuracy, seconds, optimizer->lr());
      if (skipped) std::printf("  %lld non-finite steps skipped", static_cast<long long>(skipped));
      std::printf("\n");
    }
    std::fflush(stdout);
    if (metrics.is_open()) {
      metrics << "epoch," << epoch + 1 << ',' << optimizer->steps() << ',' << optimizer->lr() << ',' << train_loss
              << ',' << result.loss << ',' << result.accuracy << ',' << seconds << '\n';
      metrics.flush();
    }
    if (!args.save.empty()) {
      const std::string path = checkpoint_path(args.save, epoch + 1);
      save_checkpoint(path, config, *model, *optimizer,
                      {.epoch = epoch + 1, .optimizer_steps = optimizer->steps(), .loader_rng = loader.generator().state(),
                       .schedule_state = schedule->state(), .noise_rng = noise_state(), .augment_rng = augment_state()});
    }
    if (stop_signal && epoch + 1 < config.epochs) {  // arrived during evaluation or the save
      std::printf("interrupted (%s) after epoch %lld; %s\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
                  static_cast<long long>(epoch + 1),
                  args.save.empty() ? "nothing saved (no --save)"
                                    : ("continue with: minidl train --resume " + checkpoint_path(args.save, epoch + 1)).c_str());
      std::fflush(stdout);
      return 128 + stop_signal;
    }
  }
  if (!args.summary.empty()) {
    const nlohmann::json summary = {{"config", nlohmann::json::parse(to_json(config))},
                                    {"threads", num_threads()},
                                    {"blas_core", blas_core()},
                                    {"device", device.str()},
                                    {"startup_seconds", startup_seconds},
                                    {"epochs", epochs_json},
                                    {"final_test_accuracy", result.accuracy},
                                    {"peak_rss_mib", peak_rss_mib()}};
    std::ofstream out(args.summary);
    out << summary.dump(1) << '\n';
    if (!out) throw Error("--summary: cannot write '" + args.summary + "'");
  }
  if (!args.quiet) {
    std::printf("final test accuracy %.2f%% after %lld epochs (%.1fs of training)\n", 100 * result.accuracy,
                static_cast<long long>(config.epochs), total_seconds);
    if (!args.save.empty()) std::printf("checkpoint: %s\n", checkpoint_path(args.save, config.epochs).c_str());
  }
  if (stop_signal) {  // arrived after the last step (evaluation, save, summary): the run is whole; say so
    std::printf("interrupted (%s) after the last epoch's training; the run had completed all %lld epochs\n",
                stop_signal == SIGINT ? "SIGINT" : "SIGTERM", static_cast<long long>(config.epochs));
    std::fflush(stdout);
    return 128 + stop_signal;
  }
  return 0;
}

}  // namespace minidl::cli
