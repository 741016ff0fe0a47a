// The settings of a training run: what `minidl train` parses, and what a checkpoint records so that
// --resume, eval and predict rebuild the same model and continue the same run.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/mnist.h"
#include "optim/options.h"

namespace minidl::cli {

struct TrainConfig {
  std::string dataset = "mnist";  // mnist | fashion-mnist
  std::string model = "mlp";      // mlp (784 → hidden → 10) | lenet | cnn | a layer description (cli/model.h)
  std::vector<int64_t> hidden = {256};
  int64_t augment_shift = 0;  // shift training images by up to this many pixels (0: no augmentation)
  std::string optimizer = "nesterov";
  float lr = 0.01f;  // without --lr, the optimizer's declared default (optim::default_lr; main.cpp sets it)
  std::optional<float> momentum;   // unset: the optimizer's default (0.9) where it has one
  std::optional<float> dampening;  // unset: 0 where it applies
  std::string nesterov_form;       // empty: pytorch (see optim/nesterov.h)
  float weight_decay = 0.f;
  optim::OptionValues optimizer_options;  // --opt key=value, the optimizer's other options
  std::string schedule = "none";          // none | step | multistep | exponential | cosine | onecycle | plateau
  int64_t step_size = 0;                  // step schedule: epochs per decay (0: a third of the run)
  float gamma = 0.1f;                     // step, multistep, exponential: decay factor; plateau: its factor
  std::vector<int64_t> milestones;        // multistep: the epochs at which the lr is multiplied by gamma
  int64_t patience = 10;                  // plateau: epochs without improvement before a decay
  double pct_start = 0.3;                 // onecycle: the part of the run spent rising to --lr
  double warmup_epochs = 0;               // linear warm-up in front of the schedule
  int64_t batch_size = 64;
  int64_t epochs = 5;
  uint64_t seed = 0;            // model init uses Generator(seed), the data order Generator(seed + 1)
  double clip_grad_norm = 0;    // > 0: clip the gradients' global norm to this
  bool skip_nonfinite = false;  // skip (and count) steps whose loss or gradient is not finite
  bool no_decay_bias = false;   // biases (1-D parameters) in a group without weight decay
};

std::string to_json(const TrainConfig& config);
/// Parses what to_json wrote; `source` names the file in errors.
TrainConfig train_config_from_json(const std::string& text, const std::string& source);

/// "mnist" or "fashion-mnist"; anything else throws naming the known ones.
const data::ImageDatasetInfo& dataset_info(const std::string& name);
/// The directory a dataset is read from when --data is not given.
std::string default_data_dir(const std::string& dataset);
/// The command that gets a dataset, with a path that works from any directory.
std::string fetch_command(const std::string& dataset);

constexpr int64_t kInputs = 784, kClasses = 10;

/// Bounds on a model's size, so that a typo (--hidden 100000000) or a forged checkpoint cannot ask
/// for gigabytes: at most 65536 units in a layer and 2^28 parameters in all (1 GiB of float32;
/// training holds about three times that: weights, gradients, momentum).
constexpr int64_t kMaxLayerWidth = 65536, kMaxParameters = int64_t{1} << 28;

/// The parameters of the 784-hidden-10 MLP, or -1 when they exceed kMaxParameters (or a width is
/// not in [1, kMaxLayerWidth]); computed without building it.
int64_t mlp_parameter_count(const std::vector<int64_t>& hidden);

/// The --threads flag: 0 (its default) means as many threads as CPUs are free now
/// (recommended_threads(): every available CPU on an idle machine, fewer when other programs keep
/// some busy); 1 to available_cpus() sets the thread pool's size. Anything else is a UsageError:
/// more threads than CPUs only make the threads wait for each other (1000 turned a 0.4 s run into
/// minutes).
void apply_threads_flag(int threads);

}  // namespace minidl::cli
