// Elementwise ops with their backward. Gradients of broadcast operands are summed back to the
// operand's shape (dispatch::sum_to); gradients are computed only for inputs that require them.
// Backward closures run with grad mode off, so the operators used inside them record nothing.
#include "autograd/elementwise.h"

#include "autograd/node.h"
#include "core/dispatch.h"

namespace minidl {

using autograd::Grads;
using autograd::record;
using autograd::Saves;
using dispatch::BinaryOp;
using dispatch::scalar_like;
using dispatch::UnaryOp;

namespace {

// Gradient for an input only when it requires one; `grad` is not evaluated otherwise.
template <class F>
Tensor if_needed(const Tensor& input, F&& grad) {
  return input.requires_grad() ? dispatch::sum_to(grad(), input.shape()) : Tensor{};
}

}  // namespace

// y = a + b;  da = dy,  db = dy
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::add, a, b, "add");
  record("add", y, {a, b}, Saves{}, [a, b](const Tensor& dy) {
    return Grads{if_needed(a, [&] { return dy; }), if_needed(b, [&] { return dy; })};
  });
  return y;
}

// y = a − b;  da = dy,  db = −dy
Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::sub, a, b, "sub");
  record("sub", y, {a, b}, Saves{}, [a, b](const Tensor& dy) {
    return Grads{if_needed(a, [&] { return dy; }), if_needed(b, [&] { return -dy; })};
  });
  return y;
}

// y = a·b;  da = dy·b,  db = dy·a
Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::mul, a, b, "mul");
  // da reads b and db reads a: each is saved only for the gradient that reads it.
  record("mul", y, {a, b}, Saves{b.requires_grad() ? a : Tensor{}, a.requires_grad() ? b : Tensor{}},
         [a, b](const Tensor& dy) {
           return Grads{if_needed(a, [&] { return dy * b; }), if_needed(b, [&] { return dy * a; })};
         });
  return y;
}

// y = a / b;  da = dy / b,  db = −dy·a / b² = −dy·y / b
Tensor div(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::div, a, b, "div");
  record("div", y, {a, b}, Saves{b, b.requires_grad() ? y : Tensor{}}, [a, b, y = y.detach()](const Tensor& dy) {
    return Grads{if_needed(a, [&] { return dy / b; }), if_needed(b, [&] { return -(dy * y) / b; })};
  });
  return y;
}

// y = −x;  dx = −dy
Tensor neg(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::neg, x, "neg");
  record("neg", y, {x}, Saves{}, [](const Tensor& dy) { return Grads{dispatch::unary(UnaryOp::neg, dy, "neg")}; });
  return y;
}

// y = eˣ;  dx = dy·y
Tensor exp(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::exp, x, "exp");
  record("exp", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) { return Grads{dy * y}; });
  return y;
}

// y = ln x;  dx = dy / x
Tensor log(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::log, x, "log");
  record("log", y, {x}, Saves{x}, [x](const Tensor& dy) { return Grads{dy / x}; });
  return y;
}

// y = √x;  dx = dy / (2y)
Tensor sqrt(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::sqrt, x, "sqrt");
  record("sqrt", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) { return Grads{dy / (2.f * y)}; });
  return y;
}

// y = x²;  dx = 2x·dy
Tensor square(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::square, x, "square");
  record("square", y, {x}, Saves{x}, [x](const Tensor& dy) { return Grads{2.f * x * dy}; });
  return y;
}

// y = max(x, 0);  dx = dy·1[y > 0]
Tensor relu(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::relu, x, "relu");
  record("relu", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) {
    return Grads{dispatch::binary(BinaryOp::relu_backward, y, dy, "relu")};
  });
  return y;
}

// y = 1 / (1 + e⁻ˣ);  dx = dy·y(1 − y)
Tensor sigmoid(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::sigmoid, x, "sigmoid");
  record("sigmoid", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) {
    return Grads{dispatch::binary(BinaryOp::sigmoid_backward, y, dy, "sigmoid")};
  });
  return y;
}

// y = tanh x;  dx = dy·(1 − y²)
Tensor tanh(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::tanh, x, "tanh");
  record("tanh", y, {x}, Saves{y}, [y = y.detach()](const Tensor& dy) {
    return Grads{dispatch::binary(BinaryOp::tanh_backward, y, dy, "tanh")};
  });
  return y;
}

