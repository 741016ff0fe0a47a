#include "optim/momentum.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "core/grad_mode.h"

namespace minidl::optim {

Momentum::Momentum(std::vector<Tensor> params, Options options)
    : MomentumBufferOptimizer(std::move(params), options.lr, options.weight_decay, "momentum"),
      momentum_(options.momentum),
      dampening_(options.dampening) {
  check_non_negative("momentum", "momentum", momentum_);
  check(std::isfinite(dampening_) && dampening_ >= 0.f && dampening_ <= 1.f,
        "momentum: dampening must be in [0, 1], got ", dampening_);
}

void Momentum::step() {
  NoGradGuard no_grad;
  for_each_param_with_grad([&](const ParamGroup& group, Tensor& p, int64_t i) {
    Tensor g = p.grad();
    if (group.weight_decay != 0.f) g = g + group.weight_decay * p;  // g = grad + wd·p
    Tensor& b = momentum_buffer_[static_cast<size_t>(i)];
    if (!b.defined())
      b = g.clone();                                  // b = g on the first step
    else
      b.mul_(momentum_).add_(g, 1.f - dampening_);    // b = μ·b + (1 − dampening)·g
    p.add_(b, -group.lr);                             // p = p − lr·b
  });
  ++steps_;
}

}  // namespace minidl::optim
