// Convolution's data movement around the GEMM: im2col, col2im, and the output's layout change with
// bias and activation fused in. Written as row loops (a row of col is one tap of one channel over
// out_w consecutive outputs, so stride-1 rows are plain copies) that compute exactly what
// kernels/conv_math.h defines per element; col2im adds taps in the same order as col2im_value.
#include <algorithm>
#include <cstring>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

namespace {

// The outputs ow in [*lo, *hi) whose tap at offset `tap` (= j·dilation − pad) lands inside [0, width).
void valid_outputs(int64_t tap, int64_t stride, int64_t width, int64_t out, int64_t* lo, int64_t* hi) {
  // ow·stride + tap ≥ 0  and  ow·stride + tap < width
  *lo = tap >= 0 ? 0 : (-tap + stride - 1) / stride;
  *hi = width - tap <= 0 ? 0 : std::min(out, (width - tap + stride - 1) / stride);
  if (*hi < *lo) *hi = *lo;
}

}  // namespace

void im2col(float* col, const float* x, int64_t batch, int64_t channels, const Window2d& w) {
  const int64_t rows = channels * w.taps(), L = w.out_size(), columns = batch * L;
  parallel_for(rows, columns, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r / w.taps(), i = (r / w.kernel_w) % w.kernel_h, j = r % w.kernel_w;
      const int64_t tap_w = j * w.dilation_w - w.pad_w;
      int64_t lo, hi;
      valid_outputs(tap_w, w.stride_w, w.width, w.out_w, &lo, &hi);
      for (int64_t b = 0; b < batch; ++b) {
        const float* plane = x + (b * channels + c) * w.in_size();
        for (int64_t oh = 0; oh < w.out_h; ++oh) {
          float* dst = col + r * columns + b * L + oh * w.out_w;
          const int64_t ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
          if (ih < 0 || ih >= w.height) {
            std::fill(dst, dst + w.out_w, 0.f);
            continue;
          }
          const float* src = plane + ih * w.width;  // src[ow · stride + tap_w] is the tap of output ow
          std::fill(dst, dst + lo, 0.f);
          if (w.stride_w == 1)
            std::memcpy(dst + lo, src + lo + tap_w, static_cast<size_t>(hi - lo) * sizeof(float));
          else
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * w.stride_w + tap_w];
          std::fill(dst + hi, dst + w.out_w, 0.f);
        }
      }
    }
  });
}

// One (image, channel) plane at a time, so threads never write the same element; within a plane the
// taps come in row-major order, and each tap adds to an element at most once.
void col2im(float* dx, const float* col, int64_t batch, int64_t channels, const Window2d& w) {
  const int64_t L = w.out_size(), columns = batch * L;
  parallel_for(batch * channels, w.taps() * L, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / channels, c = p % channels;
      float* plane = dx + p * w.in_size();
      std::fill(plane, plane + w.in_size(), 0.f);
      for (int64_t i = 0; i < w.kernel_h; ++i)
        for (int64_t j = 0; j < w.kernel_w; ++j) {
          const int64_t tap_w = j * w.dilation_w - w.pad_w;
          int64_t lo, hi;
          valid_outputs(tap_w, w.stride_w, w.width, w.out_w, &lo, &hi);
          const float* src = col + ((c * w.kernel_h + i) * w.kernel_w + j) * columns + b * L;
          for (int64_t oh = 0; oh < w.out_h; ++oh) {
            const int64_t ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
            if (ih < 0 || ih >= w.height) continue;
            float* dst = plane + ih * w.width;
            const float* s = src + oh * w.out_w;
            if (w.stride_w == 1)
              for (int64_t ow = lo; ow < hi; ++ow) dst[ow + tap_w] += s[ow];
            else
              for (int64_t ow = lo; ow < hi; ++ow) dst[ow * w.stride_w + tap_w] += s[ow];
          }
        }
    }
  });
}

void conv_output(float* y, const float* yt, const float* bias, int64_t batch, int64_t channels, int64_t l,
                 Activation act) {
  parallel_for(batch * channels, l, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / channels, o = row % channels;
      const float* src = yt + o * batch * l + b * l;
      float* dst = y + row * l;
      const float add = bias ? bias[o] : 0.f;
      if (act == Activation::relu)
        for (int64_t k = 0; k < l; ++k) dst[k] = math::Relu{}(src[k] + add);
      else
        for (int64_t k = 0; k < l; ++k) dst[k] = src[k] + add;
    }
  });
}

// Threads split the channels; each channel's bias gradient is summed over its rows in order, so it
// does not depend on the thread count.
void conv_output_backward(float* dzt, float* dbias, const float* y, const float* dy, int64_t batch, int64_t channels,
                          int64_t l, Activation act) {
  parallel_for(channels, batch * l, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const float* g = dy + (b * channels + o) * l;
        float* dst = dzt + o * batch * l + b * l;
        if (act == Activation::relu)
          for (int64_t k = 0, at = (b * channels + o) * l; k < l; ++k) dst[k] = math::ReluBackward{}(y[at + k], g[k]);
        else
          std::memcpy(dst, g, static_cast<size_t>(l) * sizeof(float));
        if (dbias) {
          float row = 0.f;
          for (int64_t k = 0; k < l; ++k) row += dst[k];
          total += row;
        }
      }
      if (dbias) dbias[o] += static_cast<float>(total);
    }
  });
}

}  // namespace minidl::kernels::cpu
