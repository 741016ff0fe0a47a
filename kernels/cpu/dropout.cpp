// Dropout's mask: each element's factor comes from a counter-based draw (kernels/conv_math.h), so the
// mask depends only on the seed and the element's position, never on threads or the device.
#include "kernels/conv_math.h"
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"

namespace minidl::kernels::cpu {

void dropout_mask(float* mask, int64_t n, uint64_t seed, float p) {
  const float scale = 1.f / (1.f - p);
  parallel_for(n, 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) mask[i] = math::dropout_factor(seed, i, p, scale);
  });
}

}  // namespace minidl::kernels::cpu
