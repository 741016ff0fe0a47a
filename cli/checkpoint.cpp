#include "cli/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/model.h"
#include "core/grad_mode.h"
#include "data/safetensors.h"

namespace minidl::cli {

namespace {
constexpr const char* kFormat = "minidl-checkpoint";
constexpr const char* kOptimizerPrefix = "optimizer.";

// NaN or infinite weights evaluate to a meaningless accuracy (8.40% in one such file): say so.
constexpr float kMaxCheckpointValue = 1e18f;

void check_finite(const NamedTensors& tensors, const std::string& path) {
  for (const auto& [name, t] : tensors) {
    if (t.dtype() != DType::float32) continue;
    int64_t bad = 0;
    for (const float v : t.to_vector()) bad += !std::isfinite(v);
    check(bad == 0, "checkpoint: ", path, ": '", name, "' holds ", bad, " non-finite value", bad == 1 ? "" : "s",
          " (NaN or infinity) of ", t.numel(), ": the weights are unusable (a run that diverged?)");
    // Finite but absurd: 3e38 overflows the first product, and a negative variance has no square
    // root; both gave "loss -nan" and exit 0. Trained weights stay many orders of magnitude below.
    int64_t huge = 0, negative = 0;
    const bool variance = name.ends_with("running_var");
    for (const float v : t.to_vector()) huge += std::fabs(v) > kMaxCheckpointValue, negative += variance && v < 0;
    check(huge == 0, "checkpoint: ", path, ": '", name, "' holds ", huge, " value", huge == 1 ? "" : "s",
          " beyond ±", kMaxCheckpointValue, ": the weights are unusable (a damaged or forged checkpoint)");
    check(negative == 0, "checkpoint: ", path, ": '", name, "' holds ", negative, " negative variance",
          negative == 1 ? "" : "s", ": a variance is >= 0 (a damaged or forged checkpoint)");
  }
}
}  // namespace

void check_resume_position(const TrainingState& state, int64_t batches, int64_t batch_size, const std::string& path) {
  // batch == batches is a position: a signal during an epoch's last step stops the run right after it.
  check(state.batch <= batches && state.epoch_seen <= state.batch * batch_size, "checkpoint: ", path,
        ": stopped after batch ", state.batch, " (", state.epoch_seen, " examples) of an epoch that has ", batches,
        " batches of ", batch_size, ": not a position in this run");
}

void save_checkpoint(const std::string& path, const TrainConfig& config, const nn::Module& model,
                     const optim::Optimizer& optimizer, const TrainingState& state) {
  NamedTensors tensors = model.state_dict();
  for (auto& [name, t] : optimizer.state()) tensors.emplace_back(kOptimizerPrefix + name, t);
  nlohmann::json rng = nlohmann::json::array();
  for (uint64_t word : state.loader_rng) rng.push_back(std::to_string(word));  // exact, whatever reads the JSON
  data::Metadata metadata = {{"format", kFormat},
                             {"config", to_json(config)},
                             {"epoch", std::to_string(state.epoch)},
                             {"optimizer", optimizer.name()},
                             {"optimizer_steps", std::to_string(state.optimizer_steps)},
                             {"loader_rng", rng.dump()}};
  const auto words = [](const std::array<uint64_t, 4>& s) {
    nlohmann::json j = nlohmann::json::array();
    for (uint64_t word : s) j.push_back(std::to_string(word));
    return j.dump();
  };
  if (state.noise_rng) metadata["noise_rng"] = words(*state.noise_rng);
  if (state.augment_rng) metadata["augment_rng"] = words(*state.augment_rng);
  if (state.batch > 0) {
    char sum[64];
    std::snprintf(sum, sizeof sum, "%a", state.epoch_loss_sum);  // hexadecimal: the exact double
    metadata["batch"] = std::to_string(state.batch);
    metadata["epoch_loss"] = nlohmann::json::array({sum, std::to_string(state.epoch_seen)}).dump();
  }
  if (!state.schedule_state.empty()) {
    nlohmann::json numbers = nlohmann::json::array();
    for (double v : state.schedule_state) {
      char text[64];
      std::snprintf(text, sizeof text, "%a", v);  // exact, and inf (a plateau's first best) survives
      numbers.push_back(text);
    }
    metadata["schedule_state"] = numbers.dump();
  }
  data::save_safetensors(path, tensors, metadata);
}

Checkpoint load_checkpoint(const std::string& path) {
  data::SafetensorsFile file = data::load_safetensors(path, /*require_checksum=*/true);
  const auto meta = [&](const char* key) -> const std::string& {
    auto it = file.metadata.find(key);
    check(it != file.metadata.end(), "checkpoint: ", path, ": not a minidl checkpoint (no '", key,
          "' in its metadata)");
    return it->second;
  };
  check(meta("format") == kFormat, "checkpoint: ", path, ": not a minidl checkpoint (format '", meta("format"), "')");
  Checkpoint ck;
  ck.config = train_config_from_json(meta("config"), "checkpoint: " + path);
  try {
    ck.state.epoch = std::stoll(meta("epoch"));
    ck.state.optimizer_steps = std::stoll(meta("optimizer_steps"));
    const auto generator_state = [&](const char* key) {
      const auto rng = nlohmann::json::parse(meta(key));
      check(rng.is_array() && rng.size() == 4, key, " must list 4 words");
      std::array<uint64_t, 4> words{};
      for (size_t i = 0; i < 4; ++i) words[i] = std::stoull(rng[i].get<std::string>());
      return words;
    };
    ck.state.loader_rng = generator_state("loader_rng");
    if (file.metadata.contains("noise_rng")) ck.state.noise_rng = generator_state("noise_rng");
    if (file.metadata.contains("augment_rng")) ck.state.augment_rng = generator_state("augment_rng");
    if (file.metadata.contains("batch")) {
      ck.state.batch = std::stoll(meta("batch"));
      const auto loss = nlohmann::json::parse(meta("epoch_loss"));
      check(loss.is_array() && loss.size() == 2, "epoch_loss must list the sum and the count");
      ck.state.epoch_loss_sum = std::strtod(loss[0].get<std::string>().c_str(), nullptr);
      ck.state.epoch_seen = std::stoll(loss[1].get<std::string>());
      check(ck.state.batch > 0 && ck.state.epoch_seen > 0, "batch and epoch_loss must be positive");
      check(std::isfinite(ck.state.epoch_loss_sum) && ck.state.epoch_loss_sum >= 0,
            "epoch_loss must be a finite sum of losses");
    }
    if (file.metadata.contains("schedule_state"))
      for (const auto& v : nlohmann::json::parse(meta("schedule_state")))
        ck.state.schedule_state.push_back(std::strtod(v.get<std::string>().c_str(), nullptr));
    check(ck.state.epoch >= 0 && ck.state.epoch <= ck.config.epochs, "epoch ", ck.state.epoch, " is not in [0, ",
          ck.config.epochs, "], the run's epochs");
    check(ck.state.optimizer_steps >= 0, "optimizer_steps ", ck.state.optimizer_steps, " is negative");
    check(ck.state.batch == 0 || ck.state.epoch < ck.config.epochs, "a mid-epoch position after the last epoch");
  } catch (const std::exception& e) {
    fail("checkpoint: ", path, ": corrupt training state in the metadata (", e.what(), ")");
  }
  check(meta("optimizer") == ck.config.optimizer, "checkpoint: ", path, ": optimizer '", meta("optimizer"),
        "' does not match the run's settings ('", ck.config.optimizer, "')");
  for (auto& [name, t] : file.tensors) {
    if (name.starts_with(kOptimizerPrefix))
      ck.optimizer_state.emplace_back(name.substr(std::string(kOptimizerPrefix).size()), std::move(t));
    else
      ck.parameters.emplace_back(name, std::move(t));
  }
  // The model the settings describe, planned without building it: a checkpoint whose settings ask
  // for more (or other) tensors than it holds is refused here, before a byte of the model exists.
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
  check_finite(ck.parameters, path);
  check_finite(ck.optimizer_state, path);
  return ck;
}

void load_parameters(nn::Module& model, const NamedTensors& parameters, const std::string& path) {
  try {
    model.load_state_dict(parameters);
  } catch (const Error& e) {
    fail("checkpoint: ", path, ": ", e.what());
  }
}

}  // namespace minidl::cli
