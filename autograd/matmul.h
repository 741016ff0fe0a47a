// Matrix product with torch.matmul's rules: 2-D operands multiply as matrices; operands of more
// dims are batches of matrices in their last two dims, and the batch dims broadcast as in NumPy
// ([B, H, T, D] @ [1, H, D, D], or [B, T, C] @ [C, N] with the matrix shared by every batch); a 1-D
// operand is a vector (a row on the left, a column on the right, its dim removed from the result).
// Transposed views are passed to BLAS as transpose flags, so x·Wᵀ is written
// matmul(x, W.transpose(0, 1)) at no cost, and a repeated operand is never copied.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace minidl
