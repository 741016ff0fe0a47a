// Checkpoints of `minidl train`: one safetensors file holding the model's parameters under their
// PyTorch names ("0.weight" …, so torch.nn.Sequential.load_state_dict takes them), the optimizer's
// state under "optimizer.…", and in the metadata the run's settings, the completed epochs, the
// optimizer's step count and the data loader's generator state: everything --resume needs to
// continue bitwise as if never stopped.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

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
  std::vector<double> schedule_state;  // a stateful lr schedule's (ReduceLROnPlateau); empty: none
  // The generators of dropout's masks and of the augmentation's shifts, for runs that use them (not
  // written otherwise, so MLP checkpoints stay as they were).
  std::optional<std::array<uint64_t, 4>> noise_rng, augment_rng;
};

struct Checkpoint {
  TrainConfig config;
  TrainingState state;
  NamedTensors parameters;       // the model's state_dict: parameters and buffers, by their names
  NamedTensors optimizer_state;  // by the optimizer's state names
};

void save_checkpoint(const std::string& path, const TrainConfig& config, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state);
/// Reads and checks a checkpoint; errors name the file. Beyond the file's integrity (checksum), its
/// contents must agree before anything is built from them: the training state is in range, the
/// tensors are exactly those of the model the settings describe (names and shapes, planned without
/// building it, so settings forged to describe a huge model fail at once), and every value is finite.
Checkpoint load_checkpoint(const std::string& path);

/// Refuses a mid-epoch position beyond the epoch (batch > `batches`), checked once the data is
/// loaded: a forged "batch" would otherwise skip the rest of the epoch and count it as trained.
void check_resume_position(const TrainingState& state, int64_t batches, int64_t batch_size, const std::string& path);
/// Copies a checkpoint's tensors into the model's parameters and buffers (Module::load_state_dict).
void load_parameters(nn::Module& model, const NamedTensors& parameters, const std::string& path);

}  // namespace minidl::cli
