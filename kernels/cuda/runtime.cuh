// What the CUDA kernels share: error checks that turn every failed CUDA or cuBLAS call into a
// minidl::Error naming the call, the per-device stream and cuBLAS handle, scratch memory, launch
// geometry, block reductions, and the table's entries (defined across kernels/cuda/*.cu).
//
// Naming: a __global__ `*_kernel` does the work; a `launch_*` launcher picks its grid for one case;
// the entry (the name in kernels::Backend) validates nothing (core did) and chooses the launcher.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/backend.h"
#include "kernels/error.h"

namespace minidl::kernels::cuda {

[[noreturn]] void fail_cuda(const char* call, cudaError_t status, const char* file, int line);
[[noreturn]] void fail_cublas(const char* call, cublasStatus_t status, const char* file, int line);

#define MINIDL_CUDA_CHECK(call)                                                                                       \
  do {                                                                                                                \
    const cudaError_t minidl_status_ = (call);                                                                        \
    if (minidl_status_ != cudaSuccess) ::minidl::kernels::cuda::fail_cuda(#call, minidl_status_, __FILE__, __LINE__); \
  } while (0)

#define MINIDL_CUBLAS_CHECK(call)                                                      \
  do {                                                                                 \
    const cublasStatus_t minidl_status_ = (call);                                      \
    if (minidl_status_ != CUBLAS_STATUS_SUCCESS)                                       \
      ::minidl::kernels::cuda::fail_cublas(#call, minidl_status_, __FILE__, __LINE__); \
  } while (0)

/// After `kernel<<<…>>>`: a bad launch (configuration, no kernel image for this GPU) is reported
/// here; a fault inside the kernel surfaces at the next synchronizing call, also as an Error.
#define MINIDL_CUDA_CHECK_LAUNCH(kernel) ::minidl::kernels::cuda::check_launch(#kernel, __FILE__, __LINE__)
void check_launch(const char* kernel, const char* file, int line);

constexpr int kMaxDevices = 16;

/// The device backend() last made current on this thread.
int current_device();
/// Counts one cudaMalloc made outside device_malloc() (the allocator's, in allocate()).
void count_malloc();

/// The current device's stream and cuBLAS handle (bound to that stream).
cudaStream_t stream();
cublasHandle_t blas();
/// At least `bytes` of device memory owned by the current device's backend, for partial results of
/// reductions. Grows (a counted cudaMalloc) only when a larger request arrives; callers on the
/// stream use it in order, so one buffer serves them all.
void* scratch(size_t bytes);
/// A pinned host buffer of 8 bytes for values read back from the device (a reduction's result).
double* pinned_result();
/// cudaMalloc, counted in malloc_calls(); throws Error when the device is out of memory.
void* device_malloc(size_t bytes, const char* what);

constexpr int kThreads = 256;

/// Blocks for n elements at `threads` per block, capped: the kernels use grid-stride loops.
inline unsigned grid_for(int64_t n, int threads = kThreads) {
  return static_cast<unsigned>(std::clamp<int64_t>((n + threads - 1) / threads, 1, int64_t{1} << 16));
}

/// for (i …) over [0, n) with a grid-stride loop, in 64-bit indices.
#define MINIDL_GRID_LOOP(i, n)                                                           \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

/// Addition in double, the accumulator of every sum (an `op` for block_reduce).
struct AddOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};

/// v from the lane `offset` places up (warp shuffle); other types add an overload found by ADL.
__device__ inline float shuffle_down(float v, int offset) { return __shfl_down_sync(0xffffffffu, v, offset); }
__device__ inline double shuffle_down(double v, int offset) { return __shfl_down_sync(0xffffffffu, v, offset); }

/// Reduces v over the block with `op` (a tree: warp shuffles, then one warp over the warps' results).
/// The tree is fixed by the block size, so results do not vary between runs. Every thread of the
/// block must call it with the block size a multiple of 32; thread 0 gets the result. `shared`
/// holds 32 values of T.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, shuffle_down(v, offset));
  __syncthreads();  // `shared` may still be read by a previous call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = shared[lane < warps ? lane : 0];
    // Lane i takes lane i + offset's partial only where that lane held a warp's result.
    for (int offset = 16; offset > 0; offset /= 2) {
      const T other = shuffle_down(v, offset);
      if (lane + offset < warps) v = op(v, other);
    }
  }
  return v;
}

// ---- the table's entries (allocate, copy, unary, …, gemm), same names and meanings as kernels/cpu
MINIDL_DECLARE_BACKEND_ENTRIES()

}  // namespace minidl::kernels::cuda
