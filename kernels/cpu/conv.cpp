// Convolution's data movement around the GEMM: im2col, col2im, and the output's layout change with
// bias and activation fused in. Written as row loops (a row of col is one tap of one channel over
// out_w consecutive outputs, so stride-1 rows are plain copies) that compute exactly what
// kernels/conv_math.h defines per element; col2im adds taps in the same order as col2im_value.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv_math.h"
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

// Whether a window slides like a "same" convolution along rows: stride 1 and as many outputs per row
// as inputs. Then output n = oh·W + ow reads input n + shift for a tap, and a whole row of col is one
// long contiguous run (plus a few fix-ups where the tap falls in the padding) instead of out_h short
// segments, whose per-segment cost dominates on small images (14×14 in MNIST's second layer).
bool shifts_rows(const Window2d& w) { return w.stride_h == 1 && w.stride_w == 1 && w.out_w == w.width; }

// For a tap at (i, j): the flat shift from output to input, and the range of outputs [n0, n1) whose
// input lies inside the plane (rows in range; columns may still wrap: fixed up by the caller).
void tap_range(const Window2d& w, int64_t i, int64_t j, int64_t* shift, int64_t* n0, int64_t* n1) {
  const int64_t tap_h = i * w.dilation_h - w.pad_h, tap_w = j * w.dilation_w - w.pad_w;
  *shift = tap_h * w.width + tap_w;
  const int64_t oh0 = std::clamp<int64_t>(-tap_h, 0, w.out_h), oh1 = std::clamp<int64_t>(w.height - tap_h, 0, w.out_h);
  *n0 = std::max(oh0 * w.out_w, -*shift);
  *n1 = std::max(*n0, std::min(oh1 * w.out_w, w.in_size() - *shift));
}

}  // namespace

void im2col(float* col, const float* x, int64_t batch, int64_t channels, const Window2d& w) {
  const int64_t rows = channels * w.taps(), L = w.out_size(), columns = batch * L;
  const int64_t ow_n = w.out_w, s = w.stride_w;
  const bool shifted = shifts_rows(w);
  // In the "same" case every row of col is a copy of a plane shifted by the tap's offset, and the
  // offsets reach at most `margin` floats before the plane's first element or after its last. The
  // planes are first staged with that many zeros on either side: then a row is one unconditional
  // copy, with the row padding read as zeros, instead of a copy between two zero fills at either end
  // (short fills, which compilers turn into memset calls that cost more than the copy).
  const int64_t margin = w.pad_h * w.width + w.pad_w, staged = w.in_size() + 2 * margin;
  // The calling thread's, kept between calls so that a step allocates nothing once it has grown; the
  // loops below take its address, since in their other threads the name means their own buffer.
  static thread_local std::vector<float> staging;
  float* stage = nullptr;
  if (shifted) {
    if (staging.size() < static_cast<size_t>(batch * channels * staged))
      staging.resize(static_cast<size_t>(batch * channels * staged));
    stage = staging.data();
    parallel_for(batch * channels, staged, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        float* __restrict dst = stage + p * staged;
        std::fill_n(dst, margin, 0.f);
        std::copy_n(x + p * w.in_size(), w.in_size(), dst + margin);
        std::fill_n(dst + margin + w.in_size(), margin, 0.f);
      }
    });
  }
  parallel_for(rows, columns, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t c = r / w.taps(), i = (r / w.kernel_w) % w.kernel_h, j = r % w.kernel_w;
      const int64_t tap_w = j * w.dilation_w - w.pad_w;
      int64_t lo, hi;
      valid_outputs(tap_w, s, w.width, ow_n, &lo, &hi);
      if (shifted) {
        const int64_t shift = (i * w.dilation_h - w.pad_h) * w.width + tap_w;
        for (int64_t b = 0; b < batch; ++b) {
          const float* __restrict src = stage + (b * channels + c) * staged + margin + shift;
          float* __restrict dst = col + r * columns + b * L;
          std::copy_n(src, L, dst);
          // The columns whose tap lies in the left or right padding, zeroed a column at a time: a row
          // at a time, each of these one-float runs would become a call to memset.
          const auto zero_column = [&](int64_t ow) {
            for (int64_t oh = 0; oh < w.out_h; ++oh) dst[oh * ow_n + ow] = 0.f;
          };
          for (int64_t ow = 0; ow < lo; ++ow) zero_column(ow);
          for (int64_t ow = hi; ow < ow_n; ++ow) zero_column(ow);
        }
        continue;
      }
      for (int64_t b = 0; b < batch; ++b) {
        const float* __restrict plane = x + (b * channels + c) * w.in_size();
        float* __restrict dst = col + r * columns + b * L;
        for (int64_t oh = 0; oh < w.out_h; ++oh, dst += ow_n) {
          const int64_t ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
          if (ih < 0 || ih >= w.height) {
            for (int64_t ow = 0; ow < ow_n; ++ow) dst[ow] = 0.f;
            continue;
          }
          const float* __restrict src = plane + ih * w.width;  // src[ow · s + tap_w] is output ow's tap
          for (int64_t ow = 0; ow < lo; ++ow) dst[ow] = 0.f;
          for (int64_t ow = lo; ow < hi; ++ow) dst[ow] = src[ow * s + tap_w];
          for (int64_t ow = hi; ow < ow_n; ++ow) dst[ow] = 0.f;
        }
      }
    }
  });
}

