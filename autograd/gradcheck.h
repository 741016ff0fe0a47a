// gradcheck: compares the analytic gradients of a function (from backward) with central finite
// differences, to catch wrong backward formulas.
//
// The function's output y is projected on a fixed random direction r, L = ⟨y, r⟩, so every output
// element is checked at once: analytic dL/dx = backward(r), numeric dL/dx_j ≈ (L(x + h e_j) −
// L(x − h e_j)) / 2h, with L summed in double. Inputs are float32, so h is large (1e-2 by default)
// and the tolerance loose: |analytic − numeric| ≤ atol + rtol·|numeric|. Wrong formulas are off by
// O(1) and fail by far. Keep inputs a few h away from kinks (relu at 0, ties in max).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <minidl/core/tensor.h>

namespace minidl::autograd {

struct GradcheckOptions {
  double eps = 1e-2;
  double atol = 1e-3;
  double rtol = 1e-2;
  uint64_t seed = 0;  // of the projection direction r
};

struct GradcheckResult {
  bool ok = true;
  double worst_error = 0.0;  // |analytic − numeric| at the worst element
  double worst_ratio = 0.0;  // that error over its tolerance; ok when ≤ 1
  std::string report;        // which input and element was worst, with both values
};

/// Checks every input that requires grad (CPU float32 leaves, any strides). The inputs' grad()
/// are left as they were.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& fn,
                          const std::vector<Tensor>& inputs, GradcheckOptions options = {});

}  // namespace minidl::autograd
