// Joining, cutting and triangular masking of tensors, differentiable: cat, stack, split, chunk,
// tril, triu. split and chunk return views (no copy); cat and stack copy into one new tensor.
// All follow PyTorch's semantics; dims may be negative.
#pragma once

#include <vector>

#include <minidl/core/tensor.h>

namespace minidl {

/// The tensors joined along `dim`: same dtype (float32 or int32), device and rank, equal sizes in
/// every other dim. dx_i = dy's slice of x_i.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);
/// The tensors (all of one shape) joined along a new dim `dim` (0 ≤ dim ≤ rank, or negative).
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim);
/// Views of `size` elements along dim each, the last one shorter when size does not divide it.
std::vector<Tensor> split(const Tensor& x, int64_t size, int64_t dim);
/// `chunks` views along dim of ⌈n / chunks⌉ elements each (fewer views when the last would be
/// empty), as torch.chunk.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim);
/// The lower (tril) or upper (triu) triangle of the last two dims of x (rank ≥ 2), the rest set to
/// 0: tril keeps element [i, j] where j − i ≤ diagonal, triu where j − i ≥ diagonal. The gradient
/// is masked the same way.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

}  // namespace minidl
