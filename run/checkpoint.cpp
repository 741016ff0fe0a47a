#include "run/checkpoint.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/safetensors.h"

namespace minidl::run {

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

// A generator's 4 words as decimal strings: exact, whatever reads the JSON.
std::string words_text(const GeneratorState& s) {
  nlohmann::json j = nlohmann::json::array();
  for (uint64_t word : s) j.push_back(std::to_string(word));
  return j.dump();
}

GeneratorState words_from(const std::string& text, const std::string& key) {
  const auto rng = nlohmann::json::parse(text);
  check(rng.is_array() && rng.size() == 4, key, " must list 4 words");
  GeneratorState words{};
  for (size_t i = 0; i < 4; ++i) words[i] = std::stoull(rng[i].get<std::string>());
  return words;
}

std::string exact(double v) {  // hexadecimal: the exact double (inf, a plateau's first best, survives)
  char text[64];
  std::snprintf(text, sizeof text, "%a", v);
  return text;
}

// The training state from the metadata; throws (std::exception) on anything malformed.
TrainingState read_state(const data::Metadata& metadata, const std::string& path) {
  const auto meta = [&](const std::string& key) -> const std::string& {
    auto it = metadata.find(key);
    check(it != metadata.end(), "checkpoint: ", path, ": not a minidl checkpoint (no '", key, "' in its metadata)");
    return it->second;
  };
  TrainingState s;
  s.epoch = std::stoll(meta("epoch"));
  s.optimizer_steps = std::stoll(meta("optimizer_steps"));
  s.loader_rng = words_from(meta("loader_rng"), "loader_rng");
  for (const auto& [key, text] : metadata)
    if (key.ends_with("_rng") && key != "loader_rng") s.generators.emplace_back(key, words_from(text, key));
  if (metadata.contains("batch")) {
    s.batch = std::stoll(meta("batch"));
    const auto loss = nlohmann::json::parse(meta("epoch_loss"));
    check(loss.is_array() && loss.size() == 2, "epoch_loss must list the sum and the count");
    s.epoch_loss_sum = std::strtod(loss[0].get<std::string>().c_str(), nullptr);
    s.epoch_seen = std::stoll(loss[1].get<std::string>());
    // A step-based run saved right after an evaluation has a position but no running loss yet (0, 0).
    check(s.batch > 0 && s.epoch_seen >= 0 && (s.epoch_seen > 0 || s.epoch_loss_sum == 0),
          "batch must be positive and epoch_loss's count not negative");
    check(std::isfinite(s.epoch_loss_sum) && s.epoch_loss_sum >= 0, "epoch_loss must be a finite sum of losses");
  }
  if (metadata.contains("schedule_state"))
    for (const auto& v : nlohmann::json::parse(meta("schedule_state")))
      s.schedule_state.push_back(std::strtod(v.get<std::string>().c_str(), nullptr));
  check(s.optimizer_steps >= 0, "optimizer_steps ", s.optimizer_steps, " is negative");
  return s;
}

}  // namespace

const GeneratorState* TrainingState::generator(const std::string& key) const {
  for (const auto& [name, state] : generators)
    if (name == key) return &state;
  return nullptr;
}

void check_resume_position(const TrainingState& state, int64_t batches, int64_t batch_size, const std::string& path) {
  // batch == batches is a position: a signal during an epoch's last step stops the run right after it.
  check(state.batch <= batches && state.epoch_seen <= state.batch * batch_size, "checkpoint: ", path,
        ": stopped after batch ", state.batch, " (", state.epoch_seen, " examples) of an epoch that has ", batches,
        " batches of ", batch_size, ": not a position in this run");
}

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     const TrainingState& state, const Metadata& extra) {
  NamedTensors tensors = model.state_dict();
  for (auto& [name, t] : optimizer.state()) tensors.emplace_back(kOptimizerPrefix + name, t);
  data::Metadata metadata = extra;
  metadata["format"] = kFormat;
  metadata["epoch"] = std::to_string(state.epoch);
  metadata["optimizer"] = optimizer.name();
  metadata["optimizer_steps"] = std::to_string(state.optimizer_steps);
  metadata["loader_rng"] = words_text(state.loader_rng);
  for (const auto& [key, words] : state.generators) {
    check(key.ends_with("_rng") && key != "loader_rng", "save_checkpoint: ", path, ": a generator's key must end in "
          "'_rng' (and not be loader_rng), got '", key, "'");
    metadata[key] = words_text(words);
  }
  if (state.batch > 0) {
    metadata["batch"] = std::to_string(state.batch);
    metadata["epoch_loss"] = nlohmann::json::array({exact(state.epoch_loss_sum), std::to_string(state.epoch_seen)}).dump();
  }
  if (!state.schedule_state.empty()) {
    nlohmann::json numbers = nlohmann::json::array();
    for (double v : state.schedule_state) numbers.push_back(exact(v));
    metadata["schedule_state"] = numbers.dump();
  }
  data::save_safetensors(path, tensors, metadata);
}

Checkpoint load_checkpoint(const std::string& path) {
  data::SafetensorsFile file = data::load_safetensors(path, /*require_checksum=*/true);
  const auto format = file.metadata.find("format");
  check(format != file.metadata.end(), "checkpoint: ", path,
        ": not a minidl checkpoint (no 'format' in its metadata)");
  check(format->second == kFormat, "checkpoint: ", path, ": not a minidl checkpoint (format '", format->second, "')");
  Checkpoint ck;
  try {
    ck.state = read_state(file.metadata, path);
  } catch (const std::exception& e) {
    fail("checkpoint: ", path, ": corrupt training state in the metadata (", e.what(), ")");
  }
  const auto optimizer = file.metadata.find("optimizer");
  check(optimizer != file.metadata.end(), "checkpoint: ", path,
        ": not a minidl checkpoint (no 'optimizer' in its metadata)");
  ck.optimizer = optimizer->second;
  for (auto& [name, t] : file.tensors) {
    if (name.starts_with(kOptimizerPrefix))
      ck.optimizer_state.emplace_back(name.substr(std::string(kOptimizerPrefix).size()), std::move(t));
    else
      ck.parameters.emplace_back(name, std::move(t));
  }
  ck.metadata = std::move(file.metadata);
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

}  // namespace minidl::run
