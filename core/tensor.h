// Tensor: a cheap handle (shared ownership) to a TensorImpl, which holds a Storage plus shape,
// strides, offset and dtype, and the autograd state. Copying a Tensor copies the handle; views
// (reshape, transpose, slice…) are new TensorImpls over the same Storage.
//
// NOTE: the differentiable members (views, backward) are declared here but defined in autograd/,
// beside their backward: core knows the autograd state only as data and never calls into autograd,
// so the include graph stays kernels ← core ← autograd (docs/architecture.md).
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <minidl/core/device.h>
#include <minidl/core/dtype.h>
#include <minidl/core/error.h>
#include <minidl/core/generator.h>
#include <minidl/core/shape.h>

namespace minidl {

namespace autograd {
class Node;
}
struct TensorImpl;  // core/tensor_impl.h: internal
class Tensor;
namespace detail {
/// The library's access to a tensor's fields (core/tensor_impl.h), not part of the API.
TensorImpl* impl_of(const Tensor& t);
/// How many handles share t's TensorImpl (the autograd engine's reuse of a gradient's memory).
long handle_count(const Tensor& t);
}  // namespace detail

/// Options for factories, with designated initializers: Tensor::zeros({3}, {.dtype = DType::int32}).
struct TensorOptions {
  DType dtype = DType::float32;
  Device device = Device::cpu();
  bool requires_grad = false;
};

class Tensor {
 public:
  /// An undefined tensor (defined() is false), e.g. the grad() of a leaf before any backward().
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // ---- factories (core/tensor.cpp)
  /// A float32 tensor holding `values` in row-major order; values.size() must equal shape.numel().
  static Tensor from_vector(std::vector<float> values, Shape shape, bool requires_grad = false);
  static Tensor from_vector(std::vector<int32_t> values, Shape shape);
  /// Braced lists pick the dtype from their literals: from_vector({1.f, 2.f}, {2}) is float32,
  /// from_vector({1, 2}, {2}) is int32.
  static Tensor from_vector(std::initializer_list<float> values, Shape shape, bool requires_grad = false) {
    return from_vector(std::vector<float>(values), shape, requires_grad);
  }
  static Tensor from_vector(std::initializer_list<int32_t> values, Shape shape) {
    return from_vector(std::vector<int32_t>(values), shape);
  }
  static Tensor empty(Shape shape, TensorOptions options = {});  // uninitialized
  static Tensor zeros(Shape shape, TensorOptions options = {});
  static Tensor ones(Shape shape, TensorOptions options = {});
  static Tensor full(Shape shape, float value, TensorOptions options = {});
  /// 1-D tensor [start, start + step, …) stopping before end (PyTorch's arange), step != 0.
  static Tensor arange(int64_t end, TensorOptions options = {});
  static Tensor arange(int64_t start, int64_t end, int64_t step = 1, TensorOptions options = {});
  /// Standard normal samples, drawn from `gen` in row-major order (float32 only).
  static Tensor randn(Shape shape, Generator& gen, TensorOptions options = {});
  /// Uniform samples on [lo, hi), drawn from `gen` in row-major order (float32 only).
  static Tensor uniform(Shape shape, float lo, float hi, Generator& gen, TensorOptions options = {});

  // ---- metadata
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return shape().size(); }
  int64_t numel() const { return shape().numel(); }
  int64_t size(int64_t dim) const;  // negative dims count from the end
  const Strides& strides() const;   // in elements
  int64_t offset() const;           // of element [0, …, 0] in the storage, in elements
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  bool shares_storage(const Tensor& other) const;
  /// How many in-place writes this tensor's storage has had (views share it): what autograd checks
  /// to refuse a backward through values edited after an op saved them (autograd/node.h).
  uint64_t version() const;

  // ---- data (core/tensor.cpp)
  /// Pointer to element [0, …, 0]; T must match the dtype and the tensor must be on the CPU.
  /// Elements are strides() apart: call contiguous() first to read it as a flat array.
  template <class T>
  T* data() const;
  /// Untyped address of element [0, …, 0] on the tensor's device (for backends and I/O).
  void* data_ptr() const;
  std::vector<float> to_vector() const;        // row-major; int32 values are converted
  std::vector<int32_t> to_int_vector() const;  // row-major; int32 tensors only
  float item() const;                          // the value of a one-element tensor
  Tensor to(DType dtype) const;                // a converted copy (float → int32 truncates toward 0)

