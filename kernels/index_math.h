// gather and scatter-add along the middle dim of [outer, n, inner] (kernels/layout.h, IndexLayout),
// `__host__ __device__`: the CPU runs a range of columns per loop iteration, the GPU one column
// per thread, through these same functions. The scatter-add owns whole columns dx[o, :, i] and sums
// each in order of j, so it needs no atomics and repeats bit for bit (an embedding's gradient).
#pragma once

#include <stdint.h>

#include "kernels/host_device.h"
#include "kernels/layout.h"

namespace minidl::kernels::math {

MINIDL_HD inline int32_t index_at(const int32_t* index, const IndexLayout& l, int64_t o, int64_t j, int64_t i) {
  return index[o * l.index_strides[0] + j * l.index_strides[1] + i * l.index_strides[2]];
}

/// out[o, j, i] = x[o, index(o, j, i), i] for i in [i0, i1).
MINIDL_HD inline void gather_range(float* out, const float* x, const int32_t* index, const IndexLayout& l, int64_t o,
                                   int64_t j, int64_t i0, int64_t i1) {
  float* dst = out + (o * l.k + j) * l.inner;
  const float* src = x + o * l.n * l.inner;
  for (int64_t i = i0; i < i1; ++i) dst[i] = src[index_at(index, l, o, j, i) * l.inner + i];
}

/// dx[o, :, i] = Σ_j dy[o, j, i] routed to row index(o, j, i), for the columns i in [i0, i1).
MINIDL_HD inline void scatter_add_range(float* dx, const float* dy, const int32_t* index, const IndexLayout& l,
                                        int64_t o, int64_t i0, int64_t i1) {
  float* dst = dx + o * l.n * l.inner;
  const float* src = dy + o * l.k * l.inner;
  for (int64_t r = 0; r < l.n; ++r)
    for (int64_t i = i0; i < i1; ++i) dst[r * l.inner + i] = 0.f;
  for (int64_t j = 0; j < l.k; ++j)
    for (int64_t i = i0; i < i1; ++i) dst[index_at(index, l, o, j, i) * l.inner + i] += src[j * l.inner + i];
}

}  // namespace minidl::kernels::math
