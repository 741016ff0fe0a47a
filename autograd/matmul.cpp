// Y = A·B;  dA = dY·Bᵀ,  dB = Aᵀ·dY
// Both gradients are GEMMs on transposed views of the saved operands (no copies), and each runs
// only if its operand requires grad: an input batch that needs no gradient costs no GEMM.
// A shared (broadcast) operand sums its per-batch gradients.
#include "autograd/matmul.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::matmul(a, b);
  // dA reads B and dB reads A: each is saved only for the gradient that reads it.
  record("matmul", y, {a, b}, Saves{b.requires_grad() ? a : Tensor{}, a.requires_grad() ? b : Tensor{}},
         [a, b](const Tensor& dy) {
           Tensor da, db;
           if (a.requires_grad()) da = dispatch::sum_to(dispatch::matmul(dy, b.transpose(-1, -2)), a.shape());
           if (b.requires_grad()) db = dispatch::sum_to(dispatch::matmul(a.transpose(-1, -2), dy), b.shape());
           return Grads{da, db};
         });
  return y;
}

}  // namespace minidl
