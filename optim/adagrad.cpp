#include "optim/adagrad.h"
#include "core/dispatch.h"

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

}  // namespace minidl::optim
