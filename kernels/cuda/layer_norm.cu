// Layer norm (kernels/layer_norm_math.h): a thread per row for y and dx, a thread per column for
// dweight and dbias (each summed over the rows in order: no atomics, the same result every run).
#include "kernels/cuda/runtime.cuh"
#include "kernels/layer_norm_math.h"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

__global__ void layer_norm_forward_kernel(float* y, float* mean, float* rstd, const float* x, const float* weight,
                                          const float* bias, int64_t rows, int64_t cols, float eps) {
  MINIDL_GRID_LOOP(r, rows)
  math::layer_norm_row(y + r * cols, mean + r, rstd + r, x + r * cols, weight, bias, cols, eps);
}

__global__ void layer_norm_dx_kernel(float* dx, const float* dy, const float* x, const float* weight, const float* mean,
                                     const float* rstd, int64_t rows, int64_t cols) {
  MINIDL_GRID_LOOP(r, rows)
  math::layer_norm_backward_row(dx + r * cols, dy + r * cols, x + r * cols, weight, mean[r], rstd[r], cols);
}

__global__ void layer_norm_params_kernel(float* dweight, float* dbias, const float* dy, const float* x,
                                         const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  MINIDL_GRID_LOOP(c, cols) math::layer_norm_param_grads(dweight, dbias, dy, x, mean, rstd, rows, cols, c, c + 1);
}

}  // namespace

// ---- launchers

void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                        int64_t rows, int64_t cols, float eps) {
  if (rows == 0) return;
  layer_norm_forward_kernel<<<grid_for(rows, 64), 64, 0, stream()>>>(y, mean, rstd, x, weight, bias, rows, cols, eps);
  MINIDL_CUDA_CHECK_LAUNCH(layer_norm_forward_kernel);
}

void layer_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  if (dx && rows > 0) {
    layer_norm_dx_kernel<<<grid_for(rows, 64), 64, 0, stream()>>>(dx, dy, x, weight, mean, rstd, rows, cols);
    MINIDL_CUDA_CHECK_LAUNCH(layer_norm_dx_kernel);
  }
  if ((dweight || dbias) && cols > 0) {
    layer_norm_params_kernel<<<grid_for(cols, 64), 64, 0, stream()>>>(dweight, dbias, dy, x, mean, rstd, rows, cols);
    MINIDL_CUDA_CHECK_LAUNCH(layer_norm_params_kernel);
  }
}

}  // namespace minidl::kernels::cuda
