// Tensor's view and layout methods (declared in core/tensor.h) with their backward. A view shares
// its input's storage and only rewrites shape, strides and offset; its backward maps dy back to the
// input's layout, so gradients flowing into W.transpose(0, 1) or x.slice(…) reach W and x.
#include <numeric>
#include <optional>
#include <vector>

#include "autograd/node.h"
#include "core/dispatch.h"
#include "core/tensor_impl.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

namespace {

// The shape `shape` with its one allowed -1 resolved so that it holds `numel` elements.
Shape infer_shape(const Shape& shape, const Shape& from, const char* op) {
  Shape out = shape;
  int infer = -1;
  int64_t known = 1;
  for (int d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      check(infer < 0, op, ": only one dimension can be -1, got ", shape);
      infer = d;
    } else {
      check(shape[d] >= 0, op, ": invalid size ", shape[d], " in shape ", shape);
      known *= shape[d];
    }
  }
  const int64_t numel = from.numel();
  if (infer >= 0) {
    check(known != 0 && numel % known == 0, op, ": cannot reshape ", from, " (", numel, " elements) into ", shape);
    out[infer] = numel / known;
  }
  check(out.numel() == numel, op, ": cannot reshape ", from, " (", numel, " elements) into ", shape, " (", out.numel(),
        " elements)");
  return out;
}

// Strides that view (shape, strides) as new_shape without moving data, if any exist. Runs over
// the old dims from the right in chunks that are contiguous among themselves; each chunk must be
// covered exactly by consecutive new dims. (The same algorithm as PyTorch's computeStride.)
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  Shape out = new_shape;
  if (shape.numel() == 0 || shape.size() == 0) return contiguous_strides(new_shape);
  int view_d = new_shape.size() - 1;
  int64_t chunk_stride = strides[shape.size() - 1], tensor_numel = 1, view_numel = 1;
  for (int d = shape.size() - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    const bool chunk_ends = d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      out[view_d] = view_numel * chunk_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (d > 0) {
      chunk_stride = strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// dx = dy in the input's shape: the backward of every op that only reinterprets the shape.
auto reshape_back(const Shape& shape) {
  return [shape](const Tensor& dy) { return Grads{dy.reshape(shape)}; };
}

}  // namespace

Tensor Tensor::view(const Shape& shape) const {
  dispatch::check_defined(*this, "view");
  const Shape target = infer_shape(shape, this->shape(), "view");
  const auto strides = view_strides(this->shape(), this->strides(), target);
  check(strides.has_value(), "view: cannot view shape ", this->shape(), " with strides ", this->strides(), " as ",
        target, " without copying; use reshape()");
  Tensor y = detail::make_view(*this, target, *strides, offset());
  record("view", y, {*this}, Saves{}, reshape_back(this->shape()));
  return y;
}

Tensor Tensor::reshape(const Shape& shape) const {
  dispatch::check_defined(*this, "reshape");
  const Shape target = infer_shape(shape, this->shape(), "reshape");
  const auto strides = view_strides(this->shape(), this->strides(), target);
  Tensor y = strides ? detail::make_view(*this, target, *strides, offset())
                     : detail::make_view(dispatch::copy(*this), target, contiguous_strides(target), 0);
  record("reshape", y, {*this}, Saves{}, reshape_back(this->shape()));
  return y;
}

// transpose swaps two dims' sizes and strides; its backward swaps them back.
Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  dispatch::check_defined(*this, "transpose");
  const int d0 = normalize_dim(dim0, shape(), "transpose"), d1 = normalize_dim(dim1, shape(), "transpose");
  Shape s = shape(), st = strides();
  std::swap(s[d0], s[d1]);
  std::swap(st[d0], st[d1]);
  Tensor y = detail::make_view(*this, s, st, offset());
  record("transpose", y, {*this}, Saves{}, [d0, d1](const Tensor& dy) { return Grads{dy.transpose(d0, d1)}; });
  return y;
}

