// 2-D max and average pooling, a plane (one image's channel) per task. Forward runs the window math
// of kernels/conv_math.h; backward scatters each output's gradient over its window in row-major
// output order, which is the order the GPU's per-input gather adds them in.
#include <algorithm>

#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

namespace {

// The outputs [*lo, *hi) of a dimension whose windows lie wholly inside the input (no padding).
void interior(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t* lo, int64_t* hi) {
  *lo = std::min(out, (pad + stride - 1) / stride);                             // o·s − p ≥ 0
  *hi = std::max(*lo, std::min(out, in + pad - kernel >= 0 ? (in + pad - kernel) / stride + 1 : 0));  // o·s − p + k ≤ in
}

// One plane's max pooling. Interior outputs of a row take the taps in the outer loop and the outputs
// in the inner one, so the compare-and-select vectorizes; the taps come in row-major order, as in
// math::max_pool_value, with the same rule, so every output and index equals what it gives (it
// computes the borders). Biased: the plane is a conv output before its bias and activation
// (conv_max_pool2d), added to each tap before the comparison, as the unfused layers would see them.
template <bool Biased>
void max_pool_plane(float* __restrict o, int32_t* __restrict idx, const float* __restrict plane, const Window2d& w,
                    float bias, Activation act) {
  int64_t h_lo, h_hi, w_lo, w_hi;
  interior(w.height, w.out_h, w.kernel_h, w.stride_h, w.pad_h, &h_lo, &h_hi);
  interior(w.width, w.out_w, w.kernel_w, w.stride_w, w.pad_w, &w_lo, &w_hi);
  const auto tap = [&](int64_t k) { return Biased ? plane[k] + bias : plane[k]; };
  for (int64_t oh = 0; oh < w.out_h; ++oh, o += w.out_w, idx += w.out_w) {
    if (w.kernel_h == 2 && w.kernel_w == 2 && w.stride_h == 2 && w.stride_w == 2 && w.pad_h == 0 && w.pad_w == 0) {
      const int64_t top = 2 * oh * w.width;  // the common case, written out: four taps in row-major order
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        float best = tap(top + 2 * ow);
        int32_t at = static_cast<int32_t>(top + 2 * ow);
        const float b = tap(top + 2 * ow + 1), c = tap(top + w.width + 2 * ow), d = tap(top + w.width + 2 * ow + 1);
        if (b > best || b != b) best = b, at = static_cast<int32_t>(top + 2 * ow + 1);
        if (c > best || c != c) best = c, at = static_cast<int32_t>(top + w.width + 2 * ow);
        if (d > best || d != d) best = d, at = static_cast<int32_t>(top + w.width + 2 * ow + 1);
        o[ow] = best;
        idx[ow] = at;
      }
    } else {
      const bool inside_h = oh >= h_lo && oh < h_hi;
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        if (inside_h && ow == w_lo) ow = w_hi;  // the interior is done below
        if (ow < w.out_w) o[ow] = math::max_pool_value<Biased>(plane, w, oh, ow, &idx[ow], bias);
      }
      if (inside_h && w_lo < w_hi) {
        const int64_t h0 = oh * w.stride_h - w.pad_h, s = w.stride_w, shift = -w.pad_w;
        for (int64_t ow = w_lo; ow < w_hi; ++ow) {
          o[ow] = tap(h0 * w.width + ow * s + shift);
          idx[ow] = static_cast<int32_t>(h0 * w.width + ow * s + shift);
        }
        for (int64_t i = 0; i < w.kernel_h; ++i)
          for (int64_t j = (i == 0 ? 1 : 0); j < w.kernel_w; ++j) {
            const int64_t base = (h0 + i) * w.width + j + shift;  // + ow·s ≥ 0 for interior outputs
            for (int64_t ow = w_lo; ow < w_hi; ++ow) {
              const float v = tap(base + ow * s);
              const bool take = v > o[ow] || v != v;
              o[ow] = take ? v : o[ow];
              idx[ow] = take ? static_cast<int32_t>(base + ow * s) : idx[ow];
            }
          }
      }
    }
    if (Biased && act == Activation::relu)
      for (int64_t ow = 0; ow < w.out_w; ++ow) o[ow] = math::Relu{}(o[ow]);
  }
}

