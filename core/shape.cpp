#include "core/shape.h"

#include <algorithm>

#include "core/error.h"

namespace minidl {

Shape::Shape(std::initializer_list<int64_t> dims) : Shape(std::span<const int64_t>(dims.begin(), dims.size())) {}

Shape::Shape(std::span<const int64_t> dims) {
  check(dims.size() <= static_cast<size_t>(kMaxDims), "Shape: at most ", kMaxDims, " dimensions are supported, got ",
        dims.size());
  std::copy(dims.begin(), dims.end(), dims_);
  ndim_ = static_cast<int>(dims.size());
}

void Shape::push_back(int64_t d) { insert(ndim_, d); }

void Shape::insert(int pos, int64_t d) {
  check(ndim_ < kMaxDims, "Shape: at most ", kMaxDims, " dimensions are supported, cannot add one to ", *this);
  check(pos >= 0 && pos <= ndim_, "Shape: insert position ", pos, " out of range for ", *this);
  std::copy_backward(dims_ + pos, dims_ + ndim_, dims_ + ndim_ + 1);
  dims_[pos] = d;
  ++ndim_;
}

void Shape::erase(int pos) {
  check(pos >= 0 && pos < ndim_, "Shape: erase position ", pos, " out of range for ", *this);
  std::copy(dims_ + pos + 1, dims_ + ndim_, dims_ + pos);
  dims_[--ndim_] = 0;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : *this)
    check(!__builtin_mul_overflow(n, d, &n), "Shape: element count of ", *this, " overflows int64");
  return n;
}

bool Shape::operator==(const Shape& other) const { return std::equal(begin(), end(), other.begin(), other.end()); }

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < ndim_; ++i) s += (i ? ", " : "") + std::to_string(dims_[i]);
  return s + "]";
}

std::ostream& operator<<(std::ostream& os, const Shape& shape) { return os << shape.str(); }

Shape contiguous_strides(const Shape& shape) {
  Shape strides = shape;
  int64_t step = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    strides[d] = step;
    step *= std::max<int64_t>(shape[d], 1);
  }
  return strides;
}

int normalize_dim(int64_t dim, const Shape& shape, const char* op) {
  const int64_t n = shape.size();
  if (dim < -n || dim >= n)  // the message is built only on failure: this runs in every op
    fail(op, ": dim ", dim, " is out of range for shape ", shape,
         n ? str_cat(" (expected ", -n, "..", n - 1, ")") : std::string(" (a 0-d tensor has no dims)"));
  return static_cast<int>(dim < 0 ? dim + n : dim);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const int n = std::max(a.size(), b.size());
  Shape out;
  for (int i = 0; i < n; ++i) {  // i counts from the right
    const int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    check(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b, " do not broadcast (dim ", -1 - i, ": ", da,
          " vs ", db, ")");
    out.insert(0, da == 1 ? db : da);
  }
  return out;
}

}  // namespace minidl
