// Shape: the sizes of a tensor's dimensions, also used for strides. A fixed-capacity array of
// kernels::kMaxDims entries, so shapes are copied freely and never touch the heap.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>

#include <minidl/kernels/layout.h>

namespace minidl {

class Shape {
 public:
  static constexpr int kMaxDims = kernels::kMaxDims;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);  // Tensor::zeros({64, 784})
  explicit Shape(std::span<const int64_t> dims);

  int size() const { return ndim_; }  // number of dimensions
  bool empty() const { return ndim_ == 0; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  const int64_t* begin() const { return dims_; }
  const int64_t* end() const { return dims_ + ndim_; }
  const int64_t* data() const { return dims_; }

  void push_back(int64_t d);
  void insert(int pos, int64_t d);
  void erase(int pos);

  /// Product of the sizes (1 for a 0-d shape); throws Error if it overflows int64.
  int64_t numel() const;
  bool operator==(const Shape& other) const;
  std::string str() const;  // "[64, 784]"

 private:
  int64_t dims_[kMaxDims] = {};
  int ndim_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Shape& shape);

/// Strides live in the same fixed-size array type as shapes but mean something else: how many
/// elements to step over for +1 along each dimension. The alias says which of the two a Shape is.
using Strides = Shape;

/// Row-major strides of a contiguous tensor of `shape`.
Strides contiguous_strides(const Shape& shape);

/// Maps dim in [-ndim, ndim) to [0, ndim); otherwise throws naming op and shape:
///   "transpose: dim 2 is out of range for shape [3, 4] (expected -2..1)"
int normalize_dim(int64_t dim, const Shape& shape, const char* op);

/// The NumPy broadcast of two shapes: align from the right, sizes must match or be 1.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace minidl
