#include "nn/activation.h"

#include "autograd/elementwise.h"
#include "core/dispatch.h"
#include "nn/functional.h"

namespace minidl::nn {

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor Sigmoid::forward(const Tensor& x) { return sigmoid(x); }
Tensor Tanh::forward(const Tensor& x) { return tanh(x); }
Tensor GELU::forward(const Tensor& x) { return functional::gelu(x, tanh_); }
Tensor SiLU::forward(const Tensor& x) { return functional::silu(x); }
Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim_, end_dim_); }

Unflatten::Unflatten(int64_t dim, Shape sizes) : dim_(dim), sizes_(sizes) {
  check(sizes.size() >= 1, "Unflatten: sizes must name at least one dimension");
}

Tensor Unflatten::forward(const Tensor& x) {
  dispatch::check_defined(x, "Unflatten");
  const int d = normalize_dim(dim_, x.shape(), "Unflatten");
  check(sizes_.numel() == x.shape()[d], "Unflatten: cannot unflatten dim ", dim_, " of size ", x.shape()[d],
        " in shape ", x.shape(), " into ", sizes_);
  Shape s;
  for (int i = 0; i < x.dim(); ++i) {
    if (i != d) {
      s.push_back(x.shape()[i]);
      continue;
    }
    for (int64_t v : sizes_) s.push_back(v);
  }
  return x.reshape(s);
}

std::string Unflatten::extra_repr() const { return str_cat("dim=", dim_, ", unflattened_size=", sizes_); }

std::string Flatten::extra_repr() const { return str_cat("start_dim=", start_dim_, ", end_dim=", end_dim_); }

}  // namespace minidl::nn
