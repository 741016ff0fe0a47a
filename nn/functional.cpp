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

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act) {
  dispatch::check_float(x, "linear");
  dispatch::check_float(weight, "linear");
  check(weight.dim() == 2, "linear: weight must be [out_features, in_features], got ", weight.shape());
  check(x.dim() >= 1 && x.size(-1) == weight.shape()[1], "linear: input of shape ", x.shape(),
        " does not match weight of shape ", weight.shape(), " (", x.size(-1), " != ", weight.shape()[1], ")");
  if (x.dim() != 2) {  // fold the leading dims into rows, and unfold the result
    Shape out_shape = x.shape();
    out_shape[out_shape.size() - 1] = weight.shape()[0];
    return linear(x.reshape({-1, weight.shape()[1]}), weight, bias, act).reshape(out_shape);
  }
  Tensor y = dispatch::matmul(x, weight.transpose(0, 1), "linear");
  Tensor pre;  // gelu: x·Wᵀ + b, which its derivative reads
  dispatch::bias_activation_(y, bias, act, "linear", act == Activation::gelu ? &pre : nullptr);
  // dweight reads x, dx reads weight, and dz reads y (relu) or the pre-activation (gelu): each is
  // saved only for a gradient that reads it (an input batch never needs dx, so the weight is not saved).
  const Tensor saved = act == Activation::gelu ? pre : act == Activation::relu ? y.detach() : Tensor{};
  autograd::record("linear", y, {x, weight, bias},
                   autograd::Saves{weight.requires_grad() ? x : Tensor{}, x.requires_grad() ? weight : Tensor{},
                                   act == Activation::relu ? y : saved},
                   [x, weight, has_bias = bias.defined(), saved, act](const Tensor& dy) {
                     autograd::Grads g;
                     Tensor dbias;
                     const Tensor dz = dispatch::bias_activation_backward(saved.defined() ? saved : dy, dy, act,
                                                                          has_bias ? &dbias : nullptr, "linear");
                     if (x.requires_grad()) g[0] = dispatch::matmul(dz, weight, "linear");
                     if (weight.requires_grad()) g[1] = dispatch::matmul(dz.transpose(0, 1), x, "linear");
                     g[2] = dbias;
                     return g;
                   });
  return y;
}

// loss = mean_n (log Σ_j e^(x_nj) − x_n,t_n);   dx = (softmax(x) − onehot(t)) · dloss / N
// Fused rather than log_softmax + gather: one pass, no overflow, and the backward reuses the
// softmax computed in the forward (kernels/cpu/cross_entropy.cpp).
Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  auto [loss, probs] = dispatch::cross_entropy(logits, targets, "cross_entropy");
  autograd::record("cross_entropy", loss, {logits}, autograd::Saves{probs, targets},
                   [probs = probs, targets](const Tensor& dloss) {
                     return autograd::Grads{dispatch::cross_entropy_backward(probs, targets, dloss)};
                   });
  return loss;
}

}  // namespace minidl::nn::functional
