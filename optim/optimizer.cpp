#include "optim/optimizer.h"

#include <cmath>

#include "core/dispatch.h"

namespace minidl::optim {

void check_non_negative(const char* optimizer, const char* option, float value) {
  check(std::isfinite(value) && value >= 0.f, optimizer, ": ", option, " must be >= 0, got ", value);
}

namespace {

void check_group(const ParamGroup& group, const std::vector<ParamGroup>& existing, const char* name) {
  check_non_negative(name, "lr", group.lr);
  check_non_negative(name, "weight_decay", group.weight_decay);
  check(!group.params.empty(), name, ": got an empty parameter list");
  for (const Tensor& p : group.params) {
    check(p.defined() && p.dtype() == DType::float32 && p.is_leaf() && p.requires_grad(), name,
          ": parameters must be float32 leaf tensors that require grad");
    for (const ParamGroup& g : existing)
      for (const Tensor& q : g.params)
        check(p.impl() != q.impl(), name, ": a parameter of shape ", p.shape(), " is in two parameter groups");
  }
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> params, float lr, float weight_decay, const char* name) {
  ParamGroup group{std::move(params), lr, weight_decay};
  check_group(group, groups_, name);
  groups_.push_back(std::move(group));
}

void Optimizer::add_param_group(ParamGroup group) {
  check_group(group, groups_, name());
  groups_.push_back(std::move(group));
  on_param_group_added();
}

void Optimizer::zero_grad() {
  for (ParamGroup& group : groups_)
    for (Tensor& p : group.params) p.set_grad(Tensor{});
}

void Optimizer::sgd_family_step(float momentum, float dampening, bool nesterov, std::vector<Tensor>* buffers) {
  static thread_local std::vector<dispatch::SgdSlot> slots;  // reused: a step allocates nothing
  int64_t index = 0;
  for (const ParamGroup& group : groups_) {
    slots.clear();
    for (const Tensor& p : group.params) {
      const int64_t i = index++;
      if (!p.grad().defined()) continue;
      dispatch::SgdSlot slot{p, p.grad(), {}, false};
      if (buffers) {
        Tensor& b = (*buffers)[static_cast<size_t>(i)];
        slot.first = !b.defined();
        if (slot.first) b = Tensor::empty(p.shape(), {.device = p.device()});  // set to g by the kernel
        slot.buffer = b;
      }
      slots.push_back(std::move(slot));
    }
    dispatch::sgd_step(slots, {.lr = group.lr, .weight_decay = group.weight_decay, .momentum = momentum,
                               .dampening = dampening, .nesterov = nesterov},
                       name());
  }
  slots.clear();
}

Tensor Optimizer::step(const Closure& closure) {
  Tensor loss = closure();
  step();
  return loss;
}

void Optimizer::set_lr(float lr) {
  check_non_negative(name(), "lr", lr);
  for (ParamGroup& group : groups_) group.lr = lr;
}

int64_t Optimizer::num_params() const {
  int64_t n = 0;
  for (const ParamGroup& group : groups_) n += static_cast<int64_t>(group.params.size());
  return n;
}

void Optimizer::load_state(const NamedTensors& state, int64_t steps) {
  check(state.empty(), name(), ": has no per-parameter state, got ", state.size(), " tensors ('",
        state.empty() ? "" : state.front().first, "', …)");
  check(steps >= 0, name(), ": step count must be >= 0, got ", steps);
  steps_ = steps;
}

}  // namespace minidl::optim
