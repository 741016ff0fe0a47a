// Loss modules, for code written PyTorch's way: nn::CrossEntropyLoss loss_fn; loss_fn(logits, y).
// They call nn::functional.
#pragma once

#include <minidl/nn/functional.h>

namespace minidl::nn {

struct MSELoss {
  Tensor operator()(const Tensor& pred, const Tensor& target) const { return functional::mse_loss(pred, target); }
};

struct CrossEntropyLoss {
  Tensor operator()(const Tensor& logits, const Tensor& targets) const {
    return functional::cross_entropy(logits, targets);
  }
};

}  // namespace minidl::nn
