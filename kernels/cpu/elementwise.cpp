// Elementwise kernels: one loop template per arity, instantiated for every functor of
// kernels/elementwise_math.h. Inner loops have unit-stride and broadcast-scalar fast paths, the
// shapes g++ vectorizes; anything else takes the general strided loop.
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

void unary(UnaryOp op, float* out, const float* in, int64_t n) {
  math::visit(op, [&](auto f) {
    parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = f(in[i]);
    });
  });
}

template <class F>
static void binary_row(F f, float* o, int64_t so, const float* a, int64_t sa, const float* b, int64_t sb, int64_t n) {
  if (so == 1 && sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
  } else if (so == 1 && sa == 1 && sb == 0) {
    const float bv = *b;
    for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], bv);
  } else if (so == 1 && sa == 0 && sb == 1) {
    const float av = *a;
    for (int64_t i = 0; i < n; ++i) o[i] = f(av, b[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) o[i * so] = f(a[i * sa], b[i * sb]);
  }
}

void binary(BinaryOp op, float* out, const float* a, const float* b, const BinaryLayout& layout) {
  const int last = layout.ndim - 1;
  const int64_t so = last >= 0 ? layout.strides[0][last] : 1;
  const int64_t sa = last >= 0 ? layout.strides[1][last] : 1;
  const int64_t sb = last >= 0 ? layout.strides[2][last] : 1;
  math::visit(op, [&](auto f) {
    for_each_row(layout, [&](const int64_t* off, int64_t len) {
      binary_row(f, out + off[0], so, a + off[1], sa, b + off[2], sb, len);
    });
  });
}

void where(float* out, const float* mask, const float* a, const float* b, const WhereLayout& layout) {
  const int last = layout.ndim - 1;
  int64_t s[4];
  for (int k = 0; k < 4; ++k) s[k] = last >= 0 ? layout.strides[k][last] : 1;
  for_each_row(layout, [&](const int64_t* off, int64_t len) {
    float* o = out + off[0];
    const float *m = mask + off[1], *x = a + off[2], *y = b + off[3];
    if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
      for (int64_t i = 0; i < len; ++i) o[i] = math::select(m[i], x[i], y[i]);
    } else {
      for (int64_t i = 0; i < len; ++i) o[i * s[0]] = math::select(m[i * s[1]], x[i * s[2]], y[i * s[3]]);
    }
  });
}

}  // namespace minidl::kernels::cpu