  /// Replaces this tensor's data by src's (same shape and dtype, any device), keeping this handle's
  /// identity: every copy of the handle sees the new data, and requires_grad stays; the gradient is
  /// cleared. How Module::to moves parameters that layers and optimizers hold handles to. Leaf
  /// tensors only.
  void set_data(const Tensor& src) const;

  // ---- in-place updates (core/tensor.cpp)
  // Refused on a tensor that requires grad while grad mode is on: a recorded graph may depend on
  // its old values. Optimizers update parameters inside a NoGradGuard. They are const, as the
  // handle does not change: the data it points to does (as in PyTorch's C++ API).
  const Tensor& copy_(const Tensor& src) const;  // src broadcasts to this shape; same dtype
  const Tensor& fill_(float value) const;
  const Tensor& zero_() const { return fill_(0.f); }
  const Tensor& add_(const Tensor& other, float alpha = 1.f) const;  // this += alpha · other (broadcasts)
  const Tensor& mul_(float factor) const;

  // ---- autograd state (core/tensor.cpp)
  bool requires_grad() const;
  /// Marks a leaf float32 tensor as a parameter whose gradient backward() accumulates into grad().
  Tensor& set_requires_grad(bool requires_grad = true);
  Tensor grad() const;  // undefined until a backward() reaches this leaf
  void set_grad(const Tensor& grad);
  bool is_leaf() const;  // not produced by a recorded op
  const std::shared_ptr<autograd::Node>& grad_fn() const;
  /// The same data, cut from the graph: shares storage, requires no grad.
  Tensor detach() const;

  // ---- backward (autograd/engine.cpp)
  /// Reverse-mode pass from this scalar: accumulates d(this)/d(leaf) into every leaf's grad(),
  /// then releases the graph. The second form seeds it with `gradient` (same shape as this).
  void backward() const;
  void backward(const Tensor& gradient) const;

  // ---- views and layout, differentiable (autograd/shape.cpp)
  /// Same elements in another shape (one size may be -1): a view when the strides allow, else a copy.
  Tensor reshape(const Shape& shape) const;
  /// Like reshape, but always a view; throws when the strides do not allow one.
  Tensor view(const Shape& shape) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  /// Elements start, start + step, … < end along `dim` (negative start/end count from the end).
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor squeeze(int64_t dim) const;  // dim must have size 1
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  /// This tensor if already contiguous, else a contiguous copy.
  Tensor contiguous() const;
  Tensor clone() const;  // always a contiguous copy
  /// This tensor on `device`: itself when already there, else a contiguous copy there. Gradients
  /// flow back to the source device.
  Tensor to(Device device) const;

  /// Whether both are handles of the same tensor (identity, not equal values; Python's `is`).
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

 private:
  friend TensorImpl* detail::impl_of(const Tensor& t);
  friend long detail::handle_count(const Tensor& t);
  /// data<T>()'s checks and pointer, out of line so that this header need not define TensorImpl.
  void* checked_data(DType want) const;
  const TensorImpl& get() const;
  std::shared_ptr<TensorImpl> impl_;
};

/// Tensors with names: a model's parameters, an optimizer's state, a checkpoint's contents.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

/// PyTorch-style repr: tensor([[ 0.1000, -2.0000], …], shape=[2, 2], dtype=float32).
std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T>
T* Tensor::data() const {
  static_assert(std::is_same_v<std::remove_const_t<T>, float> || std::is_same_v<std::remove_const_t<T>, int32_t>,
                "Tensor::data<T>: T is float or int32_t");
  constexpr DType want = std::is_same_v<std::remove_const_t<T>, float> ? DType::float32 : DType::int32;
  return static_cast<T*>(checked_data(want));
}

inline TensorImpl* detail::impl_of(const Tensor& t) { return t.impl_.get(); }
inline long detail::handle_count(const Tensor& t) { return t.impl_.use_count(); }

}  // namespace minidl
