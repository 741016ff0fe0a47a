// Softmax and log-softmax along the middle dimension of [outer, reduce, inner].
//   softmax:      y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j (so e^· never overflows)
//   log_softmax:  y_i = x_i − m − log Σ_j e^(x_j − m)
// Backward, with s = Σ_j dy_j y_j (softmax) or s = Σ_j dy_j (log_softmax):
//   softmax:      dx_i = y_i (dy_i − s)
//   log_softmax:  dx_i = dy_i − e^(y_i) s
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

// One row of `n` elements `stride` apart.
static void softmax_row(float* y, const float* x, int64_t n, int64_t stride, bool log) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = std::fmax(m, x[i * stride]);
  double s = 0.0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i * stride] - m);
    const float shift = m + static_cast<float>(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i * stride] = x[i * stride] - shift;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      y[i * stride] = std::exp(x[i * stride] - m);
      s += y[i * stride];
    }
    const float inv = static_cast<float>(1.0 / s);
    for (int64_t i = 0; i < n; ++i) y[i * stride] *= inv;
  }
}

static void softmax_backward_row(float* dx, const float* y, const float* dy, int64_t n, int64_t stride, bool log) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += log ? dy[i * stride] : dy[i * stride] * y[i * stride];
  const float sf = static_cast<float>(s);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i * stride;
    dx[k] = log ? dy[k] - std::exp(y[k]) * sf : y[k] * (dy[k] - sf);
  }
}

void softmax(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log) {
  if (reduce == 0) return;
  parallel_for(outer * inner, reduce * 8, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t base = (t / inner) * reduce * inner + t % inner;
      softmax_row(out + base, in + base, reduce, inner, log);
    }
  });
}

void softmax_backward(float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce, int64_t inner,
                      bool log) {
  if (reduce == 0) return;
  parallel_for(outer * inner, reduce * 4, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t base = (t / inner) * reduce * inner + t % inner;
      softmax_backward_row(dx + base, y + base, dy + base, reduce, inner, log);
    }
  });
}

}  // namespace minidl::kernels::cpu
