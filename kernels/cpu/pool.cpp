// 2-D max and average pooling, a plane (one image's channel) per task. Forward runs the window math
// of kernels/conv_math.h; backward scatters each output's gradient over its window in row-major
// output order, which is the order the GPU's per-input gather adds them in.
#include <algorithm>

#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

namespace {

// The outputs [*lo, *hi) of a dimension whose windows lie wholly inside the input (no padding).
void interior(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t* lo, int64_t* hi) {
  *lo = std::min(out, (pad + stride - 1) / stride);                             // o·s − p ≥ 0
  *hi = std::max(*lo, std::min(out, in + pad - kernel >= 0 ? (in + pad - kernel) / stride + 1 : 0));  // o·s − p + k ≤ in
}

}  // namespace

// Interior outputs of a row take the taps in the outer loop and the outputs in the inner one, so the
// compare-and-select vectorizes; the taps come in row-major order, as in max_pool_value, with the
// same rule, so every output and index equals what max_pool_value gives (used at the borders).
void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w) {
  int64_t h_lo, h_hi, w_lo, w_hi;
  interior(w.height, w.out_h, w.kernel_h, w.stride_h, w.pad_h, &h_lo, &h_hi);
  interior(w.width, w.out_w, w.kernel_w, w.stride_w, w.pad_w, &w_lo, &w_hi);
  const bool two_by_two = w.kernel_h == 2 && w.kernel_w == 2 && w.stride_h == 2 && w.stride_w == 2 && w.pad_h == 0 &&
                          w.pad_w == 0;
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* __restrict plane = x + p * w.in_size();
      for (int64_t oh = 0; oh < w.out_h; ++oh) {
        float* __restrict o = out + p * w.out_size() + oh * w.out_w;
        int32_t* __restrict idx = indices + p * w.out_size() + oh * w.out_w;
        if (two_by_two) {  // the common case, written out: each window's four taps in row-major order
          const int64_t top = 2 * oh * w.width;
          const float* __restrict r0 = plane + top;
          const float* __restrict r1 = r0 + w.width;
          for (int64_t ow = 0; ow < w.out_w; ++ow) {
            float best = r0[2 * ow];
            int32_t at = static_cast<int32_t>(top + 2 * ow);
            const float b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1];
            if (b > best || b != b) best = b, at = static_cast<int32_t>(top + 2 * ow + 1);
            if (c > best || c != c) best = c, at = static_cast<int32_t>(top + w.width + 2 * ow);
            if (d > best || d != d) best = d, at = static_cast<int32_t>(top + w.width + 2 * ow + 1);
            o[ow] = best;
            idx[ow] = at;
          }
          continue;
        }
        const bool inside_h = oh >= h_lo && oh < h_hi;
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          if (inside_h && ow == w_lo) ow = w_hi;  // the interior is done below
          if (ow < w.out_w) o[ow] = math::max_pool_value(plane, w, oh, ow, &idx[ow]);
        }
        if (!inside_h || w_lo >= w_hi) continue;
        const int64_t h0 = oh * w.stride_h - w.pad_h, s = w.stride_w, shift = -w.pad_w;
        for (int64_t ow = w_lo; ow < w_hi; ++ow) {
          o[ow] = plane[h0 * w.width + ow * s + shift];
          idx[ow] = static_cast<int32_t>(h0 * w.width + ow * s + shift);
        }
        for (int64_t i = 0; i < w.kernel_h; ++i)
          for (int64_t j = (i == 0 ? 1 : 0); j < w.kernel_w; ++j) {
            const int64_t base = (h0 + i) * w.width + j + shift;  // + ow·s ≥ 0 for interior outputs
            for (int64_t ow = w_lo; ow < w_hi; ++ow) {
              const float v = plane[base + ow * s];
              const bool take = v > o[ow] || v != v;
              o[ow] = take ? v : o[ow];
              idx[ow] = take ? static_cast<int32_t>(base + ow * s) : idx[ow];
            }
          }
      }
    }
  });
}

// Windows that tile the plane without overlap or padding (stride = kernel, the usual pooling) give
// each input at most one gradient: written densely, window by window, with no zeroing pass. Other
// windows: zero the plane, then add each output's gradient at its winner in row-major output order.
void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w) {
  const bool tiles = w.stride_h == w.kernel_h && w.stride_w == w.kernel_w && w.pad_h == 0 && w.pad_w == 0;
  parallel_for(planes, w.in_size() + w.out_size(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* __restrict plane = dx + p * w.in_size();
      const float* __restrict g = dy + p * w.out_size();
      const int32_t* __restrict idx = indices + p * w.out_size();
      if (!tiles) {
        for (int64_t k = 0; k < w.in_size(); ++k) plane[k] = 0.f;
        for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] += g[k];
        continue;
      }
      const int64_t covered = w.out_w * w.kernel_w;
      for (int64_t h = 0; h < w.height; ++h) {
        float* __restrict row = plane + h * w.width;
        const int64_t oh = h / w.kernel_h;
        if (oh >= w.out_h) {  // rows below the last window: no gradient
          for (int64_t x = 0; x < w.width; ++x) row[x] = 0.f;
          continue;
        }
        const float* __restrict grow = g + oh * w.out_w;
        const int32_t* __restrict irow = idx + oh * w.out_w;
        const int32_t first = static_cast<int32_t>(h * w.width);  // flat index of the row's element 0
        if (w.kernel_w == 2) {
          for (int64_t ow = 0; ow < w.out_w; ++ow) {
            const int32_t at = irow[ow] - first - static_cast<int32_t>(2 * ow);
            row[2 * ow] = at == 0 ? grow[ow] : 0.f;
            row[2 * ow + 1] = at == 1 ? grow[ow] : 0.f;
          }
        } else {
          for (int64_t ow = 0; ow < w.out_w; ++ow)
            for (int64_t j = 0; j < w.kernel_w; ++j)
              row[ow * w.kernel_w + j] = irow[ow] == first + ow * w.kernel_w + j ? grow[ow] : 0.f;
        }
        for (int64_t x = covered; x < w.width; ++x) row[x] = 0.f;
      }
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
