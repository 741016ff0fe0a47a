// The softmax family one row at a time, `__host__ __device__`: the CPU backend runs a row per loop
// iteration and the CUDA backend a row per thread, through these same functions.
//   softmax:      y_i = e^(x_i − m) / Σ_j e^(x_j − m),   m = max_j x_j (so e^· never overflows)
//   log_softmax:  y_i = x_i − m − log Σ_j e^(x_j − m)
// Backward, with s = Σ_j dy_j y_j (softmax) or s = Σ_j dy_j (log_softmax):
//   softmax:      dx_i = y_i (dy_i − s)
//   log_softmax:  dx_i = dy_i − e^(y_i) s
// Cross-entropy of one row of logits x against target t, fused with its softmax p:
//   loss = log Σ_j e^(x_j) − x_t = m + log Σ_j e^(x_j − m) − x_t
// Sums run in double. Written with C's float functions (expf, fmaxf), which nvcc provides on the device.
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/host_device.h"

namespace minidl::kernels::math {

/// One row of `n` elements `stride` apart.
MINIDL_HD inline void softmax_row(float* y, const float* x, int64_t n, int64_t stride, bool log) {
  float m = x[0];
  for (int64_t i = 1; i < n; ++i) m = fmaxf(m, x[i * stride]);
  double s = 0.0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += expf(x[i * stride] - m);
    const float shift = m + static_cast<float>(::log(s));
    for (int64_t i = 0; i < n; ++i) y[i * stride] = x[i * stride] - shift;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      y[i * stride] = expf(x[i * stride] - m);
      s += y[i * stride];
    }
    const float inv = static_cast<float>(1.0 / s);
    for (int64_t i = 0; i < n; ++i) y[i * stride] *= inv;
  }
}

MINIDL_HD inline void softmax_backward_row(float* dx, const float* y, const float* dy, int64_t n, int64_t stride,
                                           bool log) {
  double s = 0.0;
  for (int64_t i = 0; i < n; ++i) s += log ? dy[i * stride] : dy[i * stride] * y[i * stride];
  const float sf = static_cast<float>(s);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = i * stride;
    dx[k] = log ? dy[k] - expf(y[k]) * sf : y[k] * (dy[k] - sf);
  }
}

/// Writes the row's softmax into p and returns its loss, in double (the mean over rows is summed
/// in double too).
MINIDL_HD inline double cross_entropy_row(float* p, const float* x, int64_t c, int32_t target) {
  float m = x[0];
  for (int64_t j = 1; j < c; ++j) m = fmaxf(m, x[j]);
  double s = 0.0;
  for (int64_t j = 0; j < c; ++j) {
    p[j] = expf(x[j] - m);
    s += p[j];
  }
  const float inv = static_cast<float>(1.0 / s);
  for (int64_t j = 0; j < c; ++j) p[j] *= inv;
  return m + ::log(s) - x[target];
}

}  // namespace minidl::kernels::math
