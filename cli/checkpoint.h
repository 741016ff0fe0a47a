// Checkpoints of `minidl train`: a run/checkpoint.h checkpoint (the model's state_dict, the
// optimizer's state, where the run stands) whose metadata also holds the run's settings under
// "config", so that --resume, eval, predict and report rebuild the same model and continue the run.
#pragma once

#include <string>

#include "cli/config.h"
#include "nn/module.h"
#include "optim/optimizer.h"
#include "run/checkpoint.h"

namespace minidl::cli {

using run::check_resume_position;
using run::load_parameters;
using run::TrainingState;

struct Checkpoint {
  TrainConfig config;
  TrainingState state;
  NamedTensors parameters;       // the model's state_dict: parameters and buffers, by their names
  NamedTensors optimizer_state;  // by the optimizer's state names
};

/// The checkpoint's metadata for these settings: {"config": to_json(config)}.
run::Metadata checkpoint_metadata(const TrainConfig& config);
void save_checkpoint(const std::string& path, const TrainConfig& config, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state);
/// Reads and checks a checkpoint; errors name the file. Beyond the file's integrity (checksum), its
/// contents must agree before anything is built from them: the training state is in range, the
/// tensors are exactly those of the model the settings describe (names and shapes, planned without
/// building it, so settings forged to describe a huge model fail at once), and every value is finite.
Checkpoint load_checkpoint(const std::string& path);

}  // namespace minidl::cli
