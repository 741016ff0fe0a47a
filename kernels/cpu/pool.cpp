// 2-D max and average pooling, a plane (one image's channel) per task. Forward runs the window math
// of kernels/conv_math.h; backward scatters each output's gradient over its window in row-major
// output order, which is the order the GPU's per-input gather adds them in.
#include <algorithm>

#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

void max_pool2d(float* out, int32_t* indices, const float* x, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.out_size() * w.taps(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const float* plane = x + p * w.in_size();
      float* o = out + p * w.out_size();
      int32_t* idx = indices + p * w.out_size();
      for (int64_t oh = 0; oh < w.out_h; ++oh)
        for (int64_t ow = 0; ow < w.out_w; ++ow)
          o[oh * w.out_w + ow] = math::max_pool_value(plane, w, oh, ow, &idx[oh * w.out_w + ow]);
    }
  });
}

void max_pool2d_backward(float* dx, const float* dy, const int32_t* indices, int64_t planes, const Window2d& w) {
  parallel_for(planes, w.in_size() + w.out_size(), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* plane = dx + p * w.in_size();
      const float* g = dy + p * w.out_size();
      const int32_t* idx = indices + p * w.out_size();
      std::fill(plane, plane + w.in_size(), 0.f);
      for (int64_t k = 0; k < w.out_size(); ++k) plane[idx[k]] += g[k];
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