// One (image, channel) plane at a time, so threads never write the same element; within a plane the
// taps come in row-major order, and each tap adds to an element at most once. In the "same" case a
// tap is one long run over the plane; a column whose tap lies in the padding lands (wrapped) on a
// neighbouring column and adds 0 there, which leaves every value as it was.
void col2im(float* dx, const float* col, int64_t batch, int64_t channels, const Window2d& w) {
  const int64_t L = w.out_size(), columns = batch * L, s = w.stride_w;
  const bool shifted = shifts_rows(w);
  // Per tap column j, whether output column ow's tap lies inside the row (shifted case only). The
  // calling thread's, kept between calls, so a training step allocates nothing once it has grown;
  // the loop below reads it through `mask`: in its other threads the name means their own (empty) one.
  static thread_local std::vector<int32_t> inside;  // int32, not bytes: the loop then vectorizes 16 wide
  if (shifted && inside.size() < static_cast<size_t>(w.kernel_w * L))
    inside.resize(static_cast<size_t>(w.kernel_w * L));
  const int32_t* mask = inside.data();
  for (int64_t j = 0; shifted && j < w.kernel_w; ++j) {
    int64_t lo, hi;
    valid_outputs(j * w.dilation_w - w.pad_w, s, w.width, w.out_w, &lo, &hi);
    for (int64_t n = 0; n < L; ++n) inside[j * L + n] = n % w.out_w >= lo && n % w.out_w < hi;
  }
  parallel_for(batch * channels, w.taps() * L, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / channels, c = p % channels;
      float* __restrict plane = dx + p * w.in_size();
      for (int64_t k = 0; k < w.in_size(); ++k) plane[k] = 0.f;
      for (int64_t i = 0; i < w.kernel_h; ++i)
        for (int64_t j = 0; j < w.kernel_w; ++j) {
          const float* __restrict src = col + ((c * w.kernel_h + i) * w.kernel_w + j) * columns + b * L;
          if (shifted) {
            int64_t shift, n0, n1;
            tap_range(w, i, j, &shift, &n0, &n1);
            const int32_t* __restrict in = mask + j * L;
            for (int64_t n = n0; n < n1; ++n) plane[n + shift] += in[n] ? src[n] : 0.f;
            continue;
          }
          const int64_t tap_w = j * w.dilation_w - w.pad_w;
          int64_t lo, hi;
          valid_outputs(tap_w, s, w.width, w.out_w, &lo, &hi);
          for (int64_t oh = 0; oh < w.out_h; ++oh, src += w.out_w) {
            const int64_t ih = oh * w.stride_h - w.pad_h + i * w.dilation_h;
            if (ih < 0 || ih >= w.height) continue;
            float* __restrict dst = plane + ih * w.width;
            for (int64_t ow = lo; ow < hi; ++ow) dst[ow * s + tap_w] += src[ow];
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

// Threads split the channels; each channel's bias gradient is summed over its rows in order (each row
// in 8 float lanes, the lanes then added in a fixed tree), so it does not depend on the thread count.
void conv_output_backward(float* dzt, float* dbias, const float* y, const float* dy, int64_t batch, int64_t channels,
                          int64_t l, Activation act) {
  parallel_for(channels, batch * l, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t at = (b * channels + o) * l;
        const float* __restrict g = dy + at;
        float* __restrict dst = dzt + o * batch * l + b * l;
        if (act == Activation::relu) {
          const float* __restrict out = y + at;
          for (int64_t k = 0; k < l; ++k) dst[k] = math::ReluBackward{}(out[k], g[k]);
        } else {
          for (int64_t k = 0; k < l; ++k) dst[k] = g[k];
        }
        if (dbias) total += math::lane_sum(dst, l);
      }
      if (dbias) dbias[o] += static_cast<float>(total);
    }
  });
}

}  // namespace minidl::kernels::cpu
