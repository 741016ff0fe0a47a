#include "optim/momentum.h"
#include "core/dispatch.h"

#include <cmath>

namespace minidl::optim {

Momentum::Momentum(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "momentum"),
      momentum_(options.momentum),
      dampening_(options.dampening),
      buffer_(add_state("momentum_buffer", /*init=*/std::nullopt, /*direction=*/true)) {
  check_non_negative("momentum", "momentum", momentum_);
  check(std::isfinite(dampening_) && dampening_ >= 0.f && dampening_ <= 1.f,
        "momentum: dampening must be in [0, 1], got ", dampening_);
}

// g = grad + wd·p;  b = g on the first step, else b = μ·b + (1 − dampening)·g;  p = p − lr·b
// (one fused pass over each group's parameters; the kernel sets a new buffer to g)
void Momentum::step() {
  for_each_group_fused({buffer_, -1, -1}, [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
    dispatch::sgd_step(slots,
                       {.lr = group.lr,
                        .weight_decay = group.weight_decay,
                        .momentum = momentum_,
                        .dampening = dampening_,
                        .nesterov = false},
                       name());
  });
  ++steps_;
}

}  // namespace minidl::optim
