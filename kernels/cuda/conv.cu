// Convolution's data movement around cuBLAS's GEMM, pooling and dropout's mask: a thread per output
// element running the math of kernels/conv_math.h that the CPU backend runs too. col2im and the
// pooling backwards gather (each input element sums what reaches it, in the CPU's order) rather than
// scatter with atomics, so every result repeats bit for bit.
#include "kernels/conv_math.h"
#include "kernels/cuda/runtime.cuh"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cuda {

namespace {

// ---- kernels

__global__ void im2col_kernel(float* col, const float* x, int64_t batch, int64_t channels, Window2d w) {
  const int64_t columns = batch * w.out_size();
  MINIDL_GRID_LOOP(t, channels * w.taps() * columns)
  col[t] = math::im2col_value(x, w, channels, t / columns, t % columns);
}

__global__ void col2im_kernel(float* dx, const float* col, int64_t batch, int64_t channels, Window2d w) {
  const int64_t columns = batch * w.out_size();
  MINIDL_GRID_LOOP(t, batch * channels * w.in_size()) dx[t] = math::col2im_value(col, w, channels, columns, t);
}

__global__ void conv_output_kernel(float* y, const float* yt, const float* bias, int64_t batch, int64_t channels,
                                   int64_t l, Activation act) {
  MINIDL_GRID_LOOP(t, batch * channels * l) {
    const int64_t k = t % l, o = (t / l) % channels, b = t / (l * channels);
    const float v = yt[o * batch * l + b * l + k] + (bias ? bias[o] : 0.f);
    y[t] = act == Activation::relu ? math::Relu{}(v) : v;
  }
}

__global__ void conv_output_backward_kernel(float* dzt, const float* y, const float* dy, int64_t batch,
                                            int64_t channels, int64_t l, Activation act) {
  MINIDL_GRID_LOOP(t, batch * channels * l) {  // t indexes dzt [channels, batch·l]
    const int64_t k = t % l, b = (t / l) % batch, o = t / (l * batch);
    const int64_t at = (b * channels + o) * l + k;
    dzt[t] = act == Activation::relu ? math::ReluBackward{}(y[at], dy[at]) : dy[at];
  }
}

// dbias[o] += Σ_b (row sum of dzt[o, b·l : (b + 1)·l]) in double: a block per channel; each row is
// summed by one thread in math::lane_sum's order (the CPU's), the rows' totals in a fixed tree.
__global__ void conv_bias_backward_kernel(float* dbias, const float* dzt, int64_t batch, int64_t channels, int64_t l) {
  __shared__ double shared[32];
  for (int64_t o = blockIdx.x; o < channels; o += gridDim.x) {
    double v = 0.0;
    for (int64_t b = threadIdx.x; b < batch; b += blockDim.x) {
      v += math::lane_sum(dzt + o * batch * l + b * l, l);
    }
    v = block_reduce(v, AddOp{}, shared);
    if (threadIdx.x == 0) dbias[o] += static_cast<float>(v);
  }
}

__global__ void conv_max_pool2d_kernel(float* pooled, int32_t* indices, const float* yt, const float* bias,
                                       int64_t batch, int64_t channels, Window2d w, Activation act) {
  const int64_t L = w.in_size();
  MINIDL_GRID_LOOP(t, batch * channels * w.out_size()) {
    const int64_t p = t / w.out_size(), oh = (t % w.out_size()) / w.out_w, ow = t % w.out_w;
    const int64_t b = p / channels, o = p % channels;
    const float v =
        math::max_pool_value<true>(yt + o * batch * L + b * L, w, oh, ow, &indices[t], bias ? bias[o] : 0.f);
    pooled[t] = act == Activation::relu ? math::Relu{}(v) : v;
  }
}

__global__ void conv_max_pool2d_backward_kernel(float* dzt, const float* pooled, const int32_t* indices,
                                                const float* dy, int64_t batch, int64_t channels, Window2d w,
                                                Activation act) {
  const int64_t L = w.in_size();
  MINIDL_GRID_LOOP(t, channels * batch * L) {  // t indexes dzt [channels, batch·L]
    const int64_t o = t / (batch * L), b = (t / L) % batch, k = t % L;
    const int64_t p = (b * channels + o) * w.out_size();
    dzt[t] = math::max_pool_backward_value(dy + p, indices + p, w, k / w.width, k % w.width,
                                           act == Activation::relu ? pooled + p : nullptr);
  }
}

__global__ void max_pool2d_kernel(float* out, int32_t* indices, const float* x, int64_t planes, Window2d w) {
  MINIDL_GRID_LOOP(t, planes * w.out_size()) {
    const int64_t p = t / w.out_size(), oh = (t % w.out_size()) / w.out_w, ow = t % w.out_w;
    out[t] = math::max_pool_value(x + p * w.in_size(), w, oh, ow, &indices[t]);
  }
}

__global__ void max_pool2d_backward_kernel(float* dx, const float* dy, const int32_t* indices, int64_t planes,
                                           Window2d w) {
  MINIDL_GRID_LOOP(t, planes * w.in_size()) {
    const int64_t p = t / w.in_size(), h = (t % w.in_size()) / w.width, x = t % w.width;
    dx[t] = math::max_pool_backward_value(dy + p * w.out_size(), indices + p * w.out_size(), w, h, x);
  }
}

__global__ void avg_pool2d_kernel(float* out, const float* x, int64_t planes, Window2d w) {
  MINIDL_GRID_LOOP(t, planes * w.out_size()) {
    const int64_t p = t / w.out_size(), oh = (t % w.out_size()) / w.out_w, ow = t % w.out_w;
    out[t] = math::avg_pool_value(x + p * w.in_size(), w, oh, ow);
  }
}

__global__ void avg_pool2d_backward_kernel(float* dx, const float* dy, int64_t planes, Window2d w) {
  MINIDL_GRID_LOOP(t, planes * w.in_size()) {
    const int64_t p = t / w.in_size(), h = (t % w.in_size()) / w.width, x = t % w.width;
    dx[t] = math::avg_pool_backward_value(dy + p * w.out_size(), w, h, x);
  }
}

__global__ void dropout_mask_kernel(float* mask, int64_t n, uint64_t seed, float p, float scale) {
  MINIDL_GRID_LOOP(i, n) mask[i] = math::dropout_factor(seed, i, p, scale);
}

}  // namespace

