// Reductions with their backward. Summing copies each upstream gradient to every element that
// was summed, so the backward of a reduction is a broadcast of dy back to the input's shape.
#include "autograd/reduce.h"

#include "autograd/elementwise.h"
#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

namespace {

// dy of a dim reduction, with the reduced dim restored (size 1) and broadcast to `shape`.
Tensor spread(const Tensor& dy, const Shape& shape, int64_t dim, bool keepdim, const char* op) {
  const int d = normalize_dim(dim, shape, op);
  Shape kept = shape;
  kept[d] = 1;
  return dispatch::broadcast_to(keepdim ? dy : dy.reshape(kept), shape, op);
}

}  // namespace

// y = Σ x;  dx = dy everywhere
Tensor sum(const Tensor& x) {
  Tensor y = dispatch::sum_all(x, "sum");
  record("sum", y, {x}, Saves{},
         [shape = x.shape()](const Tensor& dy) { return Grads{dispatch::broadcast_to(dy, shape, "sum")}; });
  return y;
}

// y = Σ_dim x;  dx = dy broadcast along dim
Tensor sum(const Tensor& x, int64_t dim, bool keepdim) {
  Tensor y = dispatch::sum(x, dim, keepdim, "sum");
  record("sum", y, {x}, Saves{},
         [shape = x.shape(), dim, keepdim](const Tensor& dy) { return Grads{spread(dy, shape, dim, keepdim, "sum")}; });
  return y;
}

// y = Σ x / n;  dx = dy / n everywhere
Tensor mean(const Tensor& x) {
  Tensor y = dispatch::sum_all(x, "mean") * (1.f / static_cast<float>(x.numel()));
  record("mean", y, {x}, Saves{}, [shape = x.shape()](const Tensor& dy) {
    return Grads{dispatch::broadcast_to(dy * (1.f / static_cast<float>(shape.numel())), shape, "mean")};
  });
  return y;
}

// y = Σ_dim x / n;  dx = dy / n broadcast along dim
Tensor mean(const Tensor& x, int64_t dim, bool keepdim) {
  dispatch::check_defined(x, "mean");
  const float inv_n = 1.f / static_cast<float>(x.shape()[normalize_dim(dim, x.shape(), "mean")]);
  Tensor y = dispatch::sum(x, dim, keepdim, "mean") * inv_n;
  record("mean", y, {x}, Saves{}, [shape = x.shape(), dim, keepdim, inv_n](const Tensor& dy) {
    return Grads{spread(dy * inv_n, shape, dim, keepdim, "mean")};
  });
  return y;
}

// y = max x;  dx = dy at the (first) argmax, 0 elsewhere
Tensor max(const Tensor& x) {
  auto [y, indices] = dispatch::max_all(x, "max");
  record("max", y, {x}, Saves{indices}, [indices = indices, shape = x.shape()](const Tensor& dy) {
    return Grads{dispatch::max_all_backward(dy, indices, shape)};
  });
  return y;
}

Tensor max(const Tensor& x, int64_t dim, bool keepdim) {
  auto [y, indices] = dispatch::max(x, dim, keepdim, "max");
  record("max", y, {x}, Saves{indices}, [indices = indices, shape = x.shape(), dim](const Tensor& dy) {
    return Grads{dispatch::max_backward(dy, indices, shape, dim)};
  });
  return y;
}

Tensor argmax(const Tensor& x) { return dispatch::max_all(x, "argmax").indices; }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) { return dispatch::max(x, dim, keepdim, "argmax").indices; }

}  // namespace minidl
