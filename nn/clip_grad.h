// Gradient norms and clipping by global norm, as torch.nn.utils.clip_grad_norm_ (norm_type 2):
//   norm = √(Σ_p ‖p.grad‖²)    over the parameters that have a gradient
//   coef = max_norm / (norm + 1e-6);   every gradient ← gradient · min(coef, 1)
// Clipping bounds the length of a step without changing its direction, which keeps one bad batch
// (or a too-large lr) from throwing the weights far away.
#pragma once

#include <vector>

#include <minidl/core/tensor.h>

namespace minidl::nn {

/// ‖p.grad‖² of each parameter (0 for one without a gradient), in order; one read of each.
void grad_squared_norms(const std::vector<Tensor>& params, std::vector<double>& out);

/// Scales the gradients so that their global norm is at most max_norm; returns the norm before.
/// `norm` is that global norm when the caller has it already (from grad_squared_norms).
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm, double norm);
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace minidl::nn
