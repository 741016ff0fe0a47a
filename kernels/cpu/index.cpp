// gather and scatter_add (kernels/index_math.h). Work is split over (o, block of 64 columns), so
// each thread writes whole columns of dx and every sum runs in order of j, whatever the threads.
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/index_math.h"

namespace minidl::kernels::cpu {

namespace {
constexpr int64_t kColumnBlock = 64;
}

void gather(float* out, const float* x, const int32_t* index, const IndexLayout& l) {
  parallel_for(l.outer * l.k, l.inner, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) math::gather_range(out, x, index, l, t / l.k, t % l.k, 0, l.inner);
  });
}

void scatter_add(float* dx, const float* dy, const int32_t* index, const IndexLayout& l) {
  const int64_t blocks = (l.inner + kColumnBlock - 1) / kColumnBlock;
  parallel_for(l.outer * blocks, (l.n + l.k) * kColumnBlock, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t i0 = (t % blocks) * kColumnBlock;
      math::scatter_add_range(dx, dy, index, l, t / blocks, i0, std::min(l.inner, i0 + kColumnBlock));
    }
  });
}

}  // namespace minidl::kernels::cpu
