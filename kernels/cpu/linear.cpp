// A Linear layer's epilogue, fused: the bias add and the activation in one pass over y forward,
// and the activation's gradient with the bias gradient's column sums in one pass backward.
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

void bias_activation(float* y, const float* bias, int64_t rows, int64_t cols, Activation act) {
  parallel_for(rows, cols, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* row = y + r * cols;
      if (bias)
        for (int64_t c = 0; c < cols; ++c) row[c] += bias[c];
      if (act == Activation::relu)
        for (int64_t c = 0; c < cols; ++c) row[c] = math::Relu{}(row[c]);
    }
  });
}

// Threads split the columns, and each column is summed over the rows in order, so dbias does not
// depend on the thread count.
void bias_activation_backward(float* dz, float* dbias, const float* y, const float* dy, int64_t rows, int64_t cols,
                              Activation act) {
  parallel_for(cols, rows, [&](int64_t begin, int64_t end) {
    if (dbias)
      for (int64_t c = begin; c < end; ++c) dbias[c] = 0.f;
    for (int64_t r = 0; r < rows; ++r) {
      const float* yr = y + r * cols;
      const float* dyr = dy + r * cols;
      float* dzr = dz + r * cols;
      if (act == Activation::relu)
        for (int64_t c = begin; c < end; ++c) dzr[c] = math::ReluBackward{}(yr[c], dyr[c]);
      else if (dzr != dyr)
        for (int64_t c = begin; c < end; ++c) dzr[c] = dyr[c];
      if (dbias)
        for (int64_t c = begin; c < end; ++c) dbias[c] += dzr[c];
    }
  });
}

}  // namespace minidl::kernels::cpu
