// nn::Dropout: inverted dropout in training mode, the identity in evaluation mode.
#pragma once

#include <minidl/core/generator.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

class Dropout : public Module {
 public:
  /// Zeroes each element with probability p (in [0, 1)) and scales the rest by 1/(1 − p) while
  /// training. Masks are drawn from `gen` (default_generator() if none is given), which must
  /// outlive the layer: seed it, and a run repeats.
  explicit Dropout(float p = 0.5f);
  Dropout(float p, Generator& gen);

  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Dropout"; }
  std::string extra_repr() const override;
  float p() const { return p_; }
  /// Draw masks from `gen` from now on (a trainer that saves its generator's state in checkpoints).
  void set_generator(Generator& gen) { gen_ = &gen; }

 private:
  float p_;
  Generator* gen_;
};

}  // namespace minidl::nn
