// Layer norm on the CPU: the formulas of kernels/layer_norm_math.h (whose row functions the CUDA
// kernels run), in loops that vectorize. Row sums are float sums split over vector lanes (`omp
// simd` reductions) instead of the header's serial double sums, which cost a dependent add per
// element. The backward is one pass over the rows: dx of each row, and its terms of dweight and
// dbias added to the partial sums of its chunk of kChunk rows; the chunks' partial sums are then
// added in chunk order. Chunks are fixed by the row count, so the result does not depend on the
// number of threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

namespace {

constexpr int64_t kChunk = 32;  // rows per partial sum of dweight and dbias

float row_sum(const float* x, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < n; ++c) s += x[c];
  return s;
}

// μ and rstd = 1/√(σ² + eps), σ² the mean squared deviation from μ (two passes: no cancellation).
void row_stats(const float* x, int64_t cols, float eps, float& mu, float& rstd) {
  mu = row_sum(x, cols) / static_cast<float>(cols);
  float v = 0.f;
#pragma omp simd reduction(+ : v)
  for (int64_t c = 0; c < cols; ++c) v += (x[c] - mu) * (x[c] - mu);
  rstd = 1.f / std::sqrt(v / static_cast<float>(cols) + eps);
}

// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·w, for one row.
void dx_row(float* __restrict dx, const float* __restrict dy, const float* __restrict x, const float* __restrict w,
            float mu, float r, int64_t cols) {
  float g_sum = 0.f, gx_sum = 0.f;
#pragma omp simd reduction(+ : g_sum, gx_sum)
  for (int64_t c = 0; c < cols; ++c) {
    const float g = dy[c] * (w ? w[c] : 1.f);
    g_sum += g;
    gx_sum += g * ((x[c] - mu) * r);
  }
  const float g_mean = g_sum / static_cast<float>(cols), gx_mean = gx_sum / static_cast<float>(cols);
  for (int64_t c = 0; c < cols; ++c) {
    const float g = dy[c] * (w ? w[c] : 1.f);
    dx[c] = r * (g - g_mean - (x[c] - mu) * r * gx_mean);
  }
}

}  // namespace

void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                        int64_t rows, int64_t cols, float eps) {
  parallel_for(rows, cols * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * cols;
      float* __restrict yr = y + r * cols;
      row_stats(xr, cols, eps, mean[r], rstd[r]);
      const float mu = mean[r], rs = rstd[r];
      for (int64_t c = 0; c < cols; ++c)
        yr[c] = (xr[c] - mu) * rs * (weight ? weight[c] : 1.f) + (bias ? bias[c] : 0.f);
    }
  });
}

void layer_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  const int64_t chunks = (rows + kChunk - 1) / kChunk;
  const bool params = dweight || dbias;
  std::vector<float> partial(params ? static_cast<size_t>(chunks * 2 * cols) : 0);
  parallel_for(chunks, kChunk * cols * 8, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      float* __restrict pw = params ? partial.data() + ch * 2 * cols : nullptr;
      float* __restrict pb = params ? pw + cols : nullptr;
      for (int64_t r = ch * kChunk; r < std::min(rows, (ch + 1) * kChunk); ++r) {
        const float *dyr = dy + r * cols, *xr = x + r * cols;
        const float mu = mean[r], rs = rstd[r];
        if (dx) dx_row(dx + r * cols, dyr, xr, weight, mu, rs, cols);
        if (params)
          for (int64_t c = 0; c < cols; ++c) {
            pw[c] += dyr[c] * ((xr[c] - mu) * rs);
            pb[c] += dyr[c];
          }
      }
    }
  });
  if (!params) return;
  for (int64_t c = 0; c < cols; ++c) {
    if (dweight) dweight[c] = 0.f;
    if (dbias) dbias[c] = 0.f;
  }
  for (int64_t ch = 0; ch < chunks; ++ch) {
    const float* pw = partial.data() + ch * 2 * cols;
    for (int64_t c = 0; c < cols; ++c) {
      if (dweight) dweight[c] += pw[c];
      if (dbias) dbias[c] += pw[cols + c];
    }
  }
}

}  // namespace minidl::kernels::cpu
