// Internal: what a Tensor handle points to, and the two ways the library makes one. Not installed:
// users see Tensor's methods (core/tensor.h), never these fields.
#pragma once

#include <memory>

#include "core/storage.h"
#include "core/tensor.h"

namespace minidl {

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Strides strides;     // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::float32;

  // Autograd state, read and written by autograd/. A tensor produced by a recorded op has a grad_fn;
  // a leaf that requires grad accumulates into `grad`.
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<autograd::Node> grad_fn;
};

namespace detail {
/// A tensor of `shape` and `strides` over base's storage from `offset`; no autograd state. The
/// building block of the view ops (autograd/shape.cpp) and of kernels' strided arguments.
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);
/// A new tensor with its own uninitialized storage.
Tensor make_tensor(const Shape& shape, DType dtype, Device device);
}  // namespace detail

}  // namespace minidl
