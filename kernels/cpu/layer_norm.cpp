// Layer norm (kernels/layer_norm_math.h): rows in parallel for y and dx, then blocks of columns in
// parallel for dweight and dbias, each column summed over the rows in order (deterministic).
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/layer_norm_math.h"

namespace minidl::kernels::cpu {

void layer_norm_forward(float* y, float* mean, float* rstd, const float* x, const float* weight, const float* bias,
                        int64_t rows, int64_t cols, float eps) {
  parallel_for(rows, cols * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      math::layer_norm_row(y + r * cols, mean + r, rstd + r, x + r * cols, weight, bias, cols, eps);
  });
}

void layer_norm_backward(float* dx, float* dweight, float* dbias, const float* dy, const float* x, const float* weight,
                         const float* mean, const float* rstd, int64_t rows, int64_t cols) {
  if (dx)
    parallel_for(rows, cols * 6, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        math::layer_norm_backward_row(dx + r * cols, dy + r * cols, x + r * cols, weight, mean[r], rstd[r], cols);
    });
  if (dweight || dbias)
    parallel_for(cols, rows * 4, [&](int64_t begin, int64_t end) {
      math::layer_norm_param_grads(dweight, dbias, dy, x, mean, rstd, rows, cols, begin, end);
    });
}

}  // namespace minidl::kernels::cpu
