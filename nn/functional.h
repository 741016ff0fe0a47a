// Layers and losses as plain functions: nn::functional::linear, mse_loss and cross_entropy.
// The losses average over the batch (PyTorch's reduction='mean').
#pragma once

#include "core/tensor.h"
#include "kernels/backend.h"

namespace minidl::nn::functional {

using kernels::Activation;

/// y = act(x·weightᵀ + bias) for x [B, in] (or [N, B, in]), weight [out, in], bias [out] or
/// undefined: a Linear layer, optionally with its ReLU, as one op. Same values as
/// matmul + add + relu, in fewer passes:
///   forward:  one GEMM into y, then bias and activation in one pass over y
///   backward: one pass gives dz = dy ⊙ act'(y) and dbias = Σ_rows dz; then
///             dweight = dzᵀ·x, computed straight into weight's [out, in] layout, and
///             dx = dz·weight only when x requires grad (never for an input batch).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act = Activation::none);

/// mean((pred − target)²) over all elements; pred and target must have the same shape.
Tensor mse_loss(const Tensor& pred, const Tensor& target);

/// Mean over rows of −log softmax(logits)[row, target[row]] for logits [N, C] and int32 class
/// indices [N] in [0, C). One fused, numerically stable op whose backward is (softmax − onehot) / N.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets);

}  // namespace minidl::nn::functional
