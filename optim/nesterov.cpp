#include "optim/nesterov.h"

#include <cmath>


namespace minidl::optim {

Nesterov::Nesterov(std::vector<Tensor> params, Options options)
    : MomentumBufferOptimizer(std::move(params), options.lr, options.weight_decay, "nesterov"),
      momentum_(options.momentum) {
  check(std::isfinite(momentum_) && momentum_ > 0.f, "nesterov: momentum must be > 0, got ", momentum_);
}

// g = grad + wd·p;  b = g on the first step, else b = μ·b + g;  p = p − lr·(g + μ·b)
// (one fused pass over every parameter)
void Nesterov::step() {
  sgd_family_step(momentum_, /*dampening=*/0.f, /*nesterov=*/true, &momentum_buffer_);
  ++steps_;
}

}  // namespace minidl::optim
