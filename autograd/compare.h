// Comparisons, which give masks, and the ops that read masks: where and masked_fill.
//
// A mask is a float32 tensor of 1.f (true) and 0.f (false). PyTorch gives comparisons a bool dtype;
// minidl has float32 and int32 only, and a float mask is what the mask is for: it multiplies
// (x * mask), counts (sum(mask)) and selects (where) with the float kernels both backends already
// have, with no cast. where and masked_fill read any nonzero element as true and also take int32
// masks. Comparisons are not differentiable (their outputs never require grad); where and
// masked_fill are, in their value operands.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

/// a == b, a != b, a < b, a <= b, a > b, a >= b elementwise, broadcast (float32 operands): 1.f or 0.f.
/// NaN compares unequal to everything.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
/// The same against a number.
Tensor eq(const Tensor& a, float b);
Tensor ne(const Tensor& a, float b);
Tensor lt(const Tensor& a, float b);
Tensor le(const Tensor& a, float b);
Tensor gt(const Tensor& a, float b);
Tensor ge(const Tensor& a, float b);

/// mask ? a : b elementwise, the three broadcast together (torch.where). Gradients flow to a where
/// the mask holds and to b elsewhere. An infinite or NaN value in the branch not taken never leaks
/// into the result (unlike mask·a + (1 − mask)·b).
Tensor where(const Tensor& mask, const Tensor& a, const Tensor& b);
/// x with `value` where the mask (broadcast to x's shape) holds (torch.masked_fill); value may be
/// ±inf, e.g. −inf before a softmax to hide positions. dx = dy where the mask is false, 0 elsewhere.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

}  // namespace minidl
