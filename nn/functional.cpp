#include "nn/functional.h"

#include "autograd/elementwise.h"
#include "autograd/node.h"
#include "autograd/reduce.h"
#include "core/dispatch.h"

namespace minidl::nn::functional {

// A composite: its gradient, 2(pred − target)/n, comes from the ops it is made of.
Tensor mse_loss(const Tensor& pred, const Tensor& target) {
  dispatch::check_float(pred, "mse_loss");
  dispatch::check_float(target, "mse_loss");
  check(pred.shape() == target.shape(), "mse_loss: prediction ", pred.shape(), " and target ", target.shape(),
        " have different shapes");
  return mean(square(pred - target));
}

// loss = mean_n (log Σ_j e^(x_nj) − x_n,t_n);   dx = (softmax(x) − onehot(t)) · dloss / N
// Fused rather than log_softmax + gather: one pass, no overflow, and the backward reuses the
// softmax computed in the forward (kernels/cpu/cross_entropy.cpp).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  auto [loss, probs] = dispatch::cross_entropy(logits, targets, "cross_entropy");
  autograd::record("cross_entropy", loss, {logits}, [probs, targets](const Tensor& dloss) {
    return autograd::Grads{dispatch::cross_entropy_backward(probs, targets, dloss)};
  });
  return loss;
}

}  // namespace minidl::nn::functional
