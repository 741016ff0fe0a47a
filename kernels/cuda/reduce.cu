// Reductions over the middle dimension of a contiguous [outer, reduce, inner] array, and the two
// synchronizing reductions to a host double (sum_squares, dot).
//
// Two shapes of work: many outputs each over a short run → one thread per output, looping (reads
// are coalesced across threads when inner > 1); few outputs over long runs → one block per output,
// its threads striding over the run and meeting in block_reduce. Sums accumulate in double, like the
// CPU backend. No atomics anywhere: every sum is added in an order fixed by the launch shape, so a
// run repeats bit for bit (docs/reliability.md).
#include <cmath>

#include "kernels/cuda/runtime.cuh"
#include "kernels/reduce_math.h"

namespace minidl::kernels::math {
// MaxArg through a warp shuffle, a field at a time (found by block_reduce through ADL).
__device__ inline MaxArg shuffle_down(MaxArg v, int offset) {
  return {__shfl_down_sync(0xffffffffu, v.value, offset), __shfl_down_sync(0xffffffffu, v.index, offset)};
}
}  // namespace minidl::kernels::math

namespace minidl::kernels::cuda {

namespace {

struct MaxOp {
  __device__ math::MaxArg operator()(math::MaxArg a, math::MaxArg b) const { return math::max_combine(a, b); }
};

// Loses to every element: ties at −inf go to the element's (smaller) index.
__device__ inline math::MaxArg no_max() { return {-INFINITY, INT32_MAX}; }

// Few outputs over long runs: a block per output.
bool block_per_output(int64_t outputs, int64_t reduce) { return reduce >= 128 && outputs <= 8192; }

__global__ void sum_thread_kernel(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  MINIDL_GRID_LOOP(t, outer * inner) {
    const float* src = in + (t / inner) * reduce * inner + t % inner;
    double v = 0.0;
    for (int64_t r = 0; r < reduce; ++r) v += src[r * inner];
    out[t] = static_cast<float>(v);
  }
}

__global__ void sum_block_kernel(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  __shared__ double shared[32];
  for (int64_t t = blockIdx.x; t < outer * inner; t += gridDim.x) {
    const float* src = in + (t / inner) * reduce * inner + t % inner;
    double v = 0.0;
    for (int64_t r = threadIdx.x; r < reduce; r += blockDim.x) v += src[r * inner];
    v = block_reduce(v, AddOp{}, shared);
    if (threadIdx.x == 0) out[t] = static_cast<float>(v);
  }
}

__global__ void max_thread_kernel(float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce,
                                  int64_t inner) {
  MINIDL_GRID_LOOP(t, outer * inner) {
    const float* src = in + (t / inner) * reduce * inner + t % inner;
    math::MaxArg best{src[0], 0};
    for (int64_t r = 1; r < reduce; ++r) best = math::max_combine(best, {src[r * inner], static_cast<int32_t>(r)});
    out[t] = best.value;
    indices[t] = best.index;
  }
}

__global__ void max_block_kernel(float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce,
                                 int64_t inner) {
  __shared__ math::MaxArg shared[32];
  for (int64_t t = blockIdx.x; t < outer * inner; t += gridDim.x) {
    const float* src = in + (t / inner) * reduce * inner + t % inner;
    math::MaxArg best = no_max();
    for (int64_t r = threadIdx.x; r < reduce; r += blockDim.x)
      best = math::max_combine(best, {src[r * inner], static_cast<int32_t>(r)});
    best = block_reduce(best, MaxOp{}, shared);
    if (threadIdx.x == 0) {
      out[t] = best.value;
      indices[t] = best.index;
    }
  }
}

__global__ void max_backward_kernel(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t reduce,
                                    int64_t inner) {
  MINIDL_GRID_LOOP(t, outer * inner) {
    const int64_t o = t / inner, j = t % inner;
    dx[(o * reduce + indices[t]) * inner + j] = dy[t];
  }
}

// Σ a·b (b null: Σ a²) into one double per block.
__global__ void dot_partial_kernel(double* partial, const float* a, const float* b, int64_t n) {
  __shared__ double shared[32];
  double v = 0.0;
  MINIDL_GRID_LOOP(i, n) {
    const double x = a[i];
    v += x * (b ? static_cast<double>(b[i]) : x);
  }
  v = block_reduce(v, AddOp{}, shared);
  if (threadIdx.x == 0) partial[blockIdx.x] = v;
}

__global__ void sum_partials_kernel(double* result, const double* partial, int count) {
  __shared__ double shared[32];
  double v = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) v += partial[i];
  v = block_reduce(v, AddOp{}, shared);
  if (threadIdx.x == 0) *result = v;
}

unsigned output_blocks(int64_t outputs) { return static_cast<unsigned>(std::min<int64_t>(outputs, 65535)); }

double launch_dot(const float* a, const float* b, int64_t n) {
  if (n == 0) return 0.0;
  constexpr int64_t kMaxBlocks = 512;
  const unsigned blocks = std::min<unsigned>(grid_for(n), kMaxBlocks);
  auto* partial = static_cast<double*>(scratch((blocks + 1) * sizeof(double)));
  dot_partial_kernel<<<blocks, kThreads, 0, stream()>>>(partial, a, b, n);
  MINIDL_CUDA_CHECK_LAUNCH(dot_partial_kernel);
  sum_partials_kernel<<<1, kThreads, 0, stream()>>>(partial + blocks, partial, static_cast<int>(blocks));
  MINIDL_CUDA_CHECK_LAUNCH(sum_partials_kernel);
  double* result = pinned_result();
  MINIDL_CUDA_CHECK(cudaMemcpyAsync(result, partial + blocks, sizeof(double), cudaMemcpyDeviceToHost, stream()));
  MINIDL_CUDA_CHECK(cudaStreamSynchronize(stream()));
  return *result;
}

}  // namespace

