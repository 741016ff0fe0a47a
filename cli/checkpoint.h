// Checkpoints of `minidl train`: one safetensors file holding the model's parameters under their
// PyTorch names ("0.weight" …, so torch.nn.Sequential.load_state_dict takes them), the optimizer's
// state under "optimizer.…", and in the metadata the run's settings, the completed epochs, the
// optimizer's step count and the data loader's generator state: everything --resume needs to
// continue bitwise as if never stopped.
#pragma once

#include <array>
#include <string>

#include "cli/config.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace minidl::cli {

struct TrainingState {
  int64_t epoch = 0;  // completed epochs
  int64_t optimizer_steps = 0;
  std::array<uint64_t, 4> loader_rng{};  // before the shuffle of the epoch in progress
  // A run stopped mid-epoch (SIGINT/SIGTERM): batches of epoch `epoch` already done, and the sums
  // behind that epoch's running train loss. 0 at an epoch boundary, and then not written at all,
  // so that epoch-end checkpoints stay byte-identical however the run got there.
  int64_t batch = 0;
  double epoch_loss_sum = 0;
  int64_t epoch_seen = 0;
};

struct Checkpoint {
  TrainConfig config;
  TrainingState state;
  NamedTensors parameters;       // by the model's parameter names
  NamedTensors optimizer_state;  // by the optimizer's state names
};

void save_checkpoint(const std::string& path, const TrainConfig& config, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state);
/// Reads and checks a checkpoint; errors name the file. Beyond the file's integrity (checksum), its
/// contents must agree before anything is built from them: the training state is in range, the
/// parameter tensors are exactly those of the model the settings describe
/// (check_parameters_match_config), and every value is finite.
Checkpoint load_checkpoint(const std::string& path);

/// The names and shapes of the parameters of the model `config` describes, worked out without
/// building it (today the MLP of nn::mlp: "0.weight" [h₁, 784], "0.bias" [h₁], "2.weight" …).
/// A new kind of model adds its case here.
std::vector<std::pair<std::string, Shape>> model_parameter_shapes(const TrainConfig& config);

/// Refuses `parameters` that are not exactly model_parameter_shapes(config), by name and shape. Run
/// before the model is built, so that settings forged to describe a huge model (hidden: [1000000]
/// beside 200 K weights) fail at once instead of allocating gigabytes first.
void check_parameters_match_config(const TrainConfig& config, const NamedTensors& parameters,
                                   const std::string& path);

/// Refuses a mid-epoch position beyond the epoch (batch > `batches`), checked once the data is
/// loaded: a forged "batch" would otherwise skip the rest of the epoch and count it as trained.
void check_resume_position(const TrainingState& state, int64_t batches, int64_t batch_size,
                           const std::string& path);
/// Copies `parameters` into the model's, checking that names and shapes match one to one.
void load_parameters(const nn::Module& model, const NamedTensors& parameters, const std::string& path);

}  // namespace minidl::cli
