#include "autograd/gradcheck.h"

#include <cmath>

#include "core/dispatch.h"
#include "core/grad_mode.h"
#include "core/tensor_impl.h"

namespace minidl::autograd {

namespace {

double project(const Tensor& y, const std::vector<float>& r) {
  const std::vector<float> v = y.to_vector();
  double total = 0.0;
  for (size_t i = 0; i < v.size(); ++i) total += static_cast<double>(v[i]) * r[i];
  return total;
}

// Storage offset of the row-major element `flat` of t.
int64_t element_offset(const Tensor& t, int64_t flat) {
  int64_t offset = t.offset();
  for (int d = t.dim() - 1; d >= 0; --d) {
    offset += (flat % t.shape()[d]) * t.strides()[d];
    flat /= t.shape()[d];
  }
  return offset;
}

std::string index_str(const Shape& shape, int64_t flat) {
  Shape idx = shape;
  for (int d = shape.size() - 1; d >= 0; --d) {
    idx[d] = flat % shape[d];
    flat /= shape[d];
  }
  return idx.str();
}

}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions options) {
  bool any = false;
  for (const Tensor& x : inputs) {
    dispatch::check_defined(x, "gradcheck");
    if (!x.requires_grad()) continue;
    any = true;
    check(x.is_leaf() && x.dtype() == DType::float32 && x.device().is_cpu(),
          "gradcheck: inputs that require grad must be float32 CPU leaves, got ", x.dtype(), " ", x.shape(), " on ",
          x.device());
  }
  check(any, "gradcheck: no input requires grad");

  // Analytic: backward(r) gives J^T r = dL/dx for every input at once.
  std::vector<Tensor> saved;
  for (const Tensor& x : inputs) saved.push_back(x.grad());
  Tensor y = fn(inputs);
  dispatch::check_float(y, "gradcheck");
  Generator gen(options.seed);
  const Tensor r = Tensor::randn(y.shape(), gen);
  const std::vector<float> rv = r.to_vector();
  for (Tensor x : inputs)
    if (x.requires_grad()) x.set_grad(Tensor{});
  if (y.requires_grad()) y.backward(r);
  y = Tensor{};

  GradcheckResult result;
  NoGradGuard no_grad;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor x = inputs[i];
    if (!x.requires_grad()) continue;
    const std::vector<float> analytic = x.grad().defined() ? x.grad().to_vector() : std::vector<float>(x.numel(), 0.f);
    float* base = static_cast<float*>(detail::impl_of(x)->storage->data());
    for (int64_t j = 0; j < x.numel(); ++j) {
      float& v = base[element_offset(x, j)];
      const float original = v;
      const float hi = static_cast<float>(original + options.eps), lo = static_cast<float>(original - options.eps);
      v = hi;
      const double f_hi = project(fn(inputs), rv);
      v = lo;
      const double f_lo = project(fn(inputs), rv);
      v = original;
      // Divide by the step actually taken: original ± eps is rounded to float.
      const double numeric = (f_hi - f_lo) / (static_cast<double>(hi) - lo);
      const double error = std::fabs(analytic[j] - numeric);
      const double ratio = error / (options.atol + options.rtol * std::fabs(numeric));
      if (ratio > result.worst_ratio) {
        result.worst_ratio = ratio;
        result.worst_error = error;
        result.report = str_cat("input ", i, " ", x.shape(), " element ", index_str(x.shape(), j), ": analytic ",
                                analytic[j], " vs numeric ", numeric, " (error ", error, ")");
      }
    }
  }
  result.ok = result.worst_ratio <= 1.0;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].requires_grad()) Tensor(inputs[i]).set_grad(saved[i]);
  return result;
}

}  // namespace minidl::autograd
