// optim::SGD: plain stochastic gradient descent.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// Stochastic gradient descent, identical to torch.optim.SGD(params, lr, weight_decay=…) with no
/// momentum. For each parameter p with gradient grad:
///   g = grad + weight_decay · p
///   p = p − lr · g
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
class SGD : public Optimizer {
 public:
  struct Options {
    // NOTE: 10× the momentum methods' 0.01, not torch's 1e-3: without momentum a step is lr·g, where
    // momentum μ = 0.9 moves about lr·g/(1 − μ) = 10·lr·g, so 0.1 is the like-for-like default that
    // `compare` and `train` use when no --lr is given (sgd at 0.01 lags nesterov only by its step size).
    float lr = 0.1f;
    float weight_decay = 0.f;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient")};
    }
  };
  SGD(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "sgd"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;
};

}  // namespace minidl::optim
