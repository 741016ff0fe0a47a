#include "optim/rmsprop.h"
#include "core/dispatch.h"

#include <cmath>

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

// The same float operations as kernels::math::rmsprop_update, term by term.
std::optional<StepExplanation> RMSprop::explain_step(int64_t param, int64_t flat) const {
  const Coordinate c = coordinate(param, flat);
  const Options& o = options_;
  StepExplanation e;
  const float g = c.weight_decay != 0.f ? c.grad + c.weight_decay * c.theta : c.grad;
  e.add("g", g, "g = grad + wd·θ");
  const float v0 = state_before("square_avg", param, flat).value_or(0.f);
  const float v = v0 * o.alpha + static_cast<float>(1.0 - o.alpha) * (g * g);
  e.add("v (before)", v0, "square_avg: the running mean of g²");
  e.add("v (after)", v,
        "v = α·v + (1 − α)·g² = " + explain_option(o.alpha) + " · " + explain_number(v0) + " + " +
            explain_option(1.f - o.alpha) + " · " + explain_number(g * g));
  float avg;
  if (o.centered) {
    const float a0 = state_before("grad_avg", param, flat).value_or(0.f);
    const float a = a0 * o.alpha + static_cast<float>(1.0 - o.alpha) * g;
    e.add("ḡ (after)", a, "centered: ḡ = α·ḡ + (1 − α)·g, from " + explain_number(a0));
    avg = std::sqrt(v + -1.f * (a * a)) + o.eps;
    e.add("avg", avg, "√(v − ḡ²) + eps: the gradient's running standard deviation");
  } else {
    avg = std::sqrt(v) + o.eps;
    e.add("avg", avg, "√v + eps: the gradient's running root mean square");
  }
  if (o.momentum > 0.f) {
    const float b0 = state_before("momentum_buffer", param, flat).value_or(0.f);
    const float b = b0 * o.momentum + g / avg;
    e.add("b (after)", b,
          "b = μ·b + g/avg = " + explain_option(o.momentum) + " · " + explain_number(b0) + " + " +
              explain_number(g / avg));
    e.delta = -c.lr * b;
    e.add("Δθ", e.delta, "Δθ = −lr·b");
  } else {
    e.delta = -c.lr * (g / avg);
    e.add("Δθ", e.delta, "Δθ = −lr·g/avg");
  }
  return e;
}

}  // namespace minidl::optim
