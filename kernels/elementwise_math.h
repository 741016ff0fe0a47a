// Per-element math of the elementwise kernels, one functor per op, shared by every backend.
// They are `__host__ __device__` under nvcc, so the CUDA kernels and the CPU loops run the very same
// definition and the CPU tests cover both. visit() maps the runtime op to its functor, once.
#pragma once

#include <math.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/host_device.h"

namespace minidl::kernels::math {

// NOTE: written with C's float functions (expf, not std::exp): those are the names nvcc also
// provides in device code.
struct Neg {
  MINIDL_HD float operator()(float x) const { return -x; }
};
struct Exp {
  MINIDL_HD float operator()(float x) const { return expf(x); }
};
struct Log {
  MINIDL_HD float operator()(float x) const { return logf(x); }
};
// `x < 0 ? 0 : x` rather than `x > 0 ? x : 0` so that NaN propagates, as in PyTorch.
struct Relu {
  MINIDL_HD float operator()(float x) const { return x < 0.f ? 0.f : x; }
};
// 1 / (1 + e^-x): e^-x overflows to inf for x < -88 and the result is then exactly 0, no NaN.
struct Sigmoid {
  MINIDL_HD float operator()(float x) const { return 1.f / (1.f + expf(-x)); }
};
struct Tanh {
  MINIDL_HD float operator()(float x) const { return tanhf(x); }
};
struct Sqrt {
  MINIDL_HD float operator()(float x) const { return sqrtf(x); }
};
struct Square {
  MINIDL_HD float operator()(float x) const { return x * x; }
};

struct Add {
  MINIDL_HD float operator()(float a, float b) const { return a + b; }
};
struct Sub {
  MINIDL_HD float operator()(float a, float b) const { return a - b; }
};
struct Mul {
  MINIDL_HD float operator()(float a, float b) const { return a * b; }
};
struct Div {
  MINIDL_HD float operator()(float a, float b) const { return a / b; }
};
// Activation gradients from the forward output y:  relu' = 1[y > 0],  σ' = y(1 − y),  tanh' = 1 − y².
struct ReluBackward {
  MINIDL_HD float operator()(float y, float dy) const { return y > 0.f ? dy : 0.f; }
};
struct SigmoidBackward {
  MINIDL_HD float operator()(float y, float dy) const { return dy * y * (1.f - y); }
};
struct TanhBackward {
  MINIDL_HD float operator()(float y, float dy) const { return dy * (1.f - y * y); }
};

/// float → int32 truncating toward zero; NaN becomes 0 and out-of-range values the nearest int32
/// (a plain cast would be undefined behaviour there).
MINIDL_HD inline int32_t float_to_int32(float v) {
  return v != v ? 0 : v >= 2147483648.f ? INT32_MAX : v <= -2147483648.f ? INT32_MIN : static_cast<int32_t>(v);
}

/// Calls f(Functor{}) for the functor of `op`; backends write their loops once as templates.
template <class F>
void visit(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::neg:
      return f(Neg{});
    case UnaryOp::exp:
      return f(Exp{});
    case UnaryOp::log:
      return f(Log{});
    case UnaryOp::relu:
      return f(Relu{});
    case UnaryOp::sigmoid:
      return f(Sigmoid{});
    case UnaryOp::tanh:
      return f(Tanh{});
    case UnaryOp::sqrt:
      return f(Sqrt{});
    case UnaryOp::square:
      return f(Square{});
  }
}

template <class F>
void visit(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add:
      return f(Add{});
    case BinaryOp::sub:
      return f(Sub{});
    case BinaryOp::mul:
      return f(Mul{});
    case BinaryOp::div:
      return f(Div{});
    case BinaryOp::relu_backward:
      return f(ReluBackward{});
    case BinaryOp::sigmoid_backward:
      return f(SigmoidBackward{});
    case BinaryOp::tanh_backward:
      return f(TanhBackward{});
  }
}

}  // namespace minidl::kernels::math
