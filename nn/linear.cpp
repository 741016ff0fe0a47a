#include "nn/linear.h"

#include <cmath>

namespace minidl::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool bias)
    : Linear(in_features, out_features, bias, default_generator()) {}

Linear::Linear(int64_t in_features, int64_t out_features, bool bias, Generator& gen)
    : in_features_(in_features), out_features_(out_features) {
  check(in_features > 0 && out_features > 0, "Linear: in_features and out_features must be positive, got ", in_features,
        " and ", out_features);
  const float bound = 1.f / std::sqrt(static_cast<float>(in_features));
  weight = Tensor::uniform({out_features, in_features}, -bound, bound, gen);
  register_parameter("weight", weight);
  if (bias) {
    this->bias = Tensor::uniform({out_features}, -bound, bound, gen);
    register_parameter("bias", this->bias);
  }
}

Tensor Linear::forward(const Tensor& x) { return forward(x, functional::Activation::none); }

Tensor Linear::forward(const Tensor& x, functional::Activation act) {
  if (!x.defined() || (x.dim() != 2 && x.dim() != 3) || x.size(-1) != in_features_)
    fail("Linear: input of shape ", x.defined() ? x.shape().str() : "undefined",
         " does not match in_features=", in_features_, " (expected [batch, ", in_features_, "])");
  return functional::linear(x, weight, bias, act);
}

std::string Linear::extra_repr() const {
  return str_cat("in_features=", in_features_, ", out_features=", out_features_,
                 ", bias=", bias.defined() ? "True" : "False");
}

}  // namespace minidl::nn
