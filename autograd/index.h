// Indexing by int32 index tensors, differentiable in the values: gather and index_select. Their
// backward is a scatter-add (gradients of a position read twice add up), computed per column in
// index order, so it is deterministic on the CPU and on the GPU. Out-of-range indices throw
// minidl::Error naming the op, the index and its position.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

/// out[i][j][k] = x[i][index[i][j][k]][k] for dim = 1, and alike for other dims (torch.gather):
/// index has x's rank, sizes no larger than x's outside dim, and out has index's shape.
///   dx[i][r][k] = Σ_{j : index[i][j][k] = r} dy[i][j][k]
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// The slices of x along dim at the positions of the 1-D int32 index, in its order (repeats
/// allowed): out.size(dim) = index.numel() (torch.index_select).
///   dx[…, r, …] = Σ_{j : index[j] = r} dy[…, j, …]
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

}  // namespace minidl
