// Matrix product of 2-D tensors, or batched over a leading dim: [B, M, K]·[B, K, N] → [B, M, N],
// where a 2-D operand (or a batch of 1) is shared by every batch. Transposed views are passed to
// BLAS as transpose flags, so x·Wᵀ is written matmul(x, W.transpose(0, 1)) at no cost.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace minidl
