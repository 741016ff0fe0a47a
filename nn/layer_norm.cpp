#include "nn/layer_norm.h"

#include "nn/functional.h"

namespace minidl::nn {

LayerNorm::LayerNorm(std::vector<int64_t> normalized_shape, float eps, bool elementwise_affine, bool bias)
    : normalized_shape_(std::move(normalized_shape)), eps_(eps) {
  const Shape shape(normalized_shape_);
  bool positive = !normalized_shape_.empty();
  for (int64_t s : normalized_shape_) positive = positive && s > 0;
  check(positive, "LayerNorm: normalized_shape must be non-empty sizes > 0, got ", shape);
  check(eps > 0.f, "LayerNorm: eps must be > 0, got ", eps);
  if (!elementwise_affine) return;
  weight = Tensor::ones(shape);
  register_parameter("weight", weight);
  if (bias) {
    this->bias = Tensor::zeros(shape);
    register_parameter("bias", this->bias);
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return functional::layer_norm(x, normalized_shape_, weight, bias, eps_); }

std::string LayerNorm::extra_repr() const {
  std::string shape = "(";
  for (size_t i = 0; i < normalized_shape_.size(); ++i) shape += (i ? ", " : "") + std::to_string(normalized_shape_[i]);
  shape += normalized_shape_.size() == 1 ? ",)" : ")";
  return str_cat(shape, ", eps=", eps_, ", elementwise_affine=", weight.defined() ? "true" : "false",
                 weight.defined() && !bias.defined() ? ", bias=false" : "");
}

}  // namespace minidl::nn
