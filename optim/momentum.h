// optim::Momentum: SGD with heavy-ball momentum.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// SGD with momentum, identical to torch.optim.SGD(params, lr, momentum, dampening, weight_decay).
/// For each parameter p with gradient grad and momentum buffer b:
///   g = grad + weight_decay · p
///   b = g                                     on p's first step
///   b = momentum · b + (1 − dampening) · g    afterwards
///   p = p − lr · b
/// b is a running, decaying sum of past gradients: steps keep going in directions the gradients
/// agree on and cancel in directions where they oscillate. NOTE: the first step copies g instead
/// of damping it, exactly as PyTorch does.
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
class Momentum : public Optimizer {
 public:
  struct Options {
    float lr = 0.01f;
    float momentum = 0.9f;
    float dampening = 0.f;
    float weight_decay = 0.f;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("momentum", &Options::momentum, "momentum factor μ"),
                        field("dampening", &Options::dampening, "dampening of the gradient in the buffer"),
                        field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient")};
    }
  };
  Momentum(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "momentum"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;

 private:
  float momentum_, dampening_;
  int buffer_;  // state slot "momentum_buffer"
};

}  // namespace minidl::optim
