// Differentiable elementwise ops. Binary ops broadcast by NumPy rules, and take a float on either
// side (a + 1.f, 2.f * a). All operands must be float32 tensors on one device.
#pragma once

#include <minidl/core/tensor.h>

namespace minidl {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor abs(const Tensor& x);

/// x^exponent elementwise (a negative x with a non-integer exponent gives NaN, as torch.pow).
Tensor pow(const Tensor& x, float exponent);
/// min(max(x, lo), hi); the gradient passes where lo ≤ x ≤ hi (as torch.clamp). Needs lo ≤ hi.
Tensor clamp(const Tensor& x, float lo, float hi);
/// Elementwise max/min of two broadcast tensors (NaN propagates); on ties each side gets half the
/// gradient, as torch.maximum/minimum.
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, float b);
Tensor operator-(const Tensor& a, float b);
Tensor operator*(const Tensor& a, float b);
Tensor operator/(const Tensor& a, float b);
Tensor operator+(float a, const Tensor& b);
Tensor operator-(float a, const Tensor& b);
Tensor operator*(float a, const Tensor& b);
Tensor operator/(float a, const Tensor& b);

}  // namespace minidl