// permute reorders dims (y.dim i = x.dim dims[i]); its backward applies the inverse permutation.
Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  dispatch::check_defined(*this, "permute");
  check(static_cast<int64_t>(dims.size()) == dim(), "permute: got ", dims.size(), " dims for shape ", shape());
  Shape s = shape(), st = strides();
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    const int d = normalize_dim(dims[i], shape(), "permute");
    check(inverse[d] < 0, "permute: dim ", dims[i], " appears twice; dims must be a permutation of 0..", dim() - 1);
    inverse[d] = static_cast<int64_t>(i);
    s[static_cast<int>(i)] = shape()[d];
    st[static_cast<int>(i)] = strides()[d];
  }
  Tensor y = detail::make_view(*this, s, st, offset());
  record("permute", y, {*this}, Saves{}, [inverse](const Tensor& dy) { return Grads{dy.permute(inverse)}; });
  return y;
}

// slice keeps every step-th index of [start, end) along dim; its backward scatters dy into zeros.
Tensor Tensor::slice(int64_t dim, int64_t start, int64_t end, int64_t step) const {
  dispatch::check_defined(*this, "slice");
  const int d = normalize_dim(dim, shape(), "slice");
  const int64_t n = shape()[d];
  check(step >= 1, "slice: step must be >= 1, got ", step);
  const int64_t s0 = start < 0 ? start + n : start, e0 = end < 0 ? end + n : end;
  check(0 <= s0 && s0 <= e0 && e0 <= n, "slice: range [", start, ", ", end, ") is out of bounds for dim ", dim,
        " of size ", n, " in shape ", shape());
  Shape s = shape(), st = strides();
  // Counted without e0 − s0 + step − 1, which overflows for a huge step (slice(0, 0, 4, INT64_MAX)).
  s[d] = e0 == s0 ? 0 : (e0 - s0 - 1) / step + 1;
  // A dim of one element never uses its stride; a longer one has step < n, so stride·step stays
  // inside the storage, unless the strides are inconsistent to begin with.
  if (s[d] > 1)
    check(!__builtin_mul_overflow(st[d], step, &st[d]), "slice: stride ", strides()[d], " times step ", step,
          " overflows");
  Tensor y = detail::make_view(*this, s, st, offset() + s0 * strides()[d]);
  record("slice", y, {*this}, Saves{}, [shape = shape(), d, s0, e0, step](const Tensor& dy) {
    Tensor dx = Tensor::zeros(shape, {.device = dy.device()});
    dispatch::copy_into(dx.slice(d, s0, e0, step), dy, "slice");
    return Grads{dx};
  });
  return y;
}

Tensor Tensor::unsqueeze(int64_t dim) const {
  dispatch::check_defined(*this, "unsqueeze");
  Shape s = shape();
  check(dim >= -(s.size() + 1) && dim <= s.size(), "unsqueeze: dim ", dim, " is out of range for shape ", s,
        " (expected ", -(s.size() + 1), "..", s.size(), ")");
  s.insert(static_cast<int>(dim < 0 ? dim + s.size() + 1 : dim), 1);
  return view(s);
}

Tensor Tensor::squeeze(int64_t dim) const {
  dispatch::check_defined(*this, "squeeze");
  const int d = normalize_dim(dim, shape(), "squeeze");
  check(shape()[d] == 1, "squeeze: dim ", dim, " has size ", shape()[d], " in shape ", shape(),
        "; only size-1 dims can be squeezed");
  Shape s = shape();
  s.erase(d);
  return view(s);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  dispatch::check_defined(*this, "flatten");
  if (dim() == 0) return reshape({1});
  const int a = normalize_dim(start_dim, shape(), "flatten"), b = normalize_dim(end_dim, shape(), "flatten");
  check(a <= b, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim, " in shape ", shape());
  Shape s;
  for (int d = 0; d < dim(); ++d) {
    if (d <= a || d > b)
      s.push_back(shape()[d]);
    else
      s[s.size() - 1] *= shape()[d];
  }
  return reshape(s);
}

// contiguous and clone copy the data; the gradient passes through unchanged.
Tensor Tensor::contiguous() const {
  dispatch::check_defined(*this, "contiguous");
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor y = dispatch::copy(*this);
  record("clone", y, {*this}, Saves{}, [](const Tensor& dy) { return Grads{dy}; });
  return y;
}

// A move between devices: the gradient moves back.
Tensor Tensor::to(Device device) const {
  dispatch::check_defined(*this, "to");
  if (this->device() == device) return *this;
  Tensor y = dispatch::to_device(*this, device);
  record("to", y, {*this}, Saves{},
         [from = this->device()](const Tensor& dy) { return Grads{dispatch::to_device(dy, from)}; });
  return y;
}

}  // namespace minidl
