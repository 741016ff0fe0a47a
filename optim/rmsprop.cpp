#include "optim/rmsprop.h"
#include "core/dispatch.h"

namespace minidl::optim {

RMSprop::RMSprop(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "rmsprop"), options_(options) {
  check_non_negative("rmsprop", "lr", options.lr);
  check_non_negative("rmsprop", "alpha", options.alpha);
  check_non_negative("rmsprop", "eps", options.eps);
  check_non_negative("rmsprop", "weight_decay", options.weight_decay);
  check_non_negative("rmsprop", "momentum", options.momentum);
  square_avg_ = add_state("square_avg");
  momentum_buffer_ = options.momentum > 0.f ? add_state("momentum_buffer", 0.f, /*direction=*/true) : -1;
  grad_avg_ = options.centered ? add_state("grad_avg") : -1;
}

// g = grad + wd·p;  v = α·v + (1 − α)·g²;  [ḡ = α·ḡ + (1 − α)·g];  avg = √(v [− ḡ²]) + eps
// [b = μ·b + g/avg; p = p − lr·b]  or  p = p − lr·g/avg   (one fused pass over each group's parameters)
void RMSprop::step() {
  for_each_group_fused({square_avg_, momentum_buffer_, grad_avg_},
                       [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
                         dispatch::rmsprop_step(slots,
                                                {.lr = group.lr,
                                                 .alpha = options_.alpha,
                                                 .one_minus_alpha = static_cast<float>(1.0 - options_.alpha),
                                                 .eps = options_.eps,
                                                 .weight_decay = group.weight_decay,
                                                 .momentum = options_.momentum},
                                                name());
                       });
  ++steps_;
}

}  // namespace minidl::optim
