#include "cli/checkpoint.h"

#include <exception>

#include "cli/model.h"

namespace minidl::cli {

namespace {

// The tensors are exactly those of the model the settings describe, planned without building it: a
// checkpoint whose settings ask for more (or other) tensors than it holds is refused here, before a
// byte of the model exists.
void check_model(const Checkpoint& ck, const std::string& path) {
  nn::ModelPlan plan;
  try {
    plan = plan_run_model(ck.config);
  } catch (const Error& e) {
    fail("checkpoint: ", path, ": the run's settings in the checkpoint are invalid: ", e.what());
  }
  check(plan.state.size() == ck.parameters.size(), "checkpoint: ", path, ": its settings describe a model (",
        model_name(ck.config), ") with ", plan.state.size(), " tensors, the file holds ", ck.parameters.size(),
        " (a damaged or forged checkpoint)");
  for (const auto& [name, shape] : plan.state) {
    const Tensor* saved = nullptr;
    for (const auto& [n, t] : ck.parameters)
      if (n == name) saved = &t;
    check(saved != nullptr, "checkpoint: ", path, ": its model has '", name,
          "', and the file has no such tensor (a damaged or forged checkpoint)");
    check(saved->shape() == shape, "checkpoint: ", path, ": '", name, "' is ", saved->dtype(), " ", saved->shape(),
          ", the model expects ", shape, " (a damaged or forged checkpoint)");
  }
}

}  // namespace

run::Metadata checkpoint_metadata(const TrainConfig& config) { return {{"config", to_json(config)}}; }

void save_checkpoint(const std::string& path, const TrainConfig& config, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  run::save_checkpoint(path, model, optimizer, state, checkpoint_metadata(config));
}

Checkpoint load_checkpoint(const std::string& path) {
  run::Checkpoint file = run::load_checkpoint(path);
  const auto config = file.metadata.find("config");
  check(config != file.metadata.end(), "checkpoint: ", path,
        ": not a minidl checkpoint (no 'config' in its metadata)");
  Checkpoint ck{.config = train_config_from_json(config->second, "checkpoint: " + path),
                .state = std::move(file.state),
                .parameters = std::move(file.parameters),
                .optimizer_state = std::move(file.optimizer_state)};
  try {
    check(ck.state.epoch >= 0 && ck.state.epoch <= ck.config.epochs, "epoch ", ck.state.epoch, " is not in [0, ",
          ck.config.epochs, "], the run's epochs");
    check(ck.state.batch == 0 || ck.state.epoch < ck.config.epochs, "a mid-epoch position after the last epoch");
  } catch (const std::exception& e) {
    fail("checkpoint: ", path, ": corrupt training state in the metadata (", e.what(), ")");
  }
  check(file.optimizer == ck.config.optimizer, "checkpoint: ", path, ": optimizer '", file.optimizer,
        "' does not match the run's settings ('", ck.config.optimizer, "')");
  check_model(ck, path);
  return ck;
}

}  // namespace minidl::cli
