// optim::Optimizer: the interface every optimizer implements. It holds parameter groups (each with
// its own lr and weight decay) and per-parameter state, and offers step(), zero_grad(), lr() and
// set_lr(), and its state as named tensors for checkpoints.
//
// Writing an optimizer: derive, give it an Options aggregate, and write step() to follow the math
// in its doc comment (with tensor ops, as examples/custom_optimizer does); register it by name in
// optim/registry.cpp. The built-in SGD family runs its per-element math (kernels/optimizer_math.h)
// as one fused pass over all parameters instead, through sgd_family_step(). Parameters are updated in place,
// inside a NoGradGuard, so the model's tensors (and anything viewing them) see the new values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace minidl::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  float lr = 0.f;
  float weight_decay = 0.f;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// One update of every parameter that has a gradient; parameters without one are skipped.
  virtual void step() = 0;
  /// Computes the loss and the gradients where the optimizer wants them: zero_grad(), forward,
  /// backward(), and returns the loss.
  using Closure = std::function<Tensor()>;
  /// One update that evaluates the gradient itself, through `closure`. Needed by optimizers that
  /// take the gradient somewhere other than at the parameters (Nesterov's look-ahead form); for
  /// the others it is closure() then step(). Returns the closure's loss.
  virtual Tensor step(const Closure& closure);
  /// True when step() alone cannot work and the loop must call step(closure).
  virtual bool needs_closure() const { return false; }
  /// Clears every parameter's gradient (sets it to undefined, like PyTorch's set_to_none=True).
  void zero_grad();

  float lr() const { return groups_.front().lr; }
  void set_lr(float lr);  // every group; what LR schedules call
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  /// Adds parameters with their own lr and weight decay (e.g. biases without decay), as PyTorch's
  /// add_param_group. A parameter may belong to one group only.
  void add_param_group(ParamGroup group);
  /// Number of step() calls so far.
  int64_t steps() const { return steps_; }
  /// The registry name: "sgd", "momentum", "nesterov".
  virtual const char* name() const = 0;

  /// Per-parameter state for a checkpoint (e.g. "momentum_buffer.3" for the 4th parameter, once it
  /// exists) and, through steps(), the step count. load_state restores both, checking shapes.
  virtual NamedTensors state() const { return {}; }
  virtual void load_state(const NamedTensors& state, int64_t steps);

 protected:
  Optimizer(std::vector<Tensor> params, float lr, float weight_decay, const char* name);
  /// Calls f(p, i) for every parameter p that has a gradient, i being its index across groups
  /// (the index of its per-parameter state).
  template <class F>
  void for_each_param_with_grad(F&& f) {
    int64_t i = 0;
    for (ParamGroup& group : groups_)
      for (Tensor& p : group.params) {
        if (p.grad().defined()) f(group, p, i);
        ++i;
      }
  }
  int64_t num_params() const;
  /// Called after add_param_group(), for optimizers whose per-parameter state must grow.
  virtual void on_param_group_added() {}
  /// torch.optim.SGD's update (kernels/optimizer_math.h) of every parameter with a gradient, in one
  /// kernel call per group. `buffers`, indexed like the parameters, holds the momentum buffers
  /// (null: plain SGD); a parameter's buffer is created on its first step.
  void sgd_family_step(float momentum, float dampening, bool nesterov, std::vector<Tensor>* buffers);

  std::vector<ParamGroup> groups_;
  int64_t steps_ = 0;
};

/// "name: lr must be >= 0, got -0.1" unless lr is finite and ≥ 0; likewise for the others.
void check_non_negative(const char* optimizer, const char* option, float value);

}  // namespace minidl::optim
