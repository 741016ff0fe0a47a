// A training run's checkpoint: one safetensors file holding the model's state_dict under its names
// ("0.weight" …, so torch.nn.Sequential.load_state_dict takes them), the optimizer's state under
// "optimizer.…", and in the metadata where the run stands (TrainingState: completed epochs, the
// optimizer's step count, the data's generator, a mid-epoch position, the schedule's state, other
// generators) plus the caller's own entries (minidl train: the run's settings under "config"; a
// language model: its configuration and vocabulary). Everything a run needs to continue bitwise
// as if never stopped.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <minidl/nn/module.h>
#include <minidl/optim/optimizer.h>

namespace minidl::run {

using GeneratorState = std::array<uint64_t, 4>;

struct TrainingState {
  int64_t epoch = 0;  // completed epochs
  int64_t optimizer_steps = 0;
  GeneratorState loader_rng{};  // the batch source's: before the shuffle of the epoch in progress
  // A run stopped mid-epoch (SIGINT/SIGTERM, or a step-based run's save): batches of epoch `epoch`
  // already done, and the sums behind that epoch's running train loss. 0 at an epoch boundary, and
  // then not written at all, so that epoch-end checkpoints stay byte-identical however the run got there.
  int64_t batch = 0;
  double epoch_loss_sum = 0;
  int64_t epoch_seen = 0;
  std::vector<double> schedule_state{};  // a stateful lr schedule's (ReduceLROnPlateau); empty: none
  /// The run's other generators (dropout's masks, an augmentation's shifts), by their metadata key,
  /// which ends in "_rng" ("noise_rng"); only those a run uses, so that others' checkpoints stay as
  /// they were.
  std::vector<std::pair<std::string, GeneratorState>> generators{};

  /// The state of the generator saved under `key`, or null.
  const GeneratorState* generator(const std::string& key) const;
};

/// The metadata a caller keeps in a checkpoint beside the training state, key → text.
using Metadata = std::map<std::string, std::string>;

struct Checkpoint {
  TrainingState state{};
  NamedTensors parameters{};     // the model's state_dict: parameters and buffers, by their names
  NamedTensors optimizer_state{};  // by the optimizer's state names
  std::string optimizer{};        // the optimizer's name (Optimizer::name())
  Metadata metadata{};           // every entry of the file's metadata, the caller's included
};

/// Writes the checkpoint atomically (data/safetensors.h). `extra` must not use the keys the training
/// state is written under (format, epoch, optimizer, optimizer_steps, loader_rng, batch,
/// epoch_loss, schedule_state, the generators' keys).
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state, const Metadata& extra = {});

/// Reads a checkpoint and checks what it can without knowing the model: the file's integrity
/// (checksum), the training state's form and ranges, and that every float value is finite and
/// sane. Errors name the file. The caller checks its own metadata and the tensors against its model.
Checkpoint load_checkpoint(const std::string& path);

/// Refuses a mid-epoch position beyond the epoch (batch > `batches`), checked once the data is
/// loaded: a forged "batch" would otherwise skip the rest of the epoch and count it as trained.
void check_resume_position(const TrainingState& state, int64_t batches, int64_t batch_size, const std::string& path);

/// Copies a checkpoint's tensors into the model's parameters and buffers (Module::load_state_dict);
/// errors name the file.
void load_parameters(nn::Module& model, const NamedTensors& parameters, const std::string& path);

}  // namespace minidl::run
