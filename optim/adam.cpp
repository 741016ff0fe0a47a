#include "optim/adam.h"
#include "core/dispatch.h"

#include <cmath>

namespace minidl::optim {

void check_adam_options(const char* name, float lr, const Betas& betas, float eps, float weight_decay) {
  check_non_negative(name, "lr", lr);
  check_non_negative(name, "eps", eps);
  check_non_negative(name, "weight_decay", weight_decay);
  check(std::isfinite(betas.first) && betas.first >= 0.f && betas.first < 1.f, name,
        ": betas[0] must be in [0, 1), got ", betas.first);
  check(std::isfinite(betas.second) && betas.second >= 0.f && betas.second < 1.f, name,
        ": betas[1] must be in [0, 1), got ", betas.second);
}

Adam::Adam(std::vector<Tensor> params, Options options)
    : Optimizer(std::move(params), options.lr, options.weight_decay, "adam"), options_(options) {
  check_adam_options("adam", options.lr, options.betas, options.eps, options.weight_decay);
  exp_avg_ = add_state("exp_avg", 0.f, /*direction=*/true);
  exp_avg_sq_ = add_state("exp_avg_sq");
  max_exp_avg_sq_ = options.amsgrad ? add_state("max_exp_avg_sq") : -1;
  count_steps_per_param();
}

// g = grad + wd·p;  m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  [v_max = max(v_max, v)]
// p = p − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps)   (one fused pass over each group's parameters;
// the per-parameter t, bias corrections included, travel with each tensor: kernels/optimizer_math.h)
void Adam::step() {
  const float beta1 = options_.betas.first, beta2 = options_.betas.second;  // not a structured binding: captured below
  for_each_group_fused({exp_avg_, exp_avg_sq_, max_exp_avg_sq_},
                       [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
                         dispatch::adam_step(slots,
                                             {.lr = group.lr,
                                              .beta1 = beta1,
                                              .beta2 = beta2,
                                              .eps = options_.eps,
                                              .weight_decay = group.weight_decay,
                                              .one_minus_beta1 = static_cast<float>(1.0 - beta1),
                                              .one_minus_beta2 = static_cast<float>(1.0 - beta2),
                                              .amsgrad = options_.amsgrad,
                                              .decoupled = false},
                                             name());
                       });
  ++steps_;
}

}  // namespace minidl::optim
