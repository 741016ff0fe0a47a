// How kernels see tensors: plain arrays of sizes and strides, no Tensor type. A StridedLayout<N>
// describes N operands iterated together over one shape (operand 0 is the destination); stride 0
// repeats an element along a dimension, which is how broadcasting reaches the kernels.
#pragma once

#include <cstdint>

#include <minidl/kernels/host_device.h>

namespace minidl::kernels {

/// The most dimensions a tensor may have. Shapes and strides are fixed-size arrays of this length,
/// so describing a tensor never allocates and layouts can be passed by value to a GPU kernel.
constexpr int kMaxDims = 8;

template <int N>
struct StridedLayout {
  int ndim = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // strides[operand][dim], in elements
};
using CopyLayout = StridedLayout<2>;    // {dst, src}
using BinaryLayout = StridedLayout<3>;  // {out, a, b}
using WhereLayout = StridedLayout<4>;   // {out, mask, a, b}

/// Rewrites `l` to the fewest dimensions that visit the same elements in the same order: size-1
/// dimensions are dropped and dimension d merges into d+1 wherever every operand steps through both
/// as one (stride[d] == stride[d+1] · shape[d+1]). Contiguous operands end up 1-D, so kernels take
/// their fast paths and do one index computation per long row.
template <int N>
constexpr void coalesce(StridedLayout<N>& l) {
  StridedLayout<N> out;
  for (int d = 0; d < l.ndim; ++d) {
    if (l.shape[d] == 1) continue;
    bool merge = out.ndim > 0;
    for (int k = 0; k < N && merge; ++k) merge = l.strides[k][d] * l.shape[d] == out.strides[k][out.ndim - 1];
    if (merge) {
      out.shape[out.ndim - 1] *= l.shape[d];
      for (int k = 0; k < N; ++k) out.strides[k][out.ndim - 1] = l.strides[k][d];
    } else {
      out.shape[out.ndim] = l.shape[d];
      for (int k = 0; k < N; ++k) out.strides[k][out.ndim] = l.strides[k][d];
      ++out.ndim;
    }
  }
  l = out;
}

/// Elements visited by a layout: the product of its sizes (1 for a 0-d layout).
template <int N>
MINIDL_HD constexpr int64_t numel(const StridedLayout<N>& l) {
  int64_t n = 1;
  for (int d = 0; d < l.ndim; ++d) n *= l.shape[d];
  return n;
}

/// The element offset of each operand at row-major position `linear` of the layout's shape: how a
/// GPU thread, which gets a flat index, finds its elements (the CPU loops walk rows instead).
template <int N>
MINIDL_HD constexpr void offsets_at(const StridedLayout<N>& l, int64_t linear, int64_t (&offset)[N]) {
  for (int k = 0; k < N; ++k) offset[k] = 0;
  for (int d = l.ndim - 1; d >= 0; --d) {
    const int64_t i = linear % l.shape[d];
    linear /= l.shape[d];
    for (int k = 0; k < N; ++k) offset[k] += i * l.strides[k][d];
  }
}

/// gather and its scatter-add: x is a contiguous [outer, n, inner] array indexed along its middle
/// dim, out (and dy) a contiguous [outer, k, inner] array, and index element (o, j, i) lies at
/// o·index_strides[0] + j·index_strides[1] + i·index_strides[2] (index_select: {0, 1, 0}, one
/// index per row; gather: an index per element).
struct IndexLayout {
  int64_t outer = 1, n = 0, k = 0, inner = 1;
  int64_t index_strides[3] = {};
};

/// Fused attention's operands, each a [batch, heads, rows, d] array whose rows are contiguous (d
/// elements, stride 1) and whose batch, head and row strides are its own: q, out, dq and dout have
/// t rows, k, v, dk and dv have s rows. So q, k and v may be the three head-split views of one
/// [B, T, 3C] projection and out a [B, T, H, D] array seen as [B, H, T, D], read and written where
/// they lie. lse and delta are contiguous [batch·heads, t].
struct AttentionLayout {
  enum Operand { q, k, v, out, dout, dq, dk, dv, count };
  int64_t batch = 0, heads = 0, t = 0, s = 0, d = 0;
  int64_t strides[count][3] = {};  // strides[operand] = {batch, head, row}, in elements

  /// The element offset of row `row` of head (b, h) in `operand`.
  MINIDL_HD int64_t at(int operand, int64_t b, int64_t h, int64_t row) const {
    return b * strides[operand][0] + h * strides[operand][1] + row * strides[operand][2];
  }
};

/// One operand of a row-major GEMM: a matrix (or matrices `batch_stride` apart) with leading
/// dimension `ld`. `transposed` means the stored matrix is the operand's transpose, so a transposed
/// view is multiplied where it lies, never copied.
struct GemmOperand {
  const float* data = nullptr;
  bool transposed = false;
  int64_t ld = 1;
  int64_t batch_stride = 0;
};

}  // namespace minidl::kernels
