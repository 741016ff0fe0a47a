#include "optim/adamw.h"

#include "core/dispatch.h"
#include "optim/adam.h"

namespace minidl::optim {

AdamW::AdamW(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "adamw"), options_(options) {
  check_adam_options("adamw", options.lr, options.betas, options.eps, options.weight_decay);
  exp_avg_ = add_state("exp_avg", 0.f, /*direction=*/true);
  exp_avg_sq_ = add_state("exp_avg_sq");
  max_exp_avg_sq_ = options.amsgrad ? add_state("max_exp_avg_sq") : -1;
  count_steps_per_param();
}

// p = p·(1 − lr·wd);  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  [v_max = max(v_max, v)]
// p = p − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps)   (Adam's fused kernel, decoupled)
void AdamW::step() {
  const float beta1 = options_.betas.first, beta2 = options_.betas.second;  // not a structured binding: captured below
  for_each_group_fused({exp_avg_, exp_avg_sq_, max_exp_avg_sq_},
                       [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
                         const double decay = 1.0 - static_cast<double>(group.lr) * group.weight_decay;
                         dispatch::adam_step(slots,
                                             {.lr = group.lr,
                                              .beta1 = beta1,
                                              .beta2 = beta2,
                                              .eps = options_.eps,
                                              .weight_decay = group.weight_decay,
                                              .one_minus_beta1 = static_cast<float>(1.0 - beta1),
                                              .one_minus_beta2 = static_cast<float>(1.0 - beta2),
                                              .decay = static_cast<float>(decay),
                                              .amsgrad = options_.amsgrad,
                                              .decoupled = true},
                                             name());
                       });
  ++steps_;
}

}  // namespace minidl::optim
