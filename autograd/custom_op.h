// Writing a new op from outside the library: the public face of the tape (autograd/node.h is its
// internal side). An op computes its output from existing ops or its own loops with grad mode off,
// then records one node whose backward closure returns the gradient of each input:
//
//   Tensor y;
//   { NoGradGuard no_grad; y = relu(x) - slope * relu(-x); }
//   autograd::record_op("leaky_relu", y, {x}, autograd::Saves{x}, [x, slope](const Tensor& dy) {
//     const Tensor positive = autograd::relu_backward(x, dy);  // dy where x > 0
//     return autograd::Grads{positive + slope * (dy - positive)};
//   });
//
// The closure returns one gradient per input, in input order (an undefined Tensor = none), each of
// its input's shape; it runs with grad mode off. `Saves` lists every tensor whose *values* the
// closure reads, so that backward() throws instead of using a tensor written in place since the op
// ran (docs/autograd.md, "In-place edits"). examples/custom_layer is a complete layer built this way.
#pragma once

#include <functional>
#include <initializer_list>

#include <minidl/core/error.h>
#include <minidl/core/tensor.h>

namespace minidl::autograd {

/// Inputs a node can take: enough for batch_norm's five (x, weight, bias, running_mean, running_var)
/// and a few more. Fixed-size, so recording a node allocates nothing beyond the pooled node itself.
constexpr int kMaxInputs = 8;

/// Gradients with respect to a node's inputs, in input order; an undefined Tensor means none.
using Grads = std::array<Tensor, kMaxInputs>;

/// At most every input and the output.
constexpr int kMaxSaved = kMaxInputs + 1;

/// The tensors whose versions a node checks before its backward runs (see "In-place edits").
struct Saves {
  Saves(std::initializer_list<Tensor> list) {  // NOLINT: implicit, so that {a, b} works as well as Saves{a, b}
    for (const Tensor& t : list) add(t);
  }
  void add(const Tensor& t) {
    check(size < kMaxSaved, "record: an op saves at most ", kMaxSaved, " tensors");
    tensors[static_cast<size_t>(size++)] = t;
  }
  std::array<Tensor, kMaxSaved> tensors;
  int size = 0;
};

/// A backward closure: the output's gradient in, the inputs' gradients out.
using Backward = std::function<Grads(const Tensor& dout)>;

/// Records `out` as the output of op `name` on `inputs` (at most kMaxInputs), if grad mode is on and
/// an input requires grad; `out` then requires grad and backward() reaches `inputs` through
/// `backward`. Capture tensors the closure needs by value; capture `out` as out.detach(), never `out`
/// itself (it owns the node that owns the closure: the cycle would leak).
void record_op(const char* name, Tensor& out, std::initializer_list<Tensor> inputs, Saves saves, Backward backward);

// Tensor-level kernels for backward closures: no tape, shapes as given (same shape, no broadcasting).
/// dy where x > 0, 0 elsewhere (x may be the ReLU's input or its output).
Tensor relu_backward(const Tensor& x, const Tensor& dy);
/// dy·y·(1 − y), for y = sigmoid(x).
Tensor sigmoid_backward(const Tensor& y, const Tensor& dy);
/// dy·(1 − y²), for y = tanh(x).
Tensor tanh_backward(const Tensor& y, const Tensor& dy);

}  // namespace minidl::autograd
