// A layer written outside the library: LeakyReLU, the op (forward and backward side by side) and
// the module around it. What docs/add-a-layer.md walks through; test_leaky_relu.cpp gradchecks it.
//
//   y  = x            where x > 0,    y = slope·x     elsewhere
//   dx = dy           where x > 0,    dx = slope·dy   elsewhere
// Unlike ReLU, units with negative input still pass a little gradient, so they cannot die.
#pragma once

#include <string>

#include <minidl/minidl.h>  // public headers only: autograd/custom_op.h is the tape's public face

namespace example {

using namespace minidl;

inline Tensor leaky_relu(const Tensor& x, float slope) {
  // Forward from existing ops, without recording them: this op records its own, single node.
  Tensor y;
  {
    NoGradGuard no_grad;
    y = relu(x) - slope * relu(-x);
  }
  autograd::record_op("leaky_relu", y, {x}, autograd::Saves{x}, [x, slope](const Tensor& dy) {
    // relu_backward passes dy where x > 0.
    const Tensor positive = autograd::relu_backward(x, dy);
    return autograd::Grads{positive + slope * (dy - positive)};
  });
  return y;
}

class LeakyReLU : public nn::Module {
 public:
  explicit LeakyReLU(float slope = 0.01f) : slope_(slope) {
    check(slope >= 0.f && slope < 1.f, "LeakyReLU: slope must be in [0, 1), got ", slope);
  }
  Tensor forward(const Tensor& x) override { return leaky_relu(x, slope_); }
  std::string type_name() const override { return "LeakyReLU"; }
  std::string extra_repr() const override { return "negative_slope=" + std::to_string(slope_); }

 private:
  float slope_;
};

}  // namespace example
