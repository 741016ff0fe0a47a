#include "autograd/custom_op.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl::autograd {

void record_op(const char* name, Tensor& out, std::initializer_list<Tensor> inputs, Saves saves, Backward backward) {
  check(static_cast<bool>(backward), name, ": record_op needs a backward function");
  check(inputs.size() <= static_cast<size_t>(kMaxInputs), name, ": an op takes at most ", kMaxInputs, " inputs, got ",
        inputs.size());
  record(name, out, inputs, std::move(saves), [fn = std::move(backward)](const Tensor& dy) { return fn(dy); });
}

namespace {
Tensor backward_kernel(dispatch::BinaryOp op, const Tensor& a, const Tensor& dy, const char* name) {
  check(a.shape() == dy.shape(), name, ": expected two tensors of one shape, got ", a.shape(), " and ", dy.shape());
  return dispatch::binary(op, a, dy, name);
}
}  // namespace

Tensor relu_backward(const Tensor& x, const Tensor& dy) {
  return backward_kernel(dispatch::BinaryOp::relu_backward, x, dy, "relu_backward");
}
Tensor sigmoid_backward(const Tensor& y, const Tensor& dy) {
  return backward_kernel(dispatch::BinaryOp::sigmoid_backward, y, dy, "sigmoid_backward");
}
Tensor tanh_backward(const Tensor& y, const Tensor& dy) {
  return backward_kernel(dispatch::BinaryOp::tanh_backward, y, dy, "tanh_backward");
}

}  // namespace minidl::autograd
