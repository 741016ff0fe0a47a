// gather and index_select with their scatter-add backward (core/dispatch.cpp, kernels/index_math.h).
#include "autograd/index.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

// y[…, j, …] = x[…, index[…, j, …], …];  dx = scatter_add(dy, index)
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = dispatch::gather(x, dim, index, "gather");
  record("gather", y, {x}, Saves{index}, [dim, index, shape = x.shape()](const Tensor& dy) {
    return Grads{dispatch::scatter_add(dy, dim, index, shape, false)};
  });
  return y;
}

// y[…, j, …] = x[…, index[j], …];  dx = scatter_add(dy, index)
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  Tensor y = dispatch::index_select(x, dim, index, "index_select");
  record("index_select", y, {x}, Saves{index}, [dim, index, shape = x.shape()](const Tensor& dy) {
    return Grads{dispatch::scatter_add(dy, dim, index, shape, true)};
  });
  return y;
}

}  // namespace minidl