// One plane's max-pool gradient. Windows that tile the plane without overlap or padding (stride =
// kernel, the usual pooling) give each input at most one gradient: written densely, window by
// window, with no zeroing pass. Other windows: zero the plane, then add each output's gradient at
// its winner in row-major output order (the order math::max_pool_backward_value adds them in).
// With `pooled` (after a fused ReLU), a window whose output is not > 0 passes nothing.
void max_pool_backward_plane(float* __restrict plane, const float* __restrict g, const int32_t* __restrict idx,
                             const float* __restrict pooled, const Window2d& w) {
  const auto grad = [&](int64_t k) { return !pooled || pooled[k] > 0.f ? g[k] : 0.f; };
  if (!(w.stride_h == w.kernel_h && w.stride_w == w.kernel_w && w.pad_h == 0 && w.pad_w == 0)) {
    for (int64_t k = 0; k < w.in_size(); ++k) plane[k] = 0.f;
    for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] += grad(k);
    return;
  }
  const int64_t covered = w.out_w * w.kernel_w;
  for (int64_t h = 0; h < w.height; ++h) {
    float* __restrict row = plane + h * w.width;
    const int64_t oh = h / w.kernel_h;
    if (oh >= w.out_h) {  // rows below the last window: no gradient
      for (int64_t x = 0; x < w.width; ++x) row[x] = 0.f;
      continue;
    }
    const int32_t first = static_cast<int32_t>(h * w.width);  // flat index of the row's element 0
    if (w.kernel_w == 2) {
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        const int64_t k = oh * w.out_w + ow;
        const int32_t at = idx[k] - first - static_cast<int32_t>(2 * ow);
        const float v = grad(k);
        row[2 * ow] = at == 0 ? v : 0.f;
        row[2 * ow + 1] = at == 1 ? v : 0.f;
      }
    } else {
      for (int64_t ow = 0; ow < w.out_w; ++ow)
        for (int64_t j = 0; j < w.kernel_w; ++j) {
          const int64_t k = oh * w.out_w + ow;
          row[ow * w.kernel_w + j] = idx[k] == first + ow * w.kernel_w + j ? grad(k) : 0.f;
        }
    }
    for (int64_t x = covered; x < w.width; ++x) row[x] = 0.f;
  }
}

}  // namespace

void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      max_pool_plane<false>(out + p * w.out_size(), indices + p * w.out_size(), x + p * w.in_size(), w, 0.f,
                            Activation::none);
  });
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.in_size() + w.out_size(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p)
      max_pool_backward_plane(dx + p * w.in_size(), dy + p * w.out_size(), indices + p * w.out_size(), nullptr, w);
  });
}

// A conv output plane (b, o) lies at yt + o·batch·L + b·L in the GEMM's layout; pooled planes are
// [batch, channels] in the usual one.
void conv_max_pool2d(float* pooled, int32_t* indices, const float* yt, const float* bias, int64_t batch,
                     int64_t channels, const Window2d& w, Activation act) {
  const int64_t L = w.in_size();
  parallel_for(batch * channels, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t b = p / channels, o = p % channels;
      max_pool_plane<true>(pooled + p * w.out_size(), indices + p * w.out_size(), yt + o * batch * L + b * L, w,
                           bias ? bias[o] : 0.f, act);
    }
  });
}

// Threads split the channels (each channel's planes written, and its bias gradient summed, in order).
void conv_max_pool2d_backward(float* dzt, float* dbias, const float* pooled, const int32_t* indices, const float* dy,
                              int64_t batch, int64_t channels, const Window2d& w, Activation act) {
  const int64_t L = w.in_size();
  parallel_for(channels, batch * (L + w.out_size()), [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      double total = 0.0;
      for (int64_t b = 0; b < batch; ++b) {
        const int64_t p = (b * channels + o) * w.out_size();
        float* plane = dzt + o * batch * L + b * L;
        max_pool_backward_plane(plane, dy + p, indices + p, act == Activation::relu ? pooled + p : nullptr, w);
        if (dbias) total += math::lane_sum(plane, L);
      }
      if (dbias) dbias[o] += static_cast<float>(total);
    }
  });
}

void avg_pool2d(float* out, const float* x, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* plane = x + p * w.in_size();
      float* o = out + p * w.out_size();
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow) o[oh * w.out_w + ow] = math::avg_pool_value(plane, w, oh, ow);
    }
  });
}

void avg_pool2d_backward(float* dx, const float* dy, int64_t planes, const Window2d& w) {
  const float divisor = static_cast<float>(w.taps());
  parallel_for(planes, w.in_size() + w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* plane = dx + p * w.in_size();
      const float* g = dy + p * w.out_size();
      std::fill(plane, plane + w.in_size(), 0.f);
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          const float share = g[oh * w.out_w + ow] / divisor;
          const int64_t h0 = oh * w.stride_h - w.pad_h, w0 = ow * w.stride_w - w.pad_w;
          for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + w.kernel_h, w.height); ++h)
            for (int64_t x = std::max<int64_t>(w0, 0); x < std::min(w0 + w.kernel_w, w.width); ++x)
              plane[h * w.width + x] += share;
        }
    }
  });
}

}  // namespace minidl::kernels::cpu
