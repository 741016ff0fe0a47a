// Softmax and log-softmax with their backward; the per-row math both backends run is in
// kernels/softmax_math.h.
//   softmax:      dx = y ⊙ (dy − Σ dy ⊙ y)
//   log_softmax:  dx = dy − softmax(x) · Σ dy,  with softmax(x) = e^y
#include "autograd/softmax.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor y = dispatch::softmax(x, dim, /*log=*/false, "softmax");
  record("softmax", y, {x}, Saves{y}, [y = y.detach(), dim](const Tensor& dy) {
    return Grads{dispatch::softmax_backward(y, dy, dim, /*log=*/false)};
  });
  return y;
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor y = dispatch::softmax(x, dim, /*log=*/true, "log_softmax");
  record("log_softmax", y, {x}, Saves{y}, [y = y.detach(), dim](const Tensor& dy) {
    return Grads{dispatch::softmax_backward(y, dy, dim, /*log=*/true)};
  });
  return y;
}

}  // namespace minidl
