// Layer normalization over the last `cols` elements of each row, one row at a time,
// `__host__ __device__`: the CUDA threads run these functions, and kernels/cpu/layer_norm.cpp the
// same formulas in loops that vectorize (tests/test_ops.cpp checks that the two agree).
// docs/language-models.md derives the backward. With μ and σ² the row's mean and biased variance,
// rstd = 1/√(σ² + eps) and x̂ = (x − μ)·rstd:
//   forward:   y = x̂·w + b                                (mean and rstd are kept for the backward)
//   backward:  g = dy·w;  dx = rstd·(g − mean(g) − x̂·mean(g·x̂))
//              dw = Σ_rows dy·x̂,  db = Σ_rows dy          (column sums, in row order)
// Row sums run in double, as the batch norm kernels do. Null w/b: 1 and 0.
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/host_device.h"

namespace minidl::kernels::math {

MINIDL_HD inline void layer_norm_row(float* y, float* mean, float* rstd, const float* x, const float* w, const float* b,
                                     int64_t cols, float eps) {
  double s = 0.0;
  for (int64_t c = 0; c < cols; ++c) s += x[c];
  const float mu = static_cast<float>(s / static_cast<double>(cols));
  double v = 0.0;
  for (int64_t c = 0; c < cols; ++c) v += static_cast<double>(x[c] - mu) * (x[c] - mu);
  const float r = static_cast<float>(1.0 / ::sqrt(v / static_cast<double>(cols) + eps));
  for (int64_t c = 0; c < cols; ++c) {
    const float xhat = (x[c] - mu) * r;
    y[c] = xhat * (w ? w[c] : 1.f) + (b ? b[c] : 0.f);
  }
  *mean = mu;
  *rstd = r;
}

MINIDL_HD inline void layer_norm_backward_row(float* dx, const float* dy, const float* x, const float* w, float mu,
                                              float r, int64_t cols) {
  double g_sum = 0.0, gx_sum = 0.0;
  for (int64_t c = 0; c < cols; ++c) {
    const float g = dy[c] * (w ? w[c] : 1.f);
    g_sum += g;
    gx_sum += static_cast<double>(g) * ((x[c] - mu) * r);
  }
  const float g_mean = static_cast<float>(g_sum / static_cast<double>(cols));
  const float gx_mean = static_cast<float>(gx_sum / static_cast<double>(cols));
  for (int64_t c = 0; c < cols; ++c) {
    const float g = dy[c] * (w ? w[c] : 1.f);
    dx[c] = r * (g - g_mean - (x[c] - mu) * r * gx_mean);
  }
}

/// dw[c] = Σ_rows dy·x̂ and db[c] = Σ_rows dy for the columns c in [c0, c1) (either may be null).
MINIDL_HD inline void layer_norm_param_grads(float* dw, float* db, const float* dy, const float* x, const float* mean,
                                             const float* rstd, int64_t rows, int64_t cols, int64_t c0, int64_t c1) {
  for (int64_t c = c0; c < c1; ++c) {
    double sw = 0.0, sb = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
      const float g = dy[r * cols + c];
      sw += static_cast<double>(g) * ((x[r * cols + c] - mean[r]) * rstd[r]);
      sb += g;
    }
    if (dw) dw[c] = static_cast<float>(sw);
    if (db) db[c] = static_cast<float>(sb);
  }
}

}  // namespace minidl::kernels::math
