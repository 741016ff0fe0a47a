// Batch normalization, a channel per task: x is [n, c, inner], so a channel is n runs of `inner`
// contiguous values. Statistics are summed in double, the mean first and then the squared
// deviations (two passes: no cancellation), as PyTorch's CPU kernel does; the output is
// x·alpha + beta with alpha = invstd·weight and beta = bias − mean·alpha, PyTorch's formula.
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

void batch_norm_forward(float* y, float* save_mean, float* save_invstd, float* running_mean, float* running_var,
                        const float* x, const float* weight, const float* bias, int64_t n, int64_t c, int64_t inner,
                        bool training, float momentum, float eps) {
  const int64_t m = n * inner;
  parallel_for(c, 3 * m, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      double mean, var;
      if (training) {
        double sum = 0.0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t k = 0, at = (b * c + ch) * inner; k < inner; ++k) sum += x[at + k];
        mean = sum / static_cast<double>(m);
        double squares = 0.0;
        for (int64_t b = 0; b < n; ++b)
          for (int64_t k = 0, at = (b * c + ch) * inner; k < inner; ++k)
            squares += (x[at + k] - mean) * (x[at + k] - mean);
        var = squares / static_cast<double>(m);
        if (running_mean) {
          running_mean[ch] = static_cast<float>(momentum * mean + (1.0 - momentum) * running_mean[ch]);
          running_var[ch] =
              static_cast<float>(momentum * squares / static_cast<double>(m - 1) + (1.0 - momentum) * running_var[ch]);
        }
      } else {
        mean = running_mean[ch];
        var = running_var[ch];
      }
      const float invstd = static_cast<float>(1.0 / std::sqrt(var + static_cast<double>(eps)));
      save_mean[ch] = static_cast<float>(mean);
      save_invstd[ch] = invstd;
      const float alpha = invstd * (weight ? weight[ch] : 1.f);
      const float beta = (bias ? bias[ch] : 0.f) - static_cast<float>(mean) * alpha;
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0, at = (b * c + ch) * inner; k < inner; ++k) y[at + k] = x[at + k] * alpha + beta;
    }
  });
}

void batch_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* save_mean, const float* save_invstd, int64_t n, int64_t c, int64_t inner,
                         bool training) {
  const int64_t m = n * inner;
  parallel_for(c, 3 * m, [&](int64_t begin, int64_t end) {
    for (int64_t ch = begin; ch < end; ++ch) {
      const float mean = save_mean[ch], invstd = save_invstd[ch], w = weight ? weight[ch] : 1.f;
      double sum = 0.0, dot = 0.0;  // Σ dy and Σ dy·(x − mean)
      for (int64_t b = 0; b < n; ++b)
        for (int64_t k = 0, at = (b * c + ch) * inner; k < inner; ++k) {
          sum += dy[at + k];
          dot += static_cast<double>(dy[at + k]) * (x[at + k] - mean);
        }
      if (dweight) dweight[ch] = static_cast<float>(dot * invstd);
      if (dbias) dbias[ch] = static_cast<float>(sum);
      if (!dx) continue;
      if (training) {
        // dx = (dy − mean(dy) − (x − mean)·k)·invstd·w with k = Σ dy·(x − mean)·invstd² / M
        const float k = static_cast<float>(dot * invstd * invstd / static_cast<double>(m));
        const float mean_dy = static_cast<float>(sum / static_cast<double>(m));
        for (int64_t b = 0; b < n; ++b)
          for (int64_t j = 0, at = (b * c + ch) * inner; j < inner; ++j)
            dx[at + j] = (dy[at + j] - mean_dy - (x[at + j] - mean) * k) * invstd * w;
      } else {
        for (int64_t b = 0; b < n; ++b)
          for (int64_t j = 0, at = (b * c + ch) * inner; j < inner; ++j) dx[at + j] = dy[at + j] * invstd * w;
      }
    }
  });
}

}  // namespace minidl::kernels::cpu
