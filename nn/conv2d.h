// nn::Conv2d: a 2-D convolution layer with PyTorch's weight layout, initialization and names.
// N = batch, C = in_channels, O = out_channels, k = kernel_size, G = groups.
#pragma once

#include <minidl/core/generator.h>
#include <minidl/nn/functional.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

using functional::Conv2dOptions;

class Conv2d : public Module {
 public:
  /// weight [O, C/G, k, k] and bias [O] drawn from U(−1/√fan_in, 1/√fan_in) with fan_in = C/G·k·k:
  /// PyTorch's default, kaiming_uniform_ with a = √5, whose bound gain·√(3/fan_in) with
  /// gain = √(2/(1 + a²)) is exactly 1/√fan_in (as for Linear). Weight first, in row-major order,
  /// then bias, from `gen` (or default_generator()).
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options = {}, bool bias = true);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options, Generator& gen);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, Conv2dOptions options, bool bias,
         Generator& gen);

  /// x: (N, C, H, W) → (N, O, H', W').
  Tensor forward(const Tensor& x) override;
  /// act(forward(x)) as one op (the activation fused into the output pass); Sequential uses it for
  /// Conv2d + ReLU.
  Tensor forward(const Tensor& x, functional::Activation act);
  /// max_pool2d(act(forward(x)), pool) as one op (functional::conv2d_max_pool2d); Sequential uses it
  /// for Conv2d + ReLU + MaxPool2d.
  Tensor forward(const Tensor& x, functional::Activation act, const functional::Pool2dOptions& pool);
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override;

  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  int64_t kernel_size() const { return kernel_size_; }
  const Conv2dOptions& options() const { return options_; }

  Tensor weight;  // (O, C/G, k, k)
  Tensor bias;    // (O), undefined when built with bias = false

 private:
  void forward_check(const Tensor& x) const;
  int64_t in_channels_, out_channels_, kernel_size_;
  Conv2dOptions options_;
};

}  // namespace minidl::nn
