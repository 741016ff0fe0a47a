#include "nn/clip_grad.h"

#include <cmath>

#include "core/dispatch.h"
#include "core/grad_mode.h"

namespace minidl::nn {

void grad_squared_norms(const std::vector<Tensor>& params, std::vector<double>& out) {
  out.resize(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    out[i] = params[i].grad().defined() ? dispatch::sum_squares(params[i].grad(), "grad_norm") : 0.0;
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm) {
  check(std::isfinite(max_norm) && max_norm > 0, "clip_grad_norm: max_norm must be > 0, got ", max_norm);
  const double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    NoGradGuard no_grad;
    for (const Tensor& p : params)
      if (p.grad().defined()) p.grad().mul_(static_cast<float>(coef));
  }
  return norm;
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  std::vector<double> squares;
  grad_squared_norms(params, squares);
  double total = 0;
  for (double s : squares) total += s;
  return clip_grad_norm(params, max_norm, std::sqrt(total));
}

}  // namespace minidl::nn
