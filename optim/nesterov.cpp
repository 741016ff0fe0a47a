#include "optim/nesterov.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "core/grad_mode.h"
#include "optim/momentum_state.h"

namespace minidl::optim {

Nesterov::Nesterov(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "nesterov"),
      momentum_(options.momentum),
      momentum_buffer_(static_cast<size_t>(num_params())) {
  check(std::isfinite(momentum_) && momentum_ > 0.f, "nesterov: momentum must be > 0, got ", momentum_);
}

void Nesterov::step() {
  NoGradGuard no_grad;
  for_each_param_with_grad([&](const ParamGroup& group, Tensor& p, int64_t i) {
    Tensor g = p.grad();
    if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
    Tensor& b = momentum_buffer_[static_cast<size_t>(i)];
    if (!b.defined())
      b = g.clone();                    // b = g on the first step
    else
      b.mul_(momentum_).add_(g);        // b = μ·b + g
    p.add_(g + momentum_ * b, -group.lr);  // p = p − lr·(g + μ·b)
  });
  ++steps_;
}

NamedTensors Nesterov::state() const { return momentum_state(momentum_buffer_); }

void Nesterov::load_state(const NamedTensors& state, int64_t steps) {
  load_momentum_state(name(), groups_, state, momentum_buffer_);
  Optimizer::load_state({}, steps);
}

}  // namespace minidl::optim