void sum(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0) return;
  if (block_per_output(outputs, reduce)) {
    sum_block_kernel<<<output_blocks(outputs), kThreads, 0, stream()>>>(out, in, outer, reduce, inner);
    MINIDL_CUDA_CHECK_LAUNCH(sum_block_kernel);
  } else {
    sum_thread_kernel<<<grid_for(outputs), kThreads, 0, stream()>>>(out, in, outer, reduce, inner);
    MINIDL_CUDA_CHECK_LAUNCH(sum_thread_kernel);
  }
}

void max(float* out, int32_t* indices, const float* in, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs == 0 || reduce == 0) return;
  if (block_per_output(outputs, reduce)) {
    max_block_kernel<<<output_blocks(outputs), kThreads, 0, stream()>>>(out, indices, in, outer, reduce, inner);
    MINIDL_CUDA_CHECK_LAUNCH(max_block_kernel);
  } else {
    max_thread_kernel<<<grid_for(outputs), kThreads, 0, stream()>>>(out, indices, in, outer, reduce, inner);
    MINIDL_CUDA_CHECK_LAUNCH(max_thread_kernel);
  }
}

void max_backward(float* dx, const float* dy, const int32_t* indices, int64_t outer, int64_t reduce, int64_t inner) {
  const int64_t outputs = outer * inner;
  if (outputs * reduce == 0) return;
  MINIDL_CUDA_CHECK(cudaMemsetAsync(dx, 0, static_cast<size_t>(outputs * reduce) * sizeof(float), stream()));
  max_backward_kernel<<<grid_for(outputs), kThreads, 0, stream()>>>(dx, dy, indices, outer, reduce, inner);
  MINIDL_CUDA_CHECK_LAUNCH(max_backward_kernel);
}

double sum_squares(const float* x, int64_t n) { return launch_dot(x, nullptr, n); }
double dot(const float* a, const float* b, int64_t n) { return launch_dot(a, b, n); }

}  // namespace minidl::kernels::cuda
