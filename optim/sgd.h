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
    float lr = 0.01f;
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
};

}  // namespace minidl::optim
