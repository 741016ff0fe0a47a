// Softmax, log-softmax and the fused cross-entropy: a thread per row, running the row math of
// kernels/softmax_math.h that the CPU backend runs too. Rows here are class scores (10 for MNIST),
// so a row per thread keeps every thread busy without cross-thread reductions.
// The cross-entropy's mean over rows is a second, one-block kernel over the per-row losses, added in
// a fixed tree order (no atomics: the loss repeats bit for bit).
#include "kernels/cuda/runtime.cuh"
#include "kernels/reduce_math.h"
#include "kernels/softmax_math.h"

namespace minidl::kernels::cuda {

namespace {

__global__ void softmax_kernel(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log) {
  MINIDL_GRID_LOOP(t, outer * inner) {
    const int64_t base = (t / inner) * reduce * inner + t % inner;
    math::softmax_row(out + base, in + base, reduce, inner, log);
  }
}

__global__ void softmax_backward_kernel(float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce,
                                        int64_t inner, bool log) {
  MINIDL_GRID_LOOP(t, outer * inner) {
    const int64_t base = (t / inner) * reduce * inner + t % inner;
    math::softmax_backward_row(dx + base, y + base, dy + base, reduce, inner, log);
  }
}

__global__ void cross_entropy_rows_kernel(double* row_loss, float* probs, const float* logits, const int32_t* targets,
                                          int64_t n, int64_t c) {
  MINIDL_GRID_LOOP(r, n) row_loss[r] = math::cross_entropy_row(probs + r * c, logits + r * c, c, targets[r]);
}

__global__ void mean_kernel(float* loss, const double* row_loss, int64_t n) {
  __shared__ double shared[32];
  double v = 0.0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) v += row_loss[i];
  v = block_reduce(v, AddOp{}, shared);
  if (threadIdx.x == 0) *loss = static_cast<float>(v / static_cast<double>(n));
}

__global__ void cross_entropy_backward_kernel(float* dlogits, const float* probs, const int32_t* targets,
                                              const float* dloss, int64_t n, int64_t c) {
  const float scale = *dloss / static_cast<float>(n);
  MINIDL_GRID_LOOP(i, n * c) dlogits[i] = math::cross_entropy_grad(probs[i], i % c == targets[i / c], scale);
}

}  // namespace

void softmax(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log) {
  if (reduce == 0 || outer * inner == 0) return;
  softmax_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(out, in, outer, reduce, inner, log);
  MINIDL_CUDA_CHECK_LAUNCH(softmax_kernel);
}

void softmax_backward(float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce, int64_t inner,
                      bool log) {
  if (reduce == 0 || outer * inner == 0) return;
  softmax_backward_kernel<<<grid_for(outer * inner), kThreads, 0, stream()>>>(dx, y, dy, outer, reduce, inner, log);
  MINIDL_CUDA_CHECK_LAUNCH(softmax_backward_kernel);
}

void cross_entropy_forward(float* loss, float* probs, const float* logits, const int32_t* targets, int64_t n,
                           int64_t c) {
  auto* row_loss = static_cast<double*>(scratch(static_cast<size_t>(n) * sizeof(double)));
  cross_entropy_rows_kernel<<<grid_for(n, 64), 64, 0, stream()>>>(row_loss, probs, logits, targets, n, c);
  MINIDL_CUDA_CHECK_LAUNCH(cross_entropy_rows_kernel);
  mean_kernel<<<1, kThreads, 0, stream()>>>(loss, row_loss, n);
  MINIDL_CUDA_CHECK_LAUNCH(mean_kernel);
}

void cross_entropy_backward(float* dlogits, const float* probs, const int32_t* targets, const float* dloss, int64_t n,
                            int64_t c) {
  cross_entropy_backward_kernel<<<grid_for(n * c), kThreads, 0, stream()>>>(dlogits, probs, targets, dloss, n, c);
  MINIDL_CUDA_CHECK_LAUNCH(cross_entropy_backward_kernel);
}

}  // namespace minidl::kernels::cuda
