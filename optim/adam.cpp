#include "optim/adam.h"
#include "core/dispatch.h"
#include "kernels/optimizer_math.h"

#include <algorithm>
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

Adam::Adam(std::vector<Tensor> params, Options options) : Adam(std::move(params), options, false, "adam") {}

Adam::Adam(std::vector<Tensor> params, Options options, bool decoupled, const char* name)
    : Optimizer(std::move(params), options.lr, options.weight_decay, name), options_(options), decoupled_(decoupled) {
  check_adam_options(name, options.lr, options.betas, options.eps, options.weight_decay);
  exp_avg_ = add_state("exp_avg", 0.f, /*direction=*/true);
  exp_avg_sq_ = add_state("exp_avg_sq");
  max_exp_avg_sq_ = options.amsgrad ? add_state("max_exp_avg_sq") : -1;
  count_steps_per_param();
}

// Adam:  g = grad + wd·p;  AdamW: g = grad, p = p·(1 − lr·wd);  then
// m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  [v_max = max(v_max, v)]
// p = p − lr/(1 − β1^t) · m / (√v/√(1 − β2^t) + eps)   (one fused pass over each group's parameters;
// the per-parameter t, bias corrections included, travel with each tensor: kernels/optimizer_math.h)
void Adam::step() {
  const float beta1 = options_.betas.first, beta2 = options_.betas.second;  // not a structured binding: captured below
  for_each_group_fused({exp_avg_, exp_avg_sq_, max_exp_avg_sq_},
                       [&](const ParamGroup& group, std::span<const dispatch::OptimSlot> slots) {
                         // 1 − lr·wd in double, as torch computes it before multiplying p by it
                         const double decay = 1.0 - static_cast<double>(group.lr) * group.weight_decay;
                         dispatch::adam_step(slots,
                                             {.lr = group.lr,
                                              .beta1 = beta1,
                                              .beta2 = beta2,
                                              .eps = options_.eps,
                                              .weight_decay = group.weight_decay,
                                              .one_minus_beta1 = static_cast<float>(1.0 - beta1),
                                              .one_minus_beta2 = static_cast<float>(1.0 - beta2),
                                              .decay = decoupled_ ? static_cast<float>(decay) : 1.f,
                                              .amsgrad = options_.amsgrad,
                                              .decoupled = decoupled_},
                                             name());
                       });
  ++steps_;
}

// The same float operations as kernels::math::adam_update, term by term.
std::optional<StepExplanation> Adam::explain_step(int64_t param, int64_t flat) const {
  const Coordinate c = coordinate(param, flat);
  const float b1 = options_.betas.first, b2 = options_.betas.second;
  StepExplanation e;
  float p = c.theta, g = c.grad;
  if (decoupled_) {
    const float decay = static_cast<float>(1.0 - static_cast<double>(c.lr) * c.weight_decay);
    p = c.theta * decay;
    e.add("θ·(1 − lr·wd)", p,
          "AdamW's decoupled weight decay, before the update: " + explain_number(c.theta) + " · " +
              explain_number(decay));
  } else {
    if (c.weight_decay != 0.f) g = c.grad + c.weight_decay * c.theta;
    e.add("g", g, "g = grad + wd·θ (Adam's weight decay is an L2 term in the gradient)");
  }
  const float m0 = state_before("exp_avg", param, flat).value_or(0.f);
  const float v0 = state_before("exp_avg_sq", param, flat).value_or(0.f);
  const float m = m0 * b1 + static_cast<float>(1.0 - b1) * g;
  const float v = v0 * b2 + static_cast<float>(1.0 - b2) * (g * g);
  e.add("m (before)", m0, c.t == 1 ? "exp_avg starts at 0" : "exp_avg: the running mean of g");
  e.add("m (after)", m,
        "m = β1·m + (1 − β1)·g = " + explain_option(b1) + " · " + explain_number(m0) + " + " +
            explain_option(1.f - b1) + " · " + explain_number(g));
  e.add("v (before)", v0, c.t == 1 ? "exp_avg_sq starts at 0" : "exp_avg_sq: the running mean of g²");
  e.add("v (after)", v,
        "v = β2·v + (1 − β2)·g² = " + explain_option(b2) + " · " + explain_number(v0) + " + " +
            explain_option(1.f - b2) + " · " + explain_number(g * g));
  float second = v;
  if (options_.amsgrad) {
    second = std::max(state_before("max_exp_avg_sq", param, flat).value_or(0.f), v);
    e.add("v_max", second, "amsgrad: v_max = max(v_max, v), used in place of v");
  }
  float step_size = 0, correction = 0;
  kernels::math::adam_scalars({.lr = c.lr, .beta1 = b1, .beta2 = b2}, c.t, step_size, correction);
  e.add("t", static_cast<double>(c.t), "this parameter's step count");
  e.add("lr/(1 − β1^t)", step_size, "the step size, with m's bias correction");
  e.add("√(1 − β2^t)", correction, "v's bias correction");
  const float denom = std::sqrt(second) / correction + options_.eps;
  e.add("denom", denom, "√v / √(1 − β2^t) + eps (eps " + explain_option(options_.eps) + ")");
  e.delta = (p + -step_size * (m / denom)) - c.theta;
  e.add("Δθ", e.delta,
        decoupled_ ? "Δθ = (θ·(1 − lr·wd) − θ) − lr/(1 − β1^t) · m / denom" : "Δθ = −lr/(1 − β1^t) · m / denom");
  return e;
}

}  // namespace minidl::optim
