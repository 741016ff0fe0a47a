// nn::Linear: y = x·Wᵀ + b, with PyTorch's layout and initialization.
// B = batch, I = in_features, O = out_features.
#pragma once

#include <minidl/core/generator.h>
#include <minidl/nn/functional.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

class Linear : public Module {
 public:
  /// weight and bias drawn from U(−1/√I, 1/√I), PyTorch's default: kaiming_uniform_ with a = √5
  /// gives the bound gain·√(3/I) with gain = √(2/(1 + a²)) = √(1/3), i.e. exactly 1/√I. The weight
  /// is drawn first, row by row, then the bias, from `gen` (or default_generator()).
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen);

  /// x: (B, I) or (N, B, I) → (B, O) or (N, B, O).
  Tensor forward(const Tensor& x) override;
  /// act(forward(x)) as one fused op (nn::functional::linear); Sequential uses it for Linear + ReLU.
  Tensor forward(const Tensor& x, functional::Activation act);
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;

  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }

  Tensor weight;  // (O, I)
  Tensor bias;    // (O), undefined when built with bias = false

 private:
  int64_t in_features_, out_features_;
};

}  // namespace minidl::nn
