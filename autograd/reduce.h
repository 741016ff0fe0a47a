// Differentiable reductions over all elements or one dim (negative dims count from the end).
// With keepdim the reduced dim stays with size 1, so the result broadcasts against the input.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

Tensor sum(const Tensor& x);  // 0-d
Tensor sum(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor mean(const Tensor& x);  // 0-d
Tensor mean(const Tensor& x, int64_t dim, bool keepdim = false);
/// Largest value; its gradient goes to the first position holding it.
Tensor max(const Tensor& x);  // 0-d
Tensor max(const Tensor& x, int64_t dim, bool keepdim = false);
/// Position of the largest value (first on ties) as an int32 tensor; not differentiable.
Tensor argmax(const Tensor& x);  // 0-d, index into the flattened tensor
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);

}  // namespace minidl
