// The update of one parameter element by torch.optim.SGD, in the three settings minidl names as
// optimizers (optim/sgd.h, optim/momentum.h, optim/nesterov.h). One definition, `__host__
// __device__`, run by the CPU kernel now and the CUDA kernel later, so the backends cannot drift
// apart. With g the gradient, b the momentum buffer, μ momentum, τ dampening, wd weight decay:
//
//   g ← grad + wd·p                               (coupled weight decay)
//   b ← g            on the parameter's first step
//   b ← μ·b + (1 − τ)·g                           afterwards
//   d ← g + μ·b      Nesterov
//   d ← b            momentum
//   d ← g            plain SGD (no buffer)
//   p ← p − lr·d
#pragma once

#include <cstdint>

#include "kernels/host_device.h"

namespace minidl::kernels {

struct SgdHyper {
  float lr = 0.f;
  float weight_decay = 0.f;
  float momentum = 0.f;   // used only when the tensor has a buffer
  float dampening = 0.f;  // τ
  bool nesterov = false;
};

/// One parameter tensor of a fused step: n contiguous elements each of p, grad and (for momentum
/// and Nesterov) the buffer; `first` marks the buffer as not yet holding anything.
struct SgdTensor {
  float* param;
  const float* grad;
  float* buffer;  // null: plain SGD
  int64_t n;
  bool first;
};

namespace math {

MINIDL_HD inline void sgd_update(float& p, float grad, float* buffer, bool first, const SgdHyper& h) {
  float g = h.weight_decay != 0.f ? grad + h.weight_decay * p : grad;
  if (buffer) {
    const float b = first ? g : h.momentum * *buffer + (1.f - h.dampening) * g;
    *buffer = b;
    g = h.nesterov ? g + h.momentum * b : b;
  }
  p = p + -h.lr * g;
}

}  // namespace math
}  // namespace minidl::kernels
