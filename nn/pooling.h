// nn::MaxPool2d and nn::AvgPool2d: parameterless layers around functional::max_pool2d and
// avg_pool2d (square windows; stride defaults to the kernel size, as in PyTorch).
#pragma once

#include <minidl/nn/functional.h>
#include <minidl/nn/module.h>

namespace minidl::nn {

using functional::Pool2dOptions;

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0)
      : MaxPool2d(Pool2dOptions{kernel_size, stride, padding}) {}
  explicit MaxPool2d(Pool2dOptions options);
  /// x: (N, C, H, W) or (C, H, W) → the same with H' × W' = the windows' count.
  Tensor forward(const Tensor& x) override { return functional::max_pool2d(x, options_); }
  std::string type_name() const override { return "MaxPool2d"; }
  std::string extra_repr() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0)
      : AvgPool2d(Pool2dOptions{kernel_size, stride, padding}) {}
  explicit AvgPool2d(Pool2dOptions options);
  Tensor forward(const Tensor& x) override { return functional::avg_pool2d(x, options_); }
  std::string type_name() const override { return "AvgPool2d"; }
  std::string extra_repr() const override;
  const Pool2dOptions& options() const { return options_; }

 private:
  Pool2dOptions options_;
};

}  // namespace minidl::nn
