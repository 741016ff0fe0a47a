// Batch normalization: a block per channel. The statistics and the backward's two sums are block
// reductions in double (a fixed tree, so runs repeat bit for bit); what the sums become is
// kernels/conv_math.h's, shared with kernels/cpu/batch_norm.cpp.
#include <cmath>

#include "kernels/conv_math.h"
#include "kernels/cuda/runtime.cuh"

namespace minidl::kernels::cuda {

namespace {

constexpr int kBlock = 256;

// Σ f(x[b, ch, k]) over the channel's n·inner values, block-reduced; thread 0 holds the result.
template <class F>
__device__ double channel_sum(const float* x, int64_t n, int64_t c, int64_t inner, int64_t ch, F f, double* shared) {
  double v = 0.0;
  for (int64_t t = threadIdx.x; t < n * inner; t += blockDim.x) {
    const int64_t at = ((t / inner) * c + ch) * inner + t % inner;
    v += f(at);
  }
  return block_reduce(v, AddOp{}, shared);
}

__global__ void batch_norm_forward_kernel(float* y, float* save_mean, float* save_invstd, float* running_mean,
                                          float* running_var, const float* x, const float* weight, const float* bias,
                                          int64_t n, int64_t c, int64_t inner, bool training, float momentum,
                                          float eps) {
  __shared__ double shared[32];
  __shared__ double shared_mean;
  __shared__ float alpha_beta[2];
  const int64_t m = n * inner;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    double mean = 0.0, var = 0.0;
    if (training) {
      const double sum = channel_sum(
          x, n, c, inner, ch, [&](int64_t at) { return static_cast<double>(x[at]); }, shared);
      if (threadIdx.x == 0) shared_mean = sum / static_cast<double>(m);
      __syncthreads();
      mean = shared_mean;
      const double squares = channel_sum(
          x, n, c, inner, ch, [&](int64_t at) { return (x[at] - mean) * (x[at] - mean); }, shared);
      var = squares / static_cast<double>(m);
      if (threadIdx.x == 0 && running_mean)
        math::batch_norm_update_running(running_mean[ch], running_var[ch], mean, squares, m, momentum);
    } else {
      mean = running_mean[ch];
      var = running_var[ch];
    }
    if (threadIdx.x == 0) {
      const math::BatchNormAffine a =
          math::batch_norm_affine(mean, var, eps, weight ? weight[ch] : 1.f, bias ? bias[ch] : 0.f);
      save_mean[ch] = static_cast<float>(mean);
      save_invstd[ch] = a.invstd;
      alpha_beta[0] = a.alpha;
      alpha_beta[1] = a.beta;
    }
    __syncthreads();
    const float alpha = alpha_beta[0], beta = alpha_beta[1];
    for (int64_t t = threadIdx.x; t < m; t += blockDim.x) {
      const int64_t at = ((t / inner) * c + ch) * inner + t % inner;
      y[at] = x[at] * alpha + beta;
    }
    __syncthreads();  // alpha_beta is rewritten for the next channel
  }
}

__global__ void batch_norm_backward_kernel(float* dx, float* dweight, float* dbias, const float* dy, const float* x,
                                           const float* weight, const float* save_mean, const float* save_invstd,
                                           int64_t n, int64_t c, int64_t inner, bool training) {
  __shared__ double shared[32];
  __shared__ double sums[2];
  const int64_t m = n * inner;
  for (int64_t ch = blockIdx.x; ch < c; ch += gridDim.x) {
    const float mean = save_mean[ch], invstd = save_invstd[ch], w = weight ? weight[ch] : 1.f;
    const double sum = channel_sum(
        dy, n, c, inner, ch, [&](int64_t at) { return static_cast<double>(dy[at]); }, shared);
    if (threadIdx.x == 0) sums[0] = sum;
    const double dot = channel_sum(
        dy, n, c, inner, ch, [&](int64_t at) { return static_cast<double>(dy[at]) * (x[at] - mean); }, shared);
    if (threadIdx.x == 0) {
      sums[1] = dot;
      if (dweight) dweight[ch] = static_cast<float>(dot * invstd);
      if (dbias) dbias[ch] = static_cast<float>(sums[0]);
    }
    __syncthreads();
    if (dx) {
      const math::BatchNormGrad g = math::batch_norm_grad(sums[0], sums[1], invstd, m);
      for (int64_t t = threadIdx.x; t < m; t += blockDim.x) {
        const int64_t at = ((t / inner) * c + ch) * inner + t % inner;
        dx[at] = training ? math::batch_norm_dx_training(dy[at], x[at], mean, invstd, w, g)
                          : math::batch_norm_dx_eval(dy[at], invstd, w);
      }
    }
    __syncthreads();
  }
}

}  // namespace

void batch_norm_forward(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                        const float* x, const float* weight, const float* bias, int64_t n, int64_t c, int64_t inner,
                        bool training, float momentum, float eps) {
  batch_norm_forward_kernel<<<grid_for(c, 1), kBlock, 0, stream()>>>(
      y, save_mean, save_invstd, running_mean, running_var, x, weight, bias, n, c, inner, training, momentum, eps);
  MINIDL_CUDA_CHECK_LAUNCH(batch_norm_forward_kernel);
}

void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* save_mean, const float* save_invstd, int64_t n, int64_t c, int64_t inner,
                         bool training) {
  batch_norm_backward_kernel<<<grid_for(c, 1), kBlock, 0, stream()>>>(dx, dweight, dbias, dy, x, weight, save_mean,
                                                                      save_invstd, n, c, inner, training);
  MINIDL_CUDA_CHECK_LAUNCH(batch_norm_backward_kernel);
}

}  // namespace minidl::kernels::cuda
