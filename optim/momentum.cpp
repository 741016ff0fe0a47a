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

namespace minidl::optim {

std::optional<StepExplanation> Momentum::explain_step(int64_t param, int64_t flat) const {
  const Coordinate c = coordinate(param, flat);
  StepExplanation e;
  const float g = explain_coupled_decay(e, c.theta, c.grad, c.weight_decay);
  const float b = explain_momentum_buffer(e, state_before("momentum_buffer", param, flat), g, momentum_, dampening_);
  e.delta = -c.lr * b;
  e.add("Δθ", e.delta, "Δθ = −lr·b");
  return e;
}

}  // namespace minidl::optim
