// optim::Nesterov: SGD with Nesterov momentum.
#pragma once

#include "optim/momentum_buffer.h"

namespace minidl::optim {

/// Nesterov momentum, identical to torch.optim.SGD(params, lr, momentum, weight_decay,
/// nesterov=True). For each parameter p with gradient grad and momentum buffer b:
///   g = grad + weight_decay · p
///   b = g                       on p's first step
///   b = momentum · b + g        afterwards
///   p = p − lr · (g + momentum · b)
///
/// Where this comes from. Sutskever et al. (2013) write Nesterov's method with a velocity v that
/// takes the gradient at the look-ahead point θ + μv:
///   v' = μ·v − lr·∇f(θ + μ·v),    θ' = θ + v'
/// Store φ = θ + μv, the look-ahead point, instead of θ. Then the gradient is taken where the
/// parameters are, g = ∇f(φ), and
///   φ' = θ' + μ·v' = (φ − μ·v) + v' + μ·v' = φ − lr·g + μ·v'          (using v' − μv = −lr·g)
/// With b = −v/lr (constant lr) the velocity update is b' = μ·b + g, and μ·v' = −lr·μ·b', so
///   φ' = φ − lr·(g + μ·b')
/// which is the update above; v = 0 at the start gives b = g on the first step. The two forms
/// produce the same iterates under φ = θ + μv only while lr is constant.
/// reference: Sutskever, Martens, Dahl, Hinton, "On the importance of initialization and momentum
/// in deep learning", ICML 2013; https://pytorch.org/docs/stable/generated/torch.optim.SGD.html
class Nesterov : public MomentumBufferOptimizer {
 public:
  struct Options {
    float lr = 0.01f;
    float momentum = 0.9f;
    float weight_decay = 0.f;
  };
  Nesterov(std::vector<Tensor> params, Options options);

  void step() override;
  const char* name() const override { return "nesterov"; }

 private:
  float momentum_;
};

}  // namespace minidl::optim
