// Batch normalization, a channel per task: x is [n, c, inner], so a channel is n runs of `inner`
// contiguous values. Statistics are summed in double, the mean first and then the squared
// deviations (two passes: no cancellation), as PyTorch's CPU kernel does; what the sums become (the
// affine coefficients, the running statistics, the gradient's formula) is kernels/conv_math.h's,
// shared with the CUDA kernel.
#include <cmath>

#include "kernels/conv_math.h"
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
        if (running_mean) math::batch_norm_update_running(running_mean[ch], running_var[ch], mean, squares, m, momentum);
      } else {
        mean = running_mean[ch];
        var = running_var[ch];
      }
      const auto [invstd, alpha, beta] =
          math::batch_norm_affine(mean, var, eps, weight ? weight[ch] : 1.f, bias ? bias[ch] : 0.f);
      save_mean[ch] = static_cast<float>(mean);
      save_invstd[ch] = invstd;
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
      const math::BatchNormGrad g = math::batch_norm_grad(sum, dot, invstd, m);
      for (int64_t b = 0; b < n; ++b)
        for (int64_t j = 0, at = (b * c + ch) * inner; j < inner; ++j)
          dx[at + j] = training ? math::batch_norm_dx_training(dy[at + j], x[at + j], mean, invstd, w, g)
                                : math::batch_norm_dx_eval(dy[at + j], invstd, w);
    }
  });
}

}  // namespace minidl::kernels::cpu
