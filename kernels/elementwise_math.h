// Per-element math of the elementwise kernels, one functor per op, shared by every backend.
// They are `__host__ __device__` under nvcc, so the CUDA kernels and the CPU loops run the very same
// definition and the CPU tests cover both. visit() maps the runtime op to its functor, once.
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

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
struct Abs {
  MINIDL_HD float operator()(float x) const { return fabsf(x); }
};

/// e^x to ~1 ulp (relative error < 1e-7 over [−87, 88]) in a form compilers vectorize, which
/// glibc's scalar expf call is not: x = n·ln2 + r with |r| ≤ ½ln2 (ln2 split in two parts so r is
/// exact), e^r by Cephes' degree-7 polynomial, 2ⁿ by writing n into the exponent bits. x is
/// clamped to where 2ⁿ is a normal float (below −87.3 the result is ~1e-38, not a subnormal or 0);
/// NaN passes through. On the GPU, the device's own expf.
MINIDL_HD inline float vector_exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  x = x < -87.3f ? -87.3f : x > 88.3f ? 88.3f : x;
  const float n = floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float p = (((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                    1.6666665459e-1f) *
                       r +
                   5.0000001201e-1f) *
                      r * r +
                  r + 1.f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return p * scale;
#endif
}

/// Φ(x) = ½·erfc(−x/√2), the standard normal CDF, to ~1e-7 relative in its tails as well: erfc(z)
/// for z = |x|/√2 ≥ 0 is t·exp(−z² + P(t)) with t = 1/(1 + z/2) and P a degree-9 polynomial
/// (Numerical Recipes' erfcc, fractional error < 1.2e-7 for every z), so Φ(−x) = ½·erfc(z) keeps
/// its relative accuracy where it is tiny (GELU of large negative x), and Φ(x) = 1 − ½·erfc(z).
/// Branch-free: one vector_exp, a polynomial and a select, which g++ vectorizes (glibc's erff and
/// expf are scalar calls); kernels/cpu/elementwise.cpp is compiled with -fno-trapping-math, without
/// which g++ does not turn the selects into vector blends.
MINIDL_HD inline float normal_cdf(float x) {
  const float z = fabsf(x) * 0.70710678118654752f;
  const float t = 1.f / (1.f + 0.5f * z);
  const float p =
      -1.26551223f +
      t * (1.00002368f +
           t * (0.37409196f +
                t * (0.09678418f +
                     t * (-0.18628806f +
                          t * (0.27886807f +
                               t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  const float half_erfc = 0.5f * t * vector_exp(-z * z + p);
  return x < 0.f ? half_erfc : 1.f - half_erfc;
}
/// φ(x) = e^(−x²/2) / √(2π), the standard normal density.
MINIDL_HD inline float normal_pdf(float x) { return 0.39894228040143268f * vector_exp(-0.5f * x * x); }

// GELU, exact:  y = x·Φ(x);  y' = Φ(x) + x·φ(x)
struct Gelu {
  MINIDL_HD float operator()(float x) const { return x * normal_cdf(x); }
};
// GELU, tanh approximation:  y = ½x(1 + tanh u),  u = √(2/π)(x + 0.044715x³)
//   y' = ½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)
constexpr float kSqrt2OverPi = 0.79788456080286536f;
struct GeluTanh {
  MINIDL_HD float operator()(float x) const {
    return 0.5f * x * (1.f + tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
  }
};
// SiLU:  y = x·σ(x);  y' = σ(x)·(1 + x(1 − σ(x)))
struct Silu {
  MINIDL_HD float operator()(float x) const { return x / (1.f + expf(-x)); }
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
// Gradients from the forward input x:  |x|' = sign(x) (0 at 0, as PyTorch), and the three above.
struct AbsBackward {
  MINIDL_HD float operator()(float x, float dy) const { return x > 0.f ? dy : x < 0.f ? -dy : 0.f * dy; }
};
struct GeluBackward {
  MINIDL_HD float operator()(float x, float dy) const { return dy * (normal_cdf(x) + x * normal_pdf(x)); }
};
/// A fused epilogue's activation (kernels/activation.h) and its gradient dy·act'(z), from `saved`:
/// relu's output y (relu' = 1[y > 0]) or gelu's input z.
MINIDL_HD inline float activation_forward(Activation act, float z) {
  return act == Activation::relu ? Relu{}(z) : act == Activation::gelu ? Gelu{}(z) : z;
}
MINIDL_HD inline float activation_backward(Activation act, float saved, float dy) {
  return act == Activation::relu ? ReluBackward{}(saved, dy) : act == Activation::gelu ? GeluBackward{}(saved, dy) : dy;
}
struct GeluTanhBackward {
  MINIDL_HD float operator()(float x, float dy) const {
    const float th = tanhf(kSqrt2OverPi * (x + 0.044715f * x * x * x));
    const float du = kSqrt2OverPi * (1.f + 3.f * 0.044715f * x * x);
    return dy * (0.5f * (1.f + th) + 0.5f * x * (1.f - th * th) * du);
  }
};
struct SiluBackward {
  MINIDL_HD float operator()(float x, float dy) const {
    const float s = 1.f / (1.f + expf(-x));
    return dy * s * (1.f + x * (1.f - s));
  }
};

// a^b (powf: a negative base with a non-integer exponent is NaN, as in PyTorch).
struct Pow {
  MINIDL_HD float operator()(float a, float b) const { return powf(a, b); }
};
// maximum/minimum propagate NaN from either side, as torch.maximum (fmaxf would drop it).
struct Maximum {
  MINIDL_HD float operator()(float a, float b) const { return (a != a || a > b) ? a : b; }
};
struct Minimum {
  MINIDL_HD float operator()(float a, float b) const { return (a != a || a < b) ? a : b; }
};
struct MaxWeight {
  MINIDL_HD float operator()(float a, float b) const { return a > b ? 1.f : a == b ? 0.5f : 0.f; }
};
// Comparisons as float masks (NaN compares unequal to everything, so only ne holds for it).
struct Eq {
  MINIDL_HD float operator()(float a, float b) const { return a == b ? 1.f : 0.f; }
};
struct Ne {
  MINIDL_HD float operator()(float a, float b) const { return a != b ? 1.f : 0.f; }
};
struct Lt {
  MINIDL_HD float operator()(float a, float b) const { return a < b ? 1.f : 0.f; }
};
struct Le {
  MINIDL_HD float operator()(float a, float b) const { return a <= b ? 1.f : 0.f; }
};
struct Gt {
  MINIDL_HD float operator()(float a, float b) const { return a > b ? 1.f : 0.f; }
};
struct Ge {
  MINIDL_HD float operator()(float a, float b) const { return a >= b ? 1.f : 0.f; }
};
/// where's selection: a where the mask is nonzero, else b (a NaN mask counts as nonzero, as bool(NaN)).
MINIDL_HD inline float select(float mask, float a, float b) { return mask != 0.f ? a : b; }

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
    case UnaryOp::abs:
      return f(Abs{});
    case UnaryOp::gelu:
      return f(Gelu{});
    case UnaryOp::gelu_tanh:
      return f(GeluTanh{});
    case UnaryOp::silu:
      return f(Silu{});
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
    case BinaryOp::pow:
      return f(Pow{});
    case BinaryOp::maximum:
      return f(Maximum{});
    case BinaryOp::minimum:
      return f(Minimum{});
    case BinaryOp::max_weight:
      return f(MaxWeight{});
    case BinaryOp::eq:
      return f(Eq{});
    case BinaryOp::ne:
      return f(Ne{});
    case BinaryOp::lt:
      return f(Lt{});
    case BinaryOp::le:
      return f(Le{});
    case BinaryOp::gt:
      return f(Gt{});
    case BinaryOp::ge:
      return f(Ge{});
    case BinaryOp::abs_backward:
      return f(AbsBackward{});
    case BinaryOp::gelu_backward:
      return f(GeluBackward{});
    case BinaryOp::gelu_tanh_backward:
      return f(GeluTanhBackward{});
    case BinaryOp::silu_backward:
      return f(SiluBackward{});
  }
}

}  // namespace minidl::kernels::math