// y = |x|;  dx = dy·sign(x)   (0 at x = 0)
Tensor abs(const Tensor& x) {
  Tensor y = dispatch::unary(UnaryOp::abs, x, "abs");
  record("abs", y, {x}, Saves{x},
         [x](const Tensor& dy) { return Grads{dispatch::binary(BinaryOp::abs_backward, x, dy, "abs")}; });
  return y;
}

// y = xᵖ;  dx = dy·p·xᵖ⁻¹   (0 for p = 0, where xᵖ⁻¹ may be inf at x = 0)
Tensor pow(const Tensor& x, float p) {
  Tensor y = dispatch::binary(BinaryOp::pow, x, scalar_like(x, p, "pow"), "pow");
  record("pow", y, {x}, Saves{x}, [x, p](const Tensor& dy) {
    if (p == 0.f) return Grads{Tensor::zeros(x.shape(), {.device = x.device()})};
    const Tensor d = dispatch::binary(BinaryOp::pow, x, scalar_like(x, p - 1.f, "pow"), "pow");
    return Grads{dy * d * p};
  });
  return y;
}

// y = min(max(x, lo), hi);  dx = dy·1[lo ≤ x ≤ hi]
Tensor clamp(const Tensor& x, float lo, float hi) {
  dispatch::check_float(x, "clamp");
  check(lo <= hi, "clamp: lo ", lo, " exceeds hi ", hi, " for x of shape ", x.shape());
  const Tensor lo_t = scalar_like(x, lo, "clamp"), hi_t = scalar_like(x, hi, "clamp");
  Tensor y = dispatch::binary(BinaryOp::minimum, dispatch::binary(BinaryOp::maximum, x, lo_t, "clamp"), hi_t, "clamp");
  record("clamp", y, {x}, Saves{x}, [x, lo_t, hi_t](const Tensor& dy) {
    const Tensor inside = dispatch::binary(BinaryOp::mul, dispatch::binary(BinaryOp::ge, x, lo_t, "clamp"),
                                           dispatch::binary(BinaryOp::le, x, hi_t, "clamp"), "clamp");
    return Grads{dispatch::where(inside, dy, scalar_like(x, 0.f, "clamp"), "clamp")};
  });
  return y;
}

// y = max(a, b);  da = dy·w(a, b),  db = dy·w(b, a),  w(a, b) = 1[a > b] + ½·1[a = b]
Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::maximum, a, b, "maximum");
  record("maximum", y, {a, b}, Saves{a, b}, [a, b](const Tensor& dy) {
    return Grads{if_needed(a, [&] { return dy * dispatch::binary(BinaryOp::max_weight, a, b, "maximum"); }),
                 if_needed(b, [&] { return dy * dispatch::binary(BinaryOp::max_weight, b, a, "maximum"); })};
  });
  return y;
}

// y = min(a, b);  da = dy·w(b, a),  db = dy·w(a, b)   (w as in maximum)
Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::binary(BinaryOp::minimum, a, b, "minimum");
  record("minimum", y, {a, b}, Saves{a, b}, [a, b](const Tensor& dy) {
    return Grads{if_needed(a, [&] { return dy * dispatch::binary(BinaryOp::max_weight, b, a, "minimum"); }),
                 if_needed(b, [&] { return dy * dispatch::binary(BinaryOp::max_weight, a, b, "minimum"); })};
  });
  return y;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, float b) { return add(a, scalar_like(a, b, "add")); }
Tensor operator-(const Tensor& a, float b) { return sub(a, scalar_like(a, b, "sub")); }
Tensor operator*(const Tensor& a, float b) { return mul(a, scalar_like(a, b, "mul")); }
Tensor operator/(const Tensor& a, float b) { return div(a, scalar_like(a, b, "div")); }
Tensor operator+(float a, const Tensor& b) { return add(scalar_like(b, a, "add"), b); }
Tensor operator-(float a, const Tensor& b) { return sub(scalar_like(b, a, "sub"), b); }
Tensor operator*(float a, const Tensor& b) { return mul(scalar_like(b, a, "mul"), b); }
Tensor operator/(float a, const Tensor& b) { return div(scalar_like(b, a, "div"), b); }

}  // namespace minidl
