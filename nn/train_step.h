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

/// What makes a step data-parallel (distributed::DataParallel implements it): each replica computes the
/// gradient of its share of the batch, and between backward() and everything that reads gradients
/// the replicas combine theirs into the whole batch's, so that every replica updates identically.
class GradientSync {
 public:
  virtual ~GradientSync() = default;
  /// Before the forward pass of a step on `examples` inputs (0: this replica's share is empty; it
  /// runs no forward or backward, but still takes part in the exchange).
  virtual void begin_step(int64_t examples) = 0;
  /// After backward(): waits until every parameter's grad() holds the whole batch's gradient and
  /// returns the whole batch's loss, given this replica's mean loss (ignored when its share is
  /// empty). The same value on every replica.
  virtual double finish_step(double loss) = 0;
};

struct StepOptions {
  /// The loss of the model's outputs against the targets; empty: cross-entropy of logits (B, C)
  /// against class indices (B). A language model's: cross-entropy over (B·T, V) logits.
  std::function<Tensor(const Tensor& outputs, const Tensor& targets)> loss;
  double clip_grad_norm = 0;  // > 0: scale the gradients to this global L2 norm at most (clip_grad.h)
  bool check_finite = true;   // throw NonFiniteError instead of updating with a NaN or inf
  /// Called after backward() and clipping, before the update (e.g. telemetry reading the
  /// gradients). Made once and reused: a std::function built per step would allocate.
  std::function<void()> after_backward;
  /// Data parallelism: the replicas' gradients and losses are combined right after backward(), so
  /// that the finite checks, clipping and the update see the whole batch's (and agree on every
  /// replica: the loss is checked after the exchange, not before backward()).
  GradientSync* sync = nullptr;
};

/// The step: through optimizer.step(closure), so that optimizers that evaluate the loss at another
/// point (Nesterov's look-ahead form) get the same closure; returns the loss. Allocates nothing on
/// the heap once a first step has been taken.
double train_step(Module& model, optim::Optimizer& optimizer, const Tensor& inputs, const Tensor& targets,
                  const StepOptions& options = {});

}  // namespace minidl::nn
