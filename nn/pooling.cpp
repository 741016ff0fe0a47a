// max_pool2d and avg_pool2d, the ops (forward and backward over core/dispatch_conv.cpp), and the
// layers around them.
#include "nn/pooling.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl::nn {

namespace {

dispatch::Pool2dParams params(const Pool2dOptions& o, const char* op) {
  check(o.stride >= 0, op, ": stride must be >= 0 (0: the kernel size), got ", o.stride);
  return {o.kernel_size, o.stride == 0 ? o.kernel_size : o.stride, o.padding};
}

std::string pool_repr(const Pool2dOptions& o) {
  return str_cat("kernel_size=", o.kernel_size, ", stride=", o.stride == 0 ? o.kernel_size : o.stride,
                 ", padding=", o.padding);
}

}  // namespace

namespace functional {

// y = max over each window;  dx[argmax] += dy (only the winner of each window gets its gradient)
Tensor max_pool2d(const Tensor& x, Pool2dOptions options) {
  const dispatch::Pool2dParams p = params(options, "max_pool2d");
  auto [y, indices] = dispatch::max_pool2d(x, p, "max_pool2d");
  autograd::record("max_pool2d", y, {x}, autograd::Saves{},
                   [indices = indices, shape = x.shape(), p](const Tensor& dy) {
                     return autograd::Grads{dispatch::max_pool2d_backward(dy, indices, shape, p)};
                   });
  return y;
}

// y = Σ window / k²;  dx = Σ over the windows covering each element of dy / k²
Tensor avg_pool2d(const Tensor& x, Pool2dOptions options) {
  const dispatch::Pool2dParams p = params(options, "avg_pool2d");
  Tensor y = dispatch::avg_pool2d(x, p, "avg_pool2d");
  autograd::record("avg_pool2d", y, {x}, autograd::Saves{}, [shape = x.shape(), p](const Tensor& dy) {
    return autograd::Grads{dispatch::avg_pool2d_backward(dy, shape, p)};
  });
  return y;
}

}  // namespace functional

MaxPool2d::MaxPool2d(Pool2dOptions options) : options_(options) { params(options, "MaxPool2d"); }
AvgPool2d::AvgPool2d(Pool2dOptions options) : options_(options) { params(options, "AvgPool2d"); }

std::string MaxPool2d::extra_repr() const { return pool_repr(options_); }
std::string AvgPool2d::extra_repr() const { return pool_repr(options_); }

}  // namespace minidl::nn