// ---- launchers (the table's entries)

void im2col(float* col, const float* x, int64_t batch, int64_t channels, const Window2d& w) {
  im2col_kernel<<<grid_for(channels * w.taps() * batch * w.out_size()), kThreads, 0, stream()>>>(col, x, batch,
                                                                                                 channels, w);
  MINIDL_CUDA_CHECK_LAUNCH(im2col_kernel);
}

void col2im(float* dx, const float* col, int64_t batch, int64_t channels, const Window2d& w) {
  col2im_kernel<<<grid_for(batch * channels * w.in_size()), kThreads, 0, stream()>>>(dx, col, batch, channels, w);
  MINIDL_CUDA_CHECK_LAUNCH(col2im_kernel);
}

void conv_output(float* y, const float* yt, const float* bias, int64_t batch, int64_t channels, int64_t l,
                 Activation act) {
  conv_output_kernel<<<grid_for(batch * channels * l), kThreads, 0, stream()>>>(y, yt, bias, batch, channels, l, act);
  MINIDL_CUDA_CHECK_LAUNCH(conv_output_kernel);
}

void conv_output_backward(float* dzt, float* dbias, const float* y, const float* dy, int64_t batch, int64_t channels,
                          int64_t l, Activation act) {
  conv_output_backward_kernel<<<grid_for(batch * channels * l), kThreads, 0, stream()>>>(dzt, y, dy, batch, channels, l,
                                                                                         act);
  MINIDL_CUDA_CHECK_LAUNCH(conv_output_backward_kernel);
  if (!dbias) return;
  conv_bias_backward_kernel<<<grid_for(channels, 1), 128, 0, stream()>>>(dbias, dzt, batch, channels, l);
  MINIDL_CUDA_CHECK_LAUNCH(conv_bias_backward_kernel);
}

void conv_max_pool2d(float* pooled, int32_t* indices, const float* yt, const float* bias, int64_t batch,
                     int64_t channels, const Window2d& pool, Activation act) {
  conv_max_pool2d_kernel<<<grid_for(batch * channels * pool.out_size()), kThreads, 0, stream()>>>(
      pooled, indices, yt, bias, batch, channels, pool, act);
  MINIDL_CUDA_CHECK_LAUNCH(conv_max_pool2d_kernel);
}

void conv_max_pool2d_backward(float* dzt, float* dbias, const float* pooled, const int32_t* indices, const float* dy,
                              int64_t batch, int64_t channels, const Window2d& pool, Activation act) {
  conv_max_pool2d_backward_kernel<<<grid_for(channels * batch * pool.in_size()), kThreads, 0, stream()>>>(
      dzt, pooled, indices, dy, batch, channels, pool, act);
  MINIDL_CUDA_CHECK_LAUNCH(conv_max_pool2d_backward_kernel);
  if (!dbias) return;
  conv_bias_backward_kernel<<<grid_for(channels, 1), 128, 0, stream()>>>(dbias, dzt, batch, channels, pool.in_size());
  MINIDL_CUDA_CHECK_LAUNCH(conv_bias_backward_kernel);
}

void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w) {
  max_pool2d_kernel<<<grid_for(planes * w.out_size()), kThreads, 0, stream()>>>(out, indices, x, planes, w);
  MINIDL_CUDA_CHECK_LAUNCH(max_pool2d_kernel);
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w) {
  max_pool2d_backward_kernel<<<grid_for(planes * w.in_size()), kThreads, 0, stream()>>>(dx, dy, indices, planes, w);
  MINIDL_CUDA_CHECK_LAUNCH(max_pool2d_backward_kernel);
}

void avg_pool2d(float* out, const float* x, int64_t planes, const Window2d& w) {
  avg_pool2d_kernel<<<grid_for(planes * w.out_size()), kThreads, 0, stream()>>>(out, x, planes, w);
  MINIDL_CUDA_CHECK_LAUNCH(avg_pool2d_kernel);
}

void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, const Window2d& w) {
  avg_pool2d_backward_kernel<<<grid_for(planes * w.in_size()), kThreads, 0, stream()>>>(dx, dy, planes, w);
  MINIDL_CUDA_CHECK_LAUNCH(avg_pool2d_backward_kernel);
}

void dropout_mask(float* mask, int64_t n, uint64_t seed, float p) {
  dropout_mask_kernel<<<grid_for(n), kThreads, 0, stream()>>>(mask, n, seed, p, 1.f / (1.f - p));
  MINIDL_CUDA_CHECK_LAUNCH(dropout_mask_kernel);
}

}  // namespace minidl::kernels::cuda
