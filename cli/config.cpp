#include "cli/config.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "core/backend.h"

namespace minidl::cli {

using nlohmann::json;

Device parse_device(const std::string& text) {
  Device device;
  try {
    device = Device::parse(text);
  } catch (const Error& e) {
    throw UsageError(str_cat("--device: ", e.what()));
  }
  if (device.is_cuda() && device.index >= cuda::device_count())
    throw UsageError(cuda::is_available() ? str_cat("--device ", text, ": this machine has ", cuda::device_count(),
                                                    " CUDA device(s), cuda:0 to cuda:", cuda::device_count() - 1)
                                          : str_cat("--device ", text, ": no CUDA device is available (",
                                                    cuda::unavailable_reason(), "); use --device cpu"));
  return device;
}

int64_t mlp_parameter_count(const std::vector<int64_t>& hidden) {
  int64_t total = 0, width = kInputs;
  for (int64_t h : hidden) {
    if (h < 1 || h > kMaxLayerWidth) return -1;
    total += (width + 1) * h;  // each at most 65537 · 65536: no overflow before the check below
    if (total > kMaxParameters) return -1;
    width = h;
  }
  total += (width + 1) * kClasses;
  return total > kMaxParameters ? -1 : total;
}

void apply_threads_flag(int threads) {
  const int cpus = available_cpus();
  if (threads < 0 || threads > cpus)
    throw UsageError(str_cat("--threads must be between 0 (as many as the CPUs free now) and ", cpus,
                             " (the CPUs this process may use), got ", threads));
  set_num_threads(threads > 0 ? threads : recommended_threads());
}

std::vector<int64_t> parse_int_list(const std::string& text, const char* flag, const char* what) {
  std::vector<int64_t> values;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size())
      throw UsageError(str_cat(flag, ": '", text, "' is not a comma-separated list of ", what));
    values.push_back(v);
  }
  return values;
}

namespace {
// A float hyperparameter as JSON: the double nearest its shortest round-trip text, which JSON then
// prints as that text (0.9999999, not the float's 0.99999988079071045) and which get<float>() reads
// back as the same float.
json exact(float v) { return std::strtod(optim::format_option(v).c_str(), nullptr); }
}  // namespace

std::string to_json(const TrainConfig& c) {
  json j = {{"dataset", c.dataset},
            {"hidden", c.hidden},
            {"optimizer", c.optimizer},
            {"lr", exact(c.lr)},
            {"weight_decay", exact(c.weight_decay)},
            {"schedule", c.schedule},
            {"step_size", c.step_size},
            {"gamma", exact(c.gamma)},
            {"warmup_epochs", c.warmup_epochs},
            {"batch_size", c.batch_size},
            {"epochs", c.epochs},
            {"seed", c.seed}};
  if (c.momentum) j["momentum"] = exact(*c.momentum);
  if (c.dampening) j["dampening"] = exact(*c.dampening);
  // Written only when set, so a run without them records the same settings as before they existed.
  if (c.clip_grad_norm > 0) j["clip_grad_norm"] = c.clip_grad_norm;
  if (!c.nesterov_form.empty()) j["nesterov_form"] = c.nesterov_form;
  if (!c.optimizer_options.empty()) {
    json options = json::array();  // ordered pairs: the order they were given in
    for (const auto& [key, value] : c.optimizer_options) options.push_back({key, value});
    j["optimizer_options"] = options;
  }
  if (!c.milestones.empty()) j["milestones"] = c.milestones;
  if (c.schedule == "plateau") j["patience"] = c.patience;
  if (c.schedule == "onecycle") j["pct_start"] = c.pct_start;
  if (c.skip_nonfinite) j["skip_nonfinite"] = true;
  if (c.no_decay_bias) j["no_decay_bias"] = true;
  if (c.model != "mlp") j["model"] = c.model;
  if (c.augment_shift != 0) j["augment_shift"] = c.augment_shift;
  return j.dump();
}

TrainConfig train_config_from_json(const std::string& text, const std::string& source) {
  try {
    const json j = json::parse(text);
    TrainConfig c;
    c.dataset = j.at("dataset").get<std::string>();
    c.hidden = j.at("hidden").get<std::vector<int64_t>>();
    c.optimizer = j.at("optimizer").get<std::string>();
    c.lr = j.at("lr").get<float>();
    if (j.contains("momentum")) c.momentum = j.at("momentum").get<float>();
    if (j.contains("dampening")) c.dampening = j.at("dampening").get<float>();
    c.weight_decay = j.at("weight_decay").get<float>();
    c.schedule = j.at("schedule").get<std::string>();
    c.step_size = j.at("step_size").get<int64_t>();
    c.gamma = j.at("gamma").get<float>();
    c.warmup_epochs = j.at("warmup_epochs").get<double>();
    c.batch_size = j.at("batch_size").get<int64_t>();
    c.epochs = j.at("epochs").get<int64_t>();
    c.seed = j.at("seed").get<uint64_t>();
    c.clip_grad_norm = j.value("clip_grad_norm", 0.0);
    c.skip_nonfinite = j.value("skip_nonfinite", false);
    c.no_decay_bias = j.value("no_decay_bias", false);
    c.nesterov_form = j.value("nesterov_form", std::string());
    c.model = j.value("model", std::string("mlp"));
    c.augment_shift = j.value("augment_shift", int64_t{0});
    check(c.augment_shift >= 0 && c.augment_shift < 28, "augment_shift must be in [0, 28), got ", c.augment_shift);
    if (j.contains("optimizer_options"))
      for (const auto& pair : j.at("optimizer_options"))
        c.optimizer_options.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
    c.milestones = j.value("milestones", std::vector<int64_t>{});
    c.patience = j.value("patience", int64_t{10});
    c.pct_start = j.value("pct_start", 0.3);
    for (int64_t h : c.hidden)
      check(h > 0 && h <= kMaxLayerWidth, "hidden size ", h, " is not in [1, ", kMaxLayerWidth, "]");
    check(mlp_parameter_count(c.hidden) > 0, "the model would have more than ", kMaxParameters, " parameters");
    dataset_info(c.dataset);
    return c;
  } catch (const json::exception& e) {
    fail(source, ": the run's settings in the checkpoint are unreadable: ", e.what());
  } catch (const Error& e) {
    fail(source, ": the run's settings in the checkpoint are invalid: ", e.what());
  }
}

const data::ImageDatasetInfo& dataset_info(const std::string& name) {
  if (name == data::MNIST::info.name) return data::MNIST::info;
  if (name == data::FashionMNIST::info.name) return data::FashionMNIST::info;
  fail("unknown dataset '", name, "' (known: mnist, fashion-mnist)");
}

std::string default_data_dir(const std::string& dataset) {
  if (dataset == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  // Run from the repository root, data/mnist is right there; from anywhere else, use the
  // repository this binary was built from.
  if (std::filesystem::exists("data/mnist")) return "data/mnist";
  return std::string(MINIDL_SOURCE_DIR) + "/data/mnist";
}

std::string fetch_command(const std::string& dataset) {
  if (dataset == "fashion-mnist") return data::FashionMNIST::info.how_to_fetch;
  return std::string(MINIDL_SOURCE_DIR) + "/scripts/fetch-mnist";
}

}  // namespace minidl::cli
