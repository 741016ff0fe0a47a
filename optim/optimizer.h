// optim::Optimizer: the interface every optimizer implements. It holds parameter groups (each with
// its own lr and weight decay) and named per-parameter state slots (PyTorch's state[p]["exp_avg"]),
// and offers step(), zero_grad(), lr() and set_lr().
//
// Writing an optimizer: derive, give it an Options aggregate, declare its state slots by name in the
// constructor (add_state), and write step() to follow the math in its doc comment; register it by
// name (optim/registry.h). The base class creates, saves, loads, moves and reports the state, so the
// step is the only optimizer-specific code. Parameters are updated in place, inside a NoGradGuard,
// so the model's tensors (and anything viewing them) see the new values. The built-in optimizers run
// their per-element math (kernels/optimizer_math.h) as one fused pass over a group's parameters,
// through fused_slots() and core/dispatch.h; an optimizer written with tensor ops needs neither.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <minidl/core/tensor.h>
#include <minidl/optim/step_explanation.h>

namespace minidl::dispatch {
struct OptimSlot;  // core/dispatch.h (internal): what the fused kernels take
}  // namespace minidl::dispatch

namespace minidl::optim {

struct ParamGroup {
  std::vector<Tensor> params;
  float lr = 0.f;
  float weight_decay = 0.f;
};

/// Parameters that share a weight decay, as a model describes them (nn::Module::optimizer_groups)
/// and as torch.optim takes them: [{"params": decay, "weight_decay": 0.1}, {"params": no_decay,
/// "weight_decay": 0.0}]. Every group gets the optimizer's lr.
struct DecayGroup {
  std::vector<Tensor> params;
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
  /// the others it is closure() then step(). Returns the closure's loss. A derived class that
  /// overrides step() hides this overload: add `using Optimizer::step;`.
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
  /// Parameters across all groups; state is indexed by this order.
  int64_t num_params() const;
  /// The registry name: "sgd", "adam", …
  virtual const char* name() const = 0;

  /// The names of the per-parameter state slots, in declaration order (e.g. exp_avg, exp_avg_sq).
  std::vector<std::string> state_names() const;
  /// Slot `slot` of parameter `param` (its index across groups): undefined before the parameter's
  /// first step, and for a name the optimizer does not have.
  Tensor state(std::string_view slot, int64_t param) const;
  /// The slots that hold a direction the update moves along (a momentum buffer, Adam's exp_avg):
  /// what telemetry compares the gradient with.
  std::vector<std::string> direction_state_names() const;
  /// Steps parameter `param` has taken: its own count for optimizers that keep one (Adam, Adagrad:
  /// a parameter without a gradient does not advance), else steps().
  int64_t param_steps(int64_t param) const;

  /// State for a checkpoint: "<slot>.<i>" for each slot of the i-th parameter that exists, and
  /// "step" (int32, one per parameter) for optimizers that count steps per parameter. load_state
  /// restores it and the step count, checking names and shapes, onto the parameters' devices.
  virtual NamedTensors state() const;
  virtual void load_state(const NamedTensors& state, int64_t steps);

  /// The step() about to be taken, for coordinate `flat` (row-major) of parameter `param` (its index
  /// across groups), as named terms computed in float as step() computes them: what `minidl
  /// explain-step` prints. Call it after backward() and before step(). Each optimizer writes its own
  /// beside its step(), reading coordinate() and state_before(); nullopt (the default) means this
  /// optimizer does not explain its steps (or not in its current configuration).
  virtual std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const;

 protected:
  Optimizer(std::vector<Tensor> params, float lr, float weight_decay, const char* name);

  /// Declares a per-parameter state slot and returns its index. It is created on a parameter's
  /// first step on the parameter's device, filled with `init` (nullopt: left for the kernel to set,
  /// with OptimSlot::first). direction: see direction_state_names().
  int add_state(std::string slot, std::optional<float> init = 0.f, bool direction = false);
  /// Declares a per-parameter state slot of a fixed shape, whatever the parameter's: a scalar
  /// (Shape{1}) such as NAdam's running product μ_1·…·μ_t, or a small tensor. Created filled with
  /// `init` on the parameter's first step, on its device; saved, loaded, moved and reported like the
  /// others ("<slot>.<i>" in a checkpoint). Read it with state_at(slot, i, p).item(), update it in
  /// place (state_at(…).mul_(mu)) or assign it.
  int add_state(std::string slot, Shape shape, float init);
  /// Keep one step count per parameter (saved as "step"), as torch's Adam and Adagrad do. Both loops
  /// below advance it, before they hand a parameter over: inside the loop param_steps(i) is t, the
  /// step being taken (1 on a parameter's first), and a parameter without a gradient does not count.
  void count_steps_per_param() { per_param_steps_ = true; }
  /// Slot `slot` (an index from add_state) of parameter i, creating it if need be.
  Tensor& state_at(int slot, int64_t i, const Tensor& param);

