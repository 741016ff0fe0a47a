// Loss functions as plain functions: nn::functional::mse_loss and nn::functional::cross_entropy.
// Both average over the batch (PyTorch's reduction='mean').
#pragma once

#include "core/tensor.h"

namespace minidl::nn::functional {

/// mean((pred − target)²) over all elements; pred and target must have the same shape.
Tensor mse_loss(const Tensor& pred, const Tensor& target);

/// Mean over rows of −log softmax(logits)[row, target[row]] for logits [N, C] and int32 class
/// indices [N] in [0, C). One fused, numerically stable op whose backward is (softmax − onehot) / N.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

}  // namespace minidl::nn::functional
