// The per-element math of convolution, pooling, batch norm and dropout that both backends run,
// `__host__ __device__` under nvcc. The CPU loops walk rows (so g++ vectorizes them) and the CUDA
// kernels give each thread one output element; wherever several values are summed into one, both
// add them in the order these functions define, so the two backends round alike.
//
// Indices: an image is [C, H, W] row-major; a sliding window has its top-left input position at
// (oh·stride − pad, ow·stride − pad) and its taps at multiples of the dilation from there.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace minidl::kernels {

/// A 2-D sliding window over H × W planes: convolution (with dilation) and pooling (dilation 1).
/// out_h = (height + 2·pad_h − dilation_h·(kernel_h − 1) − 1) / stride_h + 1, likewise out_w.
struct Window2d {
  int64_t height = 0, width = 0;
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t out_h = 0, out_w = 0;

  MINIDL_HD constexpr int64_t in_size() const { return height * width; }
  MINIDL_HD constexpr int64_t out_size() const { return out_h * out_w; }
  MINIDL_HD constexpr int64_t taps() const { return kernel_h * kernel_w; }
};

/// Output length of a window sliding over `in` positions (≤ 0: the window does not fit).
MINIDL_HD constexpr int64_t window_out_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return (in + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

namespace math {

/// The im2col matrix of `batch` images [batch, C, H, W] is col[K, batch·L] with K = C·kh·kw rows
/// (row r = (c·kh + i)·kw + j: channel c, tap (i, j)) and one column per output position
/// n = b·L + oh·out_w + ow (L = out_h·out_w):
///   col[r, n] = x[b, c, oh·s − p + i·d, ow·s − p + j·d], or 0 where that falls in the padding.
/// Then conv(x, w) for all images at once is one GEMM, w[O, K] · col[K, batch·L].
MINIDL_HD inline float im2col_value(const float* x, const Window2d& w, int64_t channels, int64_t row, int64_t column) {
  const int64_t L = w.out_size();
  const int64_t b = column / L, oh = (column % L) / w.out_w, ow = column % w.out_w;
  const int64_t c = row / w.taps(), i = (row / w.kernel_w) % w.kernel_h, j = row % w.kernel_w;
  const int64_t ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
  const int64_t iw = ow * w.stride_w - w.pad_w + j * w.dilation_w;
  if (ih < 0 || ih >= w.height || iw < 0 || iw >= w.width) return 0.f;
  return x[((b * channels + c) * w.height + ih) * w.width + iw];
}

/// col2im, the adjoint of im2col: dx[b, c, h, w] = Σ of the col entries im2col copied x[b, c, h, w]
/// into, i.e. over the taps (i, j) in row-major order, the one output position (if any) whose
/// window puts tap (i, j) on (h, w). `columns` = batch·L, the col matrix's row length.
MINIDL_HD inline float col2im_value(const float* col, const Window2d& w, int64_t channels, int64_t columns,
                                    int64_t index) {
  const int64_t iw = index % w.width, ih = (index / w.width) % w.height;
  const int64_t c = (index / w.in_size()) % channels, b = index / (w.in_size() * channels);
  float sum = 0.f;
  for (int64_t i = 0; i < w.kernel_h; ++i) {
    const int64_t th = ih + w.pad_h - i * w.dilation_h;  // = oh · stride_h
    if (th < 0 || th % w.stride_h != 0 || th / w.stride_h >= w.out_h) continue;
    for (int64_t j = 0; j < w.kernel_w; ++j) {
      const int64_t tw = iw + w.pad_w - j * w.dilation_w;
      if (tw < 0 || tw % w.stride_w != 0 || tw / w.stride_w >= w.out_w) continue;
      const int64_t row = (c * w.kernel_h + i) * w.kernel_w + j;
      sum += col[row * columns + b * w.out_size() + (th / w.stride_h) * w.out_w + tw / w.stride_w];
    }
  }
  return sum;
}

/// The output positions (oh, ow) whose windows cover input position (h, w): oh in [*h0, *h1),
/// ow in [*w0, *w1) (empty ranges possible). Dilation 1 (pooling).
MINIDL_HD inline void covering_windows(const Window2d& w, int64_t h, int64_t x, int64_t* h0, int64_t* h1, int64_t* w0,
                                       int64_t* w1) {
  // oh covers h when oh·s − p ≤ h ≤ oh·s − p + k − 1, i.e. (h + p − k + 1)/s ≤ oh ≤ (h + p)/s.
  const auto first = [](int64_t pos, int64_t pad, int64_t kernel, int64_t stride) {
    const int64_t t = pos + pad - kernel + 1;
    return t <= 0 ? int64_t{0} : (t + stride - 1) / stride;
  };
  const auto last = [](int64_t pos, int64_t pad, int64_t stride, int64_t out) {
    const int64_t t = (pos + pad) / stride + 1;
    return t < out ? t : out;
  };
  *h0 = first(h, w.pad_h, w.kernel_h, w.stride_h);
  *h1 = last(h, w.pad_h, w.stride_h, w.out_h);
  *w0 = first(x, w.pad_w, w.kernel_w, w.stride_w);
  *w1 = last(x, w.pad_w, w.stride_w, w.out_w);
}

/// Max over the window of output (oh, ow) of one plane, and the flat index h·W + w of the winner in
/// that plane (PyTorch's indices). As PyTorch's CPU kernel: a larger value or a NaN replaces the
/// current maximum, so among equal values the first wins and among NaNs the last. Padding is
/// never a candidate. With Biased, each tap is compared as v + bias: a convolution's output before
/// its bias add, pooled in the same pass (conv_max_pool2d; the caller applies the activation).
template <bool Biased = false>
MINIDL_HD inline float max_pool_value(const float* plane, const Window2d& w, int64_t oh, int64_t ow, int32_t* index,
                                      float bias = 0.f) {
  const int64_t h0 = oh * w.stride_h - w.pad_h, w0 = ow * w.stride_w - w.pad_w;
  const int64_t ha = h0 < 0 ? 0 : h0, hb = h0 + w.kernel_h < w.height ? h0 + w.kernel_h : w.height;
  const int64_t wa = w0 < 0 ? 0 : w0, wb = w0 + w.kernel_w < w.width ? w0 + w.kernel_w : w.width;
  float best = -INFINITY;
  int64_t best_index = ha * w.width + wa;
  for (int64_t h = ha; h < hb; ++h)
    for (int64_t x = wa; x < wb; ++x) {
      const float v = Biased ? plane[h * w.width + x] + bias : plane[h * w.width + x];
      if (v > best || v != v) {
        best = v;
        best_index = h * w.width + x;
      }
    }
  *index = static_cast<int32_t>(best_index);
  return best;
}

/// Mean over the window of output (oh, ow), padding counted as zeros (PyTorch's default
/// count_include_pad = true): the sum of the taps inside the plane, row by row, over kh·kw.
MINIDL_HD inline float avg_pool_value(const float* plane, const Window2d& w, int64_t oh, int64_t ow) {
  const int64_t h0 = oh * w.stride_h - w.pad_h, w0 = ow * w.stride_w - w.pad_w;
  const int64_t ha = h0 < 0 ? 0 : h0, hb = h0 + w.kernel_h < w.height ? h0 + w.kernel_h : w.height;
  const int64_t wa = w0 < 0 ? 0 : w0, wb = w0 + w.kernel_w < w.width ? w0 + w.kernel_w : w.width;
  float sum = 0.f;
  for (int64_t h = ha; h < hb; ++h)
    for (int64_t x = wa; x < wb; ++x) sum += plane[h * w.width + x];
  return sum / static_cast<float>(w.taps());
}

/// d avg_pool / d x at (h, x) of one plane: Σ dy/(kh·kw) over the windows covering it, in row-major
/// order of the outputs (the order the CPU scatters them in).
MINIDL_HD inline float avg_pool_backward_value(const float* dy_plane, const Window2d& w, int64_t h, int64_t x) {
  int64_t h0, h1, w0, w1;
  covering_windows(w, h, x, &h0, &h1, &w0, &w1);
  const float divisor = static_cast<float>(w.taps());
  float sum = 0.f;
  for (int64_t oh = h0; oh < h1; ++oh)
    for (int64_t ow = w0; ow < w1; ++ow) sum += dy_plane[oh * w.out_w + ow] / divisor;
  return sum;
}

/// d max_pool / d x at (h, x) of one plane: Σ dy over the covering windows whose maximum sat at
/// (h, x), in row-major order of the outputs. With `pooled_plane` (the pooled values after a ReLU),
/// a window whose output the ReLU zeroed passes no gradient: ReLU's backward, fused.
MINIDL_HD inline float max_pool_backward_value(const float* dy_plane, const int32_t* index_plane, const Window2d& w,
                                               int64_t h, int64_t x, const float* pooled_plane = nullptr) {
  int64_t h0, h1, w0, w1;
  covering_windows(w, h, x, &h0, &h1, &w0, &w1);
  const int64_t self = h * w.width + x;
  float sum = 0.f;
  for (int64_t oh = h0; oh < h1; ++oh)
    for (int64_t ow = w0; ow < w1; ++ow)
      if (index_plane[oh * w.out_w + ow] == self && (!pooled_plane || pooled_plane[oh * w.out_w + ow] > 0.f))
        sum += dy_plane[oh * w.out_w + ow];
  return sum;
}

/// Σ x[k] over n floats as the conv bias gradient sums a row: 8 float lanes (k mod 8), added in a
/// tree at the end, so the CPU loop vectorizes and a GPU thread adds in the same order.
MINIDL_HD inline float lane_sum(const float* x, int64_t n) {
  float lanes[8] = {0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int q = 0; q < 8; ++q) lanes[q] += x[k + q];
  for (; k < n; ++k) lanes[0] += x[k];
  for (int width = 4; width >= 1; width /= 2)
    for (int q = 0; q < width; ++q) lanes[q] += lanes[q + width];
  return lanes[0];
}

/// Dropout's keep-and-scale factor for element i: a counter-based random number (splitmix64 of
/// seed and i, so any thread can draw any element, and CPU and GPU draw the same mask), uniform on
/// [0, 1) from its top 24 bits; kept (factor 1/(1 − p)) when it is ≥ p, else dropped (0).
MINIDL_HD inline float dropout_factor(uint64_t seed, int64_t i, float p, float scale) {
  uint64_t z = seed + (static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const float u = static_cast<float>(z >> 40) * (1.f / 16777216.f);
  return u >= p ? scale : 0.f;
}

/// Batch norm over a channel's m values, PyTorch's formulas. The statistics are sums in double, each
/// backend its own reduction (the CPU a loop, CUDA a block tree); what they become is computed here.
///
/// Forward: y = x·alpha + beta, with invstd = 1/√(var + eps) (var the biased variance, squares/m),
/// alpha = invstd·weight and beta = bias − mean·alpha.
struct BatchNormAffine {
  float invstd, alpha, beta;
};
MINIDL_HD inline BatchNormAffine batch_norm_affine(double mean, double var, float eps, float weight, float bias) {
  const float invstd = static_cast<float>(1.0 / ::sqrt(var + static_cast<double>(eps)));
  const float alpha = invstd * weight;
  return {invstd, alpha, bias - static_cast<float>(mean) * alpha};
}

/// A training step's running statistics: exponential averages, the variance unbiased (squares/(m − 1)).
MINIDL_HD inline void batch_norm_update_running(float& running_mean, float& running_var, double mean, double squares,
                                                int64_t m, float momentum) {
  running_mean = static_cast<float>(momentum * mean + (1.0 - momentum) * running_mean);
  running_var = static_cast<float>(momentum * squares / static_cast<double>(m - 1) + (1.0 - momentum) * running_var);
}

/// Backward, from the channel's Σdy and Σdy·(x − mean): in training (the statistics depend on x)
///   dx = (dy − mean(dy) − (x − mean)·k)·invstd·w,  k = Σdy·(x − mean)·invstd² / m,
/// in evaluation dx = dy·invstd·w; dweight = Σdy·(x − mean)·invstd and dbias = Σdy in both.
struct BatchNormGrad {
  float mean_dy, k;
};
MINIDL_HD inline BatchNormGrad batch_norm_grad(double sum_dy, double dot, float invstd, int64_t m) {
  return {static_cast<float>(sum_dy / static_cast<double>(m)),
          static_cast<float>(dot * invstd * invstd / static_cast<double>(m))};
}
MINIDL_HD inline float batch_norm_dx_training(float dy, float x, float mean, float invstd, float w, BatchNormGrad g) {
  return (dy - g.mean_dy - (x - mean) * g.k) * invstd * w;
}
MINIDL_HD inline float batch_norm_dx_eval(float dy, float invstd, float w) { return dy * invstd * w; }

}  // namespace math
}  // namespace minidl::kernels
