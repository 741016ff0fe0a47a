#include "optim/momentum.h"

#include <cmath>


namespace minidl::optim {

Momentum::Momentum(std::vector<Tensor> params, Options options)
    : MomentumBufferOptimizer(std::move(params), options.lr, options.weight_decay, "momentum"),
      momentum_(options.momentum),
      dampening_(options.dampening) {
  check_non_negative("momentum", "momentum", momentum_);
  check(std::isfinite(dampening_) && dampening_ >= 0.f && dampening_ <= 1.f,
        "momentum: dampening must be in [0, 1], got ", dampening_);
}

// g = grad + wd·p;  b = g on the first step, else b = μ·b + (1 − dampening)·g;  p = p − lr·b
// (one fused pass over every parameter)
void Momentum::step() {
  sgd_family_step(momentum_, dampening_, /*nesterov=*/false, &momentum_buffer_);
  ++steps_;
}

}  // namespace minidl::optim
