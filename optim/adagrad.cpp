#include "optim/adagrad.h"
#include "core/dispatch.h"
#include "kernels/optimizer_math.h"

#include <cmath>

namespace minidl::optim {

Adagrad::Adagrad(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "adagrad"), options_(options) {
  check_non_negative("adagrad", "lr", options.lr);
  check_non_negative("adagrad", "lr_decay", options.lr_decay);
  check_non_negative("adagrad", "weight_decay", options.weight_decay);
  check_non_negative("adagrad", "initial_accumulator_value", options.initial_accumulator_value);
  check_non_negative("adagrad", "eps", options.eps);
  sum_ = add_state("sum", options.initial_accumulator_value);
  count_steps_per_param();
}

// g = grad + wd·p;  clr = lr/(1 + (t − 1)·lr_decay);  s = s + g²;  p = p − clr·g/(√s + eps)
// (one fused pass over each group's parameters; clr is per parameter, from its own t)
void Adagrad::step() {
  for_each_group_fused({sum_, -1, -1}, [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
    dispatch::adagrad_step(
        slots, {.lr = group.lr, .lr_decay = options_.lr_decay, .weight_decay = group.weight_decay, .eps = options_.eps},
        name());
  });
  ++steps_;
}

// The same float operations as kernels::math::adagrad_update, term by term.
std::optional<StepExplanation> Adagrad::explain_step(int64_t param, int64_t flat) const {
  const Coordinate c = coordinate(param, flat);
  StepExplanation e;
  const float g = c.weight_decay != 0.f ? c.grad + c.weight_decay * c.theta : c.grad;
  e.add("g", g, "g = grad + wd·θ");
  const float s0 = state_before("sum", param, flat).value_or(options_.initial_accumulator_value);
  const float sum = s0 + g * g;
  e.add("s (after)", sum, "s = s + g² = " + explain_number(s0) + " + " + explain_number(g * g));
  const float clr = kernels::math::adagrad_step_size({.lr = c.lr, .lr_decay = options_.lr_decay}, c.t);
  e.add("clr", clr, "lr/(1 + (t − 1)·lr_decay), t = " + std::to_string(c.t));
  const float denom = std::sqrt(sum) + options_.eps;
  e.add("√s + eps", denom);
  e.delta = -clr * (g / denom);
  e.add("Δθ", e.delta, "Δθ = −clr·g/(√s + eps)");
  return e;
}

}  // namespace minidl::optim
