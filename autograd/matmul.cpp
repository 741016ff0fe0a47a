// Y = A·B;  dA = dY·Bᵀ,  dB = Aᵀ·dY
// Both gradients are GEMMs on transposed views of the saved operands (no copies), and each runs
// only if its operand requires grad: an input batch that needs no gradient costs no GEMM.
// An operand broadcast over batch dims sums its per-batch gradients back to its shape (sum_to).
#include "autograd/matmul.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;

namespace {

Tensor matmul_batched(const Tensor& a, const Tensor& b) {
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

}  // namespace

// A vector operand becomes a one-row (left) or one-column (right) matrix through a view, and the
// result loses that dim again; the views carry the gradient back.
Tensor matmul(const Tensor& a, const Tensor& b) {
  dispatch::check_defined(a, "matmul");
  dispatch::check_defined(b, "matmul");
  check(a.dim() >= 1 && b.dim() >= 1, "matmul: expected tensors of at least 1 dim, got shapes ", a.shape(), " and ",
        b.shape());
  const bool row = a.dim() == 1, column = b.dim() == 1;
  Tensor y = matmul_batched(row ? a.unsqueeze(0) : a, column ? b.unsqueeze(1) : b);
  if (column) y = y.squeeze(-1);
  if (row) y = y.squeeze(-2 + (column ? 1 : 0));
  return y;
}

}  // namespace minidl
