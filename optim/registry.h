// Optimizers by name, for the trainer's --optimizer flag. Built-ins are listed in one table in
// registry.cpp, one entry each; register_optimizer() adds one at run time (e.g. from a test or a
// program that defines its own).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "optim/optimizer.h"

namespace minidl::optim {

/// What a command line collects. Options left unset take the optimizer's default; a non-zero value
/// for an optimizer that does not use it is an error ("sgd: does not use momentum …, got 0.9").
struct OptimizerConfig {
  float lr = 0.01f;
  std::optional<float> momentum;
  std::optional<float> dampening;
  float weight_decay = 0.f;
  std::string form;  // Nesterov's formulation: pytorch (empty: default), sutskever, lookahead
};

using OptimizerFactory = std::function<std::unique_ptr<Optimizer>(std::vector<Tensor>, const OptimizerConfig&)>;

/// Builds optimizer `name`; an unknown name throws Error listing the known ones.
std::unique_ptr<Optimizer> make_optimizer(std::string_view name, std::vector<Tensor> params,
                                          const OptimizerConfig& config);
/// Known names, in registration order.
std::vector<std::string> optimizer_names();
/// Adds an optimizer under a new name (throws if the name is taken).
void register_optimizer(std::string name, OptimizerFactory factory);

}  // namespace minidl::optim
