// Softmax and log-softmax along the middle dimension of [outer, reduce, inner], a row per loop
// iteration; the math of a row is in kernels/softmax_math.h, shared with the CUDA backend.
#include <cmath>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/softmax_math.h"

namespace minidl::kernels::cpu {

void softmax(float* out, const float* in, int64_t outer, int64_t reduce, int64_t inner, bool log) {
  if (reduce == 0) return;
  parallel_for(outer * inner, reduce * 8, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t base = (t / inner) * reduce * inner + t % inner;
      math::softmax_row(out + base, in + base, reduce, inner, log);
    }
  });
}

void softmax_backward(float* dx, const float* y, const float* dy, int64_t outer, int64_t reduce, int64_t inner,
                      bool log) {
  if (reduce == 0) return;
  parallel_for(outer * inner, reduce * 4, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t base = (t / inner) * reduce * inner + t % inner;
      math::softmax_backward_row(dx + base, y + base, dy + base, reduce, inner, log);
    }
  });
}

}  // namespace minidl::kernels::cpu
