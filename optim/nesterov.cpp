#include "optim/nesterov.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "core/grad_mode.h"

namespace minidl::optim {

Nesterov::Nesterov(std::vector<Tensor> params, Options options)
    : MomentumBufferOptimizer(std::move(params), options.lr, options.weight_decay, "nesterov"),
      momentum_(options.momentum) {
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

}  // namespace minidl::optim
