// One training step of a classifier, as the minidl program takes it: zero the gradients, the
// cross-entropy of the model's logits, backward, the numerical guards, the optimizer's update. A
// loop written with the library calls the same function as `minidl train`:
//
//   for (const data::Batch& batch : loader) nn::train_step(*model, optimizer, batch.inputs, batch.targets);
#pragma once

#include <functional>

#include <minidl/core/error.h>
#include <minidl/nn/module.h>
#include <minidl/optim/optimizer.h>

namespace minidl::nn {

/// A step whose loss or gradients are not finite (NaN or infinite). what() names the loss or the
/// first parameter whose gradient is at fault; the weights are as before the step.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

struct StepOptions {
  double clip_grad_norm = 0;   // > 0: scale the gradients to this global L2 norm at most (clip_grad.h)
  bool check_finite = true;    // throw NonFiniteError instead of updating with a NaN or inf
  /// Called after backward() and clipping, before the update (e.g. telemetry reading the
  /// gradients). Made once and reused: a std::function built per step would allocate.
  std::function<void()> after_backward;
};

/// The step: through optimizer.step(closure), so that optimizers that evaluate the loss at another
/// point (Nesterov's look-ahead form) get the same closure; returns the loss. Allocates nothing on
/// the heap once a first step has been taken.
double train_step(Module& model, optim::Optimizer& optimizer, const Tensor& inputs, const Tensor& targets,
                  const StepOptions& options = {});

}  // namespace minidl::nn
