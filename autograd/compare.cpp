// Comparisons (masks, not differentiable) and where/masked_fill with their backward.
#include "autograd/compare.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;
using dispatch::BinaryOp;
using dispatch::scalar_like;

namespace {

// The values' gradient: dy where `keep` selects, 0 elsewhere, summed to the operand's shape.
Tensor routed(const Tensor& mask, const Tensor& dy, const Tensor& operand, bool keep, const char* op) {
  if (!operand.requires_grad()) return Tensor{};
  const Tensor zero = scalar_like(dy, 0.f, op);
  return dispatch::sum_to(keep ? dispatch::where(mask, dy, zero, op) : dispatch::where(mask, zero, dy, op),
                          operand.shape());
}

}  // namespace

// Masks record nothing: their output is piecewise constant, with a zero gradient almost everywhere.
Tensor eq(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::eq, a, b, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::ne, a, b, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::le, a, b, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::gt, a, b, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::ge, a, b, "ge"); }
Tensor eq(const Tensor& a, float b) { return eq(a, scalar_like(a, b, "eq")); }
Tensor ne(const Tensor& a, float b) { return ne(a, scalar_like(a, b, "ne")); }
Tensor lt(const Tensor& a, float b) { return lt(a, scalar_like(a, b, "lt")); }
Tensor le(const Tensor& a, float b) { return le(a, scalar_like(a, b, "le")); }
Tensor gt(const Tensor& a, float b) { return gt(a, scalar_like(a, b, "gt")); }
Tensor ge(const Tensor& a, float b) { return ge(a, scalar_like(a, b, "ge")); }

// y = m ? a : b;  da = m ? dy : 0,  db = m ? 0 : dy   (each summed over its broadcast dims)
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::where(mask, a, b, "where");
  record("where", y, {a, b}, Saves{mask}, [mask, a, b](const Tensor& dy) {
    return Grads{routed(mask, dy, a, true, "where"), routed(mask, dy, b, false, "where")};
  });
  return y;
}

// y = m ? v : x;  dx = m ? 0 : dy
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  dispatch::check_float(x, "masked_fill");
  dispatch::check_defined(mask, "masked_fill");
  check(broadcast_shapes(mask.shape(), x.shape(), "masked_fill") == x.shape(), "masked_fill: mask of shape ",
        mask.shape(), " does not broadcast to x's shape ", x.shape());
  Tensor y = dispatch::where(mask, scalar_like(x, value, "masked_fill"), x, "masked_fill");
  record("masked_fill", y, {x}, Saves{mask},
         [mask, x](const Tensor& dy) { return Grads{routed(mask, dy, x, false, "masked_fill")}; });
  return y;
}

}  // namespace minidl
