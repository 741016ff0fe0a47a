// optim::StepExplanation: one optimizer step of one coordinate, as named terms with their formulas:
// what `minidl explain-step` prints. Each optimizer writes its own, beside its step(), by overriding
// Optimizer::explain_step (optim/optimizer.h); the program loops over the terms without knowing
// which optimizer made them, so a plugin's optimizer is explained exactly as a built-in one.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace minidl::optim {

/// One term: its name ("m (after)", "Δθ"), its value and the formula it comes from (may be empty).
struct StepTerm {
  std::string term;
  double value = 0.0;
  std::string formula;
};

/// One coordinate's step: the terms in the order they are computed, and Δθ, the change step() makes
/// to the coordinate (computed in float, as step() computes it, so that θ + Δθ can be checked).
struct StepExplanation {
  std::vector<StepTerm> terms;
  float delta = 0.f;

  void add(std::string term, double value, std::string formula = {}) {
    terms.push_back({std::move(term), value, std::move(formula)});
  }
};

/// A computed value in a formula: 8 significant digits, never "-0" (a zero's sign is an artefact of
/// the product that made it, not a value to explain).
std::string explain_number(double value);
/// A hyperparameter in a formula, exactly as the run uses it (format_option's shortest round-trip
/// text), never "-0".
std::string explain_option(float value);

/// Terms several optimizers share. The SGD family's coupled weight decay: adds wd·θ and
/// g = grad + wd·θ, and returns g.
float explain_coupled_decay(StepExplanation& e, float theta, float grad, float weight_decay);
/// The momentum buffer (torch.optim.SGD's): adds b before and after (b = g on the first step, when
/// `before` is nullopt; else μ·b + (1 − dampening)·g), and returns b after.
float explain_momentum_buffer(StepExplanation& e, std::optional<float> before, float g, float momentum,
                              float dampening);

}  // namespace minidl::optim
