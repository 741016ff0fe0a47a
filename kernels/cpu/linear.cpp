// A Linear layer's epilogue, fused: the bias add and the activation in one pass over y forward,
// and the activation's gradient with the bias gradient's column sums in one pass backward. The
// activation is a template argument, so each loop is straight-line arithmetic that vectorizes (the
// exact GELU too: math::normal_cdf is branch-free, and this file is compiled without trapping math).
#include "kernels/cpu/cpu.h"
#include "kernels/cpu/parallel.h"
#include "kernels/elementwise_math.h"

namespace minidl::kernels::cpu {

namespace {

template <Activation kAct>
void epilogue_rows(float* y, float* pre, const float* bias, int64_t cols, int64_t begin, int64_t end) {
  for (int64_t r = begin; r < end; ++r) {
    float* __restrict row = y + r * cols;
    float* __restrict z = pre ? pre + r * cols : nullptr;
    for (int64_t c = 0; c < cols; ++c) {
      const float v = bias ? row[c] + bias[c] : row[c];
      if (z) z[c] = v;
      row[c] = math::activation_forward(kAct, v);
    }
  }
}

// Columns [begin, end) of dz and dbias, the rows in order.
template <Activation kAct>
void epilogue_backward_columns(float* dz, float* dbias, const float* saved, const float* dy, int64_t rows, int64_t cols,
                               int64_t begin, int64_t end) {
  if (dbias)
    for (int64_t c = begin; c < end; ++c) dbias[c] = 0.f;
  for (int64_t r = 0; r < rows; ++r) {
    const float* __restrict sr = saved ? saved + r * cols : nullptr;
    const float* __restrict dyr = dy + r * cols;
    float* dzr = dz + r * cols;
    if (kAct != Activation::none)
      for (int64_t c = begin; c < end; ++c) dzr[c] = math::activation_backward(kAct, sr[c], dyr[c]);
    else if (dzr != dyr)
      for (int64_t c = begin; c < end; ++c) dzr[c] = dyr[c];
    if (dbias)
      for (int64_t c = begin; c < end; ++c) dbias[c] += dzr[c];
  }
}

template <class F>
void with_activation(Activation act, F&& f) {
  switch (act) {
    case Activation::none:
      return f(std::integral_constant<Activation, Activation::none>{});
    case Activation::relu:
      return f(std::integral_constant<Activation, Activation::relu>{});
    case Activation::gelu:
      return f(std::integral_constant<Activation, Activation::gelu>{});
  }
}

}  // namespace

void bias_activation(float* y, float* pre, const float* bias, int64_t rows, int64_t cols, Activation act) {
  with_activation(act, [&](auto a) {
    parallel_for(rows, cols * (a() == Activation::gelu ? 16 : 1), [&](int64_t begin, int64_t end) {
      epilogue_rows<a()>(y, pre, bias, cols, begin, end);
    });
  });
}

// Threads split the columns, and each column is summed over the rows in order, so dbias does not
// depend on the thread count.
void bias_activation_backward(float* dz, float* dbias, const float* saved, const float* dy, int64_t rows, int64_t cols,
                              Activation act) {
  with_activation(act, [&](auto a) {
    parallel_for(cols, rows * (a() == Activation::gelu ? 16 : 1), [&](int64_t begin, int64_t end) {
      epilogue_backward_columns<a()>(dz, dbias, saved, dy, rows, cols, begin, end);
    });
  });
}

}  // namespace minidl::kernels::cpu
