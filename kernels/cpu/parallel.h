// How CPU kernels split work over OpenMP threads. Threads only pay off above a few hundred
// thousand element-operations, so a training step's elementwise work on an MNIST-sized MLP stays on
// the calling thread; the split is a fixed function of the sizes, so results never depend on it.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "kernels/layout.h"

namespace minidl::kernels::cpu {

/// Element-operations per thread below which another thread costs more than it saves. Not only the
/// fork: after a region, idle OpenMP workers spin-wait, and on a small machine they take the cores
/// OpenBLAS's threads need for the next GEMM. Measured on 2 cores, 784-256-10 MLP, batch 64: an
/// epoch took 3.75 s with a grain of 2^15 and 0.72 s with 2^18.
constexpr int64_t kParallelGrain = 262144;

/// Runs body(begin, end) over [0, n) in contiguous chunks, on as many threads as the work
/// (n · work_per_item element-operations) justifies. `body` must not throw.
template <class Body>
void parallel_for(int64_t n, int64_t work_per_item, Body&& body) {
  const int64_t work = n * std::max<int64_t>(work_per_item, 1);
  const int64_t useful = std::min<int64_t>(n, work / kParallelGrain);
  const int threads = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), useful));
  if (threads < 2 || omp_in_parallel()) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t begin = n * t / nt, end = n * (t + 1) / nt;
    if (begin < end) body(begin, end);
  }
}

/// Iterates the layout as rows of its last dimension, calling body(offsets, len) with each operand's
/// element offset at the row start and the row's length; the row's strides are the layout's last.
/// Rows (or pieces of a single long row) are spread over threads.
template <int N, class Body>
void for_each_row(const StridedLayout<N>& l, Body&& body) {
  if (l.ndim == 0) {
    int64_t offsets[N] = {};
    body(offsets, int64_t{1});
    return;
  }
  const int last = l.ndim - 1;
  const int64_t inner = l.shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) rows *= l.shape[d];
  // Few long rows: cut each into pieces so that every thread gets some.
  const int64_t pieces = rows >= 16 ? 1 : std::max<int64_t>(1, inner / kParallelGrain);
  const int64_t piece_len = (inner + pieces - 1) / pieces;
  parallel_for(rows * pieces, piece_len, [&](int64_t begin, int64_t end) {
    for (int64_t task = begin; task < end; ++task) {
      int64_t row = task / pieces, offsets[N] = {};
      for (int d = last - 1; d >= 0; --d) {
        const int64_t i = row % l.shape[d];
        row /= l.shape[d];
        for (int k = 0; k < N; ++k) offsets[k] += i * l.strides[k][d];
      }
      const int64_t start = (task % pieces) * piece_len;
      const int64_t len = std::min(piece_len, inner - start);
      for (int k = 0; k < N; ++k) offsets[k] += start * l.strides[k][last];
      if (len > 0) body(offsets, len);
    }
  });
}

}  // namespace minidl::kernels::cpu
