// optim::RMSprop: gradients divided by a running root mean square of their recent values.
#pragma once

#include <tuple>

#include <minidl/optim/optimizer.h>
#include <minidl/optim/options.h>

namespace minidl::optim {

/// RMSprop, identical to torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum,
/// centered). For each parameter p with gradient grad and state v = square_avg, ḡ = grad_avg
/// (centered only), b = momentum_buffer (momentum > 0 only), all 0 before the first step:
///   g = grad + weight_decay · p
///   v = α · v + (1 − α) · g²
///   ḡ = α · ḡ + (1 − α) · g                 centered only
///   avg = √(v − ḡ²) + eps                  centered: the gradient's running variance
///   avg = √v + eps                         otherwise
///   b = momentum · b + g / avg;  p = p − lr · b      momentum > 0
///   p = p − lr · g / avg                             otherwise
/// NOTE: unlike Adam there is no bias correction, so the first steps are large (v starts at 0:
/// the first divides g by √(1 − α)·|g|, a step of about 10·lr at α = 0.99).
/// reference: https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html; Hinton,
/// Coursera lecture 6e (2012); Graves, "Generating Sequences With Recurrent Neural Networks" (centered)
class RMSprop : public Optimizer {
 public:
  struct Options {
    float lr = 1e-2f;
    float alpha = 0.99f;
    float eps = 1e-8f;
    float weight_decay = 0.f;
    float momentum = 0.f;
    bool centered = false;
    static constexpr auto fields() {
      return std::tuple{field("lr", &Options::lr, "learning rate"),
                        field("alpha", &Options::alpha, "decay rate of the running mean of g²"),
                        field("eps", &Options::eps, "added to the root mean square"),
                        field("weight_decay", &Options::weight_decay, "L2 penalty, added to the gradient"),
                        field("momentum", &Options::momentum, "momentum factor of the scaled step"),
                        field("centered", &Options::centered, "divide by the running std instead of the RMS")};
    }
  };
  RMSprop(std::vector<Tensor> params, Options options);

  void step() override;
  using Optimizer::step;  // step(closure) too
  const char* name() const override { return "rmsprop"; }
  std::optional<StepExplanation> explain_step(int64_t param, int64_t flat) const override;
  const Options& options() const { return options_; }

 private:
  Options options_;
  int square_avg_, momentum_buffer_, grad_avg_;  // state slots (-1: the option is off)
};

}  // namespace minidl::optim
