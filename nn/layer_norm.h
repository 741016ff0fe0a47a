// nn::LayerNorm: normalizes each vector over its last dimension(s), then scales and shifts it
// (torch.nn.LayerNorm). C = the normalized size.
#pragma once

#include <vector>

#include <minidl/nn/module.h>

namespace minidl::nn {

class LayerNorm : public Module {
 public:
  /// y = (x − μ)/√(σ² + eps)·weight + bias over the trailing dims `normalized_shape`; weight starts
  /// at 1 and bias at 0 (PyTorch's init). Without elementwise_affine there are no parameters; with
  /// bias = false only the weight (torch 2.1's LayerNorm(bias=False), nanoGPT's option).
  explicit LayerNorm(std::vector<int64_t> normalized_shape, float eps = 1e-5f, bool elementwise_affine = true,
                     bool bias = true);
  explicit LayerNorm(int64_t normalized_size, float eps = 1e-5f, bool elementwise_affine = true, bool bias = true)
      : LayerNorm(std::vector<int64_t>{normalized_size}, eps, elementwise_affine, bias) {}

  Tensor forward(const Tensor& x) override;  // (…, C) → (…, C)
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;

  Tensor weight;  // (C), undefined without elementwise_affine
  Tensor bias;    // (C), undefined without elementwise_affine or with bias = false

 private:
  std::vector<int64_t> normalized_shape_;
  float eps_;
};

}  // namespace minidl::nn