  /// Calls f(group, p, i) for every parameter p that has a gradient, i being its index across groups
  /// (the index of its per-parameter state). Call it once per step: with count_steps_per_param() it
  /// advances p's step count first, so that param_steps(i) inside f is this step's t.
  template <class F>
  void for_each_param_with_grad(F&& f) {
    int64_t i = 0;
    for (ParamGroup& group : groups_)
      for (Tensor& p : group.params) {
        if (p.grad().defined()) {
          if (per_param_steps_) ++param_steps_[static_cast<size_t>(i)];
          f(group, p, i);
        }
        ++i;
      }
  }
  /// For each group, f(group, slots): its parameters that have a gradient, each with the state
  /// slots `slots` (indices from add_state, -1 for none; created on the parameter's first step) and
  /// its step count, advanced here. What the fused kernels (core/dispatch.h) take. Allocates
  /// nothing once warm.
  template <class F>
  void for_each_group_fused(std::array<int, 3> slots, F&& f) {
    int64_t first = 0;
    for (const ParamGroup& group : groups_) {
      f(group, gather(group, first, slots));
      first += static_cast<int64_t>(group.params.size());
    }
    release_gathered();
  }
  /// What explain_step starts from: coordinate `flat` of parameter `param` now, its gradient, its
  /// group's lr and weight decay, and t, the step count this step will have (param_steps + 1).
  struct Coordinate {
    float theta, grad, lr, weight_decay;
    int64_t t;
  };
  Coordinate coordinate(int64_t param, int64_t flat) const;
  /// Coordinate `flat` of state slot `slot` of parameter `param` before the step; nullopt before the
  /// parameter's first step (the slot does not exist yet).
  std::optional<float> state_before(std::string_view slot, int64_t param, int64_t flat) const;

  /// Called after add_param_group(), for optimizers that keep per-parameter state of their own.
  virtual void on_param_group_added() {}

  std::vector<ParamGroup> groups_;
  int64_t steps_ = 0;

 private:
  struct Slot {
    std::string name;
    std::optional<float> init;
    bool direction;
    std::optional<Shape> shape;   // nullopt: the parameter's
    std::vector<Tensor> tensors;  // per parameter; undefined before its first step
  };
  std::span<const dispatch::OptimSlot> gather(const ParamGroup& group, int64_t first, std::array<int, 3> slots);
  void release_gathered();
  void resize_state();

  const char* name_;  // for errors raised before the derived class exists
  std::vector<Slot> slots_;
  bool per_param_steps_ = false;
  std::vector<int64_t> param_steps_;
};

/// Optimizer T over `groups` (empty ones skipped; at least one must have parameters): each group
/// has its own weight decay, every other option is `options`', as torch.optim.T(groups, **options):
///   auto opt = optim::make_grouped<optim::AdamW>(gpt.optimizer_groups(0.1f), {.lr = 1e-3f});
template <class T>
std::unique_ptr<T> make_grouped(std::vector<DecayGroup> groups, typename T::Options options) {
  std::erase_if(groups, [](const DecayGroup& g) { return g.params.empty(); });
  check(!groups.empty(), "make_grouped: no parameters in any group");
  options.weight_decay = groups.front().weight_decay;
  auto optimizer = std::make_unique<T>(std::move(groups.front().params), options);
  for (size_t i = 1; i < groups.size(); ++i)
    optimizer->add_param_group({std::move(groups[i].params), optimizer->lr(), groups[i].weight_decay});
  return optimizer;
}

/// "name: lr must be >= 0, got -0.1" unless lr is finite and ≥ 0; likewise for the others.
void check_non_negative(const char* optimizer, const char* option, float value);

}  // namespace minidl::optim
