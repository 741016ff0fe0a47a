// optim::Adagrad: each coordinate's step divided by the root of its summed squared gradients.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// Adagrad, identical to torch.optim.Adagrad(params, lr, lr_decay, weight_decay,
/// initial_accumulator_value, eps). For each parameter p with gradient grad, its own step count t
/// (1 on its first step) and state s = sum, initial_accumulator_value before the first step:
///   g = grad + weight_decay · p
///   clr = lr / (1 + (t − 1) · lr_decay)
///   s = s + g²
///   p = p − clr · g / (√s + eps)
/// s only grows, so every coordinate's step shrinks over time, fastest where gradients are large.
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.Adagrad.html; Duchi, Hazan and
/// Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic Optimization", JMLR 2011
class Adagrad : public Optimizer {
 public:
  struct Options {
    float lr = 1e-2f;
    float lr_decay = 0.f;
    float weight_decay = 0.f;
    float initial_accumulator_value = 0.f;
    float eps = 1e-10f;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("lr_decay", &Options::lr_decay, "lr / (1 + (t − 1)·lr_decay)"),
                        field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient"),
                        field("initial_accumulator_value", &Options::initial_accumulator_value,
                              "the sum of squares before the first step"),
                        field("eps", &Options::eps, "added to √sum")};
    }
  };
  Adagrad(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "adagrad"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;
  const Options& options() const { return options_; }

 private:
  Options options_;
  int sum_;  // state slot
};

}  // namespace minidl::optim
