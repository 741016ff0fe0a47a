// conv2d, the op (forward and backward over core/dispatch_conv.cpp's im2col + GEMM), and the
// Conv2d layer around it.
#include "nn/conv2d.h"

#include <cmath>

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl::nn {

namespace functional {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions options) {
  return conv2d(x, weight, bias, options, Activation::none);
}

// y = act(W ⋆ x + b);  dz = dy ⊙ act'(y),  dW = dz·colᵀ,  db = Σ dz,  dx = col2im(Wᵀ·dz)
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o, Activation act) {
  const dispatch::Conv2dParams p{o.stride, o.padding, o.dilation, o.groups};
  Tensor y = dispatch::conv2d(x, weight, bias, p, act, "conv2d");
  // The output is kept only for the activation's gradient: without one, nothing needs it.
  // The backward reads x for dW, the weight for dx, and the output only for the activation's gradient.
  const autograd::Saves saves{weight.requires_grad() ? x : Tensor{}, x.requires_grad() ? weight : Tensor{},
                              act == Activation::none ? Tensor{} : y};
  autograd::record("conv2d", y, {x, weight, bias}, saves,
                   [x, weight, has_bias = bias.defined(), y = act == Activation::none ? Tensor() : y.detach(), p,
                    act](const Tensor& dy) {
                     const auto g = dispatch::conv2d_backward(dy, y, x, weight, p, act, x.requires_grad(),
                                                              weight.requires_grad(), has_bias);
                     return autograd::Grads{g.dx, g.dweight, g.dbias};
                   });
  return y;
}

// y = maxpool(act(W ⋆ x + b)), one node: the pooled gradient goes to each window's winner (where
// act let it through), and from there on as conv2d's backward.
Tensor conv2d_max_pool2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Conv2dOptions o, Activation act,
                         Pool2dOptions pool) {
  check(pool.stride >= 0, "max_pool2d: stride must be >= 0 (0: the kernel size), got ", pool.stride);
  const dispatch::Conv2dParams p{o.stride, o.padding, o.dilation, o.groups};
  const dispatch::Pool2dParams q{pool.kernel_size, pool.stride == 0 ? pool.kernel_size : pool.stride, pool.padding};
  auto [y, indices] = dispatch::conv2d_max_pool2d(x, weight, bias, p, act, q, "conv2d_max_pool2d");
  const autograd::Saves saves{weight.requires_grad() ? x : Tensor{}, x.requires_grad() ? weight : Tensor{},
                              act == Activation::none ? Tensor{} : y};
  autograd::record(
      "conv2d_max_pool2d", y, {x, weight, bias}, saves,
      [x, weight, has_bias = bias.defined(), y = y.detach(), indices = indices, p, q, act](const Tensor& dy) {
        const auto g = dispatch::conv2d_max_pool2d_backward(dy, y, indices, x, weight, p, act, q, x.requires_grad(),
                                                            weight.requires_grad(), has_bias);
        return autograd::Grads{g.dx, g.dweight, g.dbias};
      });
  return y;
}

}  // namespace functional

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options, bool bias)
    : Conv2d(in_channels, out_channels, kernel_size, options, bias, default_generator()) {}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options, Generator& gen)
    : Conv2d(in_channels, out_channels, kernel_size, options, true, gen) {}

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options, bool bias,
               Generator& gen)
    : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size), options_(options) {
  check(in_channels > 0 && out_channels > 0 && kernel_size > 0, "Conv2d: in_channels, out_channels and kernel_size ",
        "must be positive, got ", in_channels, ", ", out_channels, " and ", kernel_size);
  check(options.groups >= 1 && in_channels % options.groups == 0 && out_channels % options.groups == 0,
        "Conv2d: in_channels (", in_channels, ") and out_channels (", out_channels, ") must be divisible by groups (",
        options.groups, ")");
  check(options.stride >= 1 && options.padding >= 0 && options.dilation >= 1, "Conv2d: stride and dilation must be ",
        ">= 1 and padding >= 0, got stride ", options.stride, ", padding ", options.padding, ", dilation ",
        options.dilation);
  const int64_t fan_in = in_channels / options.groups * kernel_size * kernel_size;
  const float bound = 1.f / std::sqrt(static_cast<float>(fan_in));
  weight = Tensor::uniform({out_channels, in_channels / options.groups, kernel_size, kernel_size}, -bound, bound, gen);
  register_parameter("weight", weight);
  if (bias) {
    this->bias = Tensor::uniform({out_channels}, -bound, bound, gen);
    register_parameter("bias", this->bias);
  }
}

Tensor Conv2d::forward(const Tensor& x) { return forward(x, functional::Activation::none); }

void Conv2d::forward_check(const Tensor& x) const {
  if (!x.defined() || x.dim() != 4 || x.size(1) != in_channels_)
    fail("Conv2d: input of shape ", x.defined() ? x.shape().str() : "undefined",
         " does not match in_channels=", in_channels_, " (expected [N, ", in_channels_, ", H, W])");
}

Tensor Conv2d::forward(const Tensor& x, functional::Activation act) {
  forward_check(x);
  return functional::conv2d(x, weight, bias, options_, act);
}

Tensor Conv2d::forward(const Tensor& x, functional::Activation act, const functional::Pool2dOptions& pool) {
  forward_check(x);
  return functional::conv2d_max_pool2d(x, weight, bias, options_, act, pool);
}

// PyTorch's repr: Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
std::string Conv2d::extra_repr() const {
  const auto pair = [](int64_t v) { return str_cat("(", v, ", ", v, ")"); };
  std::string s = str_cat(in_channels_, ", ", out_channels_, ", kernel_size=", pair(kernel_size_),
                          ", stride=", pair(options_.stride));
  if (options_.padding) s += ", padding=" + pair(options_.padding);
  if (options_.dilation != 1) s += ", dilation=" + pair(options_.dilation);
  if (options_.groups != 1) s += str_cat(", groups=", options_.groups);
  if (!bias.defined()) s += ", bias=False";
  return s;
}

}  // namespace minidl::nn
