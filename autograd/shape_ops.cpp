// cat/stack copy their inputs into slices of one output, and their backward hands each input its
// slice of dy (a view); split/chunk are slices, so Tensor::slice's backward serves them. tril/triu
// select through a [rows, cols] mask built on the host: y = m ? x : 0 keeps an inf or NaN of the
// dropped triangle out (x·m would not).
#include "autograd/shape_ops.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::kMaxInputs;
using autograd::record;
using autograd::Saves;

namespace {

// Checks the inputs of cat and returns the normalized dim and the output's shape.
Shape cat_shape(const std::vector<Tensor>& xs, int64_t dim, int& d, const char* op) {
  check(!xs.empty(), op, ": expected at least one tensor");
  for (const Tensor& x : xs) dispatch::check_defined(x, op);
  const Tensor& first = xs.front();
  d = normalize_dim(dim, first.shape(), op);
  Shape shape = first.shape();
  shape[d] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    check(x.dtype() == first.dtype(), op, ": tensor ", i, " is ", x.dtype(), ", tensor 0 is ", first.dtype());
    dispatch::check_same_device(first, x, op);
    bool same = x.dim() == first.dim();
    for (int k = 0; same && k < x.dim(); ++k) same = k == d || x.shape()[k] == first.shape()[k];
    check(same, op, ": tensor ", i, " of shape ", x.shape(), " does not match tensor 0 of shape ", first.shape(),
          " outside dim ", dim);
    shape[d] += x.shape()[d];
  }
  return shape;
}

// y = [x_0, …, x_{n−1}] along d for n ≤ kMaxInputs;  dx_i = dy[…, o_i : o_i + n_i, …]
Tensor cat_recorded(const std::vector<Tensor>& xs, int d, const Shape& shape) {
  Tensor y = Tensor::empty(shape, {.dtype = xs.front().dtype(), .device = xs.front().device()});
  std::vector<int64_t> offsets{0};
  for (const Tensor& x : xs) {
    dispatch::copy_into(y.detach().slice(d, offsets.back(), offsets.back() + x.shape()[d]), x, "cat");
    offsets.push_back(offsets.back() + x.shape()[d]);
  }
  std::array<Tensor, kMaxInputs> in;
  std::copy(xs.begin(), xs.end(), in.begin());
  record("cat", y, {in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7]}, Saves{},
         [d, offsets, n = xs.size()](const Tensor& dy) {
           Grads g;
           for (size_t i = 0; i < n; ++i) g[i] = dy.slice(d, offsets[i], offsets[i + 1]);
           return g;
         });
  return y;
}

Tensor triangle(const Tensor& x, int64_t diagonal, bool lower, const char* op) {
  dispatch::check_float(x, op);
  check(x.dim() >= 2, op, ": expected a tensor of at least 2 dims, got shape ", x.shape());
  const int64_t rows = x.size(-2), cols = x.size(-1);
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) m[i * cols + j] = (lower ? j - i <= diagonal : j - i >= diagonal) ? 1.f : 0.f;
  const Tensor mask = dispatch::to_device(Tensor::from_vector(std::move(m), {rows, cols}), x.device());
  const Tensor zero = Tensor::zeros({}, {.device = x.device()});
  Tensor y = dispatch::where(mask, x, zero, op);
  // y = m ? x : 0;  dx = m ? dy : 0
  record(op, y, {x}, Saves{},
         [mask, zero, op](const Tensor& dy) { return Grads{dispatch::where(mask, dy, zero, op)}; });
  return y;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  int d = 0;
  const Shape shape = cat_shape(tensors, dim, d, "cat");
  if (tensors.size() <= static_cast<size_t>(kMaxInputs)) return cat_recorded(tensors, d, shape);
  // A node takes kMaxInputs inputs: join groups of them first (a tree of copies, log₈ n deep).
  std::vector<Tensor> groups;
  for (size_t i = 0; i < tensors.size(); i += kMaxInputs) {
    const auto end = tensors.begin() + static_cast<std::ptrdiff_t>(std::min(tensors.size(), i + kMaxInputs));
    groups.push_back(cat(std::vector<Tensor>(tensors.begin() + static_cast<std::ptrdiff_t>(i), end), d));
  }
  return cat(groups, d);
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  check(!tensors.empty(), "stack: expected at least one tensor");
  dispatch::check_defined(tensors.front(), "stack");
  const Shape& first = tensors.front().shape();
  const int64_t rank = first.size();
  check(dim >= -(rank + 1) && dim <= rank, "stack: dim ", dim, " is out of range for tensors of shape ", first);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    dispatch::check_defined(tensors[i], "stack");
    check(tensors[i].shape() == first, "stack: tensor ", i, " of shape ", tensors[i].shape(),
          " differs from tensor 0 of shape ", first);
    parts.push_back(tensors[i].unsqueeze(dim));
  }
  return cat(parts, dim < 0 ? dim + rank + 1 : dim);
}

std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim) {
  dispatch::check_defined(x, "split");
  const int d = normalize_dim(dim, x.shape(), "split");
  check(size > 0, "split: size must be > 0, got ", size, " for shape ", x.shape());
  std::vector<Tensor> parts;
  const int64_t n = x.shape()[d];
  for (int64_t start = 0; start < n; start += size) parts.push_back(x.slice(d, start, std::min(n, start + size)));
  if (n == 0) parts.push_back(x.slice(d, 0, 0));
  return parts;
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  dispatch::check_defined(x, "chunk");
  check(chunks > 0, "chunk: chunks must be > 0, got ", chunks, " for shape ", x.shape());
  const int d = normalize_dim(dim, x.shape(), "chunk");
  const int64_t n = x.shape()[d];
  return split(x, std::max<int64_t>(1, (n + chunks - 1) / chunks), d);
}

Tensor tril(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, true, "tril"); }
Tensor triu(const Tensor& x, int64_t diagonal) { return triangle(x, diagonal, false, "triu"); }

}  // namespace minidl
