// gather and scatter_add (kernels/index_math.h): a thread per output element for gather, a thread
// per column dx[o, :, i] for the scatter-add, which sums in order of j without atomics (the same
// result on every run, and the same as the CPU's).
#include "kernels/cuda/runtime.cuh"
#include "kernels/index_math.h"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

__global__ void gather_kernel(float* out, const float* x, const int32_t* index, IndexLayout l) {
  MINIDL_GRID_LOOP(t, l.outer * l.k * l.inner) {
    const int64_t i = t % l.inner, row = t / l.inner;
    math::gather_range(out, x, index, l, row / l.k, row % l.k, i, i + 1);
  }
}

__global__ void scatter_add_kernel(float* dx, const float* dy, const int32_t* index, IndexLayout l) {
  MINIDL_GRID_LOOP(t, l.outer * l.inner)
  math::scatter_add_range(dx, dy, index, l, t / l.inner, t % l.inner, t % l.inner + 1);
}

}  // namespace

// ---- launchers

void gather(float* out, const float* x, const int32_t* index, const IndexLayout& l) {
  const int64_t n = l.outer * l.k * l.inner;
  if (n == 0) return;
  gather_kernel<<<grid_for(n), kThreads, 0, stream()>>>(out, x, index, l);
  MINIDL_CUDA_CHECK_LAUNCH(gather_kernel);
}

void scatter_add(float* dx, const float* dy, const int32_t* index, const IndexLayout& l) {
  const int64_t n = l.outer * l.inner;
  if (n == 0) return;
  scatter_add_kernel<<<grid_for(n), kThreads, 0, stream()>>>(dx, dy, index, l);
  MINIDL_CUDA_CHECK_LAUNCH(scatter_add_kernel);
}

}  // namespace minidl::kernels::cuda
