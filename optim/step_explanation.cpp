#include "optim/step_explanation.h"

#include <cstdio>

#include "optim/options.h"

namespace minidl::optim {

// + 0.0 turns −0 into 0 in both.
std::string explain_number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.8g", value + 0.0);
  return buf;
}

std::string explain_option(float value) { return format_option(value + 0.f); }

float explain_coupled_decay(StepExplanation& e, float theta, float grad, float weight_decay) {
  const float decay = weight_decay * theta;
  e.add("wd·θ", decay,
        "weight decay's pull towards 0: " + explain_option(weight_decay) + " · " + explain_number(theta));
  const float g = weight_decay != 0.f ? grad + decay : grad;
  e.add("g", g, "g = grad + wd·θ");
  return g;
}

float explain_momentum_buffer(StepExplanation& e, std::optional<float> before, float g, float momentum,
                              float dampening) {
  const float b0 = before.value_or(0.f);
  e.add("b (before)", b0, before ? "momentum buffer from the steps so far" : "no buffer yet: this is its first step");
  const float b = before ? momentum * b0 + (1.f - dampening) * g : g;
  e.add("b (after)", b,
        before ? "b = μ·b + (1 − dampening)·g = " + explain_option(momentum) + " · " + explain_number(b0) + " + " +
                     explain_option(1.f - dampening) + " · " + explain_number(g)
               : "b = g on the first step");
  return b;
}

}  // namespace minidl::optim
